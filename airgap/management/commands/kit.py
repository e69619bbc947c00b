"""`manage.py kit build VENDOR CUSTOMER [--since KIT] [--tag …] [--platform …]
[--newest N] -o FILE` and `manage.py kit verify FILE`: for operators, over the same services
as the portal."""

from django.core.management.base import CommandError

from airgap.content import KitEmpty
from airgap.download import blob_reader
from airgap.selectors import KitNotFound, kit_get
from airgap.services import KitInvalid, kit_create, kit_layout
from airgap.verify import KitDamaged, kit_file_verify
from customers.management.base import AuditedCommand
from customers.selectors import customer_get, vendor_get
from signing.selectors import verification_key


class Command(AuditedCommand):
    help = "Build an air-gap kit for a customer into a file, or verify a kit file."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        build = sub.add_parser("build", help="build a kit and write its tar")
        build.add_argument("vendor")
        build.add_argument("customer")
        build.add_argument("--since", help="id of an earlier kit of this customer: a delta")
        build.add_argument("--tag", action="append", default=[], help="repository:tag or tag")
        build.add_argument(
            "--platform", action="append", default=[], help="e.g. linux/amd64 (repeatable)"
        )
        build.add_argument("--newest", type=int, help="only the newest N tags per repository")
        build.add_argument("-o", "--output", required=True)
        verify = sub.add_parser("verify", help="check SHA256SUMS and the signature")
        verify.add_argument("file")
        verify.add_argument("--vendor", help="vendor slug (default: the one kit.json names)")

    def handle(self, *args, **options):
        if options["action"] == "build":
            return self._build(options)
        return self._verify(options)

    def _build(self, options):
        vendor = vendor_get(slug=options["vendor"])
        customer = customer_get(vendor=vendor, slug=options["customer"]) if vendor else None
        if customer is None:
            raise CommandError(f"no customer {options['customer']} of vendor {options['vendor']}")
        try:
            since = None
            if options["since"]:
                since = kit_get(vendor=vendor, customer=customer, kit_id=options["since"])
            kit = kit_create(
                customer=customer,
                tags=options["tag"],
                newest=options["newest"],
                since=since,
                platforms=options["platform"],
            )
        except KitNotFound:
            raise CommandError(f"no kit {options['since']} of this customer") from None
        except (KitEmpty, KitInvalid) as exc:
            raise CommandError(str(exc)) from None
        layout = kit_layout(kit)
        with open(options["output"], "wb") as handle:
            for chunk in layout.stream(0, layout.total_size - 1, blob_reader()):
                handle.write(chunk)
        self.stdout.write(f"kit {kit.pk}: {len(kit.images)} images, {kit.total_size} bytes")
        self.stdout.write(f"written to {options['output']}")

    def _verify(self, options):
        slug = {}

        def key_for(kid):
            vendor = vendor_get(slug=options["vendor"] or slug.get("vendor", ""))
            key = verification_key(vendor=vendor, kid=kid) if vendor else None
            return bytes(key.public_key) if key else None

        try:
            import json
            import tarfile

            with tarfile.open(options["file"], mode="r:") as archive:
                slug["vendor"] = json.load(archive.extractfile("kit.json"))["vendor"]["slug"]
        except (OSError, KeyError, ValueError, tarfile.TarError) as exc:
            raise CommandError(f"not a kit: {exc}") from None
        try:
            kit = kit_file_verify(options["file"], key_for)
        except KitDamaged as exc:
            raise CommandError(f"kit does not verify: {exc}") from None
        self.stdout.write(
            f"kit {kit['id']} verifies: SHA256SUMS and signature by {kit['signature']['kid']}"
        )
