"""distr settings: one module, every value from the environment, safe embedded defaults.

Embedded default (no variables set): SQLite and blob files under DATA_DIR, no Redis.
See docs/configuration.md for every variable.
"""

from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
DATA_DIR = Path(env.str("DATA_DIR", default=str(BASE_DIR / "data"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

_INSECURE_KEY = "insecure-development-key-change-me"  # noqa: S105 - refused with DISTR_PRODUCTION
SECRET_KEY = env.str("SECRET_KEY", default=_INSECURE_KEY)
# The embedded default (`make run`) is a local single-user install, so it may run with the
# development key; anything that sets DISTR_PRODUCTION (deploy/ does) must bring its own.
if SECRET_KEY == _INSECURE_KEY and env.bool("DISTR_PRODUCTION", default=False):
    raise ImproperlyConfigured("SECRET_KEY must be set in production (DISTR_PRODUCTION=true).")

# Without DISTR_PUBLIC_URL, the address `make run` serves on (it honours PORT), so the
# token realm, the JWT audience, the portal's commands and mailed links all agree with it.
PORT = env.int("PORT", default=8000)
DISTR_PUBLIC_URL = env.str("DISTR_PUBLIC_URL", default=f"http://127.0.0.1:{PORT}").rstrip("/")
# Which Host headers are served (portal/hosts.py, the gate before any view; anything else
# is a 400): the public URL's host, the loopback aliases `make run` and local checks use,
# the operator's ALLOWED_HOSTS (Django patterns: ".example.com" covers its sub-domains) and,
# from the database, vendors' *verified* portal domains. Hosts in this list can never be
# claimed as a vendor domain. Links in mail never come from the Host header.
DISTR_PUBLIC_HOST = (urlsplit(DISTR_PUBLIC_URL).hostname or "").lower()
DISTR_LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "[::1]"]
DISTR_ALLOWED_HOSTS = [
    DISTR_PUBLIC_HOST,
    *DISTR_LOOPBACK_HOSTS,
    *(host.lower() for host in env.list("ALLOWED_HOSTS", default=[])),
]
# Django's own check is static (it cannot know verified vendor domains) and lazy (it runs
# only when a view calls get_host()), so the gate above replaces it.
ALLOWED_HOSTS = ["*"]
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[DISTR_PUBLIC_URL])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "core",
    "registry",
    "customers",
    "signing",
    "licensing",
    "portal",
    "analytics",
    "airgap",
    "webhooks",
    "lifecycle",
    "ops",
    "api",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI assets served locally: no CDN (air-gapped)
]

MIDDLEWARE = [
    "ops.middleware.ClientAddressMiddleware",  # first: everything after sees the client
    "ops.middleware.ProbeMiddleware",  # /healthz, /readyz, /metrics: before host checks
    "ops.middleware.RequestLogMiddleware",
    "portal.hosts.HostGateMiddleware",  # unknown Host: 400 before anything reads it
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication: resolves the vendor (host or /p/<slug>/) and binds the session
    # to the portal it was opened on.
    "portal.middleware.PortalTenantMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# The registry's own chain (distr/wsgi.py routes /v2 and /v2/… through it): the client's
# address, request logs and metrics, HTTPS redirect and security headers, and nothing that
# only pages need.
REGISTRY_MIDDLEWARE = [
    "ops.middleware.ClientAddressMiddleware",
    "ops.middleware.ProbeMiddleware",
    "ops.middleware.RequestLogMiddleware",
    "portal.hosts.HostGateMiddleware",  # unknown Host: 400 before anything reads it
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
# Successful manifest GET/HEAD, blob HEAD and license check-ins answered before Django's
# handler, doing what the chain above does (distr/fast_common.py, fast_reads.py,
# fast_check_in.py); off with another chain, or set false.
FAST_PATHS = env.bool("FAST_PATHS", default=True)

ROOT_URLCONF = "distr.urls"
WSGI_APPLICATION = "distr.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.portal",
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'distr.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions and a busy timeout let gunicorn's threads and workers share
    # one SQLite file without "database is locked" errors.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 30, "init_command": "PRAGMA journal_mode=WAL;"}
    )
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
# Persistent connections: opening one costs more than a registry read (measured ~0.3 ms on
# SQLite, more on PostgreSQL), so every gunicorn thread keeps its own.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend, with a health check that needs no round trip when the socket is
    # quiet (distr/postgresql/base.py).
    DATABASES["default"]["ENGINE"] = "distr.postgresql"

REDIS_URL = env.str("REDIS_URL", default="")

# The cache is shared by every process of one install (web workers, commands, Celery):
# Redis when configured, otherwise a table in the database, which all of them share by
# definition. It holds login and rate-limit counters, built entitlements, dashboard
# snapshots; access decisions never trust it alone (core/changes.py, docs/coherence.md).
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "distr_cache",  # created by `migrate` (ops/apps.py)
            "OPTIONS": {"MAX_ENTRIES": 5000},
        }
    )
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Absolute: a relative STATIC_URL would pick up the /p/<vendor>/ script prefix.
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

