"""Check-ins: an application presents its license key and an instance id; the answer
says whether the license is still in force, hands the newest key if the sequence moved,
a fresh lease, and the seat state (docs/license-keys.md).

The key is the credential: it must verify with one of its vendor's keys that is not
retired, and must be a key distr issued (its SHA-256 is on record; the token never is).
Instances are written at most once a TOUCH_SECONDS per instance unless what they report
changes, and nothing is audited per check-in: only an instance's first appearance, the
turn over the seat limit, and an uploaded file.

A check-in with a key distr issued, signed by a key still trusted, reads everything it
needs in one query (licensing/checkin_state.py); anything else takes the general path
(`key_authenticate`), which says why it is refused."""

import datetime
import json
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from customers.models import AuditEvent, Customer, Vendor
from customers.services import audit_record
from licensing.checkin_state import (
    CheckInState,
    checkin_state,
    kid_memo,
    kid_remember,
    verified_claims_memo,
    verified_claims_remember,
)
from licensing.keys import (
    KEY_TYP,
    lease_issue,
    lease_refusal,
    license_key_current,
    token_sha256,
)
from licensing.models import Instance, License, LicenseKey
from licensing.plans import license_seats
from signing.signatures import (
    SignatureInvalid,
    jws_kid,
    jws_verify_by_vendor_slug,
    jws_verify_with_public_key,
)

TOUCH_SECONDS = 60
MAX_KEY = 16 * 1024
MAX_INSTANCE_ID = 200
MAX_VERSION = 200
MAX_METADATA = 4096  # bytes of compact JSON
MAX_UPLOAD_ENTRIES = 10_000
UPLOAD_FORMAT = "distr-checkins/1"


class CheckInRefused(Exception):
    """The key or the request is refused: `status` (HTTP) and a reason to show."""

    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class Presented:
    license: License
    claims: dict
    state: CheckInState | None = None  # when read by the one-query path


_LOOK_UP = object()  # instance_record: the caller has not read the instance


def _issuer(vendor_slug: str) -> str:
    return f"{settings.DISTR_PUBLIC_URL}/p/{vendor_slug}"  # signing.published.vendor_public_url


def key_presented_fast(token, instance_id, *, now: datetime.datetime) -> Presented | None:
    """The one-query path of a check-in (licensing/checkin_state.py), or None: the key or
    the request is not one it answers, and `key_authenticate` decides."""
    if not isinstance(token, str) or not token or len(token) > MAX_KEY:
        return None
    if not isinstance(instance_id, str) or not 0 < len(instance_id) <= MAX_INSTANCE_ID:
        return None
    digest = token_sha256(token)
    kid = kid_memo(digest)
    if kid is None:
        try:
            kid = jws_kid(token, KEY_TYP)
        except SignatureInvalid:
            return None
        kid_remember(digest, kid)
    since = now - datetime.timedelta(days=settings.LICENSE_SEAT_WINDOW_DAYS)
    state = checkin_state(token_sha256=digest, kid=kid, instance_id=instance_id, seats_since=since)
    if state is None:
        return None
    license = state.license
    claims = verified_claims_memo(digest, kid)
    if claims is None:
        try:
            claims = jws_verify_with_public_key(
                public_key=state.verification_public_key,
                token=token,
                options={"verify_exp": False, "verify_nbf": False, "require": ["sub", "seq"]},
            )
        except SignatureInvalid:
            return None
        verified_claims_remember(digest, kid, claims)
    if claims.get("iss") != _issuer(license.vendor.slug) or str(claims["sub"]) != str(license.pk):
        return None
    return Presented(license=license, claims=claims, state=state)


