"""Reads: kits scoped to their vendor (and customer), and the download decision."""

from django.core.exceptions import ValidationError
from django.db.models import Count, Max, Min, QuerySet
from django.utils import timezone

from airgap.models import Kit, KitDownload
from customers.models import Customer, Vendor
from licensing.selectors import license_state, license_status


class KitNotFound(Exception):
    pass


class KitRefused(Exception):
    """The kit exists but may not be downloaded now (a license or the customer is not active)."""


def kit_list(*, vendor: Vendor, customer: Customer | None = None) -> QuerySet[Kit]:
    kits = Kit.objects.filter(vendor=vendor).select_related("customer", "since")
    if customer is not None:
        kits = kits.filter(customer=customer)
    return kits.prefetch_related("licenses")


def kit_get(*, vendor: Vendor, kit_id, customer: Customer | None = None) -> Kit:
    """The vendor's kit (the customer's, when given); another's is KitNotFound (a 404)."""
    try:
        return kit_list(vendor=vendor, customer=customer).get(pk=kit_id)
    except (Kit.DoesNotExist, ValidationError, ValueError):  # also: not a UUID
        raise KitNotFound(str(kit_id)[:64]) from None


def kit_download_check(*, kit: Kit) -> None:
    """Raise KitRefused unless every license the kit was built under is active today and
    the customer is not suspended: read from the database on every request, so a
    suspension stops downloads in every process from the next request."""
    customer = Customer.objects.only("suspended_at").get(pk=kit.customer_id)
    if customer.suspended_at is not None:
        raise KitRefused("your account is suspended; contact your vendor")
    today = timezone.localdate()
    licenses = list(kit.licenses.all().order_by("name"))  # fresh rows, never the prefetch
    if not licenses or len(licenses) < len(kit.request.get("licenses", [])):
        raise KitRefused("a license this kit was built under was deleted")
    for license in licenses:
        if license_status(license, today) != "active":
            raise KitRefused(f"this kit was built under {license_state(license, today)}")


def kit_downloads(*, vendor: Vendor, kit: Kit | None = None) -> QuerySet[KitDownload]:
    downloads = KitDownload.objects.filter(vendor=vendor).select_related("kit__customer")
    return downloads.filter(kit=kit) if kit is not None else downloads


_kit_blobs_memo: dict = {"key": None, "digests": frozenset()}


def kit_blob_digests() -> frozenset[str]:
    """Every blob some kit still streams (garbage collection keeps them: a kit is a frozen
    selection, so its download must not break when a tag moves and GC runs). Kits never
    change once built, so the set is rebuilt only when the kits' census changes (one
    aggregate query per call; a deleted kit changes the count)."""
    census = Kit.objects.aggregate(n=Count("pk"), new=Max("created_at"), old=Min("created_at"))
    key = (census["n"], census["new"], census["old"])
    if key != _kit_blobs_memo["key"]:
        listed = Kit.objects.values_list("blobs", flat=True)
        digests = {blob["digest"] for blobs in listed for blob in blobs}
        _kit_blobs_memo.update(key=key, digests=frozenset(digests))
    return _kit_blobs_memo["digests"]
