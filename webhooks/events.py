"""What becomes an event: audited changes (the observer `audit_observed`, called by
`customers.services.audit_record` inside the change's transaction), a customer's first
pull (`pulls_stored`, called by the analytics ingestion inside its batch transaction),
and the license clock (`webhooks.services.license_notices_emit`, from beat).

Each turns into `webhooks.services.event_emit`, which writes one delivery per subscribed
endpoint in the same transaction: the outbox."""

from customers.models import AccessToken, AuditEvent, Customer
from licensing.models import License

# Short names people subscribe to; the CloudEvents type is "dev.distr." + name.
EVENT_TYPES: dict[str, str] = {
    "artifact.pushed": "a manifest was pushed (image, index, chart, artifact, signature)",
    "tag.moved": "a tag was created or now points at another manifest",
    "tag.deleted": "a tag was deleted",
    "license.created": "a license was issued",
    "license.updated": "a license's name, dates, notes or status changed",
    "license.suspended": "a license was suspended",
    "license.expiring": "a license ends in 30, 7 or 1 days (once each)",
    "license.expired": "a license's last valid day has passed",
    "token.created": "an access token was minted",
    "token.revoked": "an access token was revoked",
    "customer.created": "a customer was created",
    "customer.suspended": "a customer was suspended",
    "customer.deleted": "a (suspended) customer was deleted with its licenses and tokens",
    "customer.first_pull": "a customer pulled for the first time",
    "license.over_limit": "a license's check-ins counted more instances than its seats",
    "instance.first_seen": "an instance of the vendor's software checked in for the first time",
}
TEST_EVENT = "webhook.test"  # sent only by the console's "send test event"
TYPE_PREFIX = "dev.distr."

A = AuditEvent.Action


def audit_observed(*, event: AuditEvent) -> None:
    """Map one audit row to an event and emit it (no query for unmapped actions)."""
    if event.vendor_id is None or event.action not in _MAPPERS:
        return
    from webhooks.services import event_emit, vendor_has_endpoints

    if not vendor_has_endpoints(vendor_id=event.vendor_id):
        return  # the common case: no query beyond this one
    mapped = _MAPPERS[event.action](event)
    if mapped is None:
        return
    event_type, subject, data = mapped
    event_emit(
        vendor=event.vendor,
        event_type=event_type,
        subject=subject,
        data=data,
        time=event.created_at,
    )


def _details(event: AuditEvent) -> dict:
    return event.details or {}


def _target_id(event: AuditEvent, prefix: str) -> str:
    return event.target.removeprefix(prefix)


def _artifact_pushed(event):
    d = _details(event)
    data = {
        "repository": d.get("repository", ""),
        "tag": d.get("tag") or None,
        "digest": d.get("digest", ""),
        "mediaType": d.get("media_type", ""),
        "artifactType": d.get("artifact_type") or None,
        "size": d.get("size"),
        "actor": event.actor,
    }
    subject = f"{data['repository']}@{data['digest']}"
    return "artifact.pushed", subject, data


def _tag_moved(event):
    d = _details(event)
    data = {
        "repository": d.get("repository", ""),
        "tag": d.get("tag", ""),
        "digest": d.get("to", ""),
        "previousDigest": d.get("from") or None,
        "actor": event.actor,
    }
    return "tag.moved", f"{data['repository']}:{data['tag']}", data


def _tag_deleted(event):
    d = _details(event)
    data = {"repository": d.get("repository", ""), "tag": d.get("tag", ""), "actor": event.actor}
    return "tag.deleted", f"{data['repository']}:{data['tag']}", data


def _license_data(license: License) -> dict:
    return {
        "id": license.pk,
        "name": license.name,
        "customer": license.customer.slug,
        "validFrom": license.valid_from.isoformat(),
        "validUntil": license.valid_until.isoformat() if license.valid_until else None,
        "status": license.status,
    }


def _license(event):
    license = (
        License.objects.select_related("customer")
        .filter(vendor_id=event.vendor_id, pk=_target_id(event, "license:"))
        .first()
    )
    if license is None:
        return None
    if event.action == A.LICENSE_CREATED:
        event_type = "license.created"
    elif _details(event).get("status") == License.Status.SUSPENDED:
        event_type = "license.suspended"
    else:
        event_type = "license.updated"
    return event_type, f"license:{license.pk}", {**_license_data(license), "actor": event.actor}


