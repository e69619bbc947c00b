"""Benchmark distr against CNCF Distribution 2.8 (Debian's `docker-registry`), side by side.

Both registries run at once on loopback ports. Every figure runs the same workload against
each of them, alternating between the two, and the table gives both medians and their
ratio. Run with `make bench` (about 4 minutes) or `.venv/bin/python bench/run.py --quick`;
bench/README.md says what each figure measures.
"""

import argparse
import base64
import contextlib
import dataclasses
import hashlib
import itertools
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
from tests.support.oci_layout import image_layout  # noqa: E402 - needs REPO_ROOT on sys.path

RESULTS_DIR = REPO_ROOT / "bench" / "results"
VENV_BIN = REPO_ROOT / ".venv" / "bin"
DOCKER_REGISTRY = "/usr/bin/docker-registry"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
# distr's demo vendor (`manage.py seeddemo`): its repositories are `acme/<path>`, and the
# push token seeddemo mints may push and pull all of them. Distribution runs without auth.
DISTR_VENDOR = "acme"
LOGIN_NAME = "ci"  # any username: distr only reads the password, the token secret
MB = 1000 * 1000
MiB = 1024 * 1024
CONNECTIONS = 32
RSS_TARGET = 150 * MiB
# No proxy, ever: every request goes to the two servers on 127.0.0.1.
_URLOPEN = urllib.request.build_opener(urllib.request.ProxyHandler({})).open


class BenchError(RuntimeError):
    pass


# --- what to run ------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    big_layers: tuple[int, ...]  # figure 1
    small_layers: tuple[int, ...]  # figure 2
    blob_get_bytes: int  # figure 3
    rss_blob_bytes: int  # figure 6
    wrk_seconds: int  # figure 4
    ab_requests: int  # figure 5
    repeats: int  # per server, for figures 1, 2, 4 and 5
    get_repeats: int  # per server, for figure 3 (each GET is short)


FULL = Plan(
    big_layers=(100 * MB,) * 3,
    small_layers=(64 * 1024,) * 100,
    blob_get_bytes=256 * MiB,
    rss_blob_bytes=1024 * MiB,
    wrk_seconds=10,
    ab_requests=20_000,
    repeats=5,
    get_repeats=5,
)
QUICK = Plan(
    big_layers=(10 * MB,) * 3,
    small_layers=(64 * 1024,) * 10,
    blob_get_bytes=32 * MiB,
    rss_blob_bytes=128 * MiB,
    wrk_seconds=3,
    ab_requests=2_000,
    repeats=3,
    get_repeats=3,
)


