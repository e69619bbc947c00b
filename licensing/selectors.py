"""The license decision: what a customer may pull from a repository, and why not.

`entitlement_get` builds (and caches) the entitlement closure of one customer in one
repository: the tags that match grants of active licenses; every manifest such a tag
pointed at while the license was valid (tag history); the children of indexes among them;
their referrers (signatures, SBOMs) where the grant includes referrers; and every blob those
manifests reference. Pull by tag or digest, blob reads, tag lists, referrers and the catalog
all answer from it.

Cache key: (customer, repository, the customer's generation, the repository's generation),
both read from the database on every request (core/changes.py). License, grant and
customer changes, pushes, tag moves and deletes replace a generation inside their own
transaction, so every process sees the change from the first request after it commits;
a warm decision costs the one generations query, which the registry's request shares with
the token check.

Grants name repositories by name or pattern (licensing/rules.py), matched here and nowhere
else. A grant may cover a repository that does not exist yet: its entitlement is built
empty under the repository's generation of the moment, and the first push replaces that
generation in the push's transaction, so the next request builds it afresh. The catalog
(`licensed_repository_names`) expands patterns against the repositories there are on each
call; nothing caches it.
"""

import datetime
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db.models import Count, Q
from django.utils import timezone

from core.changes import Generations, customer_generation_key, repository_generation_key
from core.memo import LruMemo
from core.versions import tags_newest_first
from customers.models import Customer
from licensing.models import EntitlementField, Instance, License, LicenseGrant, LicenseKey, Plan
from licensing.rules import repository_pattern_is_glob, repository_pattern_matches, rule_matches
from registry.models import Repository
from registry.names import repository_name_is_valid
from registry.selectors import repository_graph

CACHE_SECONDS = 3600


class EntitlementDenied(Exception):
    """A reason a customer may read (never names another customer's data)."""


@dataclass(frozen=True)
class Entitlement:
    denial: str = ""  # why nothing at all may be pulled ("" when something may)
    rules: tuple[tuple[str, str], ...] = ()  # (kind, pattern) of active grants
    tags: frozenset[str] = frozenset()  # current tags covered
    manifests: frozenset[str] = field(default_factory=frozenset)
    blobs: frozenset[str] = field(default_factory=frozenset)
    recheck_on: datetime.date | None = None  # a license starts or ends on this day
    # Why something is not covered when an inactive license would cover it: the rules of
    # inactive grants with their license's state, and the manifests and blobs they would
    # entitle -> that state ("license 'X' is suspended").
    inactive_rules: tuple[tuple[str, str, str], ...] = ()
    inactive_reasons: dict[str, str] = field(default_factory=dict)


def entitlement_get(
    *, customer_id: int, repository_name: str, generations: Generations | None = None
) -> Entitlement:
    """The closure, from this process's memo or the shared cache when either was built
    under the current generations (pass the request's `generations` to reuse its read)."""
    generations = generations or Generations()
    customer_key = customer_generation_key(customer_id)
    repository_key = repository_generation_key(repository_name)
    generations.prefetch([customer_key, repository_key])
    customer_generation = generations.get(customer_key)
    repository_generation = generations.get(repository_key)
    key = (
        f"licensing:closure:{customer_id}:{repository_name}"
        f":{customer_generation}:{repository_generation}"
    )
    today = timezone.localdate()
    cached = _local.get(key)
    if cached is None:
        cached = cache.get(key)  # another process may have built it (shared cache)
    if cached is not None and (cached.recheck_on is None or today < cached.recheck_on):
        _local.put(key, cached)
        return cached
    entitlement = entitlement_build(
        customer_id=customer_id, repository_name=repository_name, today=today
    )
    cache.set(key, entitlement, CACHE_SECONDS)
    _local.put(key, entitlement)
    return entitlement


# Entitlements already unpickled in this process, under keys that carry both generations.
_local: LruMemo[Entitlement] = LruMemo(capacity=2048)


