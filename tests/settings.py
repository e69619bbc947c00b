"""Test settings: the real settings module, on a throw-away DATA_DIR unless one is given.

.ci/run sets DATABASE_URL (PostgreSQL) and REDIS_URL; locally the suite runs on SQLite.
"""

import os
import tempfile

os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="distr-test-"))
os.environ.setdefault("DEBUG", "false")

from distr.settings import *  # noqa: E402,F403

# Test runs never need the compressed manifest (it requires collectstatic first).
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}
# Django's test client sends Host: testserver.
DISTR_ALLOWED_HOSTS = [*DISTR_ALLOWED_HOSTS, "testserver"]  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast user fixtures

# whitenoise warns when STATIC_ROOT is missing; tests never collect static files.
STATIC_ROOT = DATA_DIR / "static"  # noqa: F405
STATIC_ROOT.mkdir(exist_ok=True)

# The live gunicorn serves static files straight from the source tree (no collectstatic).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# Tests ingest pull events explicitly (analytics.ingestion.ingest_pass), never in a thread.
ANALYTICS_EMBEDDED_INGEST_SECONDS = 0
# Tests look at the outbox right after a pull: write each event at once (the batched
# writer has its own tests).
ANALYTICS_OUTBOX_BUFFER_SECONDS = 0
ANALYTICS_SQLITE_BATCH_PAUSE_SECONDS = 0.01