@dataclass
class Figure:
    """One table row: samples from both servers and how to compare them.

    kind "rate": higher is better, ratio = distr / distribution.
    kind "time": lower is better, ratio = distribution / distr (so >1 means distr is faster).
    kind "memory": ratio = distr / distribution; the target is an absolute limit for distr.
    """

    key: str
    label: str
    unit: str
    kind: str
    min_ratio: float | None = None
    max_value: float | None = None
    samples: dict[str, list[float]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def add(self, server: str, value: float) -> None:
        self.samples.setdefault(server, []).append(value)

    def median(self, server: str) -> float | None:
        values = self.samples.get(server)
        return statistics.median(values) if values else None

    def spread(self) -> float | None:
        """The larger of the two servers' half-ranges, relative to their medians: how far
        to trust the ratio (other load on the box shows up here first)."""
        spreads = [
            (max(values) - min(values)) / 2 / statistics.median(values)
            for values in self.samples.values()
            if len(values) > 1 and statistics.median(values)
        ]
        return max(spreads) if spreads else None

    def ratio(self) -> float | None:
        mine, theirs = self.median("distr"), self.median("distribution")
        if not mine or not theirs:
            return None
        return theirs / mine if self.kind == "time" else mine / theirs

    def target_text(self) -> str:
        if self.min_ratio is not None:
            return f">= {self.min_ratio:g}x"
        if self.max_value is not None:
            return f"< {self.max_value:g} {self.unit}"
        return ""

    def met(self) -> bool | None:
        if self.problems:
            return False
        if self.min_ratio is not None:
            ratio = self.ratio()
            return ratio is not None and ratio >= self.min_ratio
        if self.max_value is not None:
            mine = self.median("distr")
            return mine is not None and mine < self.max_value
        return None


# --- servers ----------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen
    log_path: Path
    namespace: str = ""  # repository names start with it: "acme/" on distr
    secret: str | None = None  # distr's push token; None: the server runs without auth
    realm: str = ""  # from distr's `WWW-Authenticate: Bearer` challenge
    service: str = ""

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def pids(self) -> list[int]:
        """The server and all its descendants (gunicorn: master and workers)."""
        return [self.process.pid, *descendants(self.process.pid)]


DISTRIBUTION_CONFIG = """\
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: 127.0.0.1:{port}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Settings from the caller's environment that would move distr off the embedded default or
# change how it authenticates (the token service, realm and signing key follow from
# DISTR_PUBLIC_URL and DATA_DIR below; the liveness cache is per process without Redis).
_DISTR_ENV_DROPPED = (
    "DATABASE_URL",
    "DEBUG",
    "REDIS_URL",
    "REGISTRY_SERVICE",
    "REGISTRY_TOKEN_REALM",
    "REGISTRY_TOKEN_ISSUER",
    "REGISTRY_TOKEN_KEY",
    "REGISTRY_TOKEN_KEY_FILE",
)


@contextlib.contextmanager
def distr_server(workdir: Path) -> Iterator[Server]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in _DISTR_ENV_DROPPED}
    # The embedded default (SQLite and blob files under DATA_DIR), no access log: the
    # Distribution side runs with its access log off too. DISTR_PUBLIC_URL makes the token
    # service (the JWT audience) this host and port.
    env.update(
        DATA_DIR=str(workdir / "distr-data"),
        DISTR_PUBLIC_URL=f"http://127.0.0.1:{port}",
        HOST="127.0.0.1",
        PORT=str(port),
        GUNICORN_ACCESS_LOG="",
        # Distribution runs at `log.level: warn` with its access log off; distr's one JSON
        # line per request (ops.middleware) is its access log, so it is off here as well.
        # bench/README.md gives its cost separately (BENCH_DISTR_LOG_LEVEL=INFO turns it on).
        LOG_LEVEL=os.environ.get("BENCH_DISTR_LOG_LEVEL", "WARNING"),
    )
    manage = [str(VENV_BIN / "python"), "manage.py"]
    run([*manage, "migrate", "--noinput"], env=env, timeout=300)
    # Vendor `acme` and a push token for it; seeddemo prints only the secret.
    secret = run([*manage, "seeddemo", "--vendor", DISTR_VENDOR], env=env, timeout=120).strip()
    if not secret or any(char.isspace() for char in secret):
        raise BenchError(f"manage.py seeddemo printed no token secret: {secret[:200]!r}")
    # No control socket: gunicorn 27 puts it at ~/.gunicorn/gunicorn.ctl, shared with any
    # other gunicorn on the machine, and removes it when it stops.
    command = [str(VENV_BIN / "gunicorn"), "-c", "deploy/gunicorn.conf.py", "--no-control-socket"]
    command.append("distr.wsgi")
    auth = {"namespace": f"{DISTR_VENDOR}/", "secret": secret}
    with _running("distr", command, env, port, auth) as server:
        yield server


@contextlib.contextmanager
def distribution_server(workdir: Path) -> Iterator[Server]:
    port = free_port()
    config = workdir / "distribution.yml"
    # Debian's shipped config also keeps the in-memory blob descriptor cache; per-request
    # logging is off as on the distr side.
    config.write_text(DISTRIBUTION_CONFIG.format(root=workdir / "distribution-data", port=port))
    command = [DOCKER_REGISTRY, "serve", str(config)]
    with _running("distribution", command, dict(os.environ), port, {}) as server:
        yield server


@contextlib.contextmanager
def _running(name: str, command: list[str], env: dict, port: int, auth: dict) -> Iterator[Server]:
    log_path = RESULTS_DIR / f"{name}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log
        )
    server = Server(name, port, process, log_path, **auth)
    try:
        _wait_ready(server)
        yield server
    finally:
        _stop(server)


def _wait_ready(server: Server, timeout: float = 60) -> None:
    """Until `GET /v2/` answers: 200 from a server without auth; from distr, the 401 whose
    Bearer challenge names the token realm and service (what docker reads first)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise BenchError(f"{server.name} exited at start-up; see {server.log_path}")
        try:
            with _URLOPEN(f"{server.url}/v2/", timeout=2) as response:
                status, challenge = response.status, ""
        except urllib.error.HTTPError as error:
            status, challenge = error.code, error.headers.get("WWW-Authenticate", "")
            error.close()
        except OSError:
            time.sleep(0.1)
            continue
        if server.secret is None and status == 200:
            return
        if server.secret is not None and status == 401:
            _take_challenge(server, challenge)
            return
        raise BenchError(f"{server.name}: anonymous GET /v2/ answered {status}")
    raise BenchError(f"{server.name} not ready after {timeout:g} s; see {server.log_path}")


def _take_challenge(server: Server, challenge: str) -> None:
    params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
    if not challenge.startswith("Bearer ") or "realm" not in params or "service" not in params:
        raise BenchError(f"{server.name}: no Bearer challenge on /v2/: {challenge!r}")
    server.realm, server.service = params["realm"], params["service"]


def _stop(server: Server) -> None:
    """SIGTERM (gunicorn stops its workers itself); SIGKILL whatever is left after 40 s."""
    children = [(pid, _start_time(pid)) for pid in descendants(server.process.pid)]
    server.process.terminate()
    try:
        server.process.wait(timeout=40)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
    for pid, started in children:
        # Only the very process we saw: its pid may have been reused since.
        if started is not None and _start_time(pid) == started:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


# --- processes and memory ---------------------------------------------------------------


def _stat_fields(pid: int) -> list[str] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()  # after "pid (comm)"; comm may hold spaces


def _start_time(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[19]) if fields else None


def descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields:
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, queue = [], [root]
    while queue:
        for child in children.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


def _proc_kib(path: str, key: str) -> int | None:
    """The `key:` line of a /proc file in bytes (the kernel writes these in kB)."""
    try:
        with open(path) as handle:
            for line in handle:
                if line.startswith(key):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None  # gone, or a zombie (no such line)


def rss_bytes(pid: int) -> int | None:
    return _proc_kib(f"/proc/{pid}/status", "VmRSS:")


def pss_bytes(pid: int) -> int | None:
    # PSS splits each shared page among the processes that map it, so unlike RSS a sum over
    # gunicorn's master and workers counts the interpreter and libraries once.
    return _proc_kib(f"/proc/{pid}/smaps_rollup", "Pss:")


@dataclass
class RssPeak:
    largest: int = 0  # the biggest single process seen (RSS)
    total: int = 0  # the biggest RSS sum over the server's processes in one sample
    total_pss: int = 0  # the same with PSS
    samples: int = 0

    def update(self, pids: list[int]) -> None:
        sizes = [size for size in map(rss_bytes, pids) if size is not None]
        if sizes:
            self.largest = max(self.largest, *sizes)
            self.total = max(self.total, sum(sizes))
            self.total_pss = max(self.total_pss, sum(filter(None, map(pss_bytes, pids))))
            self.samples += 1


@contextlib.contextmanager
def rss_sampled(server: Server, interval: float = 0.05) -> Iterator[RssPeak]:
    peak, stop = RssPeak(), threading.Event()

    def sample() -> None:
        pids: list[int] = []
        for tick in itertools.count():
            # Walking all of /proc every 50 ms would cost the client CPU it needs on a
            # small box; gunicorn's worker set changes rarely, so refresh it once a second.
            if tick % 20 == 0:
                pids = server.pids()
            peak.update(pids)
            if stop.wait(interval):
                return

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        stop.set()
        thread.join()


# --- clients ----------------------------------------------------------------------------


def run(command: list[str], *, env: dict | None = None, timeout: float = 900) -> str:
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise BenchError(f"{' '.join(command[:3])}… exited {result.returncode}:\n{result.stderr}")
    return result.stdout


def timed(command: list[str], **kwargs) -> float:
    start = time.perf_counter()
    run(command, **kwargs)
    return time.perf_counter() - start


def skopeo_copy(source: str, dest: str, *flags: str) -> float:
    """Seconds for one `skopeo copy`, with its own HOME, TMPDIR, policy and auth file."""
    with tempfile.TemporaryDirectory(prefix="bench-skopeo-") as home:
        policy = Path(home) / "policy.json"
        policy.write_text(json.dumps({"default": [{"type": "insecureAcceptAnything"}]}))
        env = {
            **os.environ,
            "HOME": home,
            "XDG_RUNTIME_DIR": home,
            "TMPDIR": home,
            "REGISTRY_AUTH_FILE": str(Path(home) / "auth.json"),
        }
        command = ["skopeo", "--policy", str(policy), "copy", "--preserve-digests", *flags]
        return timed([*command, source, dest], env=env)


def skopeo_flags(server: Server, side: str) -> list[str]:
    """Plain HTTP, and for distr the token as credentials: `side` is "src" or "dest".
    skopeo then does what docker does: the anonymous 401, /v2/token, the Bearer JWT."""
    flags = [f"--{side}-tls-verify=false"]
    if server.secret is not None:
        flags.append(f"--{side}-creds={LOGIN_NAME}:{server.secret}")
    return flags


def auth_headers(server: Server, repo: str) -> dict[str, str]:
    """What docker sends on every request to `repo`: `Authorization: Bearer <JWT>`, the JWT
    from distr's /v2/token for pull and push, fetched with the token secret as Basic auth.
    A JWT lasts 300 s, so every measured run fetches its own (outside the timing). Nothing
    for a server without auth."""
    if server.secret is None:
        return {}
    scope = f"repository:{repo}:pull,push"
    url = _with_query(server.realm, service=server.service, scope=scope)
    basic = base64.b64encode(f"{LOGIN_NAME}:{server.secret}".encode()).decode()
    request = urllib.request.Request(url, headers={"Authorization": f"Basic {basic}"})
    try:
        with _URLOPEN(request, timeout=30) as response:
            body = json.load(response)
    except urllib.error.HTTPError as error:
        raise BenchError(f"{server.name}: /v2/token answered {error.code}") from error
    if scope not in body.get("scope", "").split() or not body.get("token"):
        raise BenchError(f"{server.name}: /v2/token granted {body.get('scope')!r}, not {scope}")
    return {"Authorization": f"Bearer {body['token']}"}


def header_args(headers: dict[str, str]) -> list[str]:
    """`-H "Name: value"` pairs, as curl, wrk and ab all take them."""
    return [arg for name, value in headers.items() for arg in ("-H", f"{name}: {value}")]


def random_file(path: Path, size: int, chunk: int = 8 * MiB) -> str:
    """Write `size` random bytes (incompressible, like real layers) and return the digest."""
    hasher = hashlib.sha256()
    with open(path, "wb") as handle:
        for offset in range(0, size, chunk):
            piece = os.urandom(min(chunk, size - offset))
            hasher.update(piece)
            handle.write(piece)
    return f"sha256:{hasher.hexdigest()}"


def _with_query(url: str, **params: str) -> str:
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def _curl(*args: str) -> list[str]:
    out = run(["curl", "-sS", "--noproxy", "*", "-o", "/dev/null", *args])
    return out.split()


def blob_push(server: Server, repo: str, path: Path, digest: str, headers: dict) -> float:
    """Upload a blob in one PUT (POST, then PUT ?digest= with the body); returns seconds.

    Distribution 2.8 ignores `POST ?digest=` (it opens a session instead), so both servers
    get the POST-then-PUT form, which both support. No `Expect: 100-continue`: curl would
    otherwise wait for the interim answer, which is not what is measured here.
    """
    request = urllib.request.Request(
        f"{server.url}/v2/{repo}/blobs/uploads/", data=b"", method="POST", headers=headers
    )
    with _URLOPEN(request, timeout=30) as response:
        status, location = response.status, response.headers["Location"]
    if status != 202 or not location:
        raise BenchError(f"{server.name}: upload POST answered {status}")
    url = _with_query(urllib.parse.urljoin(server.url, location), digest=digest)
    code, seconds = _curl(
        "-X", "PUT", "-T", str(path), "-H", "Expect:",
        "-H", "Content-Type: application/octet-stream",
        *header_args(headers), "-w", "%{http_code} %{time_total}", url,
    )  # fmt: skip
    if code != "201":
        raise BenchError(f"{server.name}: blob PUT answered {code}")
    return float(seconds)


def blob_get(server: Server, repo: str, digest: str, size: int, headers: dict) -> float:
    """Download a blob to /dev/null with curl; returns curl's average speed in bytes/s."""
    url = f"{server.url}/v2/{repo}/blobs/{digest}"
    written = "%{http_code} %{size_download} %{speed_download}"
    code, got, speed = _curl(*header_args(headers), "-w", written, url)
    if code != "200" or int(got) != size:
        raise BenchError(f"{server.name}: blob GET answered {code} with {got} of {size} bytes")
    return float(speed)


def _match(pattern: str, text: str) -> str | None:
    found = re.search(pattern, text)
    return found.group(1) if found else None


def wrk_rps(url: str, seconds: int, headers: dict) -> tuple[float, list[str]]:
    command = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "-H", f"Accept: {OCI_MANIFEST}"]
    out = run([*command, *header_args(headers), url], timeout=seconds + 60)
    rps = _match(r"Requests/sec:\s+([\d.]+)", out)
    if rps is None:
        raise BenchError(f"no Requests/sec in wrk output:\n{out}")
    problems = [
        f"wrk: {line.strip()}"
        for line in out.splitlines()
        if "Non-2xx" in line or "Socket errors" in line
    ]
    return float(rps), problems


