"""`POST /api/v1/license/check-in`: the vendor's application checks in with its license
key (licensing/checkins.py, docs/license-keys.md). No API token: the key is the
credential. Rate limited per key (the SHA-256 of the key names its budget in the shared
cache, as API tokens' budgets are named)."""

import hashlib

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from api.access import PerCallerRateThrottle, _rate
from api.problems import problem_response
from licensing.checkins import CheckInRefused, check_in


class PerKeyRateThrottle(PerCallerRateThrottle):
    def __init__(self):
        super().__init__()
        self.limit, self.window = _rate(settings.LICENSE_CHECKIN_RATE_LIMIT)

    def allow_request(self, request, view) -> bool:
        key = request.data.get("key") if isinstance(request.data, dict) else None
        if isinstance(key, str) and key:
            return self.allow_key(key)
        return self._allow(f"address:{self.get_ident(request)}")

    def allow_key(self, key: str) -> bool:
        """One more check-in with `key` (also counted by distr/fast_check_in.py)."""
        return self._allow("key:" + hashlib.sha256(key.encode()).hexdigest()[:32])


class CheckInSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="the license key (compact JWS)")
    instance_id = serializers.CharField(max_length=200)
    version = serializers.CharField(max_length=200, required=False, allow_blank=True)
    metadata = serializers.DictField(required=False)


class CheckIn(APIView):
    authentication_classes = []
    permission_classes = [permissions.AllowAny]
    throttle_classes = [PerKeyRateThrottle]

    @extend_schema(request=CheckInSerializer, responses={200: dict}, tags=["license keys"])
    def post(self, request):
        data = request.data if isinstance(request.data, dict) else {}
        try:
            answer = check_in(
                key=data.get("key"),
                instance_id=data.get("instance_id"),
                version=data.get("version", ""),
                metadata=data.get("metadata"),
            )
        except CheckInRefused as exc:
            return problem_response(exc.status, exc.detail)
        return Response(answer, headers={"Cache-Control": "no-store"})
