"""Benchmark air-gap kit downloads on the filesystem store (issue 15).

distr runs as in bench/run.py (gunicorn, SQLite, blob files in a temp DATA_DIR). One image
of sparse layers (10 GB by default; written straight into the store, so making them costs
no disk) is licensed to a customer and frozen into a kit. Figures:

1. kit download to /dev/null (curl, API token): throughput, time to first byte, and the
   largest gunicorn process's peak RSS while it runs;
2. the raw blob GET rate of the same layers (curl, one registry token, sendfile): the
   ceiling the kit stream is measured against (target: kit >= 0.9x);
3. `skopeo copy --all docker://… oci:DIR` of the same image against the kit downloaded
   to a file in the same directory (what a customer does today, and what a kit replaces).

Run with `make bench-kits` or `.venv/bin/python bench/kits.py [--gb 10] [--repeats 3]`.
"""

import argparse
import base64
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import (  # noqa: E402 - bench/run.py is a script next to this one
    _DISTR_ENV_DROPPED,
    REPO_ROOT,
    RESULTS_DIR,
    VENV_BIN,
    distr_server,
    rss_sampled,
)

GIB = 1024**3
MiB = 1024 * 1024

SETUP = r"""
import hashlib, json, os, sys, uuid
from pathlib import Path
from django.test import Client
from airgap.services import kit_create
from customers.models import Vendor
from customers.services import customer_create, token_mint
from licensing.services import grant_add, license_create
from registry.digests import digest_parse
from registry.models import Blob, Repository, RepositoryBlob
from registry.storage import blob_store

secret, layer_bytes, layers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
vendor = Vendor.objects.get(slug="acme")
auth = "Basic " + __import__("base64").b64encode(f"ci:{secret}".encode()).decode()
client = Client(HTTP_AUTHORIZATION=auth, HTTP_HOST="127.0.0.1")
repo = "acme/kitbench"
config = json.dumps({"os": "linux", "architecture": "amd64", "rootfs": {"diff_ids": []}}).encode()
config_digest = "sha256:" + hashlib.sha256(config).hexdigest()
r = client.post(f"/v2/{repo}/blobs/uploads/?digest={config_digest}", data=config,
                content_type="application/octet-stream")
assert r.status_code == 201, r.content
repository = Repository.objects.get(name=repo)
store = blob_store()
descriptors = []
for _ in range(layers):
    tmp = Path(store.storage.location) / f"sparse-{uuid.uuid4().hex}"
    with open(tmp, "wb") as handle:
        handle.write(os.urandom(64))
        handle.truncate(layer_bytes)
    h = hashlib.sha256()
    with open(tmp, "rb") as handle:
        while chunk := handle.read(16 << 20):
            h.update(chunk)
    digest = "sha256:" + h.hexdigest()
    target = Path(store.storage.path(store.blob_key(digest_parse(digest))))
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, target)
    blob, _ = Blob.objects.get_or_create(digest=digest, defaults={"size": layer_bytes})
    RepositoryBlob.objects.get_or_create(repository=repository, blob=blob)
    descriptors.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                        "digest": digest, "size": layer_bytes})
manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": config_digest, "size": len(config)},
            "layers": descriptors}
r = client.put(f"/v2/{repo}/manifests/1.0", data=json.dumps(manifest),
               content_type="application/vnd.oci.image.manifest.v1+json")
assert r.status_code == 201, r.content
customer, _ = customer_create(vendor=vendor, slug="bench", name="Bench")
license = license_create(vendor=vendor, customer=customer, name="Bench")
grant_add(license=license, repository_name=repo, tag_rule="glob:*")
kit = kit_create(customer=customer)
api = token_mint(vendor=vendor, kind="api", name="bench", scopes=["read"]).secret
print(json.dumps({"kit": str(kit.pk), "size": kit.total_size, "api": api, "repo": repo,
                  "blobs": [d["digest"] for d in descriptors]}))
"""


def curl(url: str, headers: list[str], out: str = "/dev/null") -> dict:
    command = [
        "curl",
        "-sS",
        "-f",
        "-o",
        out,
        "-w",
        "%{size_download} %{time_starttransfer} %{time_total}",
    ]  # noqa: E501
    for header in headers:
        command += ["-H", header]
    result = subprocess.run([*command, url], capture_output=True, text=True, check=True)
    size, ttfb, total = result.stdout.split()
    return {"bytes": int(size), "ttfb": float(ttfb), "seconds": float(total)}


