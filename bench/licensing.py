"""Benchmark the license check: a customer's manifest GET against an anonymous public one.

One distr (gunicorn, as in bench/run.py) with vendor `acme`, two repositories of the same
content (`acme/app`, private, and `acme/public`, public), 10,000 tags in each, and 500
customers with a license and a grant on `acme/app`. wrk GETs a manifest by tag as one of
those customers (Bearer JWT from a pull token, so every request runs the entitlement check)
and anonymously from the public repository, alternating. The target from the issue: a warm
customer GET costs at most 20% more than the anonymous one. It also times the cold case,
the first request of a customer whose entitlement nobody has built yet.

Run with `.venv/bin/python bench/licensing.py` (about 2 minutes); bench/README.md says more.
"""

import argparse
import base64
import contextlib
import datetime
import hashlib
import http.client
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
import textwrap
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as core  # noqa: E402 - bench/run.py: server start/stop, wrk, tool versions

VENDOR = "acme"
PRIVATE_REPO = f"{VENDOR}/app"  # the customers' licenses cover it
PUBLIC_REPO = f"{VENDOR}/public"  # the same content, pulled anonymously
MEASURED_TAG = "1.2.3"
MEASURED_RULE = "semver:>=1.0,<2"  # the measured customer's grant: the costliest rule to match
MAX_OVERHEAD = 0.20
SERVER_NAME = "distr-licensing"  # its log: bench/results/distr-licensing.log
RESULT_FILE = core.RESULTS_DIR / "licensing.json"


@dataclass(frozen=True)
class Plan:
    tags: int = 10_000
    customers: int = 500
    manifests: int = 100  # distinct manifests the tags point at
    cold_customers: int = 9  # each times one first request (three per rule kind)
    wrk_seconds: int = 10
    rounds: int = 3


@dataclass
class Seeded:
    push_secret: str  # vendor CI token, for the server's readiness check and the info row
    customer_secret: str  # the measured customer's pull token
    customer_rule: str
    cold: list[tuple[str, str, str, str]]  # (customer slug, rule, a covered tag, pull token)
    manifest_digest: str  # what MEASURED_TAG points at, in both repositories
    manifest_bytes: int
    tag_history_rows: int
    closure_manifests: int  # the measured customer's entitlement
    closure_blobs: int
    build_ms: list[float] = field(default_factory=list)  # entitlement_build in this process


# --- seeding, through distr's own services in this process --------------------------------


def django_setup(data_dir: Path, public_url: str) -> None:
    """Point this process at the bench's DATA_DIR, with the same settings the server gets."""
    for name in core._DISTR_ENV_DROPPED:
        os.environ.pop(name, None)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="distr.settings",
        DATA_DIR=str(data_dir),
        DISTR_PUBLIC_URL=public_url,
    )
    import django

    django.setup()


