"""Representations and inputs of the REST API. Inputs are validated here for shape; the
services decide what is allowed (their messages come back as 422)."""

from django.utils import timezone
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

from customers.models import AccessToken, AuditEvent, Customer, CustomerMember
from licensing.models import License, LicenseGrant
from licensing.selectors import license_status


class CustomerSerializer(serializers.ModelSerializer):
    suspended = serializers.SerializerMethodField()

    class Meta:
        model = Customer
        fields = [
            "slug",
            "name",
            "contact_email",
            "notes",
            "suspended",
            "suspended_at",
            "created_at",
        ]
        read_only_fields = ["suspended_at", "created_at"]

    def get_suspended(self, customer) -> bool:
        return customer.suspended_at is not None


class CustomerCreateSerializer(serializers.Serializer):
    slug = serializers.SlugField(max_length=64)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    contact_email = serializers.EmailField(required=False, allow_blank=True, default="")
    notes = serializers.CharField(required=False, allow_blank=True, default="")


class CustomerUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    contact_email = serializers.EmailField(required=False, allow_blank=True)
    notes = serializers.CharField(required=False, allow_blank=True)


class GrantSerializer(serializers.ModelSerializer):
    repository = serializers.CharField(source="repository_name")
    rule = serializers.SerializerMethodField()

    class Meta:
        model = LicenseGrant
        fields = ["id", "repository", "rule", "include_referrers"]

    def get_rule(self, grant) -> str:
        return f"{grant.rule}:{grant.pattern}"


class GrantCreateSerializer(serializers.Serializer):
    repository = serializers.CharField(max_length=255, help_text="acme/app or acme/charts/*")
    rule = serializers.CharField(max_length=210, help_text="glob:1.*, semver:>=1.0 or exact:1.2.0")
    include_referrers = serializers.BooleanField(default=True)


class GrantPreviewSerializer(serializers.Serializer):
    repository = serializers.CharField(max_length=255)
    rule = serializers.CharField(max_length=210)


class LicenseSerializer(serializers.ModelSerializer):
    customer = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    state = serializers.SerializerMethodField(
        help_text='"active", "suspended", "expired" or "not yet valid" today'
    )
    grants = GrantSerializer(many=True, read_only=True)

    class Meta:
        model = License
        fields = [
            "id",
            "customer",
            "name",
            "valid_from",
            "valid_until",
            "notes",
            "status",
            "state",
            "grants",
            "created_at",
        ]

    def get_state(self, license) -> str:
        return license_status(license, timezone.localdate())


class LicenseCreateSerializer(serializers.Serializer):
    customer = serializers.SlugField(max_length=64)
    name = serializers.CharField(max_length=200)
    valid_from = serializers.DateField(required=False, allow_null=True, default=None)
    valid_until = serializers.DateField(required=False, allow_null=True, default=None)
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    grants = GrantCreateSerializer(many=True, required=False, default=list)


class LicenseUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    valid_from = serializers.DateField(required=False)
    valid_until = serializers.DateField(required=False, allow_null=True)
    notes = serializers.CharField(required=False, allow_blank=True)


class LicenseRenewSerializer(serializers.Serializer):
    valid_until = serializers.DateField(
        allow_null=True, help_text="new last valid day; null: perpetual"
    )


class TokenSerializer(serializers.ModelSerializer):
    customer = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    state = serializers.SerializerMethodField()

    class Meta:
        model = AccessToken
        fields = [
            "prefix",
            "kind",
            "name",
            "customer",
            "repository_patterns",
            "actions",
            "expires_at",
            "revoked_at",
            "last_used_at",
            "created_at",
            "state",
        ]

    def get_state(self, token) -> str:
        if token.revoked_at is not None:
            return "revoked"
        if token.expires_at is not None and token.expires_at <= timezone.now():
            return "expired"
        return "active"


class TokenMintSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["push", "pull"])
    name = serializers.CharField(max_length=100)
    customer = serializers.SlugField(max_length=64, required=False, allow_null=True, default=None)
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    repository_patterns = serializers.ListField(
        child=serializers.CharField(max_length=255), required=False, default=list
    )
    actions = serializers.ListField(
        child=serializers.ChoiceField(choices=["pull", "push", "delete"]),
        required=False,
        default=list,
    )


class MintedTokenSerializer(TokenSerializer):
    secret = serializers.CharField(read_only=True, help_text="shown in this answer only")

    class Meta(TokenSerializer.Meta):
        fields = [*TokenSerializer.Meta.fields, "secret"]


