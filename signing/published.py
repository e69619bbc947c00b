"""Where a vendor's public keys are published, from configuration only (never a Host
header). The /p/<slug>/ route of the public URL is the stable address: it answers whatever
custom domains the vendor adds or removes later, so a URL baked into a kit or a license key
keeps working. The portal serves these paths (portal/urls.py; a test checks they agree)."""

from django.conf import settings

from customers.models import Vendor


def vendor_public_url(vendor: Vendor) -> str:
    """The vendor's stable public root: the issuer of what it signs."""
    return f"{settings.DISTR_PUBLIC_URL}/p/{vendor.slug}"


def jwks_url(vendor: Vendor) -> str:
    return f"{vendor_public_url(vendor)}/keys/jwks.json"


def public_key_pem_url(vendor: Vendor, kid: str) -> str:
    return f"{vendor_public_url(vendor)}/keys/{kid}.pem"
