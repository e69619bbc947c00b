"""On the embedded default under gunicorn, pull events are ingested by a process the master
forks beside the workers (analytics/capture/embedded.py), not inside a request worker; if
that process dies, a worker's thread takes over; it ends with the server.

A live install (deploy/gunicorn.conf.py, 2 workers), pulls over HTTP, and the database
read from a separate `manage.py` process."""

import os
import signal
import time

import pytest
import requests

from tests.support.install import HttpClient, Install
from tests.support.registry_client import image_manifest, put_manifest


def children(pid: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = open(f"/proc/{entry}/stat").read()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry))
    return found


def ingester_pid(install: Install) -> int:
    pid = install.ingester_pid()
    assert pid is not None, f"no ingester in the log:\n{install.log_path.read_text()[-3000:]}"
    return pid


def stored_pulls(install: Install) -> int:
    out = install.python("from analytics.models import PullEvent; print(PullEvent.objects.count())")
    return int(out.split()[-1])


def pull(install: Install, secret: str, times: int) -> None:
    for _ in range(times):
        response = requests.get(
            f"{install.url}/v2/acme/app/manifests/1.0",
            auth=("ci", secret),
            headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
            timeout=10,
        )
        assert response.status_code == 200, response.text


def wait_for_pulls(install: Install, count: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while (seen := stored_pulls(install)) < count:
        assert time.monotonic() < deadline, f"{seen} of {count} pulls ingested"
        time.sleep(0.5)


@pytest.fixture
def install():
    install = Install(
        "embedded",
        extra_env={
            "WEB_CONCURRENCY": "2",
            "ANALYTICS_EMBEDDED_INGEST_SECONDS": "1",
            "ANALYTICS_OUTBOX_BUFFER_SECONDS": "0.2",
            "LOG_LEVEL": "INFO",
        },
    )
    try:
        install.prepare()
        install.secret = install.manage("seeddemo").stdout.strip().splitlines()[-1]
        install.start()
        client = HttpClient(install.url, ("ci", install.secret))
        _, raw = image_manifest(client, "acme/app")
        assert put_manifest(client, "acme/app", "1.0", raw).status_code == 201
        yield install
    finally:
        install.stop()


def test_a_forked_process_ingests_and_a_worker_takes_over_when_it_dies(install):
    master = install.process.pid
    ingester = ingester_pid(install)
    processes = children(master)
    assert ingester in processes and len(processes) == 3, "two workers and the ingester"
    pull(install, install.secret, 5)
    wait_for_pulls(install, 5)
    log = install.log_path.read_text(errors="replace")
    assert f"analytics: ingesting process {ingester} elected" in log
    assert "embedded ingestion pass failed" not in log

    os.kill(ingester, signal.SIGKILL)  # the kernel releases its flock
    deadline = time.monotonic() + 10
    while ingester in children(master):  # the master reaps it
        assert time.monotonic() < deadline, "the dead ingester was not reaped"
        time.sleep(0.1)
    assert len(children(master)) == 2, "the workers serve on"
    pull(install, install.secret, 3)
    wait_for_pulls(install, 8)  # a worker's thread won the lock


def test_the_ingester_ends_with_the_server(install):
    ingester = ingester_pid(install)
    install.stop_server()
    deadline = time.monotonic() + 10
    while os.path.exists(f"/proc/{ingester}"):
        stat = open(f"/proc/{ingester}/stat").read()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            break  # exited; its parent is gone or reaping
        assert time.monotonic() < deadline, "the ingester outlived the server"
        time.sleep(0.1)