# Blob content store (registry/storage/): STORAGE_BACKEND=filesystem (default) keeps blobs
# under DATA_DIR/registry; s3 uses any S3-compatible bucket (docs/configuration.md).
STORAGE_BACKEND = env.str("STORAGE_BACKEND", default="filesystem")
if STORAGE_BACKEND == "filesystem":
    _REGISTRY_STORAGE = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(DATA_DIR / "registry")},
    }
elif STORAGE_BACKEND == "s3":
    if not env.str("AWS_STORAGE_BUCKET_NAME", default=""):
        raise ImproperlyConfigured("STORAGE_BACKEND=s3 needs AWS_STORAGE_BUCKET_NAME.")
    _REGISTRY_STORAGE = {
        "BACKEND": "registry.storage.s3.BlobObjectStorage",
        "OPTIONS": {
            "bucket_name": env.str("AWS_STORAGE_BUCKET_NAME"),
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("AWS_S3_REGION_NAME", default="us-east-1"),
            # Unset: boto3's own chain (instance profile, IRSA, ~/.aws).
            "access_key": env.str("AWS_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("AWS_SECRET_ACCESS_KEY", default="") or None,
            "location": env.str("AWS_LOCATION", default=""),  # key prefix
            "addressing_style": env.str("AWS_S3_ADDRESSING_STYLE", default="") or None,
            "signature_version": "s3v4",
            "default_acl": None,
            "file_overwrite": True,
        },
    }
else:
    raise ImproperlyConfigured(f"STORAGE_BACKEND={STORAGE_BACKEND!r}: use 'filesystem' or 's3'.")
# Blob GETs answer 307 to a presigned URL valid this long; S3_REDIRECT=false streams them
# through the web process instead. Sign with S3_PUBLIC_ENDPOINT_URL when clients reach the
# bucket under another address than distr does (compose: http://minio:9000 inside).
S3_REDIRECT = env.bool("S3_REDIRECT", default=True)
S3_PRESIGN_SECONDS = env.int("S3_PRESIGN_SECONDS", default=600)
S3_PUBLIC_ENDPOINT_URL = env.str("S3_PUBLIC_ENDPOINT_URL", default="")
# Multipart part size (>= 5 MiB): the disk buffer per upload in flight; blobs up to
# 10,000 parts (80 GB at 8 MiB).
S3_PART_BYTES = env.int("S3_PART_BYTES", default=8 * 1024 * 1024)
REGISTRY_UPLOAD_BUFFER_DIR = env.str("REGISTRY_UPLOAD_BUFFER_DIR", default="")

STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(DATA_DIR / "media")},
    },
    "registry": _REGISTRY_STORAGE,
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        ),
    },
}

