from portal.branding import brand_for


def portal(request) -> dict:
    vendor = getattr(request, "vendor", None)
    if vendor is None:
        return {"brand": None, "portal": None}
    if not hasattr(request, "_brand"):
        request._brand = brand_for(vendor)
    return {"brand": request._brand, "portal": request.portal}