def entitlement_build(
    *, customer_id: int, repository_name: str, today: datetime.date
) -> Entitlement:
    if Customer.objects.filter(pk=customer_id, suspended_at__isnull=False).exists():
        return Entitlement(denial="your account is suspended; contact your vendor")
    grants = _grants_covering(customer_id=customer_id, repository_name=repository_name)
    active = [g for g in grants if _is_active(g.license, today)]
    recheck_on = _next_boundary([g.license for g in grants], today)
    if not active:
        return Entitlement(denial=_denial(grants, repository_name, today), recheck_on=recheck_on)
    repository = Repository.objects.filter(
        vendor_id=active[0].license.vendor_id, name=repository_name
    ).first()
    if repository is None:  # granted before its first push: the push bumps repo:<name>
        return Entitlement(
            rules=tuple(sorted({(g.rule, g.pattern) for g in active})), recheck_on=recheck_on
        )
    graph = repository_graph(repository_id=repository.id)

    roots: set[str] = set()
    with_referrers: set[str] = set()
    for tag, digest, since, until in graph.tag_history:
        for grant in active:
            if rule_matches(grant.rule, grant.pattern, tag) and _overlaps(
                grant.license, since, until
            ):
                roots.add(digest)
                if grant.include_referrers:
                    with_referrers.add(digest)
    manifests = _walk(roots, with_referrers, graph)
    blobs = frozenset(b for digest in manifests for b in graph.blobs.get(digest, ()))
    rules = tuple(sorted({(g.rule, g.pattern) for g in active}))
    covered = frozenset(tag for tag in graph.tags if any(rule_matches(k, p, tag) for k, p in rules))
    inactive = [g for g in grants if g not in active]
    return Entitlement(
        rules=rules,
        tags=covered,
        manifests=frozenset(manifests),
        blobs=blobs,
        recheck_on=recheck_on,
        inactive_rules=tuple(
            (g.rule, g.pattern, license_state(g.license, today)) for g in inactive
        ),
        inactive_reasons=_inactive_reasons(inactive, graph, today),
    )


def _inactive_reasons(grants: list[LicenseGrant], graph, today) -> dict[str, str]:
    """Manifests and blobs that inactive licenses would entitle if they were active ->
    the license's state (the first such license, by name, when several would)."""
    reasons: dict[str, str] = {}
    for grant in sorted(grants, key=lambda g: g.license.name, reverse=True):
        # Were it active now, the license would cover what its tags point at now or pointed
        # at before: its validity window is what is missing, so it is not applied here.
        roots = {
            digest
            for tag, digest, _since, _until in graph.tag_history
            if rule_matches(grant.rule, grant.pattern, tag)
        }
        walked = _walk(roots, roots if grant.include_referrers else set(), graph)
        reason = license_state(grant.license, today)
        for digest in walked:
            reasons[digest] = reason
            reasons.update(dict.fromkeys(graph.blobs.get(digest, ()), reason))
    return reasons


def _next_boundary(licenses: list[License], today: datetime.date) -> datetime.date | None:
    """The first day after today on which one of these licenses starts or stops."""
    days = [lic.valid_from for lic in licenses if lic.valid_from > today]
    days += [
        lic.valid_until + datetime.timedelta(days=1)
        for lic in licenses
        if lic.valid_until is not None and lic.valid_until >= today
    ]
    return min(days, default=None)