# Registry token authentication (Docker token auth, see docs/authentication.md).
# `service` is the JWT audience clients copy from the challenge; the realm is the public
# URL's /v2/token unless REGISTRY_TOKEN_REALM says otherwise (never the request's Host).
REGISTRY_SERVICE = env.str(
    "REGISTRY_SERVICE", default=DISTR_PUBLIC_URL.split("://", 1)[-1].split("/", 1)[0]
)
REGISTRY_TOKEN_REALM = env.str("REGISTRY_TOKEN_REALM", default="") or f"{DISTR_PUBLIC_URL}/v2/token"
REGISTRY_TOKEN_ISSUER = env.str("REGISTRY_TOKEN_ISSUER", default="distr")
# EC P-256 private key (PEM) signing registry JWTs; every web instance must share it. When
# unset, the key file is used, and generated on first use.
REGISTRY_TOKEN_KEY = env.str("REGISTRY_TOKEN_KEY", default="")
REGISTRY_TOKEN_KEY_FILE = env.str(
    "REGISTRY_TOKEN_KEY_FILE", default=str(DATA_DIR / "registry-token-key.pem")
)

# Seals vendors' Ed25519 signing keys at rest (signing/sealing.py); defaults to SECRET_KEY.
# Changing it makes existing keys unusable: set it once, keep it with the database backups.
SIGNING_KEYS_SECRET = env.str("SIGNING_KEYS_SECRET", default="")

# Failed token secrets (Basic auth, /v2/token) one client address may send per minute
# before every attempt from it is refused with 429 for the rest of that minute.
REGISTRY_AUTH_FAILURES_PER_MINUTE = env.int("REGISTRY_AUTH_FAILURES_PER_MINUTE", default=30)

# Registry behaviour.
REGISTRY_MANIFEST_MAX_BYTES = env.int("REGISTRY_MANIFEST_MAX_BYTES", default=4 * 1024 * 1024)
# Bytes read from the request stream per write while uploading.
REGISTRY_UPLOAD_CHUNK_BYTES = env.int("REGISTRY_UPLOAD_CHUNK_BYTES", default=1024 * 1024)
REGISTRY_PAGE_MAX = env.int("REGISTRY_PAGE_MAX", default=1000)

# Portal accounts (django-allauth): email + password, invitation-only sign-up, verified
# email, optional TOTP, rate-limited logins. See docs/portal.md.
AUTHENTICATION_BACKENDS = [
    "portal.backends.PortalAuthenticationBackend",  # portal logins, scoped to the vendor
    "django.contrib.auth.backends.ModelBackend",  # operators in /admin/ (username)
]
ACCOUNT_ADAPTER = "portal.adapters.PortalAccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_EMAIL_SUBJECT_PREFIX = ""  # the adapter prefixes the vendor's name
ACCOUNT_RATE_LIMITS = {
    # Lock-out: 5 failed logins for one account in 15 minutes blocks that account's
    # logins (from anywhere) until the window passes; 30/min per address caps sprays.
    "login_failed": env.str("ACCOUNT_LOGIN_FAILED_LIMIT", default="30/m/ip,5/15m/key"),
    "login": "60/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "signup": "20/m/ip",
}
ACCOUNT_FORMS = {"reset_password": "portal.forms.PortalResetPasswordForm"}
# A reset asked on one vendor's portal for an address it does not know sends nothing (not
# even allauth's "unknown account" note, which would advertise sign-up).
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False
MFA_ADAPTER = "portal.adapters.PortalMFAAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = env.str("MFA_TOTP_ISSUER", default="")  # empty: the vendor's name
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "portal:home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
PORTAL_INVITATION_DAYS = env.int("PORTAL_INVITATION_DAYS", default=7)
PORTAL_EXPIRY_WARNING_DAYS = env.int("PORTAL_EXPIRY_WARNING_DAYS", default=30)