def key_authenticate(token: str) -> Presented:
    """The license `token` is a key of, or CheckInRefused saying why not."""
    if not isinstance(token, str) or not token or len(token) > MAX_KEY:
        raise CheckInRefused(400, "send the license key as `key`")
    import jwt  # the unverified issuer only picks which vendor's keys to try

    try:
        issuer = jwt.decode(token, options={"verify_signature": False}).get("iss", "")
    except jwt.InvalidTokenError:
        raise CheckInRefused(401, "not a license key (a compact JWS)") from None
    prefix = f"{settings.DISTR_PUBLIC_URL}/p/"
    slug = issuer[len(prefix) :] if isinstance(issuer, str) and issuer.startswith(prefix) else ""
    if not slug or "/" in slug:
        raise CheckInRefused(401, "the key's issuer is not a vendor of this distr")
    try:
        # The vendor and its signing key in one query: the issuer names the vendor, and
        # the issuer claim is checked against that vendor's URL once the signature holds.
        vendor, claims = jws_verify_by_vendor_slug(
            vendor_slug=slug,
            token=token,
            typ=KEY_TYP,
            issuer=_issuer(slug),
            # Dates are answered as a status below, not refused as a bad credential.
            options={"verify_exp": False, "verify_nbf": False, "require": ["sub", "seq"]},
        )
    except SignatureInvalid as exc:
        if not Vendor.objects.filter(slug=slug).exists():
            raise CheckInRefused(401, "the key's issuer is not a vendor of this distr") from None
        raise CheckInRefused(401, f"the key does not verify: {exc}") from None
    license_id = str(claims["sub"])
    license_pk = int(license_id) if license_id.isdigit() else 0
    # The license and the record that distr issued this very key, in one query.
    issued = (
        LicenseKey.objects.filter(
            license_id=license_pk, license__vendor=vendor, token_sha256=token_sha256(token)
        )
        .select_related("license__vendor", "license__customer", "license__plan")
        .defer("claims")  # the token itself was just verified: its claims are in hand
        .first()
    )
    if issued is None:
        if not License.objects.filter(vendor=vendor, pk=license_pk).exists():
            raise CheckInRefused(410, "the license of this key was deleted")
        raise CheckInRefused(401, "distr did not issue this key")
    return Presented(license=issued.license, claims=claims)


def _status(presented: Presented) -> str:
    refusal = lease_refusal(presented.license)
    if refusal:
        return refusal
    if int(presented.claims["seq"]) < presented.license.sequence:
        return "superseded"
    return "valid"


_REASONS = {
    "valid": "the license is in force",
    "suspended": "the vendor suspended this license",
    "expired": "the license has ended",
    "not_yet_valid": "the license has not started",
    "superseded": "the license changed: use the newer key in `key` and check in again",
}


def _report_check(instance_id, version, metadata) -> dict:
    if not isinstance(instance_id, str) or not 0 < len(instance_id) <= MAX_INSTANCE_ID:
        raise CheckInRefused(400, f"instance_id: 1 to {MAX_INSTANCE_ID} characters")
    if not isinstance(version, str) or len(version) > MAX_VERSION:
        raise CheckInRefused(400, f"version: at most {MAX_VERSION} characters")
    metadata = {} if metadata is None else metadata
    if not isinstance(metadata, dict):
        raise CheckInRefused(400, "metadata: a JSON object")
    if len(json.dumps(metadata, separators=(",", ":"))) > MAX_METADATA:
        raise CheckInRefused(400, f"metadata: at most {MAX_METADATA} bytes")
    return metadata


