"""`ETag` on the representations that are updated in place (licenses, branding) and
`If-Match` on their updates: a client that read version A and writes after someone else
wrote version B gets 412, not a silent overwrite. The tag is a hash of the fields a
client can change (and the status), so it needs no version column."""

import hashlib
import json

from api.problems import PreconditionFailed


def etag_of(values: dict) -> str:
    blob = json.dumps(values, sort_keys=True, default=str).encode()
    return '"' + hashlib.sha256(blob).hexdigest()[:32] + '"'


def if_match_check(request, current: str) -> None:
    """Raise 412 when the request names a different version. Without If-Match the update
    goes ahead (as on most APIs); send it to be safe against lost updates."""
    header = request.headers.get("If-Match")
    if header is None:
        return
    candidates = [tag.strip() for tag in header.split(",")]
    if "*" in candidates:
        return
    if current not in [c.removeprefix("W/") for c in candidates]:
        raise PreconditionFailed()