def ab_rps(url: str, requests: int, headers: dict) -> tuple[float, list[str]]:
    # wrk 4.1 hangs on HEAD responses (it waits for a body); ab handles them with -i.
    command = ["ab", "-q", "-k", "-i", "-c", str(CONNECTIONS), "-n", str(requests)]
    out = run([*command, *header_args(headers), url], timeout=600)
    rps = _match(r"Requests per second:\s+([\d.]+)", out)
    if rps is None:
        raise BenchError(f"no Requests per second in ab output:\n{out}")
    problems = []
    failed = _match(r"Failed requests:\s+(\d+)", out)
    if failed and failed != "0":
        problems.append(f"ab: {failed} failed requests")
    non_2xx = _match(r"Non-2xx responses:\s+(\d+)", out)
    if non_2xx:
        problems.append(f"ab: {non_2xx} non-2xx responses")
    kept = _match(r"Keep-Alive requests:\s+(\d+)", out)
    if kept is not None and int(kept) < requests * 0.99:
        problems.append(f"ab: only {kept} of {requests} requests reused a connection")
    return float(rps), problems


# --- the bench --------------------------------------------------------------------------


@dataclass
class Fixture:
    repo: str
    tag: str
    layer: str


class Bench:
    def __init__(self, plan: Plan, workdir: Path, servers: list[Server]):
        self.plan, self.workdir, self.servers = plan, workdir, servers
        self._fixtures: dict[str, Fixture] = {}

    def interleaved(self, repeats: int) -> Iterator[Server]:
        """Each server `repeats` times, alternating which goes first, so that drift on a
        shared box (page cache, CPU frequency, other load) does not favour one of them."""
        for index in range(repeats):
            yield from self.servers if index % 2 == 0 else reversed(self.servers)

    @staticmethod
    def repo_name(server: Server, what: str) -> str:
        """A new repository: under `acme/` on distr, where the push token may create it."""
        return f"{server.namespace}bench/{what}-{uuid.uuid4().hex[:12]}"

    @contextlib.contextmanager
    def scratch(self) -> Iterator[Path]:
        path = Path(tempfile.mkdtemp(prefix="scratch-", dir=self.workdir))
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)

    def fixture(self, server: Server) -> Fixture:
        """A small image pushed once per server, for the manifest GET and blob HEAD loads."""
        if server.name not in self._fixtures:
            with self.scratch() as scratch:
                layout = image_layout(scratch / "src", [4096])
                repo = self.repo_name(server, "fixture")
                dest = f"docker://{server.host}/{repo}:{layout.tag}"
                skopeo_copy(layout.ref, dest, *skopeo_flags(server, "dest"))
                manifest = json.loads(layout.blobs[layout.top_digest].read_text())
                layer = manifest["layers"][0]["digest"]
            self._fixtures[server.name] = Fixture(repo, layout.tag, layer)
        return self._fixtures[server.name]


