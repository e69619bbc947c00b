"""A kit over 5 GB (sparse blobs made here, on the filesystem store) downloads from the
live server with its worker's peak RSS under 150 MiB, interrupted half way and resumed
with `curl -C -`, and the file verifies (SHA256SUMS and signature)."""

import hashlib
import json
import os
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

from airgap.services import kit_create
from airgap.verify import kit_file_verify
from customers.services import token_mint
from registry.digests import digest_parse
from registry.models import Blob, Repository, RepositoryBlob
from registry.storage import blob_store
from signing.selectors import verification_key
from tests.conftest import license_grant
from tests.support.registry_client import OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, push_blob
from tests.support.requirements import require_command

GIB = 1024**3
LAYER_SIZES = [2 * GIB, 2 * GIB, GIB + 12345]  # 5.37 GB: two near the 8 GiB-safe range
RSS_LIMIT_MIB = 150


def sparse_blob(size: int) -> str:
    """A blob of `size` bytes, mostly a hole, written straight into the store; its digest."""
    head = os.urandom(64)
    store = blob_store()
    tmp = Path(store.storage.location) / f"sparse-{uuid.uuid4().hex}"
    with open(tmp, "wb") as handle:
        handle.write(head)
        handle.truncate(size)
    hasher = hashlib.sha256()
    with open(tmp, "rb") as handle:
        while chunk := handle.read(16 * 1024 * 1024):
            hasher.update(chunk)
    digest = f"sha256:{hasher.hexdigest()}"
    target = Path(store.storage.path(store.blob_key(digest_parse(digest))))
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, target)
    return digest


def worker_pids(server) -> list[int]:
    children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children")
    return [int(p) for p in children.read_text().split()]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class RssSampler(threading.Thread):
    def __init__(self, pids):
        super().__init__(daemon=True)
        self.pids, self.peak, self.done = pids, 0.0, threading.Event()

    def run(self):
        while not self.done.is_set():
            for pid in self.pids:
                try:
                    self.peak = max(self.peak, rss_mib(pid))
                except FileNotFoundError:
                    pass
            time.sleep(0.05)


@pytest.fixture
def big_kit(client, customer, vendor):
    repo = f"acme/big{uuid.uuid4().hex[:8]}"
    config = push_blob(client, repo, json.dumps({"os": "linux", "architecture": "amd64"}).encode())
    repository = Repository.objects.get(name=repo)
    layers = []
    for size in LAYER_SIZES:
        digest = sparse_blob(size)
        blob, _ = Blob.objects.get_or_create(digest=digest, defaults={"size": size})
        RepositoryBlob.objects.get_or_create(repository=repository, blob=blob)
        layers.append({"mediaType": OCI_LAYER, "digest": digest, "size": size})
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "config": {"mediaType": OCI_CONFIG, **config}, "layers": layers}  # fmt: skip
    put = client.put(f"/v2/{repo}/manifests/1.0", data=json.dumps(manifest),
                     content_type=OCI_MANIFEST)  # fmt: skip
    assert put.status_code == 201, put.content
    license_grant(customer, repo, "glob:*", name="Big")
    return kit_create(customer=customer)


def test_a_5_gb_kit_downloads_in_constant_memory_resumes_and_verifies(
    live_registry, big_kit, vendor, tmp_path
):
    kit = big_kit
    assert kit.total_size > 5 * 10**9
    secret = token_mint(vendor=vendor, kind="api", name="big", scopes=["read"]).secret
    url = f"{live_registry.url}/api/v1/kits/{kit.pk}/download"
    curl = [require_command("curl"), "-sS", "-f", "-H", f"Authorization: Bearer {secret}"]
    path = tmp_path / "kit.tar"
    sampler = RssSampler(worker_pids(live_registry))
    sampler.start()
    started = time.monotonic()
    # Interrupted half way: curl stops itself after half the bytes (--max-time would be
    # timing-dependent; a range is the same request a broken connection leaves behind).
    subprocess.run([*curl, "-r", f"0-{kit.total_size // 2}", "-o", str(path), url],
                   check=True, timeout=300)  # fmt: skip
    resumed = subprocess.run([*curl, "-C", "-", "-o", str(path), "-w", "%{http_code}", url],
                             check=True, timeout=300, capture_output=True, text=True)  # fmt: skip
    elapsed = time.monotonic() - started
    sampler.done.set()
    sampler.join()
    assert resumed.stdout == "206"
    assert path.stat().st_size == kit.total_size
    assert 0 < sampler.peak < RSS_LIMIT_MIB, f"worker peak RSS {sampler.peak:.0f} MiB"
    print(
        f"\n{kit.total_size / 1e9:.2f} GB in {elapsed:.1f} s,"
        f" worker peak RSS {sampler.peak:.0f} MiB"
    )
    described = kit_file_verify(
        path, lambda kid: bytes(verification_key(vendor=vendor, kid=kid).public_key)
    )
    assert described["id"] == str(kit.pk)
    path.unlink()