def pull_check(
    *,
    customer_id: int,
    repository_name: str,
    resource: str,
    reference: str | None,
    generations: Generations | None = None,
) -> Entitlement:
    """Raise EntitlementDenied unless the customer may read `resource` (manifest, blob,
    tags, referrers) at `reference`; return the entitlement for filtering lists."""
    entitlement = entitlement_get(
        customer_id=customer_id, repository_name=repository_name, generations=generations
    )
    if entitlement.denial:
        raise EntitlementDenied(entitlement.denial)
    if resource == "manifest" and reference:
        if ":" in reference:
            if reference not in entitlement.manifests:
                raise EntitlementDenied(
                    entitlement.inactive_reasons.get(reference)
                    or f"manifest {reference} of {repository_name} is not covered by your license"
                )
        elif not any(rule_matches(k, p, reference) for k, p in entitlement.rules):
            raise EntitlementDenied(
                next(
                    (s for k, p, s in entitlement.inactive_rules if rule_matches(k, p, reference)),
                    f"tag '{reference}' of {repository_name} is not covered by your license",
                )
            )
    elif resource == "blob" and reference not in entitlement.blobs:
        raise EntitlementDenied(
            entitlement.inactive_reasons.get(reference)
            or f"blob {reference} of {repository_name} is not covered by your license"
        )
    return entitlement


def _grants_covering(*, customer_id: int, repository_name: str) -> list[LicenseGrant]:
    """The customer's grants whose repository name or pattern covers `repository_name`
    (the one place grants are matched to repositories: licensing/rules.py)."""
    if not repository_name_is_valid(repository_name):
        return []
    candidates = LicenseGrant.objects.select_related("license").filter(
        Q(repository_name=repository_name)
        | Q(repository_name__contains="*")
        | Q(repository_name__contains="?"),
        license__customer_id=customer_id,
    )
    return [g for g in candidates if repository_pattern_matches(g.repository_name, repository_name)]


def _repositories_covered(*, vendor_id: int, patterns: set[str]) -> set[str]:
    """Existing repositories of the vendor that these names or patterns cover."""
    exact = {p for p in patterns if not repository_pattern_is_glob(p)}
    globs = patterns - exact
    names = Repository.objects.filter(vendor_id=vendor_id)
    if not globs:
        names = names.filter(name__in=exact)
    return {
        name
        for name in names.values_list("name", flat=True)
        if any(repository_pattern_matches(p, name) for p in patterns)
    }


def licensed_repository_names(*, customer_id: int) -> set[str]:
    """Existing repositories the customer has an active grant for (the customer's catalog),
    patterns expanded against the repositories there are now."""
    today = timezone.localdate()
    grants = LicenseGrant.objects.select_related("license").filter(
        license__customer_id=customer_id, license__customer__suspended_at__isnull=True
    )
    active = [g for g in grants if _is_active(g.license, today)]
    if not active:
        return set()
    return _repositories_covered(
        vendor_id=active[0].license.vendor_id, patterns={g.repository_name for g in active}
    )


def license_get(*, license_id: int) -> License | None:
    """A license by id, across vendors: for operators' commands, which name it by id."""
    return License.objects.select_related("vendor", "customer").filter(pk=license_id).first()


def license_coverage(*, license: License) -> dict[str, list[str]]:
    """What this license covers right now: each grant's repository name -> covered current
    tags; for a pattern, the pattern -> `repository:tag` of every repository it covers."""
    today = timezone.localdate()
    coverage: dict[str, set[str]] = {}
    for grant in license.grants.all():
        entries = coverage.setdefault(grant.repository_name, set())
        if not _is_active(license, today):
            continue
        names = _repositories_covered(vendor_id=license.vendor_id, patterns={grant.repository_name})
        is_glob = repository_pattern_is_glob(grant.repository_name)
        for repository in Repository.objects.filter(vendor_id=license.vendor_id, name__in=names):
            graph = repository_graph(repository_id=repository.id)
            for tag in graph.tags:
                if rule_matches(grant.rule, grant.pattern, tag):
                    entries.add(f"{repository.name}:{tag}" if is_glob else tag)
    return {name: sorted(entries) for name, entries in sorted(coverage.items())}


