"""Portal reads. Every function takes the vendor (or an object already scoped to it)
first, so no page can reach another vendor's rows."""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count, Q
from django.utils import timezone

from customers.models import AccessToken, AuditEvent, Customer, CustomerMember, Vendor, VendorMember
from licensing.models import License, LicenseGrant
from licensing.selectors import license_status
from portal.inventory import TagSummary, tag_summaries
from portal.models import Branding, Invitation, VendorDomain
from registry.access import visible_repository_names, visible_tags
from registry.auth import principal_for_customer
from registry.models import Repository


@dataclass(frozen=True)
class LicenseView:
    license: License
    grants: list[LicenseGrant]
    state: str  # "active", "suspended", "expired", "not yet valid"
    days_left: int | None  # until valid_until, when it ends

    @property
    def expiring_soon(self) -> bool:
        return (
            self.state == "active"
            and self.days_left is not None
            and self.days_left <= settings.PORTAL_EXPIRY_WARNING_DAYS
        )


def license_views(*, vendor: Vendor, customer: Customer) -> list[LicenseView]:
    today = timezone.localdate()
    licenses = (
        License.objects.filter(vendor=vendor, customer=customer)
        .prefetch_related("grants")
        .order_by("-valid_from", "name")
    )
    return [
        LicenseView(
            license=lic,
            grants=list(lic.grants.all()),
            state=license_status(lic, today),
            days_left=(lic.valid_until - today).days if lic.valid_until else None,
        )
        for lic in licenses
    ]


@dataclass(frozen=True)
class RepositoryArtifacts:
    name: str  # full registry name, e.g. acme/app
    tags: list[TagSummary]


def customer_artifacts(*, vendor: Vendor, customer: Customer) -> list[RepositoryArtifacts]:
    """What the customer may pull now: the registry's own listing functions answer, for
    the customer as its pull tokens are seen (catalog, then tags/list per repository)."""
    principal = principal_for_customer(
        vendor_id=vendor.id, vendor_slug=vendor.slug, customer_id=customer.id
    )
    names, _ = visible_repository_names(principal, n=None, last="")
    repositories = {r.name: r for r in Repository.objects.filter(vendor=vendor, name__in=names)}
    result = []
    for name in names:
        repository = repositories.get(name)
        if repository is None:
            continue
        tags = visible_tags(principal, repository)
        result.append(
            RepositoryArtifacts(
                name=name, tags=tag_summaries(repository=repository, tag_names=tags)
            )
        )
    return result


@dataclass(frozen=True)
class ConsoleOverview:
    customer_count: int
    repository_count: int
    expiring: list  # active licenses ending within 30 days, soonest first
    recent: list  # the last pushes and tag moves


def console_overview(*, vendor: Vendor) -> ConsoleOverview:
    today = timezone.localdate()
    soon = today + datetime.timedelta(days=30)
    return ConsoleOverview(
        customer_count=Customer.objects.filter(vendor=vendor).count(),
        repository_count=repository_list(vendor=vendor).count(),
        expiring=list(
            License.objects.filter(
                vendor=vendor, status="active", valid_until__gte=today, valid_until__lte=soon
            )
            .select_related("customer")
            .order_by("valid_until", "name")[:20]
        ),
        recent=list(
            AuditEvent.objects.filter(
                vendor=vendor, action__in=["manifest.pushed", "tag.moved"]
            ).order_by("-pk")[:10]
        ),
    )


def branding_image(*, vendor: Vendor | None, field: str):
    """The vendor's stored logo or favicon row (only that column), or None."""
    if vendor is None:
        return None
    return Branding.objects.filter(vendor=vendor).only(field, f"{field}_type").first()


def customer_tokens(*, vendor: Vendor, customer: Customer):
    return AccessToken.objects.filter(vendor=vendor, customer=customer, kind="pull").order_by(
        "revoked_at", "-created_at"
    )


def push_tokens(*, vendor: Vendor):
    return AccessToken.objects.filter(vendor=vendor, kind="push").order_by(
        "revoked_at", "-created_at"
    )


def token_get(*, vendor: Vendor, token_id: int, customer: Customer | None = None):
    tokens = AccessToken.objects.filter(vendor=vendor, pk=token_id)
    tokens = tokens.filter(customer=customer) if customer else tokens.filter(kind="push")
    return tokens.first()


def customer_members(*, vendor: Vendor, customer: Customer):
    return (
        CustomerMember.objects.filter(customer=customer, customer__vendor=vendor)
        .select_related("user")
        .order_by("user__email")
    )


def open_invitations(*, vendor: Vendor, customer: Customer | None):
    invitations = Invitation.objects.filter(
        vendor=vendor,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
    )
    if customer is None:
        return invitations.filter(customer__isnull=True)
    return invitations.filter(customer=customer)


def invitation_get(*, vendor: Vendor, invitation_id: int, customer: Customer | None):
    invitations = Invitation.objects.filter(vendor=vendor, pk=invitation_id)
    if customer is None:
        return invitations.filter(customer__isnull=True).first()
    return invitations.filter(customer=customer).first()


