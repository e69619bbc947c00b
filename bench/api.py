"""Benchmark the REST API's lists at scale: two vendors, each with 10,000 customers and
100,000 licenses (ten per customer, each with a grant), and a pull token per customer.
Ten clients on keep-alive connections call each list, filter and detail endpoint for a
few seconds as one vendor's API token; the figures are the median and p99 latency per
call and the queries each call made (from the server's request log is not needed: the
in-process check in tests/api/test_query_counts.py holds them constant in the page size).
The target from issue 14: p99 under 100 ms at 10 concurrent clients.

Run with `.venv/bin/python bench/api.py` (a few minutes, most of it seeding); the
embedded default (SQLite) unless DATABASE_URL names PostgreSQL.
"""

import argparse
import http.client
import json
import os
import re
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as core  # noqa: E402 - bench/run.py: server start/stop

SERVER_NAME = "distr-api"
RESULT_FILE = core.RESULTS_DIR / "api.json"
TARGET_P99_MS = 100.0


@dataclass(frozen=True)
class Plan:
    customers: int = 10_000
    licenses_per_customer: int = 10
    clients: int = 10
    seconds: float = 5.0


def django_setup(data_dir: Path, public_url: str, database_url: str, redis_url: str) -> None:
    for name in core._DISTR_ENV_DROPPED:
        os.environ.pop(name, None)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="distr.settings", DATA_DIR=str(data_dir), DISTR_PUBLIC_URL=public_url
    )
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    if redis_url:
        os.environ["REDIS_URL"] = redis_url
    import django

    django.setup()


# gunicorn as deployed (deploy/gunicorn.conf.py), for the benchmarks that seed in process.
GUNICORN_COMMAND = [
    str(core.VENV_BIN / "gunicorn"),
    "-c",
    "deploy/gunicorn.conf.py",
    "--no-control-socket",
    "distr.wsgi",
]


def server_env(workdir, port: int, database_url: str, redis_url: str, **settings) -> dict:
    """The server's environment: this process's, minus what would point it elsewhere, on
    the database and cache the seeding used, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if k not in core._DISTR_ENV_DROPPED}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(
        DATA_DIR=str(workdir),
        DISTR_PUBLIC_URL=f"http://127.0.0.1:{port}",
        HOST="127.0.0.1",
        PORT=str(port),
        GUNICORN_ACCESS_LOG="",
        **settings,
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def seed(plan: Plan) -> dict:
    """Bulk rows for two vendors (services for the tokens that need a secret)."""
    import datetime

    from django.core.management import call_command
    from django.db import transaction

    from customers.models import AccessToken, Customer
    from customers.services import token_mint, vendor_create
    from customers.tokens import secret_generate, secret_hash, secret_prefix
    from licensing.models import License, LicenseGrant

    call_command("migrate", interactive=False, verbosity=0)
    started = time.monotonic()
    seeded = {}
    for slug in ("acme", "umbrella"):
        vendor, _ = vendor_create(slug=slug, name=slug.title())
        with transaction.atomic():
            customers = Customer.objects.bulk_create(
                Customer(vendor=vendor, slug=f"c{i:05}", name=f"Customer {i:05}")
                for i in range(plan.customers)
            )
            licenses = License.objects.bulk_create(
                License(
                    vendor=vendor,
                    customer=customer,
                    name=f"License {n}",
                    valid_from=datetime.date(2026, 1, 1),
                    # spread over a year: "expiring before" a day selects about 1% of them
                    valid_until=datetime.date(2027, 1, 1)
                    + datetime.timedelta(days=(index * 7 + n * 37) % 365),
                )
                for index, customer in enumerate(customers)
                for n in range(plan.licenses_per_customer)
            )
            LicenseGrant.objects.bulk_create(
                LicenseGrant(license=lic, repository_name=f"{slug}/app", rule="glob", pattern="*")
                for lic in licenses
            )
            tokens = []
            for customer in customers:
                secret = secret_generate("pull")
                tokens.append(
                    AccessToken(
                        kind="pull",
                        vendor=vendor,
                        customer=customer,
                        name="cluster",
                        prefix=secret_prefix(secret),
                        secret_hash=secret_hash(secret),
                    )
                )
            AccessToken.objects.bulk_create(tokens, batch_size=2000)
        api = token_mint(vendor=vendor, kind="api", name="bench", scopes=["read"])
        seeded[slug] = {"api_secret": api.secret, "license_id": licenses[len(licenses) // 2].pk}
    # What autovacuum (PostgreSQL) or `PRAGMA optimize` would do after a bulk load soon
    # anyway: planner statistics, without which the first plans are guesses.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    seeded["seconds"] = round(time.monotonic() - started, 1)
    return seeded


def calls(seeded: dict) -> dict[str, str]:
    license_id = seeded["acme"]["license_id"]
    return {
        "customers: first page": "/api/v1/customers/?limit=50",
        "customers: search": "/api/v1/customers/?search=c0421&limit=50",
        "customers: ordered by name, descending": "/api/v1/customers/?ordering=-name&limit=50",
        "customer: detail": "/api/v1/customers/c05000",
        "licenses: first page": "/api/v1/licenses/?limit=50",
        "licenses: one customer's": "/api/v1/licenses/?customer=c04242",
        "licenses: expiring before a day": "/api/v1/licenses/?expires_before=2027-01-05&limit=50",
        "license: detail": f"/api/v1/licenses/{license_id}",
        "tokens: first page": "/api/v1/tokens/?limit=50",
        "tokens: one customer's": "/api/v1/tokens/?customer=c07777",
        "audit events: first page": "/api/v1/audit-events/?limit=50",
    }


def deep_page(port: int, headers: dict, path: str, pages: int) -> str:
    """The path of page `pages` of a list, following `next` links (a late cursor)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for _ in range(pages):
        connection.request("GET", path, headers=headers)
        body = json.loads(connection.getresponse().read())
        url = urllib.parse.urlsplit(body["next"])
        path = f"{url.path}?{url.query}"
    connection.close()
    return path