def _token(event):
    prefix = _target_id(event, "token:")
    token = (
        AccessToken.objects.select_related("customer")
        .filter(vendor_id=event.vendor_id, prefix=prefix)
        .first()
    )
    if token is None:
        return None
    data = {
        "prefix": token.prefix,
        "kind": token.kind,
        "name": token.name,
        "customer": token.customer.slug if token.customer else None,
        "expiresAt": token.expires_at.isoformat() if token.expires_at else None,
        "actor": event.actor,
    }
    event_type = "token.created" if event.action == A.TOKEN_CREATED else "token.revoked"
    return event_type, f"token:{prefix}", data


def _customer_data(customer: Customer) -> dict:
    return {
        "slug": customer.slug,
        "name": customer.name,
        "contactEmail": customer.contact_email or None,
        "suspended": customer.suspended_at is not None,
    }


def _customer(event):
    customer = Customer.objects.filter(
        vendor_id=event.vendor_id, slug=_target_id(event, "customer:")
    ).first()
    if customer is None:
        return None
    event_type = {
        A.CUSTOMER_CREATED: "customer.created",
        A.CUSTOMER_SUSPENDED: "customer.suspended",
        A.CUSTOMER_DELETED: "customer.deleted",
    }[event.action]
    if event_type == "customer.deleted":  # the row is written before the delete
        removed = {k: event.details.get(k) for k in ("licenses", "tokens", "members")}
        return (
            event_type,
            f"customer:{customer.slug}",
            {
                "slug": customer.slug,
                "name": customer.name,
                "removed": removed,
                "actor": event.actor,
            },
        )
    return (
        event_type,
        f"customer:{customer.slug}",
        {**_customer_data(customer), "actor": event.actor},
    )


def _over_limit(event):
    mapped = _license(event)
    if mapped is None:
        return None
    _, subject, data = mapped
    d = _details(event)
    return (
        "license.over_limit",
        subject,
        {**data, "seatsUsed": d.get("used"), "seats": d.get("bought")},
    )


def _instance_first_seen(event):
    mapped = _license(event)
    if mapped is None:
        return None
    d = _details(event)
    data = {
        "license": mapped[2],
        "instanceId": d.get("instance_id", ""),
        "version": d.get("version") or None,
        "source": d.get("source", "online"),
    }
    return "instance.first_seen", f"instance:{event.target}/{data['instanceId']}", data


_MAPPERS = {
    A.LICENSE_OVER_LIMIT: _over_limit,
    A.INSTANCE_FIRST_SEEN: _instance_first_seen,
    A.MANIFEST_PUSHED: _artifact_pushed,
    A.TAG_MOVED: _tag_moved,
    A.TAG_DELETED: _tag_deleted,
    A.LICENSE_CREATED: _license,
    A.LICENSE_UPDATED: _license,
    A.TOKEN_CREATED: _token,
    A.TOKEN_REVOKED: _token,
    A.CUSTOMER_CREATED: _customer,
    A.CUSTOMER_SUSPENDED: _customer,
    A.CUSTOMER_DELETED: _customer,
}


def pulls_stored(*, pulls) -> None:
    """customer.first_pull: the first counted pull of each customer, once ever (a marker
    row per customer, inserted in the ingestion batch's transaction)."""
    from webhooks.models import CustomerFirstPull
    from webhooks.services import event_emit, vendor_has_endpoints

    first: dict[int, object] = {}
    for pull in sorted(pulls, key=lambda p: p.occurred_at):
        first.setdefault(pull.customer_id, pull)
    known = set(
        CustomerFirstPull.objects.filter(customer_id__in=first).values_list(
            "customer_id", flat=True
        )
    )
    new = [pull for customer_id, pull in first.items() if customer_id not in known]
    if not new:
        return
    customers = Customer.objects.select_related("vendor").in_bulk([p.customer_id for p in new])
    for pull in new:
        customer = customers.get(pull.customer_id)
        if customer is None:
            continue
        # One marker per customer: of two batches racing, the one whose insert wins
        # announces (the other waits on the unique key, then finds the row).
        _, created = CustomerFirstPull.objects.get_or_create(
            customer_id=customer.pk, defaults={"pulled_at": pull.occurred_at}
        )
        if not created:
            continue
        if not vendor_has_endpoints(vendor_id=customer.vendor_id):
            continue
        event_emit(
            vendor=customer.vendor,
            event_type="customer.first_pull",
            subject=f"customer:{customer.slug}",
            data={
                **_customer_data(customer),
                "repository": pull.repository,
                "tag": pull.tag or None,
                "digest": pull.digest,
                "pulledAt": pull.occurred_at.isoformat(),
            },
            time=pull.occurred_at,
        )


def license_event_data(license: License) -> dict:
    return _license_data(license)