def tag_names(count: int) -> list[str]:
    """`major.minor.patch` version tags, majors 0 to 4: rules select slices of them."""
    per_major = -(-count // 5)
    minors = -(-per_major // 50)
    names = [
        f"{major}.{minor}.{patch}"
        for major in range(5)
        for minor in range(minors)
        for patch in range(50)
    ]
    return names[:count]


def customer_rule(index: int) -> tuple[str, str]:
    """Customer `index`'s grant, and a tag it covers. The grants cycle through the three
    rule kinds over the five majors."""
    major = index % 5
    kind = index % 3
    if kind == 0:
        return f"glob:{major}.*", f"{major}.2.3"
    if kind == 1:
        return f"semver:>={major}.0,<{major + 1}", f"{major}.2.3"
    tag = f"{major}.{index % 4}.{index % 50}"  # exists from --tags 1000 up
    return f"exact:{tag}", tag


def seed(plan: Plan) -> Seeded:
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    from customers.models import AccessToken
    from customers.services import customer_create, token_mint, vendor_create
    from licensing.selectors import entitlement_build
    from licensing.services import grant_add, license_create
    from registry.digests import digest_parse
    from registry.models import Repository, Tag, TagHistory
    from registry.services.manifests import manifest_put
    from registry.services.repositories import repository_get_or_create
    from registry.services.uploads import blob_upload_monolithic

    call_command("migrate", interactive=False, verbosity=0)
    vendor, _ = vendor_create(slug=VENDOR, name="Acme (bench)")
    push = token_mint(vendor=vendor, kind=AccessToken.Kind.PUSH, name="bench CI")

    # Manifests: each its own config and one 2 KiB layer, pushed as a client would (blob
    # uploads, then the manifest by digest), into both repositories.
    repositories = [
        repository_get_or_create(vendor_id=vendor.id, repository_name=name)
        for name in (PRIVATE_REPO, PUBLIC_REPO)
    ]
    Repository.objects.filter(name=PUBLIC_REPO).update(is_public=True)
    manifests = []
    for index in range(plan.manifests):
        layer = os.urandom(2048)
        layer_digest = "sha256:" + hashlib.sha256(layer).hexdigest()
        config = json.dumps(
            {
                "architecture": "amd64",
                "os": "linux",
                "config": {"Labels": {"build": f"{index:04d}"}},
                "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
            }
        ).encode()
        config_digest = "sha256:" + hashlib.sha256(config).hexdigest()
        raw = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": core.OCI_MANIFEST,
                "config": {
                    "mediaType": "application/vnd.oci.image.config.v1+json",
                    "digest": config_digest,
                    "size": len(config),
                },
                "layers": [
                    {
                        "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                        "digest": layer_digest,
                        "size": len(layer),
                    }
                ],
            }
        ).encode()
        digest = "sha256:" + hashlib.sha256(raw).hexdigest()
        for repository in repositories:
            for blob, blob_digest in ((config, config_digest), (layer, layer_digest)):
                blob_upload_monolithic(
                    repository=repository, chunks=[blob], expected=digest_parse(blob_digest)
                )
            manifest, _ = manifest_put(
                vendor_id=vendor.id,
                repository_name=repository.name,
                reference=digest,
                raw=raw,
                content_type=core.OCI_MANIFEST,
            )
        manifests.append((digest, len(raw)))

    # Tags in bulk: tag i points at manifest i mod N. Every fifth tag moved once (a history
    # row for the manifest it pointed at before), as a vendor re-tagging a release does.
    names = tag_names(plan.tags)
    now = timezone.now()
    moved, previous = now - datetime.timedelta(days=30), now - datetime.timedelta(days=90)
    for repository in repositories:
        ids = dict(repository.manifests.values_list("digest", "id"))
        tags, history = [], []
        for index, name in enumerate(names):
            digest = manifests[index % plan.manifests][0]
            tags.append(Tag(repository=repository, name=name, manifest_id=ids[digest]))
            if index % 5 == 0:
                before = manifests[(index + 1) % plan.manifests][0]
                history.append(
                    TagHistory(
                        repository=repository, tag=name, digest=before, since=previous, until=moved
                    )
                )
            since = moved if index % 5 == 0 else previous
            history.append(TagHistory(repository=repository, tag=name, digest=digest, since=since))
        Tag.objects.bulk_create(tags, batch_size=2000)
        TagHistory.objects.bulk_create(history, batch_size=2000)

    # Customers: one license each (valid for the past year, so moved tags' history counts),
    # one grant on acme/app. Customer 1 is the measured one; the next few time a cold build.
    start = datetime.date.today() - datetime.timedelta(days=365)
    customers = []
    with transaction.atomic():
        for index in range(plan.customers):
            customer, _ = customer_create(vendor=vendor, slug=f"customer-{index:04d}")
            license = license_create(
                vendor=vendor, customer=customer, name=f"License {index}", valid_from=start
            )
            rule, tag = (MEASURED_RULE, MEASURED_TAG) if index == 1 else customer_rule(index)
            grant_add(license=license, repository_name=PRIVATE_REPO, tag_rule=rule)
            customers.append((customer, rule, tag))

    def pull_token(customer) -> str:
        return token_mint(vendor=vendor, kind="pull", customer=customer, name="bench").secret

    measured, measured_rule, _ = customers[1]
    fresh = customers[2 : 2 + plan.cold_customers]
    cold = [(c.slug, rule, tag, pull_token(c)) for c, rule, tag in fresh]
    digest, size = manifests[names.index(MEASURED_TAG) % plan.manifests]
    seeded = Seeded(
        push_secret=push.secret,
        customer_secret=pull_token(measured),
        customer_rule=measured_rule,
        cold=cold,
        manifest_digest=digest,
        manifest_bytes=size,
        tag_history_rows=TagHistory.objects.filter(repository__name=PRIVATE_REPO).count(),
        closure_manifests=0,
        closure_blobs=0,
    )

    # The build itself, without HTTP: in this process, for the measured customer and the
    # cold ones (the first call also fills the per-process caches of parsed versions).
    today = timezone.localdate()
    for customer in [measured] + [c for c, _, _ in fresh]:
        began = time.perf_counter()
        entitlement = entitlement_build(
            customer_id=customer.id, repository_name=PRIVATE_REPO, today=today
        )
        seeded.build_ms.append((time.perf_counter() - began) * 1000)
        if customer == measured:
            if MEASURED_TAG not in entitlement.tags or digest not in entitlement.manifests:
                raise core.BenchError(f"the measured customer is not entitled to {MEASURED_TAG}")
            seeded.closure_manifests = len(entitlement.manifests)
            seeded.closure_blobs = len(entitlement.blobs)

    from django.db import connections

    connections.close_all()  # the server has the SQLite file to itself from here on
    return seeded


