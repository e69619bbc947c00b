"""The vendor console's Kits page: every customer's kits, who downloaded which kit when,
and building a kit for a customer (maintainers and admins)."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from airgap.content import KitEmpty
from airgap.selectors import KitNotFound, kit_downloads, kit_list
from airgap.services import KitInvalid, kit_create
from customers.selectors import customer_get
from portal.selectors import customer_list
from portal.views.access import staff_page
from portal.views.customer_kits import kit_request_parse


@staff_page(write_permission="licenses.manage")
@require_http_methods(["GET", "POST"])
def kit_list_page(request):
    vendor = request.vendor
    status = 200
    if request.method == "POST":
        customer = customer_get(vendor=vendor, slug=request.POST.get("customer", ""))
        try:
            if customer is None:
                raise KitInvalid("choose one of your customers")
            arguments = kit_request_parse(request.POST, vendor=vendor, customer=customer)
            kit = kit_create(customer=customer, actor=f"user:{request.user.pk}", **arguments)
        except (KitEmpty, KitInvalid, KitNotFound) as exc:
            messages.error(request, str(exc) or "That earlier kit is not this customer's.")
            status = 400
        else:
            messages.success(request, f"Kit {kit.pk} built for {customer.name}.")
            return redirect("portal:console-kits")
    return render(
        request,
        "console/kits.html",
        {
            "kits": kit_list(vendor=vendor)[:200],
            "downloads": kit_downloads(vendor=vendor)[:200],
            "customers": customer_list(vendor=vendor),
        },
        status=status,
    )
