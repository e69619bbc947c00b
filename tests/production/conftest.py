"""The production shape: gunicorn instances on S3 (moto). The S3 fixtures themselves are
in tests/conftest.py."""

import pytest


@pytest.fixture(scope="session")
def live_registry(s3_live_registry):
    """Overrides tests/conftest.py's live registry: the same gunicorn, storing in S3 (a
    moto bucket), so /metrics, /readyz and the request logs are a registry's on S3."""
    return s3_live_registry