# --- the server and its clients -----------------------------------------------------------


@contextlib.contextmanager
def distr_server(data_dir: Path, port: int, push_secret: str):
    """gunicorn with deploy/gunicorn.conf.py, as bench/run.py starts it (same environment)."""
    env = {k: v for k, v in os.environ.items() if k not in core._DISTR_ENV_DROPPED}
    env.pop("DJANGO_SETTINGS_MODULE", None)  # distr.wsgi sets its own
    env.update(
        DATA_DIR=str(data_dir),
        DISTR_PUBLIC_URL=f"http://127.0.0.1:{port}",
        HOST="127.0.0.1",
        PORT=str(port),
        GUNICORN_ACCESS_LOG="",
    )
    command = [
        str(core.VENV_BIN / "gunicorn"),
        "-c",
        "deploy/gunicorn.conf.py",
        "--no-control-socket",
        "distr.wsgi",
    ]
    auth = {"namespace": f"{VENDOR}/", "secret": push_secret}
    with core._running(SERVER_NAME, command, env, port, auth) as server:
        yield server


def bearer(server: core.Server, secret: str, repo: str) -> dict[str, str]:
    """`Authorization: Bearer <JWT>` for pulling `repo`, from /v2/token with Basic auth."""
    scope = f"repository:{repo}:pull"
    url = core._with_query(server.realm, service=server.service, scope=scope)
    basic = base64.b64encode(f"{core.LOGIN_NAME}:{secret}".encode()).decode()
    request = urllib.request.Request(url, headers={"Authorization": f"Basic {basic}"})
    try:
        with core._URLOPEN(request, timeout=30) as response:
            body = json.load(response)
    except urllib.error.HTTPError as error:
        raise core.BenchError(f"/v2/token answered {error.code}") from error
    if scope not in body.get("scope", "").split() or not body.get("token"):
        raise core.BenchError(f"/v2/token granted {body.get('scope')!r}, not {scope}")
    return {"Authorization": f"Bearer {body['token']}"}


def manifest_path(repo: str) -> str:
    return f"/v2/{repo}/manifests/{MEASURED_TAG}"