def instance_record(
    *,
    license: License,
    instance_id: str,
    version: str,
    metadata: dict,
    seen: datetime.datetime,
    source: str = Instance.Source.ONLINE,
    known=_LOOK_UP,
) -> Instance:
    """Insert or touch one instance; its first appearance is audited. `known`: the
    instance as the caller just read it (None: there was none)."""
    instance = (
        Instance.objects.filter(license=license, instance_id=instance_id).first()
        if known is _LOOK_UP
        else known
    )
    if instance is None:
        try:
            with transaction.atomic():
                instance = Instance.objects.create(
                    license=license,
                    instance_id=instance_id,
                    version=version,
                    metadata=metadata,
                    source=source,
                    first_seen=seen,
                    last_seen=seen,
                )
                audit_record(
                    vendor=license.vendor,
                    action=AuditEvent.Action.INSTANCE_FIRST_SEEN,
                    target=f"license:{license.pk}",
                    actor=f"instance:{instance_id}"[:200],
                    details={
                        "customer": license.customer.slug,
                        "license": license.pk,
                        "instance_id": instance_id,
                        "version": version,
                        "source": source,
                    },
                )
            return instance
        except IntegrityError:  # the same instance's first check-in raced in another process
            instance = Instance.objects.get(license=license, instance_id=instance_id)
    changed = (instance.version, instance.metadata, instance.source) != (
        version,
        metadata,
        source,
    )
    if seen > instance.last_seen and (
        changed or (seen - instance.last_seen).total_seconds() >= TOUCH_SECONDS
    ):
        Instance.objects.filter(pk=instance.pk).update(
            version=version, metadata=metadata, source=source, last_seen=seen
        )
        instance.version, instance.metadata, instance.source = version, metadata, source
        instance.last_seen = seen
    return instance


def seats_state(
    license: License, *, now: datetime.datetime | None = None, used: int | None = None
) -> dict:
    """Instances seen in the seat window against the seats bought (None: no limit).
    `used`: the count, when the caller has it."""
    if used is None:
        now = now or timezone.now()
        since = now - datetime.timedelta(days=settings.LICENSE_SEAT_WINDOW_DAYS)
        used = Instance.objects.filter(license=license, last_seen__gte=since).count()
    bought = license_seats(license)
    state = "over_limit" if bought is not None and used > bought else "ok"
    return {"state": state, "used": used, "bought": bought}


def _over_limit_note(license: License, seats: dict) -> None:
    over = seats["state"] == "over_limit"
    if over == license.over_limit:
        return
    with transaction.atomic():
        # Only the process that flips the flag audits the turn.
        flipped = License.objects.filter(pk=license.pk, over_limit=not over).update(over_limit=over)
        license.over_limit = over
        if flipped and over:
            audit_record(
                vendor=license.vendor,
                action=AuditEvent.Action.LICENSE_OVER_LIMIT,
                actor="system",
                target=f"license:{license.pk}",
                details={
                    "customer": license.customer.slug,
                    "name": license.name,
                    "used": seats["used"],
                    "bought": seats["bought"],
                },
            )


def _answer(presented: Presented, instance_id: str, seats: dict) -> dict:
    license = presented.license
    status = _status(presented)
    answer = {
        "status": status,
        "reason": _REASONS[status],
        "license": str(license.pk),
        "sequence": license.sequence,
        "key": None,
        "lease": None,
        "seats": seats,
    }
    if int(presented.claims["seq"]) < license.sequence:
        if presented.state is not None:  # the one-query read holds only what a lease needs
            license = License.objects.select_related("vendor", "customer", "plan").get(
                pk=license.pk
            )
        answer["key"] = license_key_current(license, actor="system")
    if status == "valid":
        signer = presented.state.signing_key if presented.state is not None else None
        answer["lease"] = lease_issue(license, instance_id=instance_id, signing_key=signer)
    return answer


def check_in(
    *, key: str, instance_id: str, version: str = "", metadata: dict | None = None
) -> dict:
    """One online check-in (POST /api/v1/license/check-in)."""
    answer = check_in_one_query(
        key=key, instance_id=instance_id, version=version, metadata=metadata
    )
    if answer is not None:
        return answer
    presented = key_authenticate(key)
    metadata = _report_check(instance_id, version, metadata)
    return _recorded_answer(presented, instance_id, version, metadata, now=timezone.now())