def _image_round_trip(bench: Bench, server: Server, layer_sizes: tuple[int, ...]):
    """Push a new image with skopeo, pull it back into a new OCI layout; (push s, pull s).

    The layers are new random bytes every time. Running as root, skopeo's blob-info cache
    is the system-wide /var/lib/containers/cache (a fresh HOME does not move it), and a
    push of layers it has seen before becomes a cross-repository mount, not an upload.
    """
    with bench.scratch() as scratch:
        layout = image_layout(scratch / "src", list(layer_sizes))
        remote = f"docker://{server.host}/{bench.repo_name(server, 'image')}:{layout.tag}"
        push = skopeo_copy(layout.ref, remote, *skopeo_flags(server, "dest"))
        pulled = scratch / "pulled"
        pull = skopeo_copy(remote, f"oci:{pulled}:{layout.tag}", *skopeo_flags(server, "src"))
        for digest, path in layout.blobs.items():
            copy = pulled / "blobs" / "sha256" / digest.removeprefix("sha256:")
            if not copy.exists() or copy.stat().st_size != path.stat().st_size:
                raise BenchError(f"{server.name}: pulled image lacks {digest}")
    return push, pull


def _image_figures(bench: Bench, key: str, what: str, layers: tuple[int, ...]) -> list[Figure]:
    push = Figure(f"{key}-push", f"{what} push", "s", "time")
    pull = Figure(f"{key}-pull", f"{what} pull", "s", "time")
    for server in bench.interleaved(bench.plan.repeats):
        push_s, pull_s = _image_round_trip(bench, server, layers)
        push.add(server.name, push_s)
        pull.add(server.name, pull_s)
    return [push, pull]


