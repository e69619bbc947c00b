"""Benchmark pull analytics: capture overhead, ingestion throughput, dashboard queries.

1. Capture overhead on the manifest GET path. Three gunicorns on one PostgreSQL database
   serve the same customer manifest GET (Bearer JWT, license check included): capture off,
   capture to the Redis stream, capture to the database outbox (no Redis). One client
   alternates between them request by request, so all three see the same machine state;
   the table gives median and p99 of each and the median added over "off".
2. Ingestion throughput: N synthetic events XADDed to the stream, then one process runs
   ingestion passes (what one Celery worker does) until the stream is empty: events/s.
3. Dashboard queries with 10 million events behind the rollups (rollups generated with
   SQL, ~135,000 rows for the measured vendor plus another vendor's): server time of every
   analytics API endpoint through Django (auth, query, JSON), for 7, 30 and 90 days.

Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust) and Redis on 127.0.0.1:6379
(DB 13 by default). Run `make bench-analytics` or `.venv/bin/python bench/analytics.py
[--quick]`; results go to bench/results/analytics.json and bench/README.md.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
RESULTS = REPO_ROOT / "bench" / "results" / "analytics.json"
DB_NAME = "distr_bench_analytics"
PG = "postgres://postgres@127.0.0.1:5432"
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
PUBLIC_URL = "http://127.0.0.1:9"  # one JWT audience for all three servers


def _setup_django(data_dir: str) -> None:
    subprocess.run(
        [
            "psql",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-qc",
            f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)",
            "postgres",
        ],
        check=True,
    )
    subprocess.run(
        [
            "psql",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-qc",
            f"CREATE DATABASE {DB_NAME}",
            "postgres",
        ],
        check=True,
    )
    for name in ("REDIS_URL", "ANALYTICS_REDIS_URL", "CELERY_BROKER_URL", "DEBUG"):
        os.environ.pop(name, None)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="distr.settings",
        DATA_DIR=data_dir,
        DATABASE_URL=f"{PG}/{DB_NAME}",
        DISTR_PUBLIC_URL=PUBLIC_URL,
        ANALYTICS_EMBEDDED_INGEST_SECONDS="0",
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    # The dashboard pages render templates with {% static %}: collect what they name.
    call_command("collectstatic", verbosity=0, interactive=False)


# --- 1. capture overhead ------------------------------------------------------------------


class Server:
    def __init__(self, name: str, env: dict, data_dir: str):
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.name = name
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(Path(data_dir) / f"gunicorn-{name}.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "distr.wsgi"],
            cwd=REPO_ROOT,
            env={
                **os.environ,
                "PORT": str(self.port),
                "WEB_CONCURRENCY": "1",
                "GUNICORN_THREADS": "4",
                "GUNICORN_ACCESS_LOG": "",
                **env,
            },
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        import requests

        self.session = requests.Session()
        self.session.trust_env = False
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if self.session.get(f"{self.url}/v2/", timeout=1).status_code == 401:
                    return
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError(f"{name} did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=15)
        self.log.close()


def _seed_pull(server: "Server") -> tuple[str, str]:
    """acme/app:1.0 pushed through `server`, licensed to customer globex; returns the
    manifest path and a Bearer JWT for globex."""
    import hashlib

    from customers.services import customer_create, token_mint, vendor_create
    from licensing.services import grant_add, license_create

    vendor = vendor_create(slug="acme", name="Acme")[0]
    push = ("ci", token_mint(vendor=vendor, kind="push", name="bench").secret)
    blobs = []
    for data in (b'{"os":"linux"}', os.urandom(2048)):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        r = server.session.post(
            f"{server.url}/v2/acme/app/blobs/uploads/?digest={digest}", data=data, auth=push
        )
        assert r.status_code == 201, r.text
        blobs.append({"digest": digest, "size": len(data)})
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **blobs[0]},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **blobs[1]}],
        }
    ).encode()
    r = server.session.put(
        f"{server.url}/v2/acme/app/manifests/1.0",
        data=manifest,
        auth=push,
        headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"},
    )
    assert r.status_code == 201, r.text
    customer = customer_create(vendor=vendor, slug="globex", name="Globex")[0]
    license = license_create(vendor=vendor, customer=customer, name="bench")
    grant_add(license=license, repository_name="acme/app", tag_rule="glob:*")
    pull = token_mint(vendor=vendor, customer=customer, kind="pull", name="bench").secret
    r = server.session.get(
        f"{server.url}/v2/token",
        auth=("globex", pull),
        params={"service": "127.0.0.1:9", "scope": "repository:acme/app:pull"},
    )
    assert r.status_code == 200, r.text
    return "/v2/acme/app/manifests/1.0", r.json()["token"]


def capture_overhead(data_dir: str, requests_per_server: int) -> dict:
    stream = f"bench:pulls:{uuid.uuid4().hex[:8]}"
    modes = {
        "off": {"ANALYTICS_CAPTURE_ENABLED": "false"},
        "redis": {"ANALYTICS_REDIS_URL": REDIS, "ANALYTICS_STREAM": stream},
        "database": {"ANALYTICS_REDIS_URL": ""},
    }
    servers = [Server(name, env, data_dir) for name, env in modes.items()]
    try:
        path, jwt = _seed_pull(servers[0])
        headers = {
            "Authorization": f"Bearer {jwt}",
            "Accept": "application/vnd.oci.image.manifest.v1+json",
        }
        samples: dict[str, list[float]] = {s.name: [] for s in servers}
        for i in range(requests_per_server + 200):
            order = servers[i % 3 :] + servers[: i % 3]  # rotate who goes first
            for server in order:
                start = time.perf_counter()
                r = server.session.get(server.url + path, headers=headers)
                elapsed = time.perf_counter() - start
                assert r.status_code == 200, (server.name, r.status_code, r.text[:200])
                if i >= 200:  # warm-up done
                    samples[server.name].append(elapsed * 1000)
    finally:
        for server in servers:
            server.stop()
        import redis

        redis.Redis.from_url(REDIS).delete(stream)
    off = statistics.median(samples["off"])
    return {
        name: {
            "requests": len(values),
            "median_ms": round(statistics.median(values), 3),
            "p99_ms": round(statistics.quantiles(values, n=100)[98], 3),
            "added_median_ms": round(statistics.median(values) - off, 3),
        }
        for name, values in samples.items()
    }


# --- 2. ingestion throughput --------------------------------------------------------------


def ingestion_throughput(events: int) -> dict:
    import random

    import redis
    from django.conf import settings
    from django.utils import timezone

    from analytics.capture.events import pull_fields
    from analytics.ingestion import ingest_pass
    from analytics.models import PullEvent, PullEventOutbox, PullRollup
    from customers.models import Customer, Vendor

    vendor = Vendor.objects.get_or_create(slug="bulk", defaults={"name": "Bulk"})[0]
    Customer.objects.bulk_create(
        [Customer(vendor=vendor, slug=f"c{n}", name=f"C{n}") for n in range(500)],
        ignore_conflicts=True,
    )
    customer_ids = list(Customer.objects.filter(vendor=vendor).values_list("id", flat=True))
    PullEventOutbox.objects.all().delete()  # part 1's database-mode pulls: not ours to count
    settings.ANALYTICS_REDIS_URL = REDIS
    settings.ANALYTICS_STREAM = f"bench:ingest:{uuid.uuid4().hex[:8]}"
    client = redis.Redis.from_url(REDIS)
    rng = random.Random(7)
    now = timezone.now()
    pipe = client.pipeline(transaction=False)
    for n in range(events):
        # Each customer runs three images at one version each, from two tokens and four
        # machines: ~1,500 rollup rows a day, like real traffic (not one row per event).
        customer = rng.randrange(len(customer_ids))
        repo, tag = (customer * 7 + rng.randrange(3)) % 20, customer % 30
        pipe.xadd(
            settings.ANALYTICS_STREAM,
            pull_fields(
                vendor_slug="bulk",
                customer_id=customer_ids[customer],
                token_prefix=f"distr_pull_{customer:04d}{rng.randrange(2)}",
                repository=f"bulk/repo{repo}",
                reference=f"1.{tag}.0",
                digest="sha256:" + f"{repo * 100 + tag:064x}",
                client_address=f"10.{customer % 250}.{rng.randrange(4)}.1",
                user_agent="containerd/1.7.0",
                occurred_at=now,
                index=False,  # an image manifest, as the registry records it
            ),
        )
        if n % 5000 == 4999:
            pipe.execute()
    pipe.execute()
    started = time.perf_counter()
    stored = 0
    while True:
        result = ingest_pass(max_batches=1000)
        stored += result.stored
        if result.read == 0:
            break
    elapsed = time.perf_counter() - started
    client.delete(settings.ANALYTICS_STREAM)
    assert stored == events, (stored, events)
    return {
        "events": events,
        "batch_size": settings.ANALYTICS_BATCH_SIZE,
        "seconds": round(elapsed, 2),
        "events_per_second": round(events / elapsed),
        "pull_events": PullEvent.objects.filter(vendor=vendor).count(),
        "rollups": PullRollup.objects.filter(vendor=vendor).count(),
    }


# --- 3. dashboard queries -----------------------------------------------------------------

_ROLLUPS_SQL = """
INSERT INTO analytics_pullrollup
    (key, vendor_id, customer_id, repository, tag, digest, day, pulls,
     distinct_tokens, distinct_addresses)
