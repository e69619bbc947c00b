from portal.branding import brand_for
from portal.tenancy import STAFF_PERMISSIONS


def portal(request) -> dict:
    vendor = getattr(request, "vendor", None)
    if vendor is None:
        return {"brand": None, "portal": None, "can": {}}
    if not hasattr(request, "_brand"):
        request._brand = brand_for(vendor)
    access = request.portal
    # What the staff member may change, for hiding actions: `can.licenses_manage`.
    can = {
        permission.replace(".", "_"): access.staff_can(permission)
        for permission in STAFF_PERMISSIONS
    }
    return {"brand": request._brand, "portal": access, "can": can}
