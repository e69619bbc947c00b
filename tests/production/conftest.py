"""Fixtures for the production shape: S3 on a moto server, gunicorn instances on it."""

import pytest
from django.conf import settings as django_settings

from tests.support.moto import MIB, MotoServer
from tests.support.server import LiveRegistry


@pytest.fixture(scope="session")
def moto():
    server = MotoServer(django_settings.DATA_DIR)
    yield server
    server.stop()


@pytest.fixture
def s3_bucket(moto, settings):
    """In-process registry storage on a fresh bucket (5 MiB parts, redirects on)."""
    bucket = moto.bucket_create()
    settings.STORAGES = {**settings.STORAGES, "registry": moto.storage_options(bucket)}
    settings.S3_PART_BYTES = 5 * MIB
    settings.S3_REDIRECT = True
    return bucket


@pytest.fixture(scope="session")
def s3_live_bucket(moto):
    return moto.bucket_create()


@pytest.fixture(scope="session")
def live_registry(django_db_setup, django_db_blocker, moto, s3_live_bucket):
    """Overrides tests/conftest.py's live registry: the same gunicorn, storing in S3, so
    the registry suites imported into this package run again against object storage."""
    with django_db_blocker.unblock():
        server = LiveRegistry(extra_env=moto.env(s3_live_bucket))
    yield server
    server.stop()