def measure(port: int, headers: dict, path: str, plan: Plan) -> dict:
    """wrk with `plan.clients` keep-alive connections; its latency distribution."""
    command = ["wrk", "-t2", f"-c{plan.clients}", f"-d{plan.seconds:g}s", "--latency"]
    out = core.run(
        [*command, *core.header_args(headers), f"http://127.0.0.1:{port}{path}"],
        timeout=plan.seconds + 60,
    )
    percentiles = {
        p: _ms(value, unit)
        for p, value, unit in re.findall(
            r"^\s+(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s)\s*$", out, re.M
        )
    }
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    errors = [line.strip() for line in out.splitlines() if "Non-2xx" in line or "Socket" in line]
    return {
        "requests": requests,
        "errors": errors,
        "median_ms": percentiles["50"],
        "p99_ms": percentiles["99"],
        "per_second": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
    }


def _ms(value: str, unit: str) -> float:
    return round(float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit], 1)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=Plan.customers)
    parser.add_argument("--seconds", type=float, default=Plan.seconds)
    args = parser.parse_args(argv)
    plan = Plan(customers=args.customers, seconds=args.seconds)
    database_url = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("REDIS_URL", "")
    core.RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="distr-bench-api-") as workdir:
        port = core.free_port()
        django_setup(Path(workdir), f"http://127.0.0.1:{port}", database_url, redis_url)
        seeded = seed(plan)
        print(
            f"seeded {2 * plan.customers} customers and "
            f"{2 * plan.customers * plan.licenses_per_customer} licenses in {seeded['seconds']} s"
        )
        # measure the API, not its limiter
        env = server_env(workdir, port, database_url, redis_url, API_RATE_LIMIT="1000000/min")
        command = GUNICORN_COMMAND
        headers = {"Authorization": f"Bearer {seeded['acme']['api_secret']}"}
        results = {}
        auth = {"namespace": "acme/", "secret": seeded["acme"]["api_secret"]}  # 401 = ready
        with core._running(SERVER_NAME, command, env, port, auth) as server:
            paths = calls(seeded)
            paths["customers: page 100 (cursor)"] = deep_page(
                server.port, headers, "/api/v1/customers/?limit=50", 100
            )
            for name, path in paths.items():
                measure(server.port, headers, path, Plan(clients=2, seconds=1))  # warm up
                results[name] = measure(server.port, headers, path, plan)
    worst = max(r["p99_ms"] for r in results.values())
    report = {
        "database": "postgresql" if database_url.startswith("postgres") else "sqlite",
        "shared_cache": "redis" if redis_url else "database table",
        "plan": plan.__dict__,
        "calls": results,
        "worst_p99_ms": worst,
        "target_p99_ms": TARGET_P99_MS,
    }
    RESULT_FILE.write_text(json.dumps(report, indent=2))
    width = max(len(n) for n in results)
    print(f"{'call':<{width}}  median   p99    req/s  answers")
    for name, r in results.items():
        print(
            f"{name:<{width}}  {r['median_ms']:6.1f} {r['p99_ms']:6.1f} {r['per_second']:7.1f}"
            f"  {'; '.join(r['errors']) or 'all 2xx'}"
        )
    print(f"worst p99 {worst} ms (target < {TARGET_P99_MS} ms); {RESULT_FILE}")
    return 0 if worst < TARGET_P99_MS else 1


if __name__ == "__main__":
    sys.exit(main())
