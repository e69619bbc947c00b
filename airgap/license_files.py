"""The license keys and leases a kit carries (docs/license-keys.md, "Offline"): for each
license the kit was built under, its current key as `licenses/<id>.jwt` and a lease issued
at build time as `licenses/<id>.lease.jwt`. The application on the far side of the air gap
verifies both offline with the vendor's JWKS; the lease lasts the license's lease period
from the kit's build, so the next kit (or an uploaded check-in) renews it."""

from licensing.keys import lease_issue, license_key_current


def license_files(*, vendor, customer, licenses) -> list[tuple[str, bytes]]:
    files = []
    for license in licenses:
        files.append((f"licenses/{license.pk}.jwt", license_key_current(license).encode()))
        lease = lease_issue(license)  # None only for a license a kit cannot be built under
        if lease is not None:
            files.append((f"licenses/{license.pk}.lease.jwt", lease.encode()))
    return files