# Email: console by default; EMAIL_URL (e.g. smtp+tls://user:pass@smtp.example:587) for SMTP.
globals().update(env.email_url("EMAIL_URL", default="consolemail://"))
if EMAIL_BACKEND.endswith("filebased.EmailBackend"):  # noqa: F821 - set by the line above
    # django-environ drops the leading "/" of filemail:///absolute/path.
    EMAIL_FILE_PATH = "/" + EMAIL_FILE_PATH.lstrip("/")  # noqa: F821
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="distr <noreply@localhost>")

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Celery (distr/celery.py). Without a broker, tasks run in process: `make run` needs no Redis.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="distr")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# Pull analytics (docs/analytics.md). Capture appends to a Redis stream when
# ANALYTICS_REDIS_URL is set (REDIS_URL by default), else writes to the database.
ANALYTICS_CAPTURE_ENABLED = env.bool("ANALYTICS_CAPTURE_ENABLED", default=True)
ANALYTICS_REDIS_URL = env.str("ANALYTICS_REDIS_URL", default=REDIS_URL)
ANALYTICS_STREAM = env.str("ANALYTICS_STREAM", default="distr:pulls")
ANALYTICS_STREAM_MAXLEN = env.int("ANALYTICS_STREAM_MAXLEN", default=1_000_000)
ANALYTICS_REDIS_TIMEOUT_SECONDS = env.float("ANALYTICS_REDIS_TIMEOUT_SECONDS", default=0.1)
ANALYTICS_REDIS_RETRY_SECONDS = env.float("ANALYTICS_REDIS_RETRY_SECONDS", default=10.0)
# Smaller batches on SQLite: shorter write locks, less memory in the ingesting web process.
ANALYTICS_BATCH_SIZE = env.int(
    "ANALYTICS_BATCH_SIZE",
    default=1000 if DATABASES["default"]["ENGINE"].endswith("sqlite3") else 5000,
)
ANALYTICS_INGEST_MAX_BATCHES = env.int("ANALYTICS_INGEST_MAX_BATCHES", default=200)
ANALYTICS_INGEST_INTERVAL_SECONDS = env.float("ANALYTICS_INGEST_INTERVAL_SECONDS", default=10.0)
ANALYTICS_CLAIM_IDLE_SECONDS = env.float("ANALYTICS_CLAIM_IDLE_SECONDS", default=60.0)
# Without a broker, pull events are ingested this often (0: never): by a process gunicorn's
# master forks, else by a web process's thread (analytics/capture/embedded.py).
ANALYTICS_EMBEDDED_INGEST_SECONDS = env.float("ANALYTICS_EMBEDDED_INGEST_SECONDS", default=10.0)
ANALYTICS_RETENTION_DAYS = env.int("ANALYTICS_RETENTION_DAYS", default=90)
# Without Redis, pull events wait this long in process memory and go to the outbox in one
# write (SQLite has a single writer); 0 writes each at once (analytics/capture/outbox_buffer.py).
ANALYTICS_OUTBOX_BUFFER_SECONDS = env.float(
    "ANALYTICS_OUTBOX_BUFFER_SECONDS",
    default=1.0 if DATABASES["default"]["ENGINE"].endswith("sqlite3") else 0.0,
)
ANALYTICS_OUTBOX_BUFFER_MAX = env.int("ANALYTICS_OUTBOX_BUFFER_MAX", default=1000)
# On SQLite, ingestion pauses this long between batches so other writers get the lock.
ANALYTICS_SQLITE_BATCH_PAUSE_SECONDS = env.float(
    "ANALYTICS_SQLITE_BATCH_PAUSE_SECONDS", default=0.1
)
# Dashboards may lag ingestion by this much: snapshots are refreshed (and live results kept)
# for this long (analytics/dashboard.py).
ANALYTICS_DASHBOARD_REFRESH_SECONDS = env.int("ANALYTICS_DASHBOARD_REFRESH_SECONDS", default=60)
# Test hooks only: hold an ingestion batch at "transaction" or "ack" for crash tests.
ANALYTICS_TEST_PAUSE_AT = env.str("ANALYTICS_TEST_PAUSE_AT", default="")
ANALYTICS_TEST_PAUSE_SECONDS = env.float("ANALYTICS_TEST_PAUSE_SECONDS", default=0.0)
# Portal domain ownership checks (portal/domains.py): TXT lookups of
# _distr-challenge.<host>. Empty = the system resolver; "ip" or "ip:port" entries otherwise.
DISTR_DNS_NAMESERVERS = env.list("DISTR_DNS_NAMESERVERS", default=[])
DISTR_DNS_TIMEOUT_SECONDS = env.float("DISTR_DNS_TIMEOUT_SECONDS", default=3.0)
DISTR_DOMAIN_CHECK_INTERVAL_SECONDS = env.float(
    "DISTR_DOMAIN_CHECK_INTERVAL_SECONDS", default=300.0
)
# Webhooks (docs/webhooks.md). Targets on loopback, private, link-local... addresses are
# refused unless WEBHOOK_ALLOW_PRIVATE_TARGETS (an install whose receivers are internal).
WEBHOOK_ALLOW_PRIVATE_TARGETS = env.bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", default=False)
WEBHOOK_CONNECT_TIMEOUT_SECONDS = env.float("WEBHOOK_CONNECT_TIMEOUT_SECONDS", default=5.0)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)  # in all
# CA certificates (PEM file) https receivers are checked against; empty: the system's.
WEBHOOK_CA_FILE = env.str("WEBHOOK_CA_FILE", default="")
# Seconds to wait after the 1st, 2nd, ... failed attempt; when used up, the delivery
# fails. The default retries for 37 hours (9 attempts).
WEBHOOK_RETRY_SCHEDULE_SECONDS = [
    int(s)
    for s in env.list(
        "WEBHOOK_RETRY_SCHEDULE_SECONDS",
        default=["30", "120", "600", "3600", "14400", "28800", "43200", "43200"],
    )
]
WEBHOOK_RETRY_JITTER = env.float("WEBHOOK_RETRY_JITTER", default=0.2)  # +-20 %
# Retries due sooner than this are queued with a countdown; later ones are found by the
# sweep (a Redis broker redelivers long countdowns after its visibility timeout).
WEBHOOK_DIRECT_RETRY_MAX_SECONDS = env.float("WEBHOOK_DIRECT_RETRY_MAX_SECONDS", default=600.0)
# A claimed delivery whose worker died is sent again after timeout + this margin.
WEBHOOK_LEASE_MARGIN_SECONDS = env.float("WEBHOOK_LEASE_MARGIN_SECONDS", default=20.0)
WEBHOOK_SWEEP_INTERVAL_SECONDS = env.float("WEBHOOK_SWEEP_INTERVAL_SECONDS", default=15.0)
WEBHOOK_LICENSE_CHECK_INTERVAL_SECONDS = env.float(
    "WEBHOOK_LICENSE_CHECK_INTERVAL_SECONDS", default=3600.0
)
WEBHOOK_LICENSE_EXPIRING_DAYS = [
    int(d) for d in env.list("WEBHOOK_LICENSE_EXPIRING_DAYS", default=["30", "7", "1"])
]
WEBHOOK_LICENSE_EXPIRED_LOOKBACK_DAYS = env.int("WEBHOOK_LICENSE_EXPIRED_LOOKBACK_DAYS", default=7)
WEBHOOK_SEND_ON_COMMIT = env.bool("WEBHOOK_SEND_ON_COMMIT", default=True)
WEBHOOK_TEST_PAUSE_SECONDS = env.float("WEBHOOK_TEST_PAUSE_SECONDS", default=0.0)  # tests only