def _throughput(figure: Figure, megabytes: float) -> Figure:
    """The same samples as MB/s: the figure the 0.9x target is about."""
    rate = Figure(f"{figure.key}-rate", figure.label, "MB/s", "rate", min_ratio=0.9)
    for server, values in figure.samples.items():
        rate.samples[server] = [megabytes / value for value in values]
    return rate


def bench_image_big(bench: Bench) -> list[Figure]:
    layers = bench.plan.big_layers
    megabytes = sum(layers) / MB
    what = f"{megabytes:.0f} MB image ({len(layers)} layers)"
    push, pull = _image_figures(bench, "image-big", what, layers)
    return [push, _throughput(push, megabytes), pull, _throughput(pull, megabytes)]


def bench_image_layers(bench: Bench) -> list[Figure]:
    layers = bench.plan.small_layers
    what = f"{len(layers)} x {layers[0] // 1024} KiB-layer image"
    return _image_figures(bench, "image-layers", what, layers)


def bench_blob_get(bench: Bench) -> list[Figure]:
    size = bench.plan.blob_get_bytes
    figure = Figure("blob-get", f"blob GET {size // MiB} MiB (curl)", "GB/s", "rate", 0.9)
    with bench.scratch() as scratch:
        path = scratch / "blob"
        digest = random_file(path, size)
        repos = {server.name: bench.repo_name(server, "blob") for server in bench.servers}
        for server in bench.servers:
            repo = repos[server.name]
            blob_push(server, repo, path, digest, auth_headers(server, repo))
    for server in bench.interleaved(bench.plan.get_repeats):
        repo = repos[server.name]
        speed = blob_get(server, repo, digest, size, auth_headers(server, repo))
        figure.add(server.name, speed / 1e9)
    return [figure]