def grant_preview_tags(
    *, vendor_id: int, repository_name: str, rule: str, pattern: str
) -> list[str]:
    """What a prospective grant would cover now, newest first: tags of a named repository,
    `repository:tag` for a pattern (the console's grant preview)."""
    is_glob = repository_pattern_is_glob(repository_name)
    found = []
    for name in sorted(_repositories_covered(vendor_id=vendor_id, patterns={repository_name})):
        graph = repository_graph(
            repository_id=Repository.objects.get(vendor_id=vendor_id, name=name).id
        )
        tags = tags_newest_first([t for t in graph.tags if rule_matches(rule, pattern, t)])
        found += [f"{name}:{t}" if is_glob else t for t in tags]
    return found


def _is_active(license: License, today: datetime.date) -> bool:
    return (
        license.status == License.Status.ACTIVE
        and license.valid_from <= today
        and (license.valid_until is None or today <= license.valid_until)
    )


def _overlaps(license: License, since, until) -> bool:
    """Did a tag's [since, until) interval overlap the license's validity?"""
    start = datetime.datetime.combine(license.valid_from, datetime.time.min, datetime.UTC)
    if until is not None and until < start:
        return False
    if license.valid_until is None:
        return True
    end = datetime.datetime.combine(license.valid_until, datetime.time.max, datetime.UTC)
    return since <= end


def _walk(roots: set[str], with_referrers: set[str], graph) -> set[str]:
    seen: set[str] = set()
    stack = [(digest, digest in with_referrers) for digest in roots]
    while stack:
        digest, referrers = stack.pop()
        if digest in seen:
            continue
        seen.add(digest)
        stack.extend((child, referrers) for child in graph.children.get(digest, ()))
        if referrers:
            stack.extend((ref, True) for ref in graph.referrers.get(digest, ()))
    return seen


def _denial(grants: list[LicenseGrant], repository_name: str, today: datetime.date) -> str:
    for grant in grants:
        if grant.license.status == License.Status.SUSPENDED:
            return license_state(grant.license, today)
    for grant in grants:
        if not _is_active(grant.license, today):
            return license_state(grant.license, today)
    return f"no license of yours covers {repository_name}"


def license_status(license: License, today: datetime.date) -> str:
    """ "active", "suspended", "expired" or "not yet valid" on `today`."""
    if license.status == License.Status.SUSPENDED:
        return "suspended"
    if license.valid_until is not None and license.valid_until < today:
        return "expired"
    if license.valid_from > today:
        return "not yet valid"
    return "active"


def license_state(license: License, today: datetime.date) -> str:
    """Why an inactive license does not count today, as the customer reads it."""
    status = license_status(license, today)
    if status == "expired":
        return f"license '{license.name}' expired on {license.valid_until.isoformat()}"
    if status == "not yet valid":
        return f"license '{license.name}' is valid from {license.valid_from.isoformat()}"
    return f"license '{license.name}' is {status}"


def customers_with_active_license(*, vendor_id: int, today: datetime.date) -> dict[int, list[str]]:
    """customer id -> names of that customer's licenses active on `today` (analytics'
    "gone quiet" list starts from these)."""
    active: dict[int, list[str]] = {}
    for license in License.objects.filter(
        vendor_id=vendor_id, status=License.Status.ACTIVE, valid_from__lte=today
    ).order_by("name"):
        if _is_active(license, today):
            active.setdefault(license.customer_id, []).append(license.name)
    return active


@dataclass(frozen=True)
class RepositoryEntitled:
    """What any active license of any customer entitles in one repository: what storage
    lifecycle (garbage collection, retention rules) must not remove (docs/gc.md)."""

    tags: frozenset[str]  # current tags an active grant's rule covers
    manifests: frozenset[str]  # digests entitled through tag history, with their closure