SELECT md5(%(vendor)s || '|' || c.n || '|' || d || '|' || k),
       %(vendor)s, c.id,
       %(slug)s || '/repo' || ((c.n * 7 + k) %% 20),
       '1.' || least(29, d / 3 + c.n %% 5) || '.0',
       'sha256:' || md5(c.n || '-' || k || '-' || d) || md5(d || '-' || k),
       current_date - d,
       1 + ((c.n * 31 + d * 17 + k * 7) %% %(spread)s),
       1 + (c.n %% 3), 1 + (c.n %% 5)
FROM (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n
      FROM customers_customer WHERE vendor_id = %(vendor)s) c,
     generate_series(0, 89) d, generate_series(0, 2) k
"""


def dashboard_queries(target_events: int, repeats: int) -> dict:
    import datetime

    from django.db import connection
    from django.test import Client

    from customers.models import Customer, Vendor
    from customers.services import token_mint
    from licensing.models import License
    from registry.models import Manifest, Repository, Tag

    spread = max(1, round(2 * target_events / (500 * 90 * 3)) - 1)  # mean pulls per row
    made = {}
    for slug in ("big", "other"):
        vendor = Vendor.objects.get_or_create(slug=slug, defaults={"name": slug})[0]
        Customer.objects.bulk_create(
            [Customer(vendor=vendor, slug=f"c{n:03d}", name=f"Customer {n}") for n in range(500)],
            ignore_conflicts=True,
        )
        with connection.cursor() as cursor:
            cursor.execute(_ROLLUPS_SQL, {"vendor": vendor.id, "slug": slug, "spread": spread})
        made[slug] = vendor
    big = made["big"]
    License.objects.bulk_create(
        [
            License(vendor=big, customer=c, name="Enterprise", valid_from=datetime.date(2020, 1, 1))
            for c in Customer.objects.filter(vendor=big)
        ]
    )
    for r in range(20):  # the repositories' current tags, for version adoption
        repo = Repository.objects.create(vendor=big, name=f"big/repo{r}")
        manifest = Manifest.objects.create(
            repository=repo, digest=f"sha256:{r:064x}", media_type="x", size=1, content=b"{}"
        )
        Tag.objects.bulk_create(
            [Tag(repository=repo, name=f"1.{t}.0", manifest=manifest) for t in range(31)]
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE analytics_pullrollup")
        cursor.execute(
            "SELECT count(*), sum(pulls) FROM analytics_pullrollup WHERE vendor_id = %s", [big.id]
        )
        rows, events = cursor.fetchone()
    minted = token_mint(vendor=big, kind="api", name="bench", scopes=["analytics:read"])
    api = Client(HTTP_AUTHORIZATION=f"Bearer {minted.secret}")
    customer = Customer.objects.filter(vendor=big).order_by("slug").first().slug
    endpoints = [
        "pulls/daily",
        "customers/top",
        "repositories/top",
        "tags/top",
        "adoption",
        "customers/quiet",
        f"customers/{customer}/history",
        "rollups",
    ]
    timings = {}
    for days in (7, 30, 90):
        for endpoint in endpoints:
            if endpoint == "rollups" and days != 7:
                continue  # the raw export, not a dashboard page: 7 days is ~10,000 rows
            values = []
            for _ in range(repeats + 1):
                start = time.perf_counter()
                response = api.get(f"/api/v1/analytics/{endpoint}", {"days": days})
                values.append((time.perf_counter() - start) * 1000)
                assert response.status_code == 200, response.content[:300]
            values = values[1:]  # first one warms Django's caches
            timings[f"{endpoint} ({days}d)"] = {
                "median_ms": round(statistics.median(values), 1),
                "max_ms": round(max(values), 1),
            }
    pages = _dashboard_pages(big, customer, repeats)
    return {
        "rollup_rows": rows,
        "events_behind_rollups": int(events),
        "endpoints": timings,
        "pages": pages,
    }


def _dashboard_pages(vendor, customer_slug: str, repeats: int) -> dict:
    """Server time of the console's analytics pages (every query of the page, templates,
    SVG charts), as a signed-in admin sees them."""
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model
    from django.test import Client

    from customers.models import VendorMember

    password = "bench-password-1"  # noqa: S105 - a throw-away benchmark account
    user = get_user_model().objects.create_user(
        username="bench-admin", email="bench@big.test", password=password
    )
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    VendorMember.objects.create(vendor=vendor, user=user, role="admin")
    browser = Client()
    browser.post(
        f"/p/{vendor.slug}/accounts/login/",
        {"login": "bench@big.test", "password": password},
    )
    from django.core.cache import cache

    from analytics.dashboard import dashboards_refresh

    def timed(path: str, days: int, before=None) -> dict:
        values = []
        for _ in range(repeats + 1):
            if before:
                before()
            start = time.perf_counter()
            response = browser.get(path, {"days": days})
            values.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, response.content[:300]
        values = values[1:]
        return {"median_ms": round(statistics.median(values), 1), "max_ms": round(max(values), 1)}

    def forget_snapshots():
        # Keep the session (cache-backed sessions are not used; sessions live in the DB).
        cache.clear()

    dashboard = f"/p/{vendor.slug}/console/analytics/"
    customer_page = f"/p/{vendor.slug}/console/analytics/customers/{customer_slug}/"
    timings = {}
    start = time.perf_counter()
    snapshots = dashboards_refresh()
    timings["worker: refresh all snapshots"] = {
        "snapshots": snapshots,
        "seconds": round(time.perf_counter() - start, 2),
    }
    for days in (7, 30, 90):
        timings[f"dashboard from snapshot ({days}d)"] = timed(dashboard, days)
        timings[f"dashboard computed live ({days}d)"] = timed(dashboard, days, forget_snapshots)
        timings[f"customer page ({days}d)"] = timed(customer_page, days, forget_snapshots)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke run")
    parser.add_argument(
        "--only", choices=["capture", "ingestion", "queries"], help="run one part only"
    )
    args = parser.parse_args()
    plan = (
        {"requests": 300, "events": 20_000, "rollup_events": 1_000_000, "repeats": 3}
        if args.quick
        else {"requests": 3000, "events": 200_000, "rollup_events": 10_000_000, "repeats": 10}
    )
    data_dir = tempfile.mkdtemp(prefix="distr-bench-analytics-")
    _setup_django(data_dir)
    results = {"plan": plan}
    if args.only in (None, "capture"):
        print("capture overhead …", flush=True)
        results["capture"] = capture_overhead(data_dir, plan["requests"])
        print(json.dumps(results["capture"], indent=2), flush=True)
    if args.only in (None, "ingestion"):
        print("ingestion throughput …", flush=True)
        results["ingestion"] = ingestion_throughput(plan["events"])
        print(json.dumps(results["ingestion"], indent=2), flush=True)
    if args.only in (None, "queries"):
        print("dashboard queries …", flush=True)
        results["queries"] = dashboard_queries(plan["rollup_events"], plan["repeats"])
        print(json.dumps(results["queries"], indent=2), flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    if args.only:
        return
    slowest = max(t["max_ms"] for t in results["queries"]["endpoints"].values())
    print(
        f"\ncapture added (median): redis {results['capture']['redis']['added_median_ms']} ms, "
        f"database {results['capture']['database']['added_median_ms']} ms; "
        f"ingestion {results['ingestion']['events_per_second']} events/s; "
        f"slowest dashboard query {slowest} ms"
    )


if __name__ == "__main__":
    main()
