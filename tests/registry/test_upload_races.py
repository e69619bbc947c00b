"""Requests that race a finishing PUT or a cancel of the same upload, reproduced in one
process: a hook in the first request issues the racing request (its own test client) at
the exact point where another worker's request could arrive. The racing request must get
an OCI error (404 BLOB_UPLOAD_UNKNOWN), never an unhandled 500."""

import os
import threading
import time

import pytest
from django.test import Client

import registry.services.uploads as upload_services
from registry import selectors
from registry.models import Upload
from registry.storage import BlobStore
from tests.support.uploads import blob_file, errors, patch, put, sha256, start, upload_dir

pytestmark = pytest.mark.django_db


@pytest.mark.django_db(transaction=True)  # racing requests run in their own threads
def test_requests_racing_a_finishing_put_get_upload_unknown(client, repo_name, monkeypatch):
    """A PUT is committing the bytes when the client's retried PATCH or PUT reaches another
    worker. The finishing PUT holds the upload's lock until the row is gone, so the racing
    requests wait, then answer 404 BLOB_UPLOAD_UNKNOWN (an OCI error), never a 500 and
    never a write into the committed blob."""
    data = os.urandom(100)
    digest = sha256(data)
    location, upload_id = start(client, repo_name)
    assert patch(client, location, data[:50]).status_code == 202
    racing: dict = {}
    threads: list[threading.Thread] = []
    blob_record = upload_services.blob_record

    def race(method: str, send) -> None:
        racing[method] = send(Client(raise_request_exception=False, **client.defaults))

    def blob_record_with_racing_requests(**kwargs):
        assert not upload_dir(upload_id).exists()  # bytes committed, row still there
        for method, send in [
            ("PATCH", lambda c: patch(c, location, data[50:], "50-99")),
            ("PUT", lambda c: put(c, location, f"?digest={digest}", data[50:])),
        ]:
            thread = threading.Thread(target=race, args=(method, send))
            thread.start()
            threads.append(thread)
        return blob_record(**kwargs)

    monkeypatch.setattr(upload_services, "blob_record", blob_record_with_racing_requests)
    assert put(client, location, f"?digest={digest}", data[50:]).status_code == 201
    for thread in threads:
        thread.join(timeout=30)

    assert blob_file(digest).read_bytes() == data
    assert set(racing) == {"PATCH", "PUT"}
    for method, response in racing.items():
        assert response.status_code == 404, (method, response.status_code)
        assert errors(response) == ["BLOB_UPLOAD_UNKNOWN"], method


@pytest.mark.django_db(transaction=True)  # the racing request runs on its own
def test_patch_after_a_cancel_that_raced_its_lookup_gets_upload_unknown(
    client, repo_name, monkeypatch
):
    """DELETE (or `purgeuploads`) cancels an upload after a PATCH for it loaded the row:
    the PATCH finds the upload gone and answers 404 BLOB_UPLOAD_UNKNOWN, not 500."""
    location, upload_id = start(client, repo_name)
    cancelled: list = []
    upload_get = selectors.upload_get

    def hook(**kwargs):
        upload = upload_get(**kwargs)
        if not cancelled:  # the DELETE's own lookup passes through the hook too
            cancelled.append(None)
            cancelled[0] = Client(raise_request_exception=False, **client.defaults).delete(location)
        return upload

    monkeypatch.setattr(selectors, "upload_get", hook)
    client.raise_request_exception = False
    response = patch(client, location, b"some bytes")
    assert cancelled[0].status_code == 204
    assert response.status_code == 404, response.status_code
    assert errors(response) == ["BLOB_UPLOAD_UNKNOWN"]
    assert not Upload.objects.filter(id=upload_id).exists()
    assert not upload_dir(upload_id).exists()


@pytest.mark.django_db(transaction=True)
def test_cancel_during_an_append_waits_for_it(client, repo_name, monkeypatch):
    """A cancel arriving while a chunk is being appended waits for the upload's lock: the
    PATCH completes (202), then the cancel removes everything (204); no 500 either way."""
    location, upload_id = start(client, repo_name)
    outcome: dict = {}
    threads: list[threading.Thread] = []
    append = BlobStore.__dict__["append"].__func__

    def cancel() -> None:
        outcome["DELETE"] = Client(raise_request_exception=False, **client.defaults).delete(
            location
        )

    def hook(handle, chunks, hasher):
        if not threads:
            threads.append(threading.Thread(target=cancel))
            threads[0].start()
            time.sleep(0.2)  # give the cancel time to reach the lock
        return append(handle, chunks, hasher)

    monkeypatch.setattr(BlobStore, "append", staticmethod(hook))
    response = patch(client, location, b"some bytes")
    threads[0].join(timeout=30)
    assert response.status_code == 202
    assert outcome["DELETE"].status_code == 204
    assert not Upload.objects.filter(id=upload_id).exists()
    assert not upload_dir(upload_id).exists()
    assert client.get(location).status_code == 404
