"""What every REST API view shares: authentication and the caller's vendor, read/write
permission, the per-caller rate limit, problem+json errors, and the audit actor."""

from rest_framework.generics import GenericAPIView

from api.access import PerCallerRateThrottle, VendorReadWrite, principal_label
from customers import request_context


class VendorAPIView(GenericAPIView):
    permission_classes = [VendorReadWrite]
    throttle_classes = [PerCallerRateThrottle]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # authenticates, checks, throttles
        # Services given no user audit as the caller (a token has no user).
        self._actor_token = request_context.actor.set(principal_label(request))

    def finalize_response(self, request, response, *args, **kwargs):
        token = getattr(self, "_actor_token", None)
        if token is not None:
            request_context.actor.reset(token)
            self._actor_token = None
        return super().finalize_response(request, response, *args, **kwargs)

    @staticmethod
    def principal_label(request) -> str:
        return principal_label(request)

    @property
    def actor_user(self):
        """The signed-in user for services that take one; None for a token (the request
        context names the token)."""
        user = self.request.user
        return user if getattr(user, "pk", None) is not None else None


def valid_input(serializer_class, data) -> dict:
    """The validated fields, or 400 problem+json naming each invalid field."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
