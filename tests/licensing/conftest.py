"""The licensing scenario (tests/support/licensing.py) as fixtures: what acme pushed,
globex's license 'Support 1.x' (`glob:1.*` on acme/app), and clients with pull tokens."""

import pytest
from django.test import Client

from customers.services import customer_create, token_mint
from tests.conftest import basic, license_grant
from tests.support.licensing import LICENSE, REPO, push_scenario


@pytest.fixture
def pushed(client) -> dict:
    """acme/app 1.0, 1.1 and 2.0 with signatures on 1.1 and 2.0 (see `push_scenario`)."""
    return push_scenario(client)


@pytest.fixture
def license(customer, pushed):
    """globex's license 'Support 1.x': `glob:1.*` on acme/app."""
    return license_grant(customer, REPO, "glob:1.*", name=LICENSE)


@pytest.fixture
def globex(license, pull_secret) -> Client:
    """globex, holding `license`, with its pull token."""
    return Client(HTTP_AUTHORIZATION=basic(pull_secret))


@pytest.fixture
def initial(vendor) -> Client:
    """Another customer of acme, with a license for another repository only."""
    customer, _ = customer_create(vendor=vendor, slug="initial", name="Initial Co")
    secret = token_mint(vendor=vendor, customer=customer, kind="pull", name="i").secret
    return Client(HTTP_AUTHORIZATION=basic(secret))
