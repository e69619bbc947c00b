"""Who may see a portal page. Every portal view goes through one of these decorators, so
none can forget the vendor, the sign-in or the role check."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect


def portal_page(view):
    """Any page of a vendor's portal (404 where there is no portal)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if getattr(request, "vendor", None) is None:
            raise Http404("no portal here")
        return view(request, *args, **kwargs)

    return wrapper


def _signed_in(request):
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    return None


def customer_page(view=None, *, admin: bool = False):
    """A page for users of one of the vendor's (active) customers."""

    def decorate(view):
        @portal_page
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if (response := _signed_in(request)) is not None:
                return response
            access = request.portal
            if access.is_staff:
                return redirect("portal:console-home")
            if not access.is_customer:
                if access.customer_member is not None:  # a member of a suspended customer
                    raise PermissionDenied(
                        "Your organisation's access to this portal is suspended. "
                        "Contact your vendor to restore it."
                    )
                raise PermissionDenied("Your account has no access to this portal.")
            if admin and not access.is_customer_admin:
                raise PermissionDenied("Only your organisation's admins can do this.")
            return view(request, *args, **kwargs)

        return wrapper

    return decorate(view) if view is not None else decorate


def staff_page(view=None, *, permission: str | None = None, write_permission: str | None = None):
    """A vendor console page. `permission` is needed for any method; `write_permission`
    only for POST (reads stay open to viewers)."""

    def decorate(view):
        @portal_page
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if (response := _signed_in(request)) is not None:
                return response
            access = request.portal
            if not access.is_staff:
                if access.is_customer:
                    return redirect("portal:home")
                raise PermissionDenied("Your account has no access to this console.")
            if permission and not access.staff_can(permission):
                raise PermissionDenied("Your role does not allow this.")
            if (
                request.method == "POST"
                and write_permission
                and not access.staff_can(write_permission)
            ):
                raise PermissionDenied("Your role does not allow this.")
            return view(request, *args, **kwargs)

        return wrapper

    return decorate(view) if view is not None else decorate
