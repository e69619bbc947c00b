"""Benchmark the license check-in endpoint against the manifest GET of the same run.

One distr (gunicorn as deployed, deploy/gunicorn.conf.py) with vendor `acme`, a customer
on a plan with 3 seats, its license key, and a small image pushed by CI. wrk at 32
keep-alive connections alternates: `POST /api/v1/license/check-in` (the key, an instance
id per wrk thread, a version) and the manifest GET by tag with the CI token's JWT, five
rounds each, each once the pulls of the rounds before are ingested (else the check-in
rounds would pay for the manifest rounds' ingestion). The target from issue 16:
check-ins per second at least the manifest GET rate of the same run. It also times key
verification in Python (PyJWT with the published JWKS, and `cryptography`'s Ed25519
verify of the same signature).

Run with `.venv/bin/python bench/checkin.py` (about two minutes); the embedded default
(SQLite) unless DATABASE_URL names PostgreSQL (and REDIS_URL a Redis) for the server.
"""

import argparse
import base64
import hashlib
import http.client
import importlib.util
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as core  # noqa: E402 - bench/run.py: server start/stop, wrk

_spec = importlib.util.spec_from_file_location("bench_api", Path(__file__).with_name("api.py"))
api = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(api)  # bench/api.py: django_setup, server_env

SERVER_NAME = "distr-checkin"
RESULT_FILE = core.RESULTS_DIR / "checkin.json"
CONNECTIONS = 32
REPO = "acme/app"
TAG = "1.0.0"

LUA = """
-- A static request per wrk thread (each thread reports its own instance id): a
-- request() function would run Lua for every request and spend the client's CPU,
-- which shares the two cores with the server, on building bodies.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("instance", "node-" .. threads)
end
function init(args)
  wrk.method = "POST"
  wrk.path = "/api/v1/license/check-in"
  wrk.headers["Content-Type"] = "application/json"
  wrk.body = '{"key":"LICENSE_KEY","instance_id":"' .. instance .. '","version":"1.0.0"}'
end
"""


def seed() -> dict:
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from customers.services import customer_create, token_mint, vendor_create
    from licensing.keys import license_key_current
    from licensing.plans import license_plan_set, plan_create
    from licensing.services import license_create

    vendor = vendor_create(slug="acme", name="Acme")[0]
    customer = customer_create(vendor=vendor, slug="globex", name="Globex")[0]
    plan = plan_create(vendor=vendor, name="Business", seats=3, grants=[])
    license = license_plan_set(
        license=license_create(vendor=vendor, customer=customer, name="Gold"), plan=plan
    )
    return {
        "key": license_key_current(license),
        "push_secret": token_mint(vendor=vendor, kind="push", name="ci").secret,
    }


def _basic(secret: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"ci:{secret}".encode()).decode()}


