"""Uploads through a real gunicorn (`live_registry`): chunked transfer encoding, requests
spread over both workers, and bodies cut off midway (raw sockets), which must leave the
upload where it was and no blob behind."""

import os
import threading
import time

import pytest

from registry.models import Blob, RepositoryBlob, Upload
from tests.support.server import live_http
from tests.support.uploads import (
    MIB,
    OCTETS,
    blob_file,
    hand_sent_request,
    pieces,
    sha256,
    start_live,
    upload_file,
    wait_until,
)


def pull(live, repo: str, digest: str) -> bytes:
    response = live_http.get(f"{live.url}/v2/{repo}/blobs/{digest}", timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Length"] == str(len(response.content))
    return response.content


def head_status(live, repo: str, digest: str) -> int:
    return live_http.head(f"{live.url}/v2/{repo}/blobs/{digest}", timeout=10).status_code


def size_of(path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return -1


# Chunked transfer encoding ---------------------------------------------------------------


def test_chunked_transfer_encoding_patch(live_registry, repo_name):
    data = os.urandom(5 * MIB + 12_345)
    digest = sha256(data)
    url, upload_id = start_live(live_registry, repo_name)

    response = live_http.patch(url, data=pieces(data[: 3 * MIB]), headers=OCTETS, timeout=60)
    assert response.request.headers.get("Transfer-Encoding") == "chunked"
    assert "Content-Length" not in response.request.headers
    assert response.status_code == 202, response.text
    assert response.headers["Range"] == f"0-{3 * MIB - 1}"
    assert response.headers["Docker-Upload-UUID"] == upload_id

    response = live_http.patch(url, data=pieces(data[3 * MIB :]), headers=OCTETS, timeout=60)
    assert response.status_code == 202, response.text
    assert response.headers["Range"] == f"0-{len(data) - 1}"
    assert Upload.objects.get(id=upload_id).sha256_so_far == digest.split(":")[1]

    response = live_http.put(f"{url}?digest={digest}", timeout=60)
    assert response.status_code == 201, response.text
    assert response.headers["Location"] == f"/v2/{repo_name}/blobs/{digest}"
    assert response.headers["Docker-Content-Digest"] == digest
    assert Blob.objects.get(digest=digest).size == len(data)
    assert pull(live_registry, repo_name, digest) == data


def test_chunked_transfer_encoding_on_the_finishing_put(live_registry, repo_name):
    data = os.urandom(2 * MIB + 1)
    digest = sha256(data)
    url, _ = start_live(live_registry, repo_name)
    assert live_http.patch(url, data=data[:MIB], headers=OCTETS, timeout=60).status_code == 202

    response = live_http.put(
        f"{url}?digest={digest}", data=pieces(data[MIB:]), headers=OCTETS, timeout=60
    )
    assert response.request.headers.get("Transfer-Encoding") == "chunked"
    assert response.status_code == 201, response.text
    assert pull(live_registry, repo_name, digest) == data


def test_chunked_transfer_encoding_monolithic_post(live_registry, repo_name):
    data = os.urandom(3 * MIB + 7)
    digest = sha256(data)
    response = live_http.post(
        f"{live_registry.url}/v2/{repo_name}/blobs/uploads/?digest={digest}",
        data=pieces(data),
        headers=OCTETS,
        timeout=60,
    )
    assert response.request.headers.get("Transfer-Encoding") == "chunked"
    assert response.status_code == 201, response.text
    assert response.headers["Docker-Content-Digest"] == digest
    assert pull(live_registry, repo_name, digest) == data


def test_chunked_patch_with_wrong_digest_stores_nothing(live_registry, repo_name):
    data = os.urandom(MIB + 3)
    url, upload_id = start_live(live_registry, repo_name)
    assert live_http.patch(url, data=pieces(data), headers=OCTETS, timeout=60).status_code == 202
    wrong = sha256(os.urandom(8))

    response = live_http.put(f"{url}?digest={wrong}", timeout=60)
    assert response.status_code == 400
    assert [e["code"] for e in response.json()["errors"]] == ["DIGEST_INVALID"]
    assert not Blob.objects.filter(digest__in=[wrong, sha256(data)]).exists()
    assert not blob_file(sha256(data)).exists()
    assert size_of(upload_file(upload_id)) == len(data)


# Requests on several workers -------------------------------------------------------------


def test_chunks_on_fresh_connections_verify_whichever_worker_finishes(live_registry, repo_name):
    """Each request on a new connection may reach either of the two gunicorn workers, whose
    hasher caches differ; every PATCH and the PUT must still agree on the digest."""
    chunks = [os.urandom(200_000 + i) for i in range(8)]
    data = b"".join(chunks)
    url, upload_id = start_live(live_registry, repo_name)
    offset = 0
    for chunk in chunks:
        response = live_http.patch(
            url,
            data=chunk,
            headers={**OCTETS, "Content-Range": f"{offset}-{offset + len(chunk) - 1}"},
            timeout=30,
        )
        offset += len(chunk)
        assert response.status_code == 202, response.text
        assert response.headers["Range"] == f"0-{offset - 1}"
        status = live_http.get(url, timeout=10)
        assert (status.status_code, status.headers["Range"]) == (204, f"0-{offset - 1}")
    assert Upload.objects.get(id=upload_id).sha256_so_far == sha256(data).split(":")[1]

    response = live_http.put(f"{url}?digest={sha256(data)}", timeout=30)
    assert response.status_code == 201, response.text
    assert pull(live_registry, repo_name, sha256(data)) == data


def test_out_of_order_chunk_over_http(live_registry, repo_name):
    url, _ = start_live(live_registry, repo_name)
    response = live_http.patch(
        url, data=b"abc", headers={**OCTETS, "Content-Range": "5-7"}, timeout=10
    )
    assert response.status_code == 416
    assert response.headers["Range"] == "0-0"
    assert response.headers["Location"] == url.removeprefix(live_registry.url)
    assert [e["code"] for e in response.json()["errors"]] == ["BLOB_UPLOAD_INVALID"]


# Bodies cut off midway -------------------------------------------------------------------


@pytest.mark.parametrize("declared", [10 * MIB, None], ids=["content-length", "chunked"])
def test_patch_cut_off_midway_leaves_the_upload_where_it_was(live_registry, repo_name, declared):
    first = os.urandom(MIB + 4321)
    rest = os.urandom(3 * MIB)
    url, upload_id = start_live(live_registry, repo_name)
    assert live_http.patch(url, data=first, headers=OCTETS, timeout=30).status_code == 202
    path = upload_file(upload_id)
    assert size_of(path) == len(first)

    patch_path = url.removeprefix(live_registry.url)
    with hand_sent_request(live_registry, "PATCH", patch_path, declared) as send:
        send(rest[:MIB])
        wait_until(lambda: size_of(path) > len(first), what="the server to write the chunk")
    wait_until(lambda: size_of(path) == len(first), what="the cut-off chunk to be truncated")

    status = live_http.get(url, timeout=10)
    assert (status.status_code, status.headers["Range"]) == (204, f"0-{len(first) - 1}")
    upload = Upload.objects.get(id=upload_id)
    assert (upload.size, upload.sha256_so_far) == (len(first), sha256(first).split(":")[1])
    partial = sha256(first + rest[:MIB])
    assert not Blob.objects.filter(digest=partial).exists()
    assert head_status(live_registry, repo_name, partial) == 404

    # The client resends the chunk; this request waits for the cut-off one's lock if needed.
    response = live_http.patch(
        url,
        data=rest,
        headers={**OCTETS, "Content-Range": f"{len(first)}-{len(first) + len(rest) - 1}"},
        timeout=30,
    )
    assert response.status_code == 202, response.text
    assert response.headers["Range"] == f"0-{len(first) + len(rest) - 1}"
    digest = sha256(first + rest)
    assert live_http.put(f"{url}?digest={digest}", timeout=30).status_code == 201
    assert pull(live_registry, repo_name, digest) == first + rest


def test_put_cut_off_midway_commits_nothing(live_registry, repo_name):
    first = os.urandom(500_000)
    last = os.urandom(3 * MIB)
    digest = sha256(first + last)
    url, upload_id = start_live(live_registry, repo_name)
    assert live_http.patch(url, data=first, headers=OCTETS, timeout=30).status_code == 202
    path = upload_file(upload_id)

    put_path = f"{url.removeprefix(live_registry.url)}?digest={digest}"
    with hand_sent_request(live_registry, "PUT", put_path, len(last)) as send:
        send(last[:MIB])
        wait_until(lambda: size_of(path) > len(first), what="the server to write the chunk")
    wait_until(lambda: size_of(path) == len(first), what="the cut-off chunk to be truncated")

    assert not Blob.objects.filter(digest=digest).exists()
    assert not blob_file(digest).exists()
    assert Upload.objects.get(id=upload_id).size == len(first)
    assert live_http.get(url, timeout=10).headers["Range"] == f"0-{len(first) - 1}"

    response = live_http.put(f"{url}?digest={digest}", data=last, headers=OCTETS, timeout=30)
    assert response.status_code == 201, response.text
    assert pull(live_registry, repo_name, digest) == first + last


def test_monolithic_post_cut_off_midway_leaves_nothing(live_registry, repo_name):
    data = os.urandom(4 * MIB)
    digest = sha256(data)
    path = f"/v2/{repo_name}/blobs/uploads/?digest={digest}"

    with hand_sent_request(live_registry, "POST", path, len(data)) as send:
        send(data[:MIB])
        wait_until(
            lambda: Upload.objects.filter(repository__name=repo_name).exists(),
            what="the upload to start",
        )
        upload_id = str(Upload.objects.get(repository__name=repo_name).id)
        wait_until(lambda: size_of(upload_file(upload_id)) > 0, what="the server to write")
    wait_until(
        lambda: (
            not Upload.objects.filter(id=upload_id).exists()
            and not upload_file(upload_id).parent.exists()
        ),
        what="the cut-off upload to be cancelled",
    )
    assert not Blob.objects.filter(digest=digest).exists()
    assert not blob_file(digest).exists()
    assert not RepositoryBlob.objects.filter(repository__name=repo_name).exists()
    assert head_status(live_registry, repo_name, digest) == 404


def test_patch_waiting_while_a_put_finishes_gets_upload_unknown(live_registry, repo_name):
    """A PUT holds the upload's lock while its last chunk streams in; a PATCH for the same
    upload (a confused or retrying client) waits on that lock and runs after the bytes were
    committed. It must get 404 BLOB_UPLOAD_UNKNOWN, and the committed blob must stay
    byte-exact (nothing appended to the renamed file)."""
    first, last, late = os.urandom(1000), os.urandom(2 * MIB), os.urandom(777)
    digest = sha256(first + last)
    url, upload_id = start_live(live_registry, repo_name)
    assert live_http.patch(url, data=first, headers=OCTETS, timeout=30).status_code == 202
    path = upload_file(upload_id)

    late_patch: list = []
    waiting = threading.Thread(
        target=lambda: late_patch.append(
            live_http.patch(url, data=late, headers=OCTETS, timeout=30)
        )
    )
    put_path = f"{url.removeprefix(live_registry.url)}?digest={digest}"
    with hand_sent_request(live_registry, "PUT", put_path, len(last)) as send:
        send(last[:MIB])
        wait_until(lambda: size_of(path) > len(first), what="the PUT to hold the lock")
        waiting.start()
        time.sleep(1)  # let the PATCH reach the lock
        send(last[MIB:])
        wait_until(lambda: blob_file(digest).exists(), what="the PUT to commit")
    waiting.join(timeout=30)

    assert blob_file(digest).read_bytes() == first + last
    assert pull(live_registry, repo_name, digest) == first + last
    response = late_patch[0]
    assert response.status_code == 404, (response.status_code, response.text[:200])
    assert [e["code"] for e in response.json()["errors"]] == ["BLOB_UPLOAD_UNKNOWN"]
