"""Vendor console: storage (usage, quota, over time, largest, unpulled) and the
immutable-tag rules (every staff member reads them; admins change them)."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from analytics.charts import line_chart
from core.tag_rules import RuleInvalid
from portal.storage_insight import storage_insight
from portal.views.access import staff_page
from portal.views.confirm import confirmation_page
from registry.immutability import immutable_rule_get, immutable_rule_list
from registry.services.guards import immutable_rule_create, immutable_rule_delete


@staff_page
def storage(request):
    insight = storage_insight(vendor=request.vendor)
    chart = line_chart(
        [(day, round(b / 2**20, 1)) for day, b in insight.over_time],
        title="Storage over time",
        unit="MiB",
    )
    return render(request, "console/storage.html", {"insight": insight, "chart": chart})


@staff_page(write_permission="immutable_rules.manage")
@require_http_methods(["GET", "POST"])
def immutable_rules(request):
    error, status = "", 200
    values = {"repository_pattern": "", "tag_rule": ""}
    if request.method == "POST":
        values = {k: request.POST.get(k, "").strip() for k in values}
        try:
            rule = immutable_rule_create(
                vendor=request.vendor, actor=f"user:{request.user.pk}", **values
            )
        except RuleInvalid as exc:
            error, status = str(exc), 400
        else:
            messages.success(request, f"Rule {rule.id} added.")
            return redirect("portal:console-immutable-rules")
    return render(
        request,
        "console/immutable_rules.html",
        {
            "rules": immutable_rule_list(vendor_id=request.vendor.id),
            "error": error,
            "values": values,
        },
        status=status,
    )


@staff_page(permission="immutable_rules.manage")
@require_POST
def immutable_rule_remove(request, rule_id):
    rule = immutable_rule_get(vendor_id=request.vendor.id, rule_id=rule_id)
    if rule is None:
        raise Http404("no such rule")
    ask = confirmation_page(
        request,
        title=f"Delete immutable-tag rule {rule.id}?",
        consequence=f"Tags {rule.tag_rule} in repositories {rule.repository_pattern} can be "
        "moved and deleted again from the next request.",
        action="Delete rule",
        back_url=reverse("portal:console-immutable-rules"),
    )
    if ask:
        return ask
    immutable_rule_delete(rule=rule, actor=f"user:{request.user.pk}")
    messages.success(request, f"Rule {rule_id} deleted.")
    return redirect("portal:console-immutable-rules")