def push_image(port: int, secret: str) -> None:
    """A config and one layer (monolithic POST ?digest=), then the manifest by tag."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    descriptors = []
    blobs = (
        (b"{}", "application/vnd.oci.image.config.v1+json"),
        (os.urandom(1024), "application/vnd.oci.image.layer.v1.tar"),
    )
    for content, media in blobs:
        digest = "sha256:" + hashlib.sha256(content).hexdigest()
        connection.request(
            "POST",
            f"/v2/{REPO}/blobs/uploads/?digest={digest}",
            body=content,
            headers={**_basic(secret), "Content-Type": "application/octet-stream"},
        )
        response = connection.getresponse()
        response.read()
        if response.status != 201:
            raise core.BenchError(f"blob push answered {response.status}")
        descriptors.append({"mediaType": media, "digest": digest, "size": len(content)})
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": descriptors[0],
            "layers": descriptors[1:],
        }
    ).encode()
    connection.request(
        "PUT",
        f"/v2/{REPO}/manifests/{TAG}",
        body=manifest,
        headers={**_basic(secret), "Content-Type": "application/vnd.oci.image.manifest.v1+json"},
    )
    response = connection.getresponse()
    response.read()
    if response.status != 201:
        raise core.BenchError(f"manifest push answered {response.status}")


def wrk(url: str, seconds: float, headers: dict, script: Path | None = None) -> dict:
    command = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{seconds:g}s", "--latency"]
    if script is not None:
        command += ["-s", str(script)]
    out = core.run([*command, *core.header_args(headers), url], timeout=seconds + 60)
    p99 = re.search(r"^\s+99(?:\.0+)?%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    problems = [line.strip() for line in out.splitlines() if "Non-2xx" in line or "Socket" in line]
    return {
        "per_second": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p99_ms": round(float(p99.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[p99.group(2)], 1),
        "problems": problems,
    }


def ingestion_drained(timeout: float = 120) -> None:
    """Until the pulls a manifest round recorded are ingested: the ingester would
    otherwise spend the next round's CPU and SQLite's write lock on them, and the
    check-in rounds, which follow the manifest rounds, would pay for the pulls."""
    from analytics.models import PullEventOutbox

    deadline = time.monotonic() + timeout
    while PullEventOutbox.objects.exists():
        if time.monotonic() > deadline:
            raise core.BenchError("pull events still waiting for ingestion")
        time.sleep(0.2)
    time.sleep(0.5)  # the last batch's commit and the ingester's pause


def verification_times(key: str, jwks: dict, rounds: int = 2000) -> dict:
    """Microseconds per verification of the license key, as an application would do it."""
    import jwt
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    header = jwt.get_unverified_header(key)
    jwk = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    pyjwk = jwt.PyJWK(jwk)
    started = time.perf_counter()
    for _ in range(rounds):
        jwt.decode(key, pyjwk, algorithms=["EdDSA"])
    pyjwt_us = (time.perf_counter() - started) / rounds * 1e6
    public = Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(jwk["x"] + "=="))
    signing_input, _, signature = key.rpartition(".")
    raw_signature = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    started = time.perf_counter()
    for _ in range(rounds):
        public.verify(raw_signature, signing_input.encode())
    raw_us = (time.perf_counter() - started) / rounds * 1e6
    return {"pyjwt_decode_us": round(pyjwt_us, 1), "ed25519_verify_us": round(raw_us, 1)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    database_url = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("REDIS_URL", "")
    core.RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="distr-bench-checkin-") as workdir:
        port = core.free_port()
        api.django_setup(Path(workdir), f"http://127.0.0.1:{port}", database_url, redis_url)
        seeded = seed()
        # measure the endpoint, not its limiter
        env = api.server_env(
            workdir, port, database_url, redis_url, LICENSE_CHECKIN_RATE_LIMIT="100000000/min"
        )
        command = api.GUNICORN_COMMAND
        auth = {"namespace": "acme/", "secret": seeded["push_secret"]}
        script = Path(workdir) / "checkin.lua"
        script.write_text(LUA.replace("LICENSE_KEY", seeded["key"]))
        runs: dict[str, list[dict]] = {"check-in": [], "manifest GET": []}
        with core._running(SERVER_NAME, command, env, port, auth) as server:
            push_image(port, seeded["push_secret"])
            manifest_url = f"{server.url}/v2/{REPO}/manifests/{TAG}"
            wrk(server.url, 1, {}, script)  # warm-up: every worker has served both
            wrk(manifest_url, 1, core.auth_headers(server, REPO))
            for _ in range(args.rounds):
                ingestion_drained()
                runs["check-in"].append(wrk(server.url, args.seconds, {}, script))
                headers = {
                    **core.auth_headers(server, REPO),
                    "Accept": "application/vnd.oci.image.manifest.v1+json",
                }
                ingestion_drained()
                runs["manifest GET"].append(wrk(manifest_url, args.seconds, headers))
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            connection.request("GET", "/p/acme/keys/jwks.json")
            jwks = json.loads(connection.getresponse().read())
    summary = {
        name: {
            "per_second_median": round(statistics.median(r["per_second"] for r in results), 1),
            "per_second": [r["per_second"] for r in results],
            "p99_ms_worst": max(r["p99_ms"] for r in results),
            "problems": sorted({p for r in results for p in r["problems"]}),
        }
        for name, results in runs.items()
    }
    ratio = summary["check-in"]["per_second_median"] / summary["manifest GET"]["per_second_median"]
    report = {
        "database": "postgresql" if database_url.startswith("postgres") else "sqlite",
        "shared_cache": "redis" if redis_url else "database table",
        "connections": CONNECTIONS,
        "calls": summary,
        "check_in_vs_manifest_get": round(ratio, 2),
        "key_verification": verification_times(seeded["key"], jwks),
    }
    RESULT_FILE.write_text(json.dumps(report, indent=2))
    for name, s in summary.items():
        print(
            f"{name:13s} {s['per_second_median']:8.1f} req/s (runs {s['per_second']}), "
            f"worst p99 {s['p99_ms_worst']} ms  {'; '.join(s['problems']) or 'all 2xx'}"
        )
    print(f"check-in / manifest GET = {ratio:.2f}x (target >= 1.0x)")
    print(f"key verification: {report['key_verification']}")
    return 0 if ratio >= 1.0 and not any(s["problems"] for s in summary.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
