"""An upload survives a worker killed (SIGKILL) in the middle of a PATCH: the worker had
written part of the chunk to the upload's file but never recorded it, so the upload's
status still advertises the last recorded offset; the client resumes from there and the
blob it finishes has exactly the bytes it meant to send."""

import hashlib
import os
import signal
import socket
import time

import pytest
import requests

from tests.support.install import Install

MIB = 1024 * 1024


def sha256(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


@pytest.fixture
def one_worker():
    install = Install("embedded", extra_env={"WEB_CONCURRENCY": "1"})
    try:
        install.prepare()
        install.push_secret = install.manage("seeddemo").stdout.strip().splitlines()[-1]
        install.start()
        yield install
    finally:
        install.stop()


def worker_pid(install: Install) -> int:
    workers = install.worker_pids()
    assert len(workers) == 1, workers
    return workers[0]


def test_a_patch_cut_by_kill_9_resumes_from_the_advertised_offset(one_worker):
    install, auth = one_worker, ("ci", one_worker.push_secret)
    repo = "acme/resume"
    data = os.urandom(6 * MIB)
    started = requests.post(f"{install.url}/v2/{repo}/blobs/uploads/", auth=auth, timeout=10)
    assert started.status_code == 202, started.text
    location = install.url + started.headers["Location"]
    first = requests.patch(
        location,
        data=data[:MIB],
        auth=auth,
        headers={"Content-Type": "application/octet-stream", "Content-Range": f"0-{MIB - 1}"},
        timeout=30,
    )
    assert first.status_code == 202 and first.headers["Range"] == f"0-{MIB - 1}"

    # A second PATCH streams 3 MiB of a 5 MiB chunk, then the worker is killed.
    path = started.headers["Location"]
    header = (
        f"PATCH {path} HTTP/1.1\r\nHost: {install.host}\r\n"
        f"Authorization: {requests.auth._basic_auth_str(*auth)}\r\n"
        f"Content-Type: application/octet-stream\r\nContent-Range: {MIB}-{6 * MIB - 1}\r\n"
        f"Content-Length: {5 * MIB}\r\n\r\n"
    ).encode()
    upload_file = next((install.data_dir / "registry" / "uploads").glob("*/data"))
    with socket.create_connection(("127.0.0.1", install.port), timeout=10) as sock:
        sock.sendall(header + data[MIB : 4 * MIB])
        deadline = time.monotonic() + 10
        while upload_file.stat().st_size < 3 * MIB and time.monotonic() < deadline:
            time.sleep(0.05)
        assert upload_file.stat().st_size > MIB, "the worker wrote nothing of the chunk"
        os.kill(worker_pid(install), signal.SIGKILL)
    assert upload_file.stat().st_size > MIB  # unrecorded bytes left behind by the kill

    deadline = time.monotonic() + 30  # the master starts a new worker
    while True:
        try:
            status = requests.get(location, auth=auth, timeout=5)
            break
        except requests.RequestException:
            assert time.monotonic() < deadline, "no worker came back"
            time.sleep(0.2)
    assert status.status_code == 204
    assert status.headers["Range"] == f"0-{MIB - 1}"  # what was recorded

    rest = requests.patch(
        location,
        data=data[MIB:],
        auth=auth,
        headers={
            "Content-Type": "application/octet-stream",
            "Content-Range": f"{MIB}-{6 * MIB - 1}",
        },
        timeout=60,
    )
    assert rest.status_code == 202, rest.text
    assert rest.headers["Range"] == f"0-{6 * MIB - 1}"
    done = requests.put(f"{location}?digest={sha256(data)}", auth=auth, timeout=60)
    assert done.status_code == 201, done.text
    pulled = requests.get(f"{install.url}/v2/{repo}/blobs/{sha256(data)}", auth=auth, timeout=60)
    assert pulled.status_code == 200 and pulled.content == data