def check_in_one_query(
    *, key, instance_id, version="", metadata=None, admit: Callable[[], bool] | None = None
) -> dict | None:
    """check_in when the one-query read answers it (a key distr issued, signed by a key
    still trusted, a well-formed report) and `admit()` (the rate limit, when the caller
    counts it here) lets it through; else None, having written nothing, and the caller
    takes the general path, which says what is wrong."""
    now = timezone.now()
    presented = key_presented_fast(key, instance_id, now=now)
    if presented is None:
        return None
    try:
        metadata = _report_check(instance_id, version, metadata)
    except CheckInRefused:
        return None
    if admit is not None and not admit():
        return None
    return _recorded_answer(presented, instance_id, version, metadata, now=now)


def _recorded_answer(presented: Presented, instance_id, version, metadata, *, now) -> dict:
    """Record the instance, count the seats, answer. On the one-query read the instance
    and the count came with it."""
    state = presented.state
    known = state.instance if state is not None else _LOOK_UP
    instance_record(
        license=presented.license,
        instance_id=instance_id,
        version=version,
        metadata=metadata,
        seen=now,
        known=known,
    )
    if state is None:
        seats = seats_state(presented.license, now=now)
    else:
        # After the check-in the instance counts; it did already if seen in the window.
        since = now - datetime.timedelta(days=settings.LICENSE_SEAT_WINDOW_DAYS)
        counted_before = known is not None and known.last_seen >= since
        seats = seats_state(presented.license, used=state.seats_used + (not counted_before))
    _over_limit_note(presented.license, seats)
    return _answer(presented, instance_id, seats)


def checkins_upload(*, customer: Customer, data: bytes, actor: str = "") -> dict:
    """A file an air-gapped application wrote (docs/license-keys.md, "Offline check-in"),
    uploaded by the customer: its instances are recorded as self-reported (offline), and
    the answer is the one an online check-in gets (a lease to carry back)."""
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise CheckInRefused(400, "the file is not JSON") from None
    if not isinstance(document, dict) or document.get("format") != UPLOAD_FORMAT:
        raise CheckInRefused(400, f'the file\'s "format" is not "{UPLOAD_FORMAT}"')
    presented = key_authenticate(document.get("key"))
    if presented.license.customer_id != customer.pk:
        raise CheckInRefused(403, "this key is for a license of another customer")
    entries = document.get("check_ins")
    if not isinstance(entries, list) or not 0 < len(entries) <= MAX_UPLOAD_ENTRIES:
        raise CheckInRefused(400, f"check_ins: 1 to {MAX_UPLOAD_ENTRIES} entries")
    now = timezone.now()
    latest: dict[str, tuple[datetime.datetime, str, dict]] = {}
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise CheckInRefused(400, f"check_ins[{index}]: an object")
        instance_id, version = entry.get("instance_id"), entry.get("version", "")
        try:
            metadata = _report_check(instance_id, version, entry.get("metadata"))
            seen = datetime.datetime.fromisoformat(str(entry.get("at", "")))
        except CheckInRefused as exc:
            raise CheckInRefused(400, f"check_ins[{index}]: {exc.detail}") from None
        except ValueError:
            raise CheckInRefused(400, f"check_ins[{index}].at: an ISO 8601 time") from None
        if seen.tzinfo is None:
            raise CheckInRefused(400, f"check_ins[{index}].at: needs its UTC offset")
        seen = min(seen, now)  # a clock ahead does not make an instance count longer
        if instance_id not in latest or seen > latest[instance_id][0]:
            latest[instance_id] = (seen, version, metadata)
    with transaction.atomic():
        for instance_id, (seen, version, metadata) in latest.items():
            instance_record(
                license=presented.license,
                instance_id=instance_id,
                version=version,
                metadata=metadata,
                seen=seen,
                source=Instance.Source.OFFLINE,
            )
        seats = seats_state(presented.license, now=now)
        _over_limit_note(presented.license, seats)
        audit_record(
            vendor=presented.license.vendor,
            action=AuditEvent.Action.CHECKIN_UPLOADED,
            actor=actor,
            target=f"license:{presented.license.pk}",
            details={
                "customer": customer.slug,
                "name": presented.license.name,
                "entries": len(entries),
                "instances": sorted(latest),
            },
        )
    return _answer(presented, "", seats)
