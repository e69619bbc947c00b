"""CPU per warm registry request inside one process, without gunicorn or a client.

Calls distr's WSGI entry point (`distr.wsgi.application`) in a loop, on the embedded
default (SQLite and blob files in a temp DATA_DIR), for a customer's manifest GET and
blob HEAD with a JWT and an application's license check-in (its key, one instance), and
prints the CPU microseconds per request (process time of the best round: other load only
adds). It isolates what distr's own code costs per request from what gunicorn and the
client cost, so a change to the request path can be compared in seconds.

    .venv/bin/python bench/wsgi_cost.py                 # 5 rounds of 2,000 requests
    .venv/bin/python bench/wsgi_cost.py --requests 500 --rounds 3
    .venv/bin/python bench/wsgi_cost.py --profile manifest   # cProfile top entries
"""

import argparse
import base64
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OCI = "application/vnd.oci.image.manifest.v1+json"


def setup(data_dir: str) -> dict:
    os.environ.update(
        DATA_DIR=data_dir,
        DJANGO_SETTINGS_MODULE="distr.settings",
        LOG_LEVEL="WARNING",
        ANALYTICS_EMBEDDED_INGEST_SECONDS="0",  # no background pass during the loop
        LICENSE_CHECKIN_RATE_LIMIT="100000000/min",  # the loop is one key
    )
    for name in ("DATABASE_URL", "REDIS_URL", "DEBUG"):
        os.environ.pop(name, None)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    call_command("migrate", verbosity=0)
    from customers.services import customer_create, token_mint, vendor_create
    from licensing.services import grant_add, license_create
    from tests.support.registry_client import image_manifest, put_manifest

    vendor = vendor_create(slug="acme", name="Acme")[0]
    push = token_mint(vendor=vendor, kind="push", name="ci").secret
    customer = customer_create(vendor=vendor, slug="globex", name="Globex")[0]
    pull = token_mint(vendor=vendor, customer=customer, kind="pull", name="t").secret
    license = license_create(vendor=vendor, customer=customer, name="l")
    grant_add(license=license, repository_name="acme/app", tag_rule="glob:*")
    basic = "Basic " + base64.b64encode(f"ci:{push}".encode()).decode()
    client = Client(HTTP_AUTHORIZATION=basic, HTTP_HOST="127.0.0.1")
    manifest, raw = image_manifest(client, "acme/app", layers=1)
    assert put_manifest(client, "acme/app", "1.0", raw).status_code == 201
    token = Client(HTTP_HOST="127.0.0.1").get(
        "/v2/token",
        {"service": settings.REGISTRY_SERVICE, "scope": "repository:acme/app:pull"},
        HTTP_AUTHORIZATION="Basic " + base64.b64encode(f"t:{pull}".encode()).decode(),
    )
    jwt = token.json()["token"]
    from licensing.keys import license_key_current
    from licensing.plans import license_plan_set, plan_create

    plan = plan_create(vendor=vendor, name="Business", seats=3, grants=[])
    license_plan_set(license=license, plan=plan)
    key = license_key_current(license)
    check_in = json.dumps({"key": key, "instance_id": "node-1", "version": "1.0"}).encode()
    return {
        "manifest": ("GET", "/v2/acme/app/manifests/1.0", jwt, None),
        "head": ("HEAD", f"/v2/acme/app/blobs/{manifest['layers'][0]['digest']}", jwt, None),
        "checkin": ("POST", "/api/v1/license/check-in", None, check_in),
    }


def call(application, method: str, path: str, jwt: str | None, body: bytes | None) -> int:
    from tests.support.wsgi import wsgi_call, wsgi_environ

    headers = {"HOST": "127.0.0.1:8000", "USER_AGENT": "wsgi-cost"}
    headers["ACCEPT"] = OCI if jwt else "application/json"
    if jwt:
        headers["AUTHORIZATION"] = f"Bearer {jwt}"
    content_type = "application/json" if body else None
    env = wsgi_environ(path, method, body=body or b"", content_type=content_type, **headers)
    status, _, _ = wsgi_call(application, env)
    return int(status.split()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", choices=("manifest", "head", "checkin"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="distr-wsgi-cost-") as data_dir:
        cases = setup(data_dir)
        from distr import wsgi

        for name, (method, path, jwt, body) in cases.items():
            status = call(wsgi.application, method, path, jwt, body)
            assert status == 200, (name, status)
        if args.profile:
            import cProfile
            import pstats

            method, path, jwt, body = cases[args.profile]
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(args.requests):
                call(wsgi.application, method, path, jwt, body)
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
            return
        results = {name: [] for name in cases}
        for _ in range(args.rounds):
            for name, (method, path, jwt, body) in cases.items():
                started = time.process_time()
                for _ in range(args.requests):
                    call(wsgi.application, method, path, jwt, body)
                elapsed = time.process_time() - started
                results[name].append(elapsed / args.requests * 1e6)
        for name, samples in results.items():
            print(
                f"{name:9} {min(samples):6.0f} µs CPU per request, best round "
                f"(median {statistics.median(samples):.0f}; "
                f"rounds: {', '.join(f'{s:.0f}' for s in samples)})"
            )


if __name__ == "__main__":
    main()
