import uuid

import pytest

from tests.support.server import LiveRegistry


@pytest.fixture(scope="session")
def live_registry(django_db_setup, django_db_blocker):
    """distr under a real gunicorn on a free loopback port, sharing the test database.

    Tests that use it push through the server into repositories with unique names (see
    `repo_name`), so they need no database fixture of their own.
    """
    with django_db_blocker.unblock():
        server = LiveRegistry()
    yield server
    server.stop()


@pytest.fixture
def repo_name() -> str:
    """A fresh repository name, so tests sharing the live server never collide."""
    return f"acme/t{uuid.uuid4().hex[:12]}"


def pytest_collection_modifyitems(items):
    """Tests on the live server share its database through real commits, so they run as
    transactional tests (this also makes pytest-django create the test database)."""
    for item in items:
        if "live_registry" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.django_db(transaction=True))
