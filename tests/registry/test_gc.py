"""Garbage collection in process: what it keeps, what it frees, a dry run."""

import datetime
import json
import os
import threading

import pytest
from django.core.management import call_command
from django.utils import timezone

from customers.models import AuditEvent
from registry.digests import digest_parse
from registry.gc import gc_run
from registry.models import Blob, GcRun, Manifest, RepositoryBlob
from registry.storage import blob_store
from tests.support.registry_client import image_manifest, push_blob, put_manifest, sha256

pytestmark = pytest.mark.django_db
HOUR = datetime.timedelta(hours=1)


def age(hours: float = 2) -> None:
    """Everything stored so far becomes older than a one-hour grace period."""
    past = timezone.now() - datetime.timedelta(hours=hours)
    Blob.objects.update(created_at=past)
    RepositoryBlob.objects.update(created_at=past)
    Manifest.objects.update(created_at=past)
    store = blob_store()
    if hasattr(store, "_path"):  # the filesystem store: its objects' times count too
        for digest in Blob.objects.values_list("digest", flat=True):
            path = store._path(store.blob_key(digest_parse(digest)))
            os.utime(path, (past.timestamp(), past.timestamp()))


def stored(digest: str) -> bool:
    return Blob.objects.filter(digest=digest).exists() and blob_store().blob_exists(
        digest_parse(digest)
    )


def test_untagged_and_unreferenced_content_past_grace_goes_and_the_rest_stays(client, repo_name):
    manifest, raw = image_manifest(client, repo_name)
    assert put_manifest(client, repo_name, "v1", raw).status_code == 201
    old, old_raw = image_manifest(client, repo_name + "x")
    assert put_manifest(client, repo_name + "x", sha256(old_raw), old_raw).status_code == 201
    stray = push_blob(client, repo_name, b"uploaded, never referenced")["digest"]
    age()
    fresh = push_blob(client, repo_name, b"uploaded just now")["digest"]

    run = gc_run(grace=HOUR)

    assert run.status == GcRun.Status.FINISHED
    assert run.manifests_freed == 1 and not Manifest.objects.filter(digest=sha256(old_raw)).exists()
    assert not stored(stray) and not stored(old["layers"][0]["digest"])
    assert stored(fresh)  # inside the grace period
    assert stored(manifest["config"]["digest"]) and stored(manifest["layers"][0]["digest"])
    assert client.get(f"/v2/{repo_name}/manifests/v1").status_code == 200
    assert run.blobs_freed == 3  # the stray blob, the untagged manifest's config and layer
    assert (
        AuditEvent.objects.filter(action=AuditEvent.Action.GC_COMPLETED, vendor=None).count() == 1
    )
    assert (
        AuditEvent.objects.filter(action=AuditEvent.Action.GC_COMPLETED, vendor__slug="acme")
        .get()
        .details["bytes_freed"]
        == run.bytes_freed
    )


def test_an_index_keeps_its_children_and_frees_them_when_it_goes(client, repo_name):
    child, child_raw = image_manifest(client, repo_name)
    assert put_manifest(client, repo_name, sha256(child_raw), child_raw).status_code == 201
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": child["mediaType"], "digest": sha256(child_raw), "size": len(child_raw)}
        ],
    }
    index_raw = json.dumps(index).encode()
    response = put_manifest(
        client, repo_name, "multi", index_raw, "application/vnd.oci.image.index.v1+json"
    )
    assert response.status_code == 201
    age()
    assert gc_run(grace=HOUR).manifests_freed == 0
    assert client.delete(f"/v2/{repo_name}/manifests/multi").status_code == 202  # the tag only
    run = gc_run(grace=HOUR)
    assert run.manifests_freed == 2  # the index, then its child on the next pass
    assert not Manifest.objects.filter(repository__name=repo_name).exists()
    assert not stored(child["layers"][0]["digest"])


def test_dry_run_lists_exactly_what_a_run_then_deletes(client, repo_name):
    _, raw = image_manifest(client, repo_name, layers=2)
    assert put_manifest(client, repo_name, "v1", raw).status_code == 201
    assert client.delete(f"/v2/{repo_name}/manifests/v1").status_code == 202
    age()
    names: list[str] = []
    dry = gc_run(grace=HOUR, dry_run=True, names=names)
    assert Manifest.objects.filter(repository__name=repo_name).count() == 1  # nothing deleted
    assert dry.manifests_freed == 1 and dry.blobs_freed == 3
    done: list[str] = []
    run = gc_run(grace=HOUR, names=done)
    assert sorted(done) == sorted(names) and run.bytes_freed == dry.bytes_freed


def test_an_open_upload_whose_bytes_match_an_old_blob_keeps_it(client, repo_name):
    data = b"x" * 100
    digest = push_blob(client, repo_name, data)["digest"]
    age()
    start = client.post(f"/v2/{repo_name}/blobs/uploads/")
    assert (
        client.patch(
            start["Location"], data=data, content_type="application/octet-stream"
        ).status_code
        == 202
    )
    gc_run(grace=HOUR)
    assert stored(digest)


def test_command_dry_run_and_full_storage_scan(client, repo_name, capsys):
    digest = push_blob(client, repo_name, b"orphan")["digest"]
    Blob.objects.filter(digest=digest).delete()  # as if the upload died before its row
    call_command("gc", "--dry-run", "--full", "--grace-seconds", "0")
    out = capsys.readouterr().out
    assert f"would delete {digest}" in out and blob_store().blob_exists(digest_parse(digest))
    call_command("gc", "--full", "--grace-seconds", "0")
    assert not blob_store().blob_exists(digest_parse(digest))
    assert GcRun.objects.first().objects_orphaned_freed >= 1  # earlier tests leave files too


def test_metrics_show_the_last_run(client, repo_name, settings):
    from django.test import Client

    push_blob(client, repo_name, b"garbage for metrics")
    age()
    run = gc_run(grace=HOUR)
    settings.METRICS_BEARER_TOKEN = ""
    text = Client().get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode()
    assert "distr_gc_running 0.0" in text
    assert f"distr_gc_last_blobs_freed {float(run.blobs_freed)}" in text
    assert f"distr_gc_last_bytes_freed {float(run.bytes_freed)}" in text
    assert "distr_gc_last_duration_seconds " in text


@pytest.mark.django_db(transaction=True)
def test_a_push_holding_the_link_wins_gc_skips_it(client, repo_name):
    """The manifest PUT's lock (FOR NO KEY UPDATE on the links it references) is held in
    another connection while GC sweeps: GC skips the blob instead of waiting or deleting."""
    from django.db import connection, connections, transaction

    if connection.vendor != "postgresql":
        pytest.skip("row locks: PostgreSQL only (SQLite has one writer: the lock is the database)")
    digest = push_blob(client, repo_name, b"about to be referenced")["digest"]
    age()
    locked, release = threading.Event(), threading.Event()

    def push_in_progress():
        try:
            with transaction.atomic():
                list(
                    RepositoryBlob.objects.select_for_update(of=("self",), no_key=True).filter(
                        blob_id=digest
                    )
                )
                locked.set()
                release.wait(30)
        finally:
            connections.close_all()

    thread = threading.Thread(target=push_in_progress)
    thread.start()
    assert locked.wait(30)
    try:
        run = gc_run(grace=HOUR)
    finally:
        release.set()
        thread.join(30)
    assert run.skipped_busy >= 1 and stored(digest)
    assert gc_run(grace=HOUR).blobs_freed >= 1 and not stored(digest)  # the lock is gone