def bench_manifest_get(bench: Bench) -> list[Figure]:
    figure = Figure(
        "manifest-get", f"manifest GET by tag, {CONNECTIONS} conns (wrk)", "req/s", "rate", 0.5
    )
    urls, repos = {}, {}
    for server in bench.servers:
        fixture = bench.fixture(server)
        repos[server.name] = fixture.repo
        urls[server.name] = f"{server.url}/v2/{fixture.repo}/manifests/{fixture.tag}"
        # warm-up: every gunicorn worker has served once
        wrk_rps(urls[server.name], 1, auth_headers(server, fixture.repo))
    for server in bench.interleaved(bench.plan.repeats):
        headers = auth_headers(server, repos[server.name])  # a fresh JWT every run
        rps, problems = wrk_rps(urls[server.name], bench.plan.wrk_seconds, headers)
        figure.add(server.name, rps)
        figure.problems += [f"{server.name}: {problem}" for problem in problems]
    return [figure]


def bench_blob_head(bench: Bench) -> list[Figure]:
    figure = Figure("blob-head", f"blob HEAD, {CONNECTIONS} conns (ab -k)", "req/s", "rate", 0.9)
    urls, repos = {}, {}
    for server in bench.servers:
        fixture = bench.fixture(server)
        repos[server.name] = fixture.repo
        urls[server.name] = f"{server.url}/v2/{fixture.repo}/blobs/{fixture.layer}"
        ab_rps(urls[server.name], 500, auth_headers(server, fixture.repo))  # warm-up
    for server in bench.interleaved(bench.plan.repeats):
        headers = auth_headers(server, repos[server.name])  # a fresh JWT every run
        rps, problems = ab_rps(urls[server.name], bench.plan.ab_requests, headers)
        figure.add(server.name, rps)
        figure.problems += [f"{server.name}: {problem}" for problem in problems]
    return [figure]


def bench_rss(bench: Bench) -> list[Figure]:
    size = bench.plan.rss_blob_bytes
    limit = RSS_TARGET / MiB
    what = f"{size // MiB} MiB blob up+down"
    largest = Figure("rss-largest", f"peak RSS, largest process, {what}", "MiB", "memory")
    largest.max_value = limit
    total = Figure("rss-total", f"peak RSS, all processes, {what}", "MiB", "memory")
    total.max_value = limit
    pss = Figure("rss-pss", f"peak PSS, all processes, {what}", "MiB", "memory")
    idle = Figure("rss-idle", "RSS before that upload, all processes", "MiB", "memory")
    upload = Figure("rss-upload", f"{size // MiB} MiB blob in one PUT (curl)", "MB/s", "rate")
    with bench.scratch() as scratch:
        path = scratch / "blob"
        digest = random_file(path, size)
        for server in bench.servers:
            repo = bench.repo_name(server, "rss")
            headers = auth_headers(server, repo)
            with rss_sampled(server) as peak:
                time.sleep(0.5)  # a few samples first: what the server holds when idle
                idle.add(server.name, peak.total / MiB)
                seconds = blob_push(server, repo, path, digest, headers)
                blob_get(server, repo, digest, size, headers)
            largest.add(server.name, peak.largest / MiB)
            total.add(server.name, peak.total / MiB)
            pss.add(server.name, peak.total_pss / MiB)
            upload.add(server.name, size / MB / seconds)
    return [largest, total, pss, idle, upload]


FIGURES: dict[str, Callable[[Bench], list[Figure]]] = {
    "image-big": bench_image_big,
    "image-layers": bench_image_layers,
    "blob-get": bench_blob_get,
    "manifest-get": bench_manifest_get,
    "blob-head": bench_blob_head,
    "rss": bench_rss,
}


# --- report -----------------------------------------------------------------------------

_DECIMALS = {"s": 2, "MB/s": 1, "GB/s": 2, "req/s": 0, "MiB": 1}
_RATIO_MEANS = {"rate": "distr/dist", "time": "dist/distr", "memory": "distr/dist"}


def _number(value: float | None, unit: str) -> str:
    return "-" if value is None else f"{value:,.{_DECIMALS.get(unit, 2)}f}"