def check_answer(server: core.Server, repo: str, headers: dict, seeded: Seeded) -> None:
    """One GET before any load: 200 and the expected manifest, not a 401/403 at wrk speed."""
    request = urllib.request.Request(
        server.url + manifest_path(repo), headers={"Accept": core.OCI_MANIFEST, **headers}
    )
    try:
        with core._URLOPEN(request, timeout=30) as response:
            digest, size = response.headers["Docker-Content-Digest"], len(response.read())
    except urllib.error.HTTPError as error:
        raise core.BenchError(f"GET {repo}:{MEASURED_TAG} answered {error.code}") from error
    if digest != seeded.manifest_digest or size != seeded.manifest_bytes:
        raise core.BenchError(f"GET {repo}:{MEASURED_TAG} gave {digest} ({size} bytes)")


@dataclass
class Series:
    key: str
    label: str
    repo: str
    secret: str | None  # None: anonymous
    samples: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def headers(self, server: core.Server) -> dict[str, str]:
        return {} if self.secret is None else bearer(server, self.secret, self.repo)

    def median(self) -> float | None:
        return statistics.median(self.samples) if self.samples else None

    def spread(self) -> float | None:
        if len(self.samples) < 2:
            return None
        return (max(self.samples) - min(self.samples)) / 2 / statistics.median(self.samples)


def measure_warm(server: core.Server, plan: Plan, series: list[Series], seeded: Seeded) -> None:
    for one in series:
        headers = one.headers(server)
        check_answer(server, one.repo, headers, seeded)
        # Warm-up: every gunicorn worker has served this client (and built its entitlement).
        core.wrk_rps(server.url + manifest_path(one.repo), 2, headers)
    for index in range(plan.rounds):
        for one in series if index % 2 == 0 else list(reversed(series)):
            headers = one.headers(server)  # a fresh JWT every run (they last 300 s)
            url = server.url + manifest_path(one.repo)
            rps, problems = core.wrk_rps(url, plan.wrk_seconds, headers)
            one.samples.append(rps)
            one.problems += problems


def _timed_get(connection: http.client.HTTPConnection, path: str, headers: dict) -> float:
    began = time.perf_counter()
    connection.request("GET", path, headers={"Accept": core.OCI_MANIFEST, **headers})
    response = connection.getresponse()
    response.read()
    elapsed = (time.perf_counter() - began) * 1000
    if response.status != 200:
        raise core.BenchError(f"GET {path} answered {response.status}")
    return elapsed


def measure_cold(server: core.Server, seeded: Seeded) -> list[dict]:
    """Customers nobody has pulled as yet, after the wrk runs (a server in use, as when a
    new customer starts pulling or a license change invalidated an entitlement). For each,
    on one keep-alive connection (so one gunicorn worker): `GET /v2/` with its JWT (verifies
    the JWT and caches the token's liveness), then the manifest GET that builds its
    entitlement, then warm GETs of the same manifest for comparison."""
    samples = []
    for slug, rule, tag, secret in seeded.cold:
        headers = bearer(server, secret, PRIVATE_REPO)
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        try:
            connection.request("GET", "/v2/", headers=headers)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise core.BenchError(f"GET /v2/ as {slug} answered {response.status}")
            path = f"/v2/{PRIVATE_REPO}/manifests/{tag}"
            cold = _timed_get(connection, path, headers)
            warm = statistics.median(_timed_get(connection, path, headers) for _ in range(5))
        finally:
            connection.close()
        samples.append(
            {"customer": slug, "rule": rule, "tag": tag, "cold_ms": cold, "warm_ms": warm}
        )
    return samples


# --- report -------------------------------------------------------------------------------


def overhead(anonymous: Series, customer: Series) -> float | None:
    mine, theirs = customer.median(), anonymous.median()
    if not mine or not theirs:
        return None
    return 1 - mine / theirs


def paired_overheads(anonymous: Series, customer: Series) -> list[float]:
    """The overhead within each round (both runs back to back): drift between rounds, such
    as other load on the box, moves both sides of a pair alike."""
    return [1 - c / a for a, c in zip(anonymous.samples, customer.samples, strict=False) if a]