def repository_entitled(*, repository: Repository) -> RepositoryEntitled:
    """The union over every customer's active grants covering `repository`. Suspended
    customers count: a suspension is lifted without the vendor pushing again."""
    today = timezone.localdate()
    grants = [
        g
        for g in LicenseGrant.objects.select_related("license").filter(
            license__vendor_id=repository.vendor_id
        )
        if _is_active(g.license, today)
        and repository_pattern_matches(g.repository_name, repository.name)
    ]
    if not grants:
        return RepositoryEntitled(tags=frozenset(), manifests=frozenset())
    graph = repository_graph(repository_id=repository.id)
    roots: set[str] = set()
    with_referrers: set[str] = set()
    for tag, digest, since, until in graph.tag_history:
        for grant in grants:
            if rule_matches(grant.rule, grant.pattern, tag) and _overlaps(
                grant.license, since, until
            ):
                roots.add(digest)
                if grant.include_referrers:
                    with_referrers.add(digest)
    tags = frozenset(
        t for t in graph.tags if any(rule_matches(g.rule, g.pattern, t) for g in grants)
    )
    return RepositoryEntitled(tags=tags, manifests=frozenset(_walk(roots, with_referrers, graph)))


def instances_of_license(*, license: License) -> list:
    return list(Instance.objects.filter(license=license).order_by("-last_seen"))


def instances_of_vendor(
    *, vendor_id: int, customer_id: int | None = None, limit: int | None = None
) -> list:
    """The vendor's instances, newest check-in first, with their license and customer."""
    instances = Instance.objects.filter(license__vendor_id=vendor_id)
    if customer_id is not None:
        instances = instances.filter(license__customer_id=customer_id)
    return list(instances.select_related("license__customer").order_by("-last_seen")[:limit])


def running_versions(*, vendor_id: int, since: datetime.datetime) -> dict[str, int]:
    """Version -> instances reporting it that checked in since `since` (analytics'
    version adoption uses these where instances report them)."""
    rows = (
        Instance.objects.filter(license__vendor_id=vendor_id, last_seen__gte=since)
        .exclude(version="")
        .values("version")
        .annotate(n=Count("id"))
    )
    return {row["version"]: row["n"] for row in rows}


# --- entitlement fields, plans and keys, for the console (licensing/plans.py writes) ----


def fields_list(*, vendor_id: int) -> list[EntitlementField]:
    return list(EntitlementField.objects.filter(vendor_id=vendor_id).order_by("key"))


def field_get(*, vendor_id: int, key: str) -> EntitlementField | None:
    return EntitlementField.objects.filter(vendor_id=vendor_id, key=key).first()


def plans_list(*, vendor_id: int) -> list[Plan]:
    return list(
        Plan.objects.filter(vendor_id=vendor_id)
        .annotate(n_licenses=Count("licenses"))
        .order_by("name")
    )


def plan_get(*, vendor_id: int, plan_id: int) -> Plan | None:
    return Plan.objects.filter(vendor_id=vendor_id, pk=plan_id).first()


def license_keys_recent(*, vendor_id: int, limit: int = 50) -> list[LicenseKey]:
    """The keys issued last (who got which sequence under which signing key)."""
    return list(
        LicenseKey.objects.filter(license__vendor_id=vendor_id)
        .select_related("license__customer")
        .order_by("-issued_at", "-id")[:limit]
    )


def licenses_over_seats(*, vendor_id: int) -> list[License]:
    """Licenses whose last check-in counted more instances than seats."""
    return list(
        License.objects.filter(vendor_id=vendor_id, over_limit=True)
        .select_related("customer", "plan")
        .order_by("customer__name", "name")
    )


def running_versions_by_customer(
    *, vendor_id: int, since: datetime.datetime
) -> dict[str, dict[str, int]]:
    """Customer slug -> {version: instances} for instances that checked in since `since`
    and reported a version: what customers run, beside what they pulled (analytics'
    version adoption shows both)."""
    rows = (
        Instance.objects.filter(license__vendor_id=vendor_id, last_seen__gte=since)
        .exclude(version="")
        .values("license__customer__slug", "version")
        .annotate(n=Count("id"))
        .order_by("license__customer__slug", "version")
    )
    out: dict[str, dict[str, int]] = {}
    for row in rows:
        out.setdefault(row["license__customer__slug"], {})[row["version"]] = row["n"]
    return out