class RepositorySerializer(serializers.Serializer):
    name = serializers.CharField()
    is_public = serializers.BooleanField()
    tag_count = serializers.IntegerField()
    size = serializers.IntegerField(help_text="bytes of the blobs linked to the repository")
    created_at = serializers.DateTimeField()


class TagSerializer(serializers.Serializer):
    name = serializers.CharField()
    digest = serializers.CharField()
    media_type = serializers.CharField()
    size = serializers.IntegerField(help_text="manifest plus everything it references, bytes")
    platforms = serializers.ListField(child=serializers.CharField())
    pushed_at = serializers.DateTimeField()


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = ["id", "created_at", "action", "actor", "target", "client_address", "details"]


class AuditFilterSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=AuditEvent.Action.values, required=False)
    actor = serializers.CharField(max_length=200, required=False)
    target = serializers.CharField(max_length=400, required=False)
    since = serializers.DateField(required=False)
    until = serializers.DateField(required=False)


class BrandingSerializer(serializers.Serializer):
    display_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    primary_color = serializers.RegexField(r"^#[0-9a-fA-F]{6}$", required=False)
    accent_color = serializers.RegexField(r"^#[0-9a-fA-F]{6}$", required=False)
    support_url = serializers.URLField(required=False, allow_blank=True)
    support_email = serializers.EmailField(required=False, allow_blank=True)
    footer_text = serializers.CharField(max_length=300, required=False, allow_blank=True)


class MemberSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email", read_only=True)

    class Meta:
        model = CustomerMember
        fields = ["id", "email", "role"]


class InvitationCreateSerializer(serializers.Serializer):
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=CustomerMember.Role.values, default="member")


class InvitationSerializer(serializers.Serializer):
    email = serializers.EmailField()
    role = serializers.CharField()
    expires_at = serializers.DateTimeField()
    mailed = serializers.BooleanField(help_text="false: no mail is configured; pass `link` on")
    link = serializers.CharField(
        allow_null=True, help_text="the invitation link, when it was not mailed (shown once)"
    )


class GrantPreviewResultSerializer(serializers.Serializer):
    repository = serializers.CharField()
    rule = serializers.CharField()
    tags = serializers.ListField(
        child=serializers.CharField(), help_text="newest first; `repository:tag` for a pattern"
    )


def results_of(serializer_class, name: str, **extra):
    """The schema of an unpaged list answer: `{"results": [...]}` (plus `extra` fields)."""
    return inline_serializer(name, fields={**extra, "results": serializer_class(many=True)})


class WebhookEndpointSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    url = serializers.URLField(max_length=2000)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    event_types = serializers.ListField(child=serializers.CharField(max_length=64))
    enabled = serializers.BooleanField(required=False, default=True)
    created_at = serializers.DateTimeField(read_only=True)


class WebhookEndpointUpdateSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=2000, required=False)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    event_types = serializers.ListField(child=serializers.CharField(max_length=64), required=False)
    enabled = serializers.BooleanField(required=False)


class WebhookEndpointWithSecretSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(read_only=True, help_text="whsec_…: shown in this answer only")


class WebhookDeliverySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    event_id = serializers.CharField()
    event_type = serializers.CharField()
    state = serializers.CharField()
    attempts = serializers.IntegerField()
    last_status_code = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField()
    last_latency_ms = serializers.IntegerField(allow_null=True)
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    delivered_at = serializers.DateTimeField(allow_null=True)


class ImmutableTagRuleSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    repository_pattern = serializers.CharField(
        max_length=255, help_text="path glob inside the vendor's namespace: app, charts/*, **"
    )
    tag_rule = serializers.CharField(
        max_length=255, help_text="exact:TAG, glob:PATTERN or semver:RANGE (semver:>=0: releases)"
    )
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)


class ImmutableTagRuleUpdateSerializer(serializers.Serializer):
    repository_pattern = serializers.CharField(max_length=255, required=False)
    tag_rule = serializers.CharField(max_length=255, required=False)


class RepositoryStorageSerializer(serializers.Serializer):
    repository = serializers.CharField()
    linked = serializers.IntegerField(help_text="bytes of every blob the repository links")
    attributable = serializers.IntegerField(
        help_text="bytes of blobs no other repository of the vendor links"
    )
    blobs = serializers.IntegerField()


class StorageSerializer(serializers.Serializer):
    bytes_stored = serializers.IntegerField(help_text="each blob once, plus uploads in progress")
    blobs = serializers.IntegerField()
    quota_bytes = serializers.IntegerField(allow_null=True)
    repositories = RepositoryStorageSerializer(many=True)
