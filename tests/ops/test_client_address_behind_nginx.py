"""The client's address behind the shipped proxy: Debian's nginx running deploy/nginx.conf
(only its upstream, listen address and file paths changed for a test) in front of gunicorn
with TRUSTED_PROXIES set to the proxy. Clients connect from different loopback addresses
(127.0.0.2, 127.0.0.3), so each is a different client as far as nginx can tell.
"""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import requests
from requests.adapters import HTTPAdapter

from tests.coherence.test_changes_across_processes import push_image
from tests.support.install import HttpClient, Install
from tests.support.requirements import require_command
from tests.support.server import ROOT, free_port

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
LOCKED = "Too many failed login attempts. Try again later."


class SourceAddress(HTTPAdapter):
    """Connect from a given local address (any 127.x.y.z works on Linux's loopback)."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def session_from(address: str) -> requests.Session:
    session = requests.Session()
    session.mount("http://", SourceAddress(address))
    return session


class Nginx:
    def __init__(self, upstream: str):
        self.dir = Path(tempfile.mkdtemp(prefix="distr-nginx-"))
        self.dir.chmod(0o777)  # nginx's workers run as nobody
        self.port = free_port()
        conf = (ROOT / "deploy" / "nginx.conf").read_text()
        for old, new in (
            ("server web:8000;", f"server {upstream};"),
            ("listen 80;", f"listen 127.0.0.1:{self.port};"),
            ("access_log /dev/stdout main;", f"access_log {self.dir}/access.log main;"),
        ):
            assert old in conf, f"deploy/nginx.conf no longer has {old!r}"
            conf = conf.replace(old, new)
        temp = "".join(
            f"    {kind}_temp_path {self.dir}/{kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        conf = conf.replace("http {\n", "http {\n" + temp, 1)
        (self.dir / "nginx.conf").write_text(conf)
        self.process = subprocess.Popen(
            [NGINX, "-p", str(self.dir), "-c", str(self.dir / "nginx.conf"), "-g",
             f"daemon off; pid {self.dir}/nginx.pid; error_log {self.dir}/error.log;"],
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                requests.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1)
                return
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError(f"nginx did not start: {(self.dir / 'error.log').read_text()}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=15)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def proxied():
    require_command("nginx", NGINX)
    install = Install("embedded", extra_env={"TRUSTED_PROXIES": "127.0.0.1"})
    nginx = None
    try:
        install.prepare()
        install.push_secret = install.manage("seeddemo").stdout.strip().splitlines()[-1]
        install.start()
        nginx = Nginx(install.host)
        yield install, nginx
    finally:
        if nginx:
            nginx.stop()
        install.stop()


def sign_in_fails(url: str, session: requests.Session) -> str:
    login = f"{url}/p/acme/accounts/login/"
    session.get(login, timeout=10)
    return session.post(
        login,
        data={
            "login": f"nobody@{uuid.uuid4().hex[:8]}.example",
            "password": "wrong",
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        headers={"Referer": login},
        timeout=10,
    ).text


def logged_addresses(install: Install, request_ids: set[str]) -> dict[str, str]:
    found = {}
    for line in install.log_path.read_text(errors="replace").splitlines():
        if '"request_id"' in line:
            entry = json.loads(line)
            if entry["request_id"] in request_ids:
                found[entry["request_id"]] = entry["remote_addr"]
    return found


def test_each_client_behind_the_proxy_is_itself_and_cannot_spoof(proxied):
    install, nginx = proxied
    ids = {name: uuid.uuid4().hex for name in ("a", "b", "spoof-proxy", "spoof-direct")}
    session_from("127.0.0.2").get(
        f"{nginx.url}/v2/", headers={"X-Request-ID": ids["a"]}, timeout=10
    )
    session_from("127.0.0.3").get(
        f"{nginx.url}/v2/", headers={"X-Request-ID": ids["b"]}, timeout=10
    )
    session_from("127.0.0.2").get(
        f"{nginx.url}/v2/",
        headers={"X-Request-ID": ids["spoof-proxy"], "X-Forwarded-For": "9.9.9.9"},
        timeout=10,
    )
    session_from("127.0.0.2").get(  # straight to gunicorn, not through the proxy
        f"{install.url}/v2/",
        headers={"X-Request-ID": ids["spoof-direct"], "X-Forwarded-For": "9.9.9.9"},
        timeout=10,
    )
    time.sleep(0.5)  # the request log line is written as the response closes
    assert logged_addresses(install, set(ids.values())) == {
        ids["a"]: "127.0.0.2",
        ids["b"]: "127.0.0.3",
        ids["spoof-proxy"]: "127.0.0.2",
        ids["spoof-direct"]: "127.0.0.2",
    }


def test_login_limits_count_per_client_behind_the_proxy(proxied):
    install, nginx = proxied
    a, b = session_from("127.0.0.4"), session_from("127.0.0.5")
    for attempt in range(30):
        assert LOCKED not in sign_in_fails(nginx.url, a), f"refused after {attempt}"
    assert LOCKED in sign_in_fails(nginx.url, a)  # the 31st in a minute from A
    assert LOCKED not in sign_in_fails(nginx.url, b)  # B has its own bucket


def test_analytics_records_each_clients_address(proxied):
    install, nginx = proxied
    repo = f"acme/addr{uuid.uuid4().hex[:6]}"
    push_image(HttpClient(install.url, ("ci", install.push_secret)), repo, "1.0")
    for address in ("127.0.0.6", "127.0.0.7"):
        response = session_from(address).get(
            f"{nginx.url}/v2/{repo}/manifests/1.0", auth=("ci", install.push_secret), timeout=10
        )
        assert response.status_code == 200
    time.sleep(1.5)  # the embedded capture writes its batch every second
    install.manage("ingestpulls")
    seen = install.python(
        "from analytics.models import PullEvent\n"
        f"print(sorted(PullEvent.objects.filter(repository={repo!r})"
        ".values_list('client_address', flat=True)))\n"
    )
    assert seen.strip().splitlines()[-1] == "['127.0.0.6', '127.0.0.7']"