def customer_list(*, vendor: Vendor, query: str = ""):
    customers = Customer.objects.filter(vendor=vendor).annotate(
        license_count=Count("licenses", distinct=True),
        user_count=Count("members", distinct=True),
    )
    if query:
        customers = customers.filter(Q(name__icontains=query) | Q(slug__icontains=query))
    return customers.order_by("name")


def customer_get(*, vendor: Vendor, slug: str) -> Customer | None:
    return Customer.objects.filter(vendor=vendor, slug=slug).first()


def license_get(*, vendor: Vendor, license_id: int) -> License | None:
    return License.objects.select_related("customer").filter(vendor=vendor, pk=license_id).first()


def grant_get(*, vendor: Vendor, grant_id: int) -> LicenseGrant | None:
    return (
        LicenseGrant.objects.select_related("license", "license__vendor", "license__customer")
        .filter(license__vendor=vendor, pk=grant_id)
        .first()
    )


def repository_list(*, vendor: Vendor):
    return (
        Repository.objects.filter(vendor=vendor).annotate(tag_count=Count("tags")).order_by("name")
    )


def repository_get(*, vendor: Vendor, name: str) -> Repository | None:
    return Repository.objects.filter(vendor=vendor, name=name).first()


def staff_members(*, vendor: Vendor):
    return VendorMember.objects.filter(vendor=vendor).select_related("user").order_by("user__email")


def staff_member_get(*, vendor: Vendor, member_id: int) -> VendorMember | None:
    return VendorMember.objects.select_related("vendor").filter(vendor=vendor, pk=member_id).first()


def customer_member_get(*, vendor: Vendor, customer: Customer, member_id: int):
    return (
        CustomerMember.objects.select_related("customer__vendor", "user")
        .filter(customer=customer, customer__vendor=vendor, pk=member_id)
        .first()
    )


User = get_user_model()
AUDIT_PAGE = 50


def audit_events(
    *,
    vendor: Vendor,
    action: str = "",
    actor: str = "",
    since=None,
    until=None,
    before_id=None,
    limit: int | None = AUDIT_PAGE + 1,
):
    """The vendor's audit rows, newest first. `actor` matches the stored actor or what the
    log shows for it (a user's email, a token's name)."""
    events = AuditEvent.objects.filter(vendor=vendor)
    if action:
        events = events.filter(action=action)
    if actor:
        users = User.objects.filter(email__icontains=actor).values_list("pk", flat=True)[:100]
        tokens = AccessToken.objects.filter(vendor=vendor, name__icontains=actor).values_list(
            "prefix", flat=True
        )[:100]
        events = events.filter(
            Q(actor__icontains=actor)
            | Q(actor__in=[f"user:{pk}" for pk in users])
            | Q(actor__in=[f"token:{prefix}" for prefix in tokens])
        )
    if since:
        events = events.filter(created_at__date__gte=since)
    if until:
        events = events.filter(created_at__date__lte=until)
    if before_id:
        events = events.filter(pk__lt=before_id)
    events = events.order_by("-pk")
    return events[:limit] if limit else events


def audit_actor_labels(*, vendor: Vendor, actors: set[str]) -> dict[str, str]:
    """How the log names each stored actor: `user:3` → the user's email, `token:<prefix>`
    → "CI token “name”", "API token “name”" or "pull token “name” (Customer)",
    `command:grant` → "command grant"; anything else as stored. Two queries for a page,
    whatever its length."""
    user_ids = {a[5:] for a in actors if a.startswith("user:") and a[5:].isdigit()}
    prefixes = {a[6:] for a in actors if a.startswith("token:")}
    emails = dict(User.objects.filter(pk__in=user_ids).values_list("pk", "email"))
    tokens = {
        t.prefix: t
        for t in AccessToken.objects.select_related("customer").filter(
            vendor=vendor, prefix__in=prefixes
        )
    }
    labels = {}
    for actor in actors:
        kind, _, rest = actor.partition(":")
        if kind == "user" and rest.isdigit() and int(rest) in emails:
            labels[actor] = emails[int(rest)]
        elif kind == "token" and rest in tokens:
            token = tokens[rest]
            if token.kind == AccessToken.Kind.API:
                labels[actor] = f"API token “{token.name}”"
            elif token.customer_id:
                labels[actor] = f"pull token “{token.name}” ({token.customer.name})"
            else:
                labels[actor] = f"CI token “{token.name}”"
        elif kind == "command":
            labels[actor] = f"command {rest}"
        else:
            labels[actor] = actor
    return labels


def domain_list_pending(*, hosts: list[str] | None = None):
    """Domain claims not verified yet (all vendors), optionally only for `hosts`."""
    pending = VendorDomain.objects.select_related("vendor").filter(verified_at__isnull=True)
    return pending.filter(host__in=hosts) if hosts else pending.order_by("created_at")
