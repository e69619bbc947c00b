"""registry/storage on S3, a moto server on loopback. The S3 fixtures themselves are in
tests/conftest.py."""

import pytest


@pytest.fixture(scope="session")
def live_registry(s3_live_registry):
    """Overrides tests/conftest.py's live registry: the same gunicorn, storing in S3 (a
    moto bucket), so the registry suites imported into this package run again on S3."""
    return s3_live_registry