def report(plan: Plan, seeded: Seeded, series: list[Series], cold: list[dict]) -> str:
    anonymous, customer = series[0], series[1]
    cost = overhead(anonymous, customer)
    paired = paired_overheads(anonymous, customer)
    met = cost is not None and cost <= MAX_OVERHEAD and not customer.problems
    colds = [s["cold_ms"] for s in cold]
    warms = [s["warm_ms"] for s in cold]
    rows = [("figure", "value", "spread", "target", "")]
    for one in series:
        spread = one.spread()
        rows.append(
            (
                one.label,
                f"{one.median():,.0f} req/s" if one.median() else "-",
                "" if spread is None else f"±{spread:.0%}",
                "",
                "",
            )
        )
    rows.append(
        (
            "customer overhead: 1 - customer/anonymous",
            "-" if cost is None else f"{cost:+.1%}",
            f"rounds {min(paired):+.0%} to {max(paired):+.0%}" if paired else "",
            f"<= {MAX_OVERHEAD:.0%}",
            "ok" if met else "MISSED",
        )
    )
    if colds:
        rows.append(
            (
                f"cold: first customer manifest GET ({len(colds)} fresh customers)",
                f"{statistics.median(colds):.1f} ms",
                f"max {max(colds):.1f}",
                "",
                "",
            )
        )
        rows.append(
            (
                "  then warm on the same connection",
                f"{statistics.median(warms):.1f} ms",
                "",
                "",
                "",
            )
        )
    if seeded.build_ms:
        rows.append(
            (
                f"entitlement_build in-process ({len(seeded.build_ms)} customers)",
                f"{statistics.median(seeded.build_ms):.1f} ms",
                f"first {seeded.build_ms[0]:.1f}",
                "",
                "",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    align = ["<", ">", ">", "<", "<"]
    lines = [
        "  ".join(f"{cell:{a}{w}}" for cell, a, w in zip(row, align, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines.insert(1, "-" * len(lines[0]))
    notes = [
        f"{plan.tags:,} tags in each repository ({seeded.tag_history_rows:,} tag-history rows), "
        f"{plan.manifests} manifests, {plan.customers} customers with a license and a grant on "
        f"{PRIVATE_REPO}.",
        f"GET {{repo}}/manifests/{MEASURED_TAG}: wrk -t2 -c{core.CONNECTIONS} "
        f"-d{plan.wrk_seconds}s, {plan.rounds} rounds per series, alternating; medians. "
        f"The manifest is {seeded.manifest_bytes} bytes in both repositories.",
        f"The measured customer's grant: {seeded.customer_rule}; its entitlement holds "
        f"{seeded.closure_manifests} manifests and {seeded.closure_blobs} blobs.",
        "Cold: after the wrk runs, each fresh customer's first manifest GET builds its "
        "entitlement in its worker (its JWT and token liveness already cached by a GET /v2/ "
        "on the same connection). In-process: entitlement_build() called directly, before "
        "the server starts; the first call also parses every tag as a version.",
        "Overhead below 0 means the customer's GET was faster than the anonymous one.",
    ]
    problems = [f"problem, {one.key}: {p}" for one in series for p in one.problems]
    wrapped = [
        textwrap.fill(note, 98, subsequent_indent="  ", break_on_hyphens=False) for note in notes
    ]
    return "\n".join([*lines, "", *wrapped, *problems])


def write_json(plan: Plan, seeded: Seeded, series: list[Series], cold: list[dict], extra: dict):
    anonymous, customer = series[0], series[1]
    cost = overhead(anonymous, customer)
    body = {
        "plan": asdict(plan),
        **extra,
        "measured": {
            "tag": MEASURED_TAG,
            "customer_rule": seeded.customer_rule,
            "manifest_bytes": seeded.manifest_bytes,
            "tag_history_rows": seeded.tag_history_rows,
            "closure_manifests": seeded.closure_manifests,
            "closure_blobs": seeded.closure_blobs,
        },
        "series": {
            one.key: {
                "label": one.label,
                "repository": one.repo,
                "samples_rps": one.samples,
                "median_rps": one.median(),
                "spread": one.spread(),
                "problems": one.problems,
            }
            for one in series
        },
        "overhead": cost,
        "overhead_per_round": paired_overheads(anonymous, customer),
        "target_max_overhead": MAX_OVERHEAD,
        "met": cost is not None and cost <= MAX_OVERHEAD and not customer.problems,
        "cold": cold,
        "cold_median_ms": statistics.median(s["cold_ms"] for s in cold) if cold else None,
        "entitlement_build_ms": seeded.build_ms,
    }
    RESULT_FILE.write_text(json.dumps(body, indent=2) + "\n")


# --- main ---------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> Plan:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 s runs, 1 round: a smoke run")
    parser.add_argument("--tags", type=int, default=Plan.tags)
    parser.add_argument("--customers", type=int, default=Plan.customers)
    parser.add_argument("--seconds", type=int, help="wrk duration of each run")
    parser.add_argument("--rounds", type=int, help="runs per series")
    args = parser.parse_args(argv)
    if args.customers < 2 + Plan.cold_customers:
        parser.error(f"--customers must be at least {2 + Plan.cold_customers}")
    if args.tags < 1000:
        parser.error("--tags must be at least 1000 (the measured tag is 1.2.3)")
    return Plan(
        tags=args.tags,
        customers=args.customers,
        wrk_seconds=args.seconds or (3 if args.quick else Plan.wrk_seconds),
        rounds=args.rounds or (1 if args.quick else Plan.rounds),
    )


def main(argv: list[str] | None = None) -> int:
    plan = parse_args(argv)
    if not shutil.which("wrk"):
        raise SystemExit("missing tool: apt-get install wrk")
    signal.signal(signal.SIGTERM, core._on_sigterm)
    signal.signal(signal.SIGHUP, core._on_sigterm)
    core.RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    started, load_before = time.time(), os.getloadavg()[0]
    if load_before > 0.5:
        # Client and server share this box: other load skews every figure.
        print(f"note: load average is {load_before:.1f} before the run", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="distr-bench-licensing-") as workdir:
        data_dir = Path(workdir) / "distr-data"
        port = core.free_port()
        django_setup(data_dir, f"http://127.0.0.1:{port}")
        print(f"[{time.time() - started:4.0f} s] seeding …", file=sys.stderr, flush=True)
        seeded = seed(plan)
        series = [
            Series("anonymous", f"anonymous, public {PUBLIC_REPO}", PUBLIC_REPO, None),
            Series(
                "customer",
                f"customer pull token, {PRIVATE_REPO}",
                PRIVATE_REPO,
                seeded.customer_secret,
            ),  # fmt: skip
            Series(
                "vendor",
                f"vendor push token, {PRIVATE_REPO} (info)",
                PRIVATE_REPO,
                seeded.push_secret,
            ),  # fmt: skip
        ]
        with distr_server(data_dir, port, seeded.push_secret) as server:
            print(f"[{time.time() - started:4.0f} s] wrk …", file=sys.stderr, flush=True)
            measure_warm(server, plan, series, seeded)
            print(f"[{time.time() - started:4.0f} s] cold …", file=sys.stderr, flush=True)
            cold = measure_cold(server, seeded)
        findings = core.log_findings(server)
    elapsed, load_after = time.time() - started, os.getloadavg()[0]
    print(
        f"\ndistr license check: {elapsed:.0f} s, {os.cpu_count()} CPUs, load average "
        f"{load_before:.1f} before and {load_after:.1f} after\n"
    )
    print(report(plan, seeded, series, cold))
    for line in findings["faults"][:5]:
        print(f"server log, fault: {line[:300]}")
    for line in findings["warnings"]:
        print(f"server log, warning: {line}")
    versions = core.versions()
    extra = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "seconds": round(elapsed, 1),
        "cpus": os.cpu_count(),
        "load_average": {"before": load_before, "after": load_after},
        "versions": {k: versions[k] for k in ("distr", "gunicorn", "wrk", "python")},
        "log_findings": findings,
    }
    write_json(plan, seeded, series, cold, extra)
    print(f"JSON: {RESULT_FILE}")
    return 1 if findings["faults"] or any(one.problems for one in series) else 0


if __name__ == "__main__":
    sys.exit(main())
