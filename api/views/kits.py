"""`/api/v1/kits/`: air-gap kits (list, build for a customer, read, download with Range).
Kits need the `licenses` scope: a kit is what a customer's licenses cover."""

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.mixins import ListModelMixin
from rest_framework.response import Response

from airgap.content import KitEmpty
from airgap.download import kit_serve
from airgap.models import Kit
from airgap.selectors import KitNotFound, KitRefused, kit_get, kit_list
from airgap.services import KitInvalid, kit_create, kit_delete
from api.pagination import LinkCursorPagination
from api.problems import Unprocessable, problem_response
from api.views.base import VendorAPIView, valid_input
from api.views.customers import customer_of


class KitSerializer(serializers.ModelSerializer):
    customer = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    since = serializers.PrimaryKeyRelatedField(read_only=True)
    licenses = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    download = serializers.SerializerMethodField()

    class Meta:
        model = Kit
        fields = ["id", "customer", "since", "licenses", "created_at", "images", "total_size",
                  "etag", "download"]  # fmt: skip

    def get_download(self, kit) -> str:
        return f"/api/v1/kits/{kit.pk}/download"


class KitCreateSerializer(serializers.Serializer):
    customer = serializers.SlugField()
    tags = serializers.ListField(child=serializers.CharField(max_length=300), required=False)
    newest = serializers.IntegerField(min_value=1, required=False)
    since = serializers.UUIDField(required=False)
    platforms = serializers.ListField(
        child=serializers.RegexField(r"^[a-z0-9]+/[a-z0-9_]+(/[a-z0-9]+)?$", max_length=60),
        required=False,
        help_text="keep only these platforms of multi-platform images, e.g. linux/amd64",
    )


def kit_of(request, kit_id) -> Kit:
    try:
        return kit_get(vendor=request.vendor, kit_id=kit_id)
    except KitNotFound:
        raise Http404 from None


class KitPagination(LinkCursorPagination):
    ordering = "-created_at"


class KitList(ListModelMixin, VendorAPIView):
    scope_area = "licenses"
    serializer_class = KitSerializer
    pagination_class = KitPagination

    def get_queryset(self):
        customer = self.request.query_params.get("customer")
        return kit_list(
            vendor=self.request.vendor,
            customer=customer_of(self.request, customer) if customer else None,
        )

    def get(self, request):
        return self.list(request)

    @extend_schema(request=KitCreateSerializer, responses={201: KitSerializer})
    def post(self, request):
        data = valid_input(KitCreateSerializer, request.data)
        customer = customer_of(request, data["customer"])
        try:
            since = None
            if data.get("since"):
                since = kit_get(vendor=request.vendor, customer=customer, kit_id=data["since"])
            kit = kit_create(
                customer=customer,
                tags=data.get("tags"),
                newest=data.get("newest"),
                since=since,
                platforms=data.get("platforms"),
            )
        except KitNotFound:
            raise Unprocessable("since: no such kit of this customer") from None
        except (KitEmpty, KitInvalid) as exc:
            raise Unprocessable(str(exc)) from None
        return Response(
            KitSerializer(kit).data,
            status=201,
            headers={"Location": f"/api/v1/kits/{kit.pk}", "ETag": kit.etag},
        )


class KitDetail(VendorAPIView):
    scope_area = "licenses"
    serializer_class = KitSerializer

    def get(self, request, kit_id):
        return Response(KitSerializer(kit_of(request, kit_id)).data)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, kit_id):
        """Delete the kit (audited): it can no longer be downloaded; deltas built on it
        keep their own content and name it in their kit.json."""
        kit_delete(kit=kit_of(request, kit_id))
        return Response(status=204)


class KitDownload(VendorAPIView):
    """The kit's tar: Range/206, If-Range, ETag (curl -C - resumes)."""

    scope_area = "licenses"
    serializer_class = KitSerializer

    @extend_schema(responses={(200, "application/x-tar"): bytes})
    def get(self, request, kit_id):
        kit = kit_of(request, kit_id)
        try:
            return kit_serve(request, kit, actor=self.principal_label(request))
        except KitRefused as exc:
            return problem_response(403, str(exc))

    head = get