def table(figures: list[Figure]) -> str:
    header = (
        "figure",
        "unit",
        "distr",
        "distribution",
        "spread",
        "ratio",
        "ratio is",
        "target",
        "",
    )
    rows = [header]
    for figure in figures:
        ratio, spread = figure.ratio(), figure.spread()
        met = {True: "ok", False: "MISSED", None: ""}[figure.met()]
        rows.append(
            (
                figure.label,
                figure.unit,
                _number(figure.median("distr"), figure.unit),
                _number(figure.median("distribution"), figure.unit),
                "" if spread is None else f"±{spread:.0%}",
                "-" if ratio is None else f"{ratio:.2f}x",
                _RATIO_MEANS[figure.kind],
                figure.target_text(),
                met,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    align = ["<", "<", ">", ">", ">", ">", "<", "<", "<"]
    lines = [
        "  ".join(f"{cell:{a}{w}}" for cell, a, w in zip(row, align, widths, strict=True))
        for row in rows
    ]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(line.rstrip() for line in lines)


LEGEND = """\
Medians of the runs (each figure's samples are in bench/results/latest.json); spread is
the larger half-range of the two servers' samples, relative to the median.
ratio >1 is better for distr on rate and time rows: rates are distr/distribution, times
are distribution_time/distr_time. Memory rows are distr/distribution (lower is leaner).
Targets (the issue): throughput and req/s >= 0.9x Distribution's, manifest GET >= 0.5x,
distr's peak RSS < 150 MiB ("largest process" is one gunicorn process; "all processes"
is master plus workers; PSS counts pages the processes share once). Rows without a target
are for information.
Auth is not symmetric: distr runs with token auth as clients use it (skopeo logs in with
a push token of vendor acme; curl, wrk and ab send `Authorization: Bearer <JWT>` from
/v2/token on every request, so distr verifies an ES256 JWT and checks the token's
liveness through its cache on each one). Distribution runs without auth: no header, no
check."""


# Distribution logs every 4xx at level=error; these are the expected "not there yet" answers
# to skopeo's existence checks, not faults.
_EXPECTED = re.compile(r'err\.code="(blob|manifest|name) unknown"')
_FAULT = re.compile(r"Traceback|ERROR|CRITICAL|WORKER TIMEOUT|level=(error|fatal|panic)|panic:")
_WARNING = re.compile(r"WARNING|level=warn")
# Warnings that every run shows and that are not the server's fault.
_KNOWN_WARNINGS = {
    "bare LF as line terminator": "skopeo's TLS probe: it tries HTTPS before plain HTTP",
    "No HTTP secret provided": "harmless for a single instance",
}


def log_findings(server: Server) -> dict[str, list[str]]:
    """Lines of a server's log that report faults, and warnings counted by message."""
    try:
        lines = server.log_path.read_text(errors="replace").splitlines()
    except OSError:
        return {"faults": [f"no log at {server.log_path}"], "warnings": []}
    faults = [line for line in lines if _FAULT.search(line) and not _EXPECTED.search(line)]
    warnings: dict[str, int] = {}
    for line in lines:
        if _WARNING.search(line):
            # Drop gunicorn's "[time] [pid]" and logrus' time= so equal messages group.
            message = re.sub(r'^(\[[^]]*\] )+|time="[^"]*" ', "", line)[:160]
            warnings[message] = warnings.get(message, 0) + 1
    return {"faults": faults, "warnings": [_explained(m, n) for m, n in warnings.items()]}


def _explained(message: str, count: int) -> str:
    for needle, why in _KNOWN_WARNINGS.items():
        if needle in message:
            return f"{count} x {message[:100]} [known: {why}]"
    return f"{count} x {message}"


def versions() -> dict[str, str]:
    def first_line(command: list[str]) -> str:
        try:
            out = subprocess.run(command, capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            return "?"
        text = (out.stdout or out.stderr).strip()
        return text.splitlines()[0] if text else ""

    commit = first_line(["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"])
    dirty = first_line(["git", "-C", str(REPO_ROOT), "status", "--porcelain"]) != ""
    return {
        "distr": f"{commit}{' (dirty tree)' if dirty else ''}",
        "gunicorn": first_line([str(VENV_BIN / "gunicorn"), "--version"]),
        "distribution": first_line([DOCKER_REGISTRY, "--version"]),
        "skopeo": first_line(["skopeo", "--version"]),
        "wrk": first_line(["wrk", "-v"]),
        "ab": first_line(["ab", "-V"]),
        "curl": first_line(["curl", "--version"]),
        "python": platform.python_version(),
    }


def write_json(path: Path, plan: Plan, figures: list[Figure], extra: dict) -> None:
    def figure_json(figure: Figure) -> dict:
        medians = {name: figure.median(name) for name in ("distr", "distribution")}
        return {
            **asdict(figure),
            "median": medians,
            "ratio": figure.ratio(),
            "spread": figure.spread(),
            "ratio_is": _RATIO_MEANS[figure.kind],
            "target": figure.target_text() or None,
            "met": figure.met(),
        }

    body = {"plan": asdict(plan), **extra, "figures": [figure_json(f) for f in figures]}
    path.write_text(json.dumps(body, indent=2) + "\n")


# --- main -------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument(
        "--only", action="append", choices=list(FIGURES), help="run this figure (repeatable)"
    )
    parser.add_argument("--repeats", type=int, help="runs per server of each figure")
    return parser.parse_args(argv)


_TOOLS = {  # command -> the Debian package that has it
    "skopeo": "skopeo",
    "wrk": "wrk",
    "ab": "apache2-utils",
    "curl": "curl",
    DOCKER_REGISTRY: "docker-registry",
}


def _check_tools() -> None:
    missing = sorted({package for tool, package in _TOOLS.items() if not shutil.which(tool)})
    if missing:
        raise SystemExit(f"missing tools: apt-get install {' '.join(missing)}")


def _on_sigterm(signum, frame):
    raise SystemExit(128 + signum)  # unwinds the context managers: servers stop, dirs go


@dataclass
class Outcome:
    figures: list[Figure] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # figures that could not be measured
    findings: dict[str, dict] = field(default_factory=dict)  # per server, from its log


def run_figures(plan: Plan, names: list[str], started: float) -> Outcome:
    outcome = Outcome()
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="distr-bench-")))
        servers = [
            stack.enter_context(distr_server(workdir)),
            stack.enter_context(distribution_server(workdir)),
        ]
        bench = Bench(plan, workdir, servers)
        for name in names:
            print(f"[{time.time() - started:4.0f} s] {name} …", file=sys.stderr, flush=True)
            try:
                outcome.figures += FIGURES[name](bench)
            except (BenchError, OSError, subprocess.TimeoutExpired) as error:
                # One broken figure should not cost the others: note it and go on.
                outcome.failures.append(f"{name}: {error}")
            dead = [server for server in servers if server.process.poll() is not None]
            if dead:
                outcome.failures += [f"{server.name} {_exit_text(server)}" for server in dead]
                break  # the remaining figures would only measure a refused connection
        stack.close()  # stop the servers first, so their logs are complete
        outcome.findings = {server.name: log_findings(server) for server in servers}
    return outcome


