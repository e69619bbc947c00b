"""Garbage collection in its own process while the registry serves (gunicorn) and a test
holds an upload open: nothing referenced is lost, garbage past the grace period goes; and
a run killed with SIGKILL mid-sweep, then run again, leaves a consistent store.
tests/registry/storage/test_s3_gc.py runs the same on S3 (moto)."""

import datetime
import json
import os
import signal
import threading
import time

import pytest
from django.test import override_settings

from registry.gc import gc_run
from registry.models import Blob, GcRun
from tests.support.gc import gc_process, store_consistent
from tests.support.registry_client import OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, sha256
from tests.support.server import live_http
from tests.support.uploads import start_live, wait_until

GRACE = 4  # seconds: short, so "past the grace period" takes a sleep, on S3 too


def push_blob(live, repo: str, data: bytes) -> str:
    digest = sha256(data)
    response = live_http.post(
        f"{live.url}/v2/{repo}/blobs/uploads/?digest={digest}",
        data=data,
        timeout=30,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert response.status_code == 201, response.text
    return digest


def push_manifest(live, repo: str, tag: str, config: bytes, layer: bytes):
    raw = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": sha256(config), "size": len(config)},
            "layers": [{"mediaType": OCI_LAYER, "digest": sha256(layer), "size": len(layer)}],
        }
    ).encode()
    return live_http.put(
        f"{live.url}/v2/{repo}/manifests/{tag}",
        data=raw,
        timeout=30,
        headers={"Content-Type": OCI_MANIFEST},
    )


def pulls(live, repo: str, tag: str) -> bool:
    response = live_http.get(
        f"{live.url}/v2/{repo}/manifests/{tag}", timeout=30, headers={"Accept": OCI_MANIFEST}
    )
    if response.status_code != 200:
        return False
    manifest = response.json()
    for descriptor in [manifest["config"], *manifest["layers"]]:
        blob = live_http.get(f"{live.url}/v2/{repo}/blobs/{descriptor['digest']}", timeout=30)
        if blob.status_code != 200 or sha256(blob.content) != descriptor["digest"]:
            return False
    return True


@pytest.mark.django_db(transaction=True)
def test_gc_in_a_third_process_loses_nothing_referenced(live_registry, live_credentials, repo_name):
    run_gc_race(live_registry, repo_name, env={})


def run_gc_race(live, repo: str, env: dict) -> None:
    garbage = {push_blob(live, repo, f"garbage {i}".encode()) for i in range(12)}
    reused = [f"old layer {i}".encode() for i in range(6)]  # old, then referenced mid-GC
    for data in reused:
        push_blob(live, repo, data)
    held = b"held by an open upload"
    held_digest = push_blob(live, repo, held)
    push_blob(live, repo, b"cfg-kept")
    assert push_manifest(live, repo, "kept", b"cfg-kept", b"cfg-kept").status_code == 201
    time.sleep(GRACE + 1)  # all of it is now past the grace period
    location, _ = start_live(live, repo)
    assert (
        live_http.patch(
            location, data=held, timeout=30, headers={"Content-Type": "application/octet-stream"}
        ).status_code
        == 202
    )

    results: list = []

    def pusher():
        for i, layer in enumerate(reused):
            config = f"config {i} {repo}".encode()
            push_blob(live, repo, config)
            # the old layer is linked but unreferenced: GC may take it first, then the
            # push must fail cleanly; if the push comes first, GC must keep it
            response = push_manifest(live, repo, f"r{i}", config, layer)
            results.append((f"r{i}", response.status_code, response.text))

    gc = gc_process("--grace-seconds", str(GRACE), env={"GC_BATCH_SIZE": "1", **env})
    thread = threading.Thread(target=pusher)
    thread.start()
    thread.join(timeout=120)
    out, err = gc.communicate(timeout=120)
    assert gc.returncode == 0, err.decode()[-2000:]

    for tag, status, text in results:
        if status == 201:
            assert pulls(live, repo, tag), tag
        else:
            assert status == 400 and "MANIFEST_BLOB_UNKNOWN" in text, (tag, status, text)
    assert pulls(live, repo, "kept")
    run = GcRun.objects.filter(dry_run=False).first()
    assert run.status == GcRun.Status.FINISHED
    digests = garbage | {sha256(d) for d in reused} | {held_digest}
    assert store_consistent([repo], digests) == []
    assert not Blob.objects.filter(digest__in=garbage).exists()  # past grace, unreferenced
    assert Blob.objects.filter(digest=held_digest).exists()  # the open upload's bytes


@pytest.mark.django_db(transaction=True)
def test_gc_killed_mid_sweep_then_rerun_leaves_a_consistent_store(
    live_registry, live_credentials, repo_name
):
    run_gc_killed(live_registry, repo_name, env={})


def run_gc_killed(live, repo: str, env: dict) -> None:
    garbage = {push_blob(live, repo, f"garbage {i} {repo}".encode()) for i in range(80)}
    push_blob(live, repo, b"cfg")
    push_blob(live, repo, b"layer")
    assert push_manifest(live, repo, "v1", b"cfg", b"layer").status_code == 201
    time.sleep(GRACE + 1)
    gc = gc_process("--grace-seconds", str(GRACE), env={"GC_BATCH_SIZE": "2", **env})

    def sweeping() -> bool:
        run = GcRun.objects.filter(dry_run=False).first()
        return run is not None and run.blobs_freed >= 6

    wait_until(sweeping, timeout=60, what="the sweep to be under way")
    os.kill(gc.pid, signal.SIGKILL)
    gc.wait(timeout=10)
    killed = GcRun.objects.filter(dry_run=False).first()
    assert killed.status == GcRun.Status.RUNNING and killed.blobs_freed < len(garbage)

    with override_settings(GC_STALE_SECONDS=1):
        time.sleep(1.5)  # the dead run's heartbeat goes stale
        rerun = gc_run(grace=datetime.timedelta(seconds=GRACE))
    killed.refresh_from_db()
    assert killed.status == GcRun.Status.INTERRUPTED
    assert rerun.status == GcRun.Status.FINISHED
    assert store_consistent([repo], garbage | {sha256(b"cfg"), sha256(b"layer")}) == []
    assert not Blob.objects.filter(digest__in=garbage).exists()
    assert pulls(live, repo, "v1")