# Storage lifecycle (docs/gc.md): garbage collection keeps anything younger than the grace
# period (a blob uploaded for a manifest PUT that has not come yet), runs every interval on
# the beat together with retention rules, sweeps this many candidates per transaction, and
# takes over from a run whose heartbeat is this old (its process died).
GC_GRACE_SECONDS = env.int("GC_GRACE_SECONDS", default=24 * 3600)
GC_INTERVAL_SECONDS = env.float("GC_INTERVAL_SECONDS", default=3600.0)
GC_BATCH_SIZE = env.int("GC_BATCH_SIZE", default=200)
GC_STALE_SECONDS = env.int("GC_STALE_SECONDS", default=300)

CELERY_BEAT_SCHEDULE = {
    "lifecycle-run": {
        "task": "lifecycle.tasks.lifecycle_run",
        "schedule": GC_INTERVAL_SECONDS,
        "options": {"expires": GC_INTERVAL_SECONDS},
    },
    "webhooks-send-due": {
        "task": "webhooks.tasks.deliveries_send_due",
        "schedule": WEBHOOK_SWEEP_INTERVAL_SECONDS,
        "options": {"expires": WEBHOOK_SWEEP_INTERVAL_SECONDS},
    },
    "webhooks-license-notices": {
        "task": "webhooks.tasks.license_notices",
        "schedule": WEBHOOK_LICENSE_CHECK_INTERVAL_SECONDS,
        "options": {"expires": WEBHOOK_LICENSE_CHECK_INTERVAL_SECONDS},
    },
    "portal-domains-verify": {
        "task": "portal.tasks.domains_verify_pending",
        "schedule": DISTR_DOMAIN_CHECK_INTERVAL_SECONDS,
        "options": {"expires": DISTR_DOMAIN_CHECK_INTERVAL_SECONDS},
    },
    "analytics-ingest": {
        "task": "analytics.tasks.pull_events_ingest",
        "schedule": ANALYTICS_INGEST_INTERVAL_SECONDS,
        "options": {"expires": ANALYTICS_INGEST_INTERVAL_SECONDS},  # no pile-up when behind
    },
    "analytics-dashboards": {
        "task": "analytics.tasks.dashboards_refresh",
        "schedule": ANALYTICS_DASHBOARD_REFRESH_SECONDS,
        "options": {"expires": ANALYTICS_DASHBOARD_REFRESH_SECONDS},
    },
    "api-idempotency-keys": {
        "task": "api.tasks.idempotency_keys_purge",
        "schedule": 3600.0,
        "options": {"expires": 3600},
    },
    "registry-storage-snapshots": {  # storage over time (docs/registry.md, "Storage insight")
        "task": "registry.tasks.storage_snapshots_take",
        "schedule": 3600.0,
        "options": {"expires": 3600},
    },
    "analytics-retention": {
        "task": "analytics.tasks.pull_events_prune",
        "schedule": 3600.0,
        "options": {"expires": 3600},
    },
}

