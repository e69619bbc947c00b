"""The customer's licenses: plan, the fields the vendor marks visible, seats used of seats
bought, the license key (copy, download) and the vendor's signing keys with fingerprints;
and the offline check-in upload (licensing.checkins), which answers with a lease to carry
back. Pages with keys are never stored by a cache."""

import datetime

from django.http import Http404, HttpResponse
from django.views.decorators.http import require_GET, require_POST

from licensing.checkins import CheckInRefused, checkins_upload, seats_state
from licensing.keys import license_key_current
from licensing.models import EntitlementField, License
from licensing.plans import license_values
from licensing.selectors import license_status
from portal.views.access import customer_page
from portal.views.customer import secret_page
from signing.published import jwks_url
from signing.selectors import key_public_view, signing_keys_list
from signing.services import signing_key_current

MAX_UPLOAD = 2 * 1024 * 1024


def _licenses(request) -> list[License]:
    return list(
        License.objects.filter(vendor=request.vendor, customer=request.portal.customer)
        .select_related("plan", "customer", "vendor")
        .order_by("name")
    )


def _view(license: License, fields: list[EntitlementField]) -> dict:
    values = license_values(license, fields)
    return {
        "license": license,
        "status": license_status(license, datetime.date.today()),
        "fields": [(f.label, values.get(f.key)) for f in fields if f.customer_visible],
        "seats": seats_state(license),
        "key": license_key_current(license),
    }


def _page(request, *, upload_answer=None, upload_error="", status=200):
    signing_key_current(vendor=request.vendor)
    fields = list(EntitlementField.objects.filter(vendor=request.vendor))
    return secret_page(
        request,
        "portal/licenses.html",
        {
            "licenses": [_view(lic, fields) for lic in _licenses(request)],
            "signing_keys": [key_public_view(k) for k in signing_keys_list(vendor=request.vendor)],
            "jwks_url": jwks_url(request.vendor),
            "upload_answer": upload_answer,
            "upload_error": upload_error,
        },
        status=status,
    )


@customer_page
@require_GET
def licenses(request):
    return _page(request)


@customer_page
@require_GET
def license_key_download(request, license_id: int):
    license = next((lic for lic in _licenses(request) if lic.pk == license_id), None)
    if license is None:
        raise Http404("no such license of yours")
    response = HttpResponse(license_key_current(license) + "\n", content_type="application/jwt")
    response["Content-Disposition"] = f'attachment; filename="license-{license.pk}.jwt"'
    response["Cache-Control"] = "no-store"
    return response


@customer_page
@require_POST
def check_in_upload(request):
    upload = request.FILES.get("file")
    if upload is None or upload.size > MAX_UPLOAD:
        return _page(request, upload_error="Choose a check-in file (at most 2 MiB).", status=400)
    try:
        answer = checkins_upload(
            customer=request.portal.customer,
            data=upload.read(),
            actor=f"user:{request.user.pk}",
        )
    except CheckInRefused as exc:
        return _page(request, upload_error=exc.detail, status=exc.status)
    return _page(request, upload_answer=answer)
