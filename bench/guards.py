"""Do immutable-tag rules and quotas cost anything measurable on pushes?

In process, on the embedded default (SQLite in a temp DATA_DIR), through the registry's
own views (Django's test client: the whole request path without a socket, so the figure
is the server's work per push). One push = config blob + 1 KiB layer (monolithic POSTs)
+ manifest PUT moving the tag `latest`. Three set-ups alternate round by round:

- **plain**: no rules, no quota;
- **rules**: the vendor has RULES immutable-tag rules, none covering `latest`, so every
  push's tag move reads and matches all of them;
- **quota**: the vendor has a quota and BLOBS stored blobs linked from 50 repositories,
  so each of the push's three requests recomputes usage before it goes ahead.

Run: `.venv/bin/python bench/guards.py [--pushes 200 --rounds 5 --blobs 20000]`.
Prints the median ms per push of each set-up and its ratio to plain.
"""

import argparse
import hashlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def setup(data_dir: Path) -> None:
    for name in ("DATABASE_URL", "REDIS_URL", "DEBUG"):
        os.environ.pop(name, None)
    os.environ.update(DJANGO_SETTINGS_MODULE="distr.settings", DATA_DIR=str(data_dir))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def push(client, repo: str, n: int) -> None:
    config = json.dumps({"os": "linux", "n": n, "r": repo}).encode()
    layer = os.urandom(1024)
    for blob in (config, layer):
        r = client.post(
            f"/v2/{repo}/blobs/uploads/?digest={sha(blob)}", blob, "application/octet-stream"
        )
        assert r.status_code == 201, r.content
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": sha(config),
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": sha(layer),
                    "size": len(layer),
                }
            ],
        }
    ).encode()
    r = client.put(
        f"/v2/{repo}/manifests/latest", manifest, "application/vnd.oci.image.manifest.v1+json"
    )
    assert r.status_code == 201, r.content


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pushes", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rules", type=int, default=50)
    parser.add_argument("--blobs", type=int, default=20_000)
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="distr-bench-guards-"))
    try:
        setup(data_dir)
        run(args)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def run(args) -> None:
    import base64

    from django.test import Client

    from customers.services import token_mint, vendor_create
    from registry.models import Blob, Repository, RepositoryBlob
    from registry.services.guards import immutable_rule_create, quota_set

    vendors = {}
    for name in ("plain", "rules", "quota"):
        vendor = vendor_create(slug=name, name=name)[0]
        secret = token_mint(vendor=vendor, kind="push", name="ci").secret
        auth = "Basic " + base64.b64encode(f"ci:{secret}".encode()).decode()
        vendors[name] = (vendor, Client(HTTP_AUTHORIZATION=auth, HTTP_HOST="localhost"))
    for i in range(args.rules):
        immutable_rule_create(
            vendor=vendors["rules"][0], repository_pattern=f"r{i}/**", tag_rule=f"semver:>={i}"
        )
    quota_vendor = vendors["quota"][0]
    repos = [Repository.objects.create(vendor=quota_vendor, name=f"quota/s{i}") for i in range(50)]
    blobs = Blob.objects.bulk_create(
        [Blob(digest=sha(str(i).encode()), size=1000) for i in range(args.blobs)]
    )
    RepositoryBlob.objects.bulk_create(
        [RepositoryBlob(repository=repos[i % 50], blob=b) for i, b in enumerate(blobs)]
    )
    quota_set(vendor=quota_vendor, limit_bytes=10**12)

    per_push = {name: [] for name in vendors}
    order = list(vendors)
    for round_ in range(args.rounds):
        for name in order if round_ % 2 == 0 else reversed(order):
            client = vendors[name][1]
            push(client, f"{name}/app", -1)  # warm
            start = time.perf_counter()
            for n in range(args.pushes):
                push(client, f"{name}/app", round_ * args.pushes + n)
            per_push[name].append((time.perf_counter() - start) * 1000 / args.pushes)
    plain = statistics.median(per_push["plain"])
    print(f"{args.pushes} pushes x {args.rounds} rounds; {args.rules} rules; {args.blobs} blobs")
    for name, values in per_push.items():
        median = statistics.median(values)
        print(
            f"{name:6} {median:7.2f} ms/push  x{median / plain:.3f}  "
            f"(rounds: {', '.join(f'{v:.2f}' for v in values)})"
        )


if __name__ == "__main__":
    main()
