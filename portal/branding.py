"""A vendor's brand as templates use it, with colours made safe to read.

Vendors pick any primary colour; text on it and links in it must still pass WCAG AA
contrast, so the brand computes readable foregrounds and darkens link colours that are
too light for a white page.
"""

from dataclasses import dataclass

from customers.models import Vendor

DEFAULT_PRIMARY = "#1f4fd1"
DEFAULT_ACCENT = "#0f766e"


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4


def _luminance(hex_color: str) -> float:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def readable_on(background: str) -> str:
    """Black or white, whichever reads better on `background`."""
    return (
        "#ffffff"
        if contrast(background, "#ffffff") >= contrast(background, "#000000")
        else "#000000"
    )


def darken_until_readable(color: str, on: str = "#ffffff", ratio: float = 4.5) -> str:
    """`color`, darkened in small steps until it reaches `ratio` against `on`."""
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    while contrast(f"#{r:02x}{g:02x}{b:02x}", on) < ratio and (r or g or b):
        r, g, b = (int(v * 0.9) for v in (r, g, b))
    return f"#{r:02x}{g:02x}{b:02x}"


@dataclass(frozen=True)
class Brand:
    vendor_slug: str
    display_name: str
    primary: str
    accent: str
    on_primary: str
    on_accent: str
    link: str
    support_url: str
    support_email: str
    footer_text: str
    has_logo: bool
    has_favicon: bool
    version: int  # cache-buster for logo/favicon URLs

    @property
    def css_variables(self) -> str:
        return (
            f"--brand-primary:{self.primary};--brand-on-primary:{self.on_primary};"
            f"--brand-accent:{self.accent};--brand-on-accent:{self.on_accent};"
            f"--brand-link:{self.link};"
        )


def brand_for(vendor: Vendor) -> Brand:
    from portal.models import Branding

    branding = Branding.objects.filter(vendor=vendor).defer("logo", "favicon").first()
    primary = branding.primary_color if branding else DEFAULT_PRIMARY
    accent = branding.accent_color if branding else DEFAULT_ACCENT
    return Brand(
        vendor_slug=vendor.slug,
        display_name=(branding.display_name if branding else "") or vendor.name,
        primary=primary,
        accent=accent,
        on_primary=readable_on(primary),
        on_accent=readable_on(accent),
        link=darken_until_readable(primary),
        support_url=branding.support_url if branding else "",
        support_email=branding.support_email if branding else "",
        footer_text=branding.footer_text if branding else "",
        has_logo=bool(branding and branding.logo_type),
        has_favicon=bool(branding and branding.favicon_type),
        version=int(branding.updated_at.timestamp()) if branding else 0,
    )
