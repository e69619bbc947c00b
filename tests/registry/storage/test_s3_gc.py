"""The garbage-collection races and the SIGKILL-and-rerun test again with blobs in S3 (a
moto bucket): gunicorn serves from the bucket, `manage.py gc` sweeps it from its own
process, and the checks read the bucket."""

import pytest

from tests.registry.test_gc_races import run_gc_killed, run_gc_race


@pytest.fixture
def live_bucket_storage(settings, moto, s3_live_bucket):
    """This process reads (and the rerun sweeps) the bucket gunicorn writes."""
    settings.STORAGES = {**settings.STORAGES, "registry": moto.storage_options(s3_live_bucket)}
    return moto.env(s3_live_bucket)


@pytest.mark.django_db(transaction=True)
def test_gc_on_s3_in_a_third_process_loses_nothing_referenced(
    live_registry, live_credentials, repo_name, live_bucket_storage
):
    run_gc_race(live_registry, repo_name, env=live_bucket_storage)


@pytest.mark.django_db(transaction=True)
def test_gc_on_s3_killed_mid_sweep_then_rerun_leaves_a_consistent_store(
    live_registry, live_credentials, repo_name, live_bucket_storage
):
    run_gc_killed(live_registry, repo_name, env=live_bucket_storage)
