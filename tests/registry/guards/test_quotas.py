"""Storage quotas: usage counted once per blob however many repositories link it, uploads
that would pass the quota refused before their bytes are stored (no object, no row), and
manifest pushes refused once over; refusals audited once a minute per vendor."""

import json
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from customers.models import AuditEvent
from registry.models import Blob, Upload
from registry.services.guards import quota_set
from registry.usage import repository_storage_list, tag_storage_list, vendor_storage
from tests.support.registry_client import (
    errors,
    image_manifest,
    push_blob,
    put_manifest,
    sha256,
)

pytestmark = pytest.mark.django_db


def _stored_files() -> set[str]:
    root = Path(settings.STORAGES["registry"]["OPTIONS"]["location"])
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def _denied_quota(response):
    assert response.status_code == 403
    body = response.json()["errors"][0]
    assert body["code"] == "DENIED"
    assert body["message"].startswith("storage quota of acme exceeded: ")
    return body


def test_usage_counts_a_shared_layer_once(client, vendor):
    shared = b"shared-layer" * 100  # 1200 bytes
    push_blob(client, "acme/a", shared)
    push_blob(client, "acme/b", shared)
    push_blob(client, "acme/c", shared)
    push_blob(client, "acme/a", b"only-a" * 10)  # 60
    push_blob(client, "acme/b", b"only-b" * 5)  # 30
    assert vendor_storage(vendor_id=vendor.id) == {"bytes": 1290, "blobs": 3}
    rows = {r["repository"]: r for r in repository_storage_list(vendor_id=vendor.id)}
    assert rows == {
        "acme/a": {"repository": "acme/a", "linked": 1260, "attributable": 60, "blobs": 2},
        "acme/b": {"repository": "acme/b", "linked": 1230, "attributable": 30, "blobs": 2},
        "acme/c": {"repository": "acme/c", "linked": 1200, "attributable": 0, "blobs": 1},
    }


def test_uploads_in_progress_count(client, vendor):
    started = client.post("/v2/acme/app/blobs/uploads/")
    client.patch(started["Location"], data=b"x" * 500, content_type="application/octet-stream")
    assert vendor_storage(vendor_id=vendor.id)["bytes"] == 500


def test_monolithic_upload_past_the_quota_is_refused_before_storing(client, vendor):
    push_blob(client, "acme/app", b"a" * 900)
    quota_set(vendor=vendor, limit_bytes=1000)
    before_files, before_blobs = _stored_files(), set(Blob.objects.values_list("digest", flat=True))
    data = b"b" * 200
    response = client.post(
        f"/v2/acme/app/blobs/uploads/?digest={sha256(data)}",
        data=data,
        content_type="application/octet-stream",
    )
    body = _denied_quota(response)
    assert body["detail"] == {"used": 900, "limit": 1000, "incoming": 200}
    assert _stored_files() == before_files
    assert set(Blob.objects.values_list("digest", flat=True)) == before_blobs
    assert not Upload.objects.exists()
    # What fits still goes in.
    assert push_blob(client, "acme/app", b"c" * 100)["size"] == 100


def test_session_start_at_the_quota_is_refused(client, vendor):
    push_blob(client, "acme/app", b"a" * 1000)
    quota_set(vendor=vendor, limit_bytes=1000)
    before = _stored_files()
    assert errors(client.post("/v2/acme/app/blobs/uploads/")) == ["DENIED"]
    assert not Upload.objects.exists()
    assert _stored_files() == before


def test_chunk_that_would_pass_the_quota_is_refused_and_the_upload_kept(client, vendor):
    quota_set(vendor=vendor, limit_bytes=1000)
    started = client.post("/v2/acme/app/blobs/uploads/")
    assert started.status_code == 202
    location = started["Location"]
    ok = client.patch(location, data=b"x" * 600, content_type="application/octet-stream")
    assert ok.status_code == 202
    refused = client.patch(location, data=b"y" * 600, content_type="application/octet-stream")
    assert _denied_quota(refused)["detail"] == {"used": 600, "limit": 1000, "incoming": 600}
    assert Upload.objects.get().size == 600  # nothing of the refused chunk was appended
    final = b"z" * 100
    done = client.put(
        f"{location}?digest={sha256(b'x' * 600 + final)}",
        data=final,
        content_type="application/octet-stream",
    )
    assert done.status_code == 201
    last = client.post("/v2/acme/app/blobs/uploads/")
    done_refused = client.put(  # a finishing PUT carrying bytes is checked too
        f"{last['Location']}?digest={sha256(b'w' * 400)}",
        data=b"w" * 400,
        content_type="application/octet-stream",
    )
    assert _denied_quota(done_refused)["detail"]["incoming"] == 400
    assert not Blob.objects.filter(digest=sha256(b"w" * 400)).exists()


def test_mount_of_a_blob_already_counted_is_allowed_at_the_quota(client, vendor):
    descriptor = push_blob(client, "acme/a", b"m" * 1000)
    quota_set(vendor=vendor, limit_bytes=1000)
    mounted = client.post(f"/v2/acme/b/blobs/uploads/?mount={descriptor['digest']}&from=acme/a")
    assert mounted.status_code == 201
    assert vendor_storage(vendor_id=vendor.id)["bytes"] == 1000


def test_manifest_put_refused_when_over_the_quota(client, vendor):
    _, raw = image_manifest(client, "acme/app")
    used = vendor_storage(vendor_id=vendor.id)["bytes"]
    quota_set(vendor=vendor, limit_bytes=used - 1)  # lowered below what is stored
    _denied_quota(put_manifest(client, "acme/app", "v1", raw))
    quota_set(vendor=vendor, limit_bytes=used)
    assert put_manifest(client, "acme/app", "v1", raw).status_code == 201


def test_refusals_audited_once_a_minute(client, vendor):
    quota_set(vendor=vendor, limit_bytes=0)
    for _ in range(4):  # an empty POST declares nothing: counted as one byte
        start = client.post("/v2/acme/app/blobs/uploads/", b"", "application/octet-stream")
        assert start.status_code == 403
    rows = list(AuditEvent.objects.filter(action=AuditEvent.Action.QUOTA_REFUSED))
    assert len(rows) == 1
    assert rows[0].details == {"used": 0, "limit": 0, "incoming": 1, "repository": "acme/app"}
    changes = AuditEvent.objects.filter(action=AuditEvent.Action.QUOTA_UPDATED)
    assert [c.details for c in changes] == [{"limit_bytes": 0, "before": None}]


def test_quota_command_sets_and_removes(vendor, capsys):
    call_command("quota", "acme", "2KiB")
    assert "acme: quota 2048 bytes, 0 bytes used" in capsys.readouterr().out
    call_command("quota", "acme", "none")
    rows = AuditEvent.objects.filter(action=AuditEvent.Action.QUOTA_UPDATED).order_by("id")
    assert [(r.actor, r.details) for r in rows] == [
        ("command:quota", {"limit_bytes": 2048, "before": None}),
        ("command:quota", {"limit_bytes": None, "before": 2048}),
    ]


def test_largest_tags(client, vendor):
    manifest, raw = image_manifest(client, "acme/app", layers=2)
    put_manifest(client, "acme/app", "v1", raw)
    size = sum(d["size"] for d in [manifest["config"], *manifest["layers"]]) + len(raw)
    assert tag_storage_list(vendor_id=vendor.id) == [
        {"repository": "acme/app", "tag": "v1", "digest": sha256(raw), "size": size}
    ]
    assert json.loads(raw)["layers"]
