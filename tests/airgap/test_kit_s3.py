"""Kits on object storage (moto): the same bytes, any range, streamed with ranged GETs
(a composed tar cannot be a redirect)."""

import hashlib

import pytest

from airgap.services import kit_create
from tests.airgap.conftest import kit_bytes, members
from tests.portal.conftest import customer_user, sign_in

pytestmark = pytest.mark.django_db


def test_a_kit_on_s3_streams_every_range_of_the_same_tar(s3_bucket, vendor, customer, license):
    from registry.storage import blob_store

    assert type(blob_store()).__name__ == "S3BlobStore"  # the blobs were pushed to S3
    kit = kit_create(customer=customer)
    whole = kit_bytes(kit)
    assert len(whole) == kit.total_size
    for name, data in members(whole).items():
        if name.startswith("blobs/"):
            assert hashlib.sha256(data).hexdigest() == name.split("/")[-1]
    browser = sign_in(customer_user(customer, "ann@globex.test"), vendor)
    url = f"/p/acme/kits/{kit.pk}/download"
    full = browser.get(url)
    assert full.status_code == 200  # no redirect, even with S3_REDIRECT on
    assert b"".join(full.streaming_content) == whole
    for start, end in [(0, 0), (1000, 5000), (kit.total_size - 2000, kit.total_size - 1)]:
        part = browser.get(url, HTTP_RANGE=f"bytes={start}-{end}")
        assert part.status_code == 206
        assert b"".join(part.streaming_content) == whole[start : end + 1]
