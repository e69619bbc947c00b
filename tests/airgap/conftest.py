"""The licensing scenario (tests/support/licensing.py) for kits: acme/app 1.0, 1.1 and 2.0
on one shared base layer, signatures on 1.1 and 2.0; globex licensed for `glob:1.*`."""

import io
import tarfile

import pytest

from tests.conftest import license_grant
from tests.support.licensing import LICENSE, REPO, push_scenario


@pytest.fixture
def pushed(client) -> dict:
    return push_scenario(client)


@pytest.fixture
def license(customer, pushed):
    return license_grant(customer, REPO, "glob:1.*", name=LICENSE)


def kit_bytes(kit) -> bytes:
    from airgap.download import blob_reader
    from airgap.services import kit_layout

    layout = kit_layout(kit)
    return b"".join(layout.stream(0, layout.total_size - 1, blob_reader()))


def members(data: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        return {m.name: archive.extractfile(m).read() for m in archive if m.isfile()}