# JSON API (analytics now; the console later) and its OpenAPI schema.
# How long a POST's answer is kept for a retry with the same Idempotency-Key (api/).
API_IDEMPOTENCY_HOURS = env.int("API_IDEMPOTENCY_HOURS", default=24)
# Requests per API caller (token or user) and window, counted in the shared cache (api/).
API_RATE_LIMIT = env.str("API_RATE_LIMIT", default="1200/min")
# License keys (docs/license-keys.md): a lease's life for licenses without a plan, the
# days an instance's last check-in counts towards seats, check-ins per key and window.
LICENSE_LEASE_SECONDS = env.int("LICENSE_LEASE_SECONDS", default=7 * 86400)
LICENSE_SEAT_WINDOW_DAYS = env.int("LICENSE_SEAT_WINDOW_DAYS", default=30)
LICENSE_CHECKIN_RATE_LIMIT = env.str("LICENSE_CHECKIN_RATE_LIMIT", default="60/min")
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "analytics.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "api.problems.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "distr API",
    "DESCRIPTION": "Vendor API: customers, licenses, grants, tokens, content, audit, branding "
    "and pull analytics. Authenticate with `Bearer distr_api_…` (docs/api.md).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],  # the schema holds no data
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {"TokenKindEnum": "customers.models.AccessToken.Kind"},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.problem_responses",
    ],
}

# Outside DEBUG, cookies are Secure whenever distr is reached over HTTPS (a plain-HTTP
# embedded install on a laptop could not sign in otherwise).
if not DEBUG and (
    env.bool("DISTR_PRODUCTION", default=False) or DISTR_PUBLIC_URL.startswith("https://")
):
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # TLS ends at the proxy; probes and /metrics bypass this (ops.middleware.ProbeMiddleware).
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool(
        "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False
    )
    SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
# Preloading HSTS is a promise to browser vendors that only the operator can make.
SILENCED_SYSTEM_CHECKS = env.list("DJANGO_SILENCED_SYSTEM_CHECKS", default=["security.W021"])

# /metrics answers anyone who reaches it unless this bearer token is set.
METRICS_BEARER_TOKEN = env.str("METRICS_BEARER_TOKEN", default="")
# Proxies (addresses or CIDRs) whose X-Forwarded-For names the client (ops/middleware.py
# ClientAddressMiddleware). Empty: the socket's peer is the client, whatever headers say.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])

# One line per request from ops.middleware.RequestLogMiddleware (logger distr.request):
# JSON for log shippers, or text for people; text is the default under DEBUG.
LOG_FORMAT = env.str("LOG_FORMAT", default="text" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "ops.logging.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "text",
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.request": {"level": "ERROR"}},
}