def _exit_text(server: Server) -> str:
    code = server.process.returncode
    if code < 0:  # no line in its log: something outside the bench sent the signal
        return f"was killed by {signal.Signals(-code).name}; see {server.log_path}"
    return f"exited with status {code}; see {server.log_path}"


def print_report(outcome: Outcome, header: str) -> None:
    print(f"\n{header}\n")
    print(table(outcome.figures))
    print(f"\n{LEGEND}\n")
    for figure in outcome.figures:
        for problem in figure.problems:
            print(f"problem in {figure.key}: {problem}")
    for failure in outcome.failures:
        print(f"NOT MEASURED, {failure}")
    for name, found in outcome.findings.items():
        for line in found["faults"][:5]:
            print(f"{name} log, fault: {line[:300]}")
        for line in found["warnings"]:
            print(f"{name} log, warning: {line}")
        if found["faults"] or found["warnings"]:
            print(f"  ({len(found['faults'])} faults; full log {RESULTS_DIR / (name + '.log')})")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    _check_tools()
    signal.signal(signal.SIGTERM, _on_sigterm)
    signal.signal(signal.SIGHUP, _on_sigterm)
    plan = QUICK if args.quick else FULL
    if args.repeats:
        plan = dataclasses.replace(plan, repeats=args.repeats, get_repeats=args.repeats)
    mode = "quick" if args.quick else "full"
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    started, load_before = time.time(), os.getloadavg()[0]
    if load_before > 0.5:
        # Client and servers share this box: other load skews every figure.
        print(f"note: load average is {load_before:.1f} before the run", file=sys.stderr)
    outcome = run_figures(plan, args.only or list(FIGURES), started)
    elapsed, load_after = time.time() - started, os.getloadavg()[0]
    print_report(
        outcome,
        f"distr vs CNCF Distribution: {mode} run, {elapsed:.0f} s, {os.cpu_count()} CPUs, "
        f"load average {load_before:.1f} before and {load_after:.1f} after",
    )
    extra = {
        "mode": mode,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "seconds": round(elapsed, 1),
        "cpus": os.cpu_count(),
        "load_average": {"before": load_before, "after": load_after},
        "versions": versions(),
        "failures": outcome.failures,
        "log_findings": outcome.findings,
    }
    write_json(RESULTS_DIR / "latest.json", plan, outcome.figures, extra)
    print(f"JSON: {RESULTS_DIR / 'latest.json'}")
    return 1 if outcome.failures else 0


if __name__ == "__main__":
    sys.exit(main())