def registry_token(server, repo: str) -> str:
    credentials = base64.b64encode(f"ci:{server.secret}".encode()).decode()
    request = urllib.request.Request(
        f"{server.url}/v2/token?service=127.0.0.1:{server.port}&scope=repository:{repo}:pull",
        headers={"Authorization": f"Basic {credentials}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
        return json.load(response)["token"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gb", type=float, default=10, help="kit size in GiB (default 10)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    for tool in ("curl", "skopeo"):
        if not shutil.which(tool):
            sys.exit(f"bench/kits.py needs {tool}")
    layers = max(1, round(args.gb / 2))
    layer_bytes = int(args.gb * GIB / layers)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)  # the server logs go there
    workdir = Path(tempfile.mkdtemp(prefix="distr-bench-kits-"))
    try:
        with distr_server(workdir) as server:
            env = {k: v for k, v in os.environ.items() if k not in _DISTR_ENV_DROPPED}
            env.update(DATA_DIR=str(workdir / "distr-data"),
                       DISTR_PUBLIC_URL=f"http://127.0.0.1:{server.port}")  # fmt: skip
            out = subprocess.run(
                [str(VENV_BIN / "python"), "manage.py", "shell", "-c",
                 f"import sys; sys.argv=['x', {server.secret!r}, '{layer_bytes}', '{layers}']\n"
                 + SETUP],
                cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=True,
            ).stdout  # fmt: skip
            setup = json.loads(out.strip().splitlines()[-1])
            kit_url = f"{server.url}/api/v1/kits/{setup['kit']}/download"
            api = [f"Authorization: Bearer {setup['api']}"]
            kit_runs, blob_runs = [], []
            peak = None
            for _ in range(args.repeats):
                with rss_sampled(server) as sampled:
                    kit_runs.append(curl(kit_url, api))
                peak = max(peak or 0, sampled.largest)
                token = registry_token(server, setup["repo"])
                started, total = time.perf_counter(), 0
                for digest in setup["blobs"]:
                    url = f"{server.url}/v2/{setup['repo']}/blobs/{digest}"
                    total += curl(url, [f"Authorization: Bearer {token}"])["bytes"]
                blob_runs.append({"bytes": total, "seconds": time.perf_counter() - started})
            kit_rate = statistics.median(r["bytes"] / r["seconds"] for r in kit_runs) / MiB
            blob_rate = statistics.median(r["bytes"] / r["seconds"] for r in blob_runs) / MiB
            ttfb = statistics.median(r["ttfb"] for r in kit_runs)
            # What a customer does today, both writing to the same disk.
            oci = workdir / "oci"
            started = time.perf_counter()
            subprocess.run(
                ["skopeo", "--insecure-policy", "copy", "--all", "--src-tls-verify=false",
                 "--src-creds", f"ci:{server.secret}",
                 f"docker://{server.host}/{setup['repo']}:1.0", f"oci:{oci}:1.0"],
                check=True, capture_output=True,
            )  # fmt: skip
            skopeo_seconds = time.perf_counter() - started
            shutil.rmtree(oci, ignore_errors=True)
            to_disk = curl(kit_url, api, out=str(workdir / "kit.tar"))
            (workdir / "kit.tar").unlink()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    size = setup["size"]
    print(f"kit: {size / GIB:.2f} GiB, {layers} layers of {layer_bytes / GIB:.2f} GiB")
    print(f"1. kit download (/dev/null)     {kit_rate:8.0f} MiB/s   ttfb {ttfb * 1000:.0f} ms"
          f"   peak worker RSS {peak / MiB:.0f} MiB")  # fmt: skip
    print(f"2. raw blob GET (/dev/null)     {blob_rate:8.0f} MiB/s   kit/blob = "
          f"{kit_rate / blob_rate:.2f}x (target >= 0.9x)")  # fmt: skip
    file_rate = to_disk["bytes"] / to_disk["seconds"] / MiB
    print(f"3. skopeo copy --all to oci:DIR {size / skopeo_seconds / MiB:8.0f} MiB/s "
          f"({skopeo_seconds:.1f} s); kit to a file {file_rate:.0f} MiB/s "
          f"({to_disk['seconds']:.1f} s)")  # fmt: skip


if __name__ == "__main__":
    main()
