"""Webhook fixtures: an endpoint of acme's on a real loopback receiver (private targets
allowed, as the tests' receivers are on 127.0.0.1), deliveries sent by calling the
delivery code (tests that say Celery start a real worker instead)."""

import pytest

from tests.webhooks.receiver import Receiver
from webhooks.services import endpoint_create


@pytest.fixture(autouse=True)
def _webhook_settings(settings):
    settings.WEBHOOK_SEND_ON_COMMIT = False  # tests send explicitly (or start a worker)
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    settings.WEBHOOK_RETRY_SCHEDULE_SECONDS = [1, 2, 3]
    settings.WEBHOOK_RETRY_JITTER = 0.0
    settings.WEBHOOK_TIMEOUT_SECONDS = 2.0
    settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS = 1.0


@pytest.fixture
def receiver():
    with Receiver() as r:
        yield r


@pytest.fixture
def endpoint(vendor, receiver):
    return endpoint_create(
        vendor=vendor,
        url=receiver.url,
        event_types=["artifact.pushed", "tag.moved", "customer.created", "license.suspended"],
    )


# The portal's vendors and staff of every role, for the console tests.
from tests.portal.conftest import (  # noqa: E402, F401
    acme,
    acme_admin,
    acme_maintainer,
    acme_viewer,
    umbrella,
    umbrella_admin,
)
