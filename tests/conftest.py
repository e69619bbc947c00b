import base64
import uuid

import pytest
from django.test import Client

from customers.services import customer_create, token_mint, vendor_create
from tests.support import skopeo as skopeo_support
from tests.support.requirements import (  # noqa: F401 - the skip policy's hooks
    pytest_configure,
    pytest_runtest_setup,
)
from tests.support.server import LiveRegistry, live_http


def license_grant(customer, repository_name: str, tag_rule: str = "glob:*", **license_fields):
    """Give `customer` a license for `repository_name` (a name or a pattern)."""
    from licensing.services import grant_add, license_create

    license = license_create(
        vendor=customer.vendor,
        customer=customer,
        name=license_fields.pop("name", "Test license"),
        **license_fields,
    )
    grant_add(license=license, repository_name=repository_name, tag_rule=tag_rule)
    return license


def live_mail_dir():
    from django.conf import settings

    path = settings.DATA_DIR / "live-mail"
    path.mkdir(exist_ok=True)
    return path


def basic(secret: str, user: str = "ci") -> str:
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


@pytest.fixture(autouse=True)
def _fresh_cache(request):
    """Rate-limit counters, auth-failure windows and built entitlements live in the shared
    cache (Redis in CI, a database table locally): each test that uses the database starts
    from an empty one, so tests cannot see each other's entries."""
    from django.core.cache import cache

    uses_db = request.node.get_closest_marker("django_db") or (
        {"db", "transactional_db"} & set(request.fixturenames)
    )
    if not uses_db:
        return
    request.getfixturevalue("django_db_setup")
    with request.getfixturevalue("django_db_blocker").unblock():
        cache.clear()


@pytest.fixture
def vendor(db):
    """The vendor `acme`, owner of the `acme/…` namespace most tests push into."""
    return vendor_create(slug="acme", name="Acme Corp")[0]


@pytest.fixture
def push_secret(vendor) -> str:
    return token_mint(vendor=vendor, kind="push", name="test CI").secret


@pytest.fixture
def customer(vendor):
    return customer_create(vendor=vendor, slug="globex", name="Globex")[0]


@pytest.fixture
def pull_secret(customer) -> str:
    return token_mint(vendor=customer.vendor, customer=customer, kind="pull", name="t").secret


@pytest.fixture
def client(push_secret) -> Client:
    """A test client that authenticates as acme's CI (Basic, password = push token)."""
    return Client(HTTP_AUTHORIZATION=basic(push_secret))


@pytest.fixture
def anonymous_client() -> Client:
    return Client()


@pytest.fixture(scope="session")
def live_registry(django_db_setup, django_db_blocker):
    """distr under a real gunicorn on a free loopback port, sharing the test database.

    Tests that use it push through the server into repositories with unique names (see
    `repo_name`) with a push token the `live_credentials` fixture mints for each test.
    """
    with django_db_blocker.unblock():
        server = LiveRegistry(
            extra_env={
                # Portal emails land as files the browser tests read (tests/portal/browser).
                "EMAIL_URL": f"filemail://{live_mail_dir()}",
            }
        )
    yield server
    server.stop()


# --- S3 on loopback (moto), for tests/registry/storage and tests/production -----------------


@pytest.fixture(scope="session")
def moto():
    from django.conf import settings as django_settings

    from tests.support.moto import MotoServer

    server = MotoServer(django_settings.DATA_DIR)
    yield server
    server.stop()


@pytest.fixture
def s3_bucket(moto, settings):
    """In-process registry storage on a fresh bucket (5 MiB parts, redirects on)."""
    from tests.support.moto import MIB

    bucket = moto.bucket_create()
    settings.STORAGES = {**settings.STORAGES, "registry": moto.storage_options(bucket)}
    settings.S3_PART_BYTES = 5 * MIB
    settings.S3_REDIRECT = True
    return bucket


@pytest.fixture(scope="session")
def s3_live_bucket(moto):
    return moto.bucket_create()


@pytest.fixture(scope="session")
def s3_live_registry(django_db_setup, django_db_blocker, moto, s3_live_bucket):
    """The same gunicorn as `live_registry`, storing in S3. The conftest.py of a package
    whose tests run on object storage makes it that package's `live_registry`."""
    with django_db_blocker.unblock():
        server = LiveRegistry(extra_env=moto.env(s3_live_bucket))
    yield server
    server.stop()


@pytest.fixture
def live_credentials(live_registry, push_secret, monkeypatch):
    """Every client of the live registry (requests via `live_http`, skopeo, hand-written
    requests via `live_registry.auth_header`) authenticates as acme's CI."""
    live_registry.credentials = ("ci", push_secret)
    monkeypatch.setattr(live_http, "auth", ("ci", push_secret))
    monkeypatch.setattr(skopeo_support, "default_auth", {live_registry.host: ("ci", push_secret)})
    yield live_registry.credentials
    live_registry.credentials = None


@pytest.fixture
def repo_name() -> str:
    """A fresh repository name, so tests sharing the live server never collide."""
    return f"acme/t{uuid.uuid4().hex[:12]}"


def pytest_collection_modifyitems(items):
    """Tests on the live server share its database through real commits, so they run as
    transactional tests (this also makes pytest-django create the test database), and
    they authenticate with a freshly minted push token."""
    for item in items:
        if "live_registry" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.django_db(transaction=True))
            item.fixturenames.insert(0, "live_credentials")  # before fixtures that push
