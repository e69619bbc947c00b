"""`manage.py quota VENDOR SIZE` (e.g. 50GiB, 500MB, 1073741824, or `none`): set a
vendor's storage quota. Install staff set quotas (what a vendor may store is the
operator's call); vendor staff see usage against it in the console."""

import re

from django.core.management.base import CommandError

from customers.management.base import AuditedCommand
from customers.models import Vendor
from registry.services.guards import quota_set
from registry.usage import vendor_storage

_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
_UNITS |= {"KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}


def size_parse(text: str) -> int | None:
    if text.lower() == "none":
        return None
    match = re.fullmatch(r"(\d+)\s*([KMGT]I?B|B)?", text.strip().upper())
    if match is None:
        raise CommandError(f"invalid size {text!r}: e.g. 50GiB, 500MB, 1073741824 or none")
    return int(match[1]) * _UNITS[match[2] or ""]


class Command(AuditedCommand):
    help = "Set (or with `none` remove) a vendor's storage quota."

    def add_arguments(self, parser):
        parser.add_argument("vendor", help="vendor slug")
        parser.add_argument("size", help="bytes, or with a unit: 50GiB, 500MB; none: no quota")

    def handle(self, *args, vendor, size, **options):
        found = Vendor.objects.filter(slug=vendor).first()
        if found is None:
            raise CommandError(f"no vendor {vendor!r}")
        limit = size_parse(size)
        quota_set(vendor=found, limit_bytes=limit)
        used = vendor_storage(vendor_id=found.id)["bytes"]
        self.stdout.write(
            f"{found.slug}: quota {'none' if limit is None else f'{limit} bytes'}, "
            f"{used} bytes used"
        )
