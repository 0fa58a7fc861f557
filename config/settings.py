"""Settings: everything comes from the environment, with safe embedded defaults for a local run.

SHOP_ENV=local (default): SQLite in var/, a local media folder, Celery tasks run in-process, a per-checkout
secret key generated into var/ (never committed). SHOP_ENV=production: SECRET_KEY and ALLOWED_HOSTS are
required, DEBUG must be off, HTTPS settings are on; the process refuses to start otherwise.
Every variable is listed in README.md and .env.example.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import zlib
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("SHOP_VAR_DIR", BASE_DIR / "var"))


def env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return default if value is None or value == "" else value


def env_bool(name: str, default: bool) -> bool:
    value = env(name)
    if value is None:
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def env_int(name: str, default: int) -> int:
    value = env(name)
    try:
        return default if value is None else int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}") from None


def env_decimal(name: str, default: str, allow_empty: bool = False) -> Decimal | None:
    """A non-negative decimal setting. With allow_empty, an explicitly empty value means None ("never")."""
    raw = os.environ.get(name)
    if raw is not None and raw.strip() == "" and allow_empty:
        return None
    value = default if raw is None or raw.strip() == "" else raw.strip()
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ImproperlyConfigured(f"{name} must be a number, not {value!r}") from None
    if not number.is_finite() or number < 0:
        raise ImproperlyConfigured(f"{name} must be a number of at least 0, not {value!r}")
    return number
def env_float(name: str, default: float) -> float:
    value = env(name)
    try:
        return default if value is None else float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {value!r}") from None


def env_json(name: str, default):
    value = env(name)
    if value is None:
        return default
    try:
        return json.loads(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be JSON ({exc})") from None


def weak_secret_key(key: str) -> str | None:
    """Why `key` is too weak to sign production sessions and password-reset links, or None. Refused: the
    .env.example placeholder (and anything still saying change-me), Django's development marker, fewer than 50
    characters, and keys that repeat a pattern (they compress below 40 bytes; 50 random characters do not)."""
    lowered = key.lower()
    if any(marker in lowered for marker in ("change-me", "changeme", "change_me")):
        return "is the .env.example placeholder"
    if lowered.startswith("django-insecure"):
        return "is a development key (django-insecure-...)"
    if len(key) < 50:
        return f"has {len(key)} characters; use 50 or more"
    if len(zlib.compress(key.encode(), 9)) < 40:
        return "repeats a pattern (low entropy)"
    return None


def env_list(name: str, default: str = "") -> list[str]:
    return [part.strip() for part in (env(name, default) or "").split(",") if part.strip()]


SHOP_ENV = env("SHOP_ENV", "local")
if SHOP_ENV not in {"local", "production"}:
    raise ImproperlyConfigured("SHOP_ENV must be 'local' or 'production'")
PRODUCTION = SHOP_ENV == "production"

DEBUG = env_bool("DEBUG", False)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG must be off in production (SHOP_ENV=production).")

SECRET_KEY = env("SECRET_KEY")
if PRODUCTION and SECRET_KEY and (why := weak_secret_key(SECRET_KEY)):
    raise ImproperlyConfigured(f"SECRET_KEY {why}. Generate one: python -c \"import secrets; "
                               "print(secrets.token_urlsafe(50))\"")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY is required in production (SHOP_ENV=production).")
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    SECRET_KEY = key_file.read_text().strip()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "" if PRODUCTION else "localhost,127.0.0.1,[::1],testserver")
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS is required in production (comma-separated host names).")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
POSTGRES = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
if POSTGRES:
    DATABASES["default"]["ENGINE"] = "config.postgres"  # Django's backend, health check without a round trip
if POSTGRES and not env_bool("DATABASE_JIT", False):
    # PostgreSQL's JIT compiles any query its planner costs high (a correlated subquery over a large catalog): tens
    # of milliseconds of compiling for a query that runs in a few. The shop's queries are short; off unless asked.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
if POSTGRES and env_bool("DATABASE_PREPARED_STATEMENTS", True):
    # psycopg's own switch (its default value, passed explicitly): shop.sessions prepares the read every request
    # makes (a visitor's session and cart lines) once per connection only while it is set; Django's own queries
    # are bound on the client and never prepared either way. Unset (false) behind a pooler in transaction mode that
    # does not keep prepared statements (PgBouncer before 1.21, or without max_prepared_statements).
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 5
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web process and a worker write at once (events, orders, training progress, forecast rows): WAL lets
    # readers and one writer work together, writers wait up to 20 s for each other (busy timeout) instead of failing
    # with "database is locked", and IMMEDIATE transactions take the write lock up front (no upgrade deadlock).
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE",
                                       "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL"}
    VAR_DIR.mkdir(parents=True, exist_ok=True)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.sites",
    "django.contrib.flatpages",
    *(["django.contrib.postgres"] if POSTGRES else []),
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "django_countries",
    "drf_spectacular_sidecar",  # Swagger UI and Redoc served from our static files: /api/docs/ works offline
    "axes",
    "shop",
    "registry",
    "forecasting",
    "recommender",
    "chatbot",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "shop.middleware.RejectNulBytesMiddleware",
    "shop.sessions.SessionMiddleware",  # Django's, plus the "sessionchanged" cookie (SHOP_SESSION_CACHE_SECONDS)
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "shop.events.EventFlushMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a locked-out login into the lockout page (HTTP 429)
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "shop.context_processors.shop",
            ],
        },
    }
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Login lockout (django-axes): after LOGIN_FAILURE_LIMIT wrong passwords for one username from one client address,
# that pair is refused for LOGIN_LOCKOUT_MINUTES, even with the right password (shop login, admin and API Basic
# auth alike). The client address is the real one behind a proxy (NUM_PROXIES, shop.limits.client_ip).
AUTHENTICATION_BACKENDS = ["shop.limits.LockoutBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "shop.limits.client_ip"
AXES_LOCKOUT_CALLABLE = "shop.limits.lockout_response"  # JSON for the API, the lockout page elsewhere
AXES_DISABLE_ACCESS_LOG = True  # failures are recorded; successful logins need no extra row each
AXES_VERBOSE = False
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "shop:account"
LOGOUT_REDIRECT_URL = "shop:home"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Static files through whitenoise; media on S3 when a bucket is configured, else a local folder.
STATIC_URL = "/static/"
STATIC_ROOT = Path(env("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(BASE_DIR / "media")))
AWS_STORAGE_BUCKET_NAME = env("AWS_STORAGE_BUCKET_NAME")
MEDIA_ON_S3 = bool(AWS_STORAGE_BUCKET_NAME)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION
if MEDIA_ON_S3:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "access_key": env("AWS_ACCESS_KEY_ID"),
            "secret_key": env("AWS_SECRET_ACCESS_KEY"),
            "endpoint_url": env("AWS_S3_ENDPOINT_URL"),
            "region_name": env("AWS_S3_REGION_NAME", "us-east-1"),
            "custom_domain": env("AWS_S3_CUSTOM_DOMAIN"),
            "querystring_auth": env_bool("AWS_QUERYSTRING_AUTH", True),  # signed URLs for a private bucket
            "querystring_expire": env_int("AWS_QUERYSTRING_EXPIRE", 3600),
            "file_overwrite": False,
            "default_acl": None,
            "addressing_style": env("AWS_S3_ADDRESSING_STYLE", "path"),
            "signature_version": "s3v4",
        },
    }
MAX_UPLOAD_IMAGE_BYTES = env_int("MAX_UPLOAD_IMAGE_BYTES", 5 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_UPLOAD_IMAGE_BYTES + 1024 * 1024

# Redis: cache, Celery broker and the event buffer. Without REDIS_URL, tasks run in-process (local mode).
REDIS_URL = env("REDIS_URL")
CELERY_BROKER_URL = env("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", REDIS_URL)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 6 * 3600)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TIMEZONE = TIME_ZONE   # beat's crontab entries (the nightly retraining) are in the shop's time
if CELERY_BROKER_URL and CELERY_BROKER_URL.startswith("filesystem://"):
    # A broker that needs no server (scripts/run.sh without REDIS_URL): messages are files under SHOP_VAR_DIR,
    # shared by the web process and the local worker.
    _celery_dir = VAR_DIR / "celery"
    for _sub in ("queue", "control"):
        (_celery_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": str(_celery_dir / "queue"),
                                       "data_folder_out": str(_celery_dir / "queue"),
                                       "control_folder": str(_celery_dir / "control")}
if PRODUCTION and not CELERY_BROKER_URL:
    raise ImproperlyConfigured("REDIS_URL (or CELERY_BROKER_URL) is required in production.")
# A slow or dead Redis must not take pages down (shop/resilience.py): the web process gives each Redis call
# REDIS_TIMEOUT seconds, and after a failure leaves Redis alone for REDIS_RETRY_AFTER seconds. Meanwhile events
# are written straight to the database, throttles let requests through, and order emails wait in the outbox.
REDIS_TIMEOUT = env_float("REDIS_TIMEOUT", 0.5)
REDIS_RETRY_AFTER = env_float("REDIS_RETRY_AFTER", 10.0)
CACHES = {
    "default": {"BACKEND": "shop.resilience.ResilientRedisCache", "LOCATION": REDIS_URL,
                "OPTIONS": {"socket_connect_timeout": REDIS_TIMEOUT, "socket_timeout": REDIS_TIMEOUT}}
    if REDIS_URL else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}
# Views, cart changes and searches: "buffer" queues them in Redis and a beat task writes them in batches;
# "direct" writes them at the end of the request in one INSERT. Purchases are order lines, always transactional.
SHOP_EVENT_LOG = env("SHOP_EVENT_LOG", "buffer" if REDIS_URL else "direct")
if SHOP_EVENT_LOG not in {"buffer", "direct", "off"}:
    raise ImproperlyConfigured("SHOP_EVENT_LOG must be buffer, direct or off")
if SHOP_EVENT_LOG == "buffer" and not REDIS_URL:
    raise ImproperlyConfigured("SHOP_EVENT_LOG=buffer needs REDIS_URL")
# With "buffer", each web process hands its events to Redis from a background thread in one push per batch, at
# most this many seconds after the request (a request then pays no round trip); 0 = one push per request, in it.
SHOP_EVENT_BATCH_SECONDS = env_float("SHOP_EVENT_BATCH_SECONDS", 0.2)

# Email (console by default).
EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))  # for the filebased backend
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "shop@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# The shop.
SHOP_NAME = env("SHOP_NAME", "Northwind Goods")
SHOP_CURRENCY = env("SHOP_CURRENCY", "EUR")
SHOP_PAGE_SIZE = env_int("SHOP_PAGE_SIZE", 24)
# Storefront pages rendered once and served to every shopper with their own parts filled in (shop/pagecache.py):
# at most SHOP_PAGE_CACHE_MB per web process; a change shows at once in the process that made it and within
# SHOP_CACHE_FRESHNESS_SECONDS in the others (shop/versions.py; 0 = every request looks).
SHOP_PAGE_CACHE = env_bool("SHOP_PAGE_CACHE", True)
SHOP_PAGE_CACHE_MB = env_int("SHOP_PAGE_CACHE_MB", 64)
SHOP_CACHE_FRESHNESS_SECONDS = env_float("SHOP_CACHE_FRESHNESS_SECONDS", 1.0)
# ... and shared through Redis (with PostgreSQL) for this many seconds, so each page is rendered once for all web
# processes, not once in each; served only under the same change counters (0 = off).
SHOP_PAGE_CACHE_SHARED_SECONDS = env_float("SHOP_PAGE_CACHE_SHARED_SECONDS", 600.0)
if SHOP_CACHE_FRESHNESS_SECONDS < 0 or SHOP_PAGE_CACHE_MB < 0 or SHOP_PAGE_CACHE_SHARED_SECONDS < 0:
    raise ImproperlyConfigured("SHOP_CACHE_FRESHNESS_SECONDS, SHOP_PAGE_CACHE_MB and SHOP_PAGE_CACHE_SHARED_SECONDS "
                               "must be at least 0")
# A web process keeps the anonymous sessions it read (with their cart lines) this many seconds for GET and HEAD;
# the visitor's own changes show at once everywhere, others within this (shop/sessions.py; 0 = always read).
SHOP_SESSION_CACHE_SECONDS = env_float("SHOP_SESSION_CACHE_SECONDS", 60.0)
if SHOP_SESSION_CACHE_SECONDS < 0:
    raise ImproperlyConfigured("SHOP_SESSION_CACHE_SECONDS must be at least 0")
SHOP_MAX_LINE_QUANTITY = env_int("SHOP_MAX_LINE_QUANTITY", 50)
SHOP_LOW_STOCK = env_int("SHOP_LOW_STOCK", 5)
# Shipping, tax and shop policies (shop/shipping.py, shop/pricing.py; the chat assistant reads them too).
SHOP_SHIPPING_FLAT_RATE = env_decimal("SHOP_SHIPPING_FLAT_RATE", "4.90")
SHOP_FREE_SHIPPING_OVER = env_decimal("SHOP_FREE_SHIPPING_OVER", "50.00", allow_empty=True)  # None: never free
SHOP_PRICES_INCLUDE_VAT = env_bool("SHOP_PRICES_INCLUDE_VAT", True)
SHOP_VAT_RATE = env_decimal("SHOP_VAT_RATE", "19")  # percent
SHOP_RETURN_DAYS = env_int("SHOP_RETURN_DAYS", 30)
SHOP_CONTACT_EMAIL = env("SHOP_CONTACT_EMAIL", DEFAULT_FROM_EMAIL)
SHOP_SHIP_TO_COUNTRIES = [c.upper() for c in env_list(
    "SHOP_SHIP_TO_COUNTRIES", "AT,BE,CH,CZ,DE,DK,ES,FI,FR,GB,IE,IT,LU,NL,NO,PL,PT,SE")]
_unknown = [c for c in SHOP_SHIP_TO_COUNTRIES if len(c) != 2 or not c.isalpha()]
if _unknown or not SHOP_SHIP_TO_COUNTRIES:
    raise ImproperlyConfigured(f"SHOP_SHIP_TO_COUNTRIES must be comma-separated two-letter ISO codes, not {_unknown}")
# Shop information pages (django.contrib.flatpages at /pages/<slug>/) belong to this site.
SITE_ID = 1
# Anonymous carts untouched for this many days, and expired sessions, are deleted by the daily cleanup task.
SHOP_CART_DAYS = env_int("SHOP_CART_DAYS", 30)
# Named places in shop pages that other apps fill (shop/slots.py): slot name -> dotted paths of renderers.
SHOP_SLOTS: dict[str, list[str]] = {
    "head": ["chatbot.slots.stylesheet"],
    "body_end": ["chatbot.slots.widget"],
}
# Recommendations in the home page, the product page and the cart (RECOMMENDER_SLOTS=false leaves them empty).
if env_bool("RECOMMENDER_SLOTS", True):
    SHOP_SLOTS.update({"home": ["recommender.slots.home"], "product": ["recommender.slots.product"],
                       "cart": ["recommender.slots.cart"]})

# The chat assistant (chatbot/).
CHATBOT_MAX_MESSAGE_CHARS = env_int("CHATBOT_MAX_MESSAGE_CHARS", 500)
CHATBOT_RATE_VISITOR = env("CHATBOT_RATE_VISITOR", "20/min")  # messages per visitor (session or account)
CHATBOT_RATE_ADDRESS = env("CHATBOT_RATE_ADDRESS", "60/min")  # messages per client IP address
CHATBOT_RETENTION_DAYS = env_int("CHATBOT_RETENTION_DAYS", 90)  # conversations older than this are deleted
CHATBOT_ENCODER_CACHE = Path(env("CHATBOT_ENCODER_CACHE", str(VAR_DIR / "chatbot-encoder")))  # local ONNX copy
CHATBOT_ENCODER_THREADS = env_int("CHATBOT_ENCODER_THREADS", 1)  # ONNX Runtime threads per web process
CHATBOT_CACHE_SECONDS = env_int("CHATBOT_CACHE_SECONDS", 5)  # how often a process checks for a new model/catalog
# Intent predictions kept per web process for questions asked again (after product names are masked); 0: none.
CHATBOT_PREDICTION_CACHE = env_int("CHATBOT_PREDICTION_CACHE", 2000)

# Machine learning. The engines run in Celery workers only (never in the web process) and read no environment
# themselves: these settings are handed to them as arguments (forecasting/inputs.py, recommender/inputs.py).
# Local copies of product photos (when media are on S3) and cached image features, shared by both engines.
ML_CACHE_DIR = Path(env("ML_CACHE_DIR", str(VAR_DIR / "ml-cache")))
# A local ImageNet weights file (torchvision state_dict) for the image backbone; nothing is ever downloaded.
# FORECAST_RESNET_WEIGHTS is the deprecated older name.
ML_IMAGE_WEIGHTS = env("ML_IMAGE_WEIGHTS", env("FORECAST_RESNET_WEIGHTS"))
# The image backbone: efficientnet_lite0 (ImageNet weights shipped in a package) | resnet18 | resnet50 | resnet101
# (weights from ML_IMAGE_WEIGHTS). Empty: resnet101 when ML_IMAGE_WEIGHTS is set, else efficientnet_lite0.
ML_IMAGE_ARCH = env("ML_IMAGE_ARCH", "")

# Model registry (registry/): model versions, artifacts and training runs of the ML apps.
REGISTRY_STORAGE = env("REGISTRY_STORAGE", "default")            # alias in STORAGES the artifacts go to
REGISTRY_HEARTBEAT_SECONDS = env_int("REGISTRY_HEARTBEAT_SECONDS", 15)
REGISTRY_STALE_AFTER_SECONDS = env_int("REGISTRY_STALE_AFTER_SECONDS", 300)   # no heartbeat for this long = dead
REGISTRY_QUEUED_TIMEOUT_SECONDS = env_int("REGISTRY_QUEUED_TIMEOUT_SECONDS", 6 * 3600)
REGISTRY_KEEP_ARTIFACTS = env_int("REGISTRY_KEEP_ARTIFACTS", 10)  # artifact files kept of non-serving versions

# Recommender (recommender/): retrained by a Celery worker, gated, published as rows the storefront reads.
RECOMMENDER_RETRAIN_AT = env("RECOMMENDER_RETRAIN_AT", "02:30")          # HH:MM shop time of the nightly run; off
if RECOMMENDER_RETRAIN_AT.lower() != "off" and not re.fullmatch(r"([01]?\d|2[0-3]):[0-5]\d", RECOMMENDER_RETRAIN_AT):
    raise ImproperlyConfigured(f"RECOMMENDER_RETRAIN_AT must be HH:MM or off, not {RECOMMENDER_RETRAIN_AT!r}")
RECOMMENDER_HISTORY_DAYS = env_int("RECOMMENDER_HISTORY_DAYS", 180)      # days of interactions trained on
RECOMMENDER_GATE_DAYS = env_int("RECOMMENDER_GATE_DAYS", 7)              # latest days held out for the gate
# engine baselines the gate compares with; empty: recent popularity, item-kNN and TIFU-KNN where the engine has it
RECOMMENDER_GATE_BASELINES = env_list("RECOMMENDER_GATE_BASELINES", "")
RECOMMENDER_GATE_MIN_USERS = env_int("RECOMMENDER_GATE_MIN_USERS", 20)   # fewer buyers in the gate days: no verdict
RECOMMENDER_GATE_TOLERANCE = env_float("RECOMMENDER_GATE_TOLERANCE", 0.002)  # NDCG@10 it may trail the serving by
RECOMMENDER_ENGINE_CONFIG = env_json("RECOMMENDER_ENGINE_CONFIG", {})    # engine options over the CPU/GPU defaults
if not isinstance(RECOMMENDER_ENGINE_CONFIG, dict):
    raise ImproperlyConfigured("RECOMMENDER_ENGINE_CONFIG must be a JSON object")
RECOMMENDER_REFIT = env("RECOMMENDER_REFIT", "auto")                     # retrain through yesterday after the gate
if RECOMMENDER_REFIT not in {"auto", "true", "false"}:
    raise ImproperlyConfigured("RECOMMENDER_REFIT must be auto, true or false")
RECOMMENDER_IMAGE_FEATURES = env("RECOMMENDER_IMAGE_FEATURES", "auto")     # photo vectors: auto = with a pretrained
if RECOMMENDER_IMAGE_FEATURES not in {"auto", "true", "false"}:          # backbone (ML_IMAGE_WEIGHTS or packaged)
    raise ImproperlyConfigured("RECOMMENDER_IMAGE_FEATURES must be auto, true or false")
RECOMMENDER_TRAIN_THREADS = env_int("RECOMMENDER_TRAIN_THREADS", 1)      # torch threads of a CPU training (1: ~10x
                                                                         # faster than 2 on a busy 2-core machine)
RECOMMENDER_TOP_N = env_int("RECOMMENDER_TOP_N", 20)                     # rows published per customer / product
RECOMMENDER_SLOT_SIZE = env_int("RECOMMENDER_SLOT_SIZE", 4)              # products shown in a slot
RECOMMENDER_READ_CACHE_SECONDS = env_float("RECOMMENDER_READ_CACHE_SECONDS", 10)  # a new publication shows within
RECOMMENDER_CONTROL_SHARE = env_float("RECOMMENDER_CONTROL_SHARE", 0.10)  # visitors who see popularity (control)
if not 0.0 <= RECOMMENDER_CONTROL_SHARE <= 1.0:
    raise ImproperlyConfigured("RECOMMENDER_CONTROL_SHARE must be between 0 and 1")
RECOMMENDER_EXPERIMENT = env("RECOMMENDER_EXPERIMENT", "recs-1")         # name of the A/B split (a new one reshuffles)
RECOMMENDER_ATTRIBUTION_MINUTES = env_int("RECOMMENDER_ATTRIBUTION_MINUTES", 60)  # click -> cart/purchase window
RECOMMENDER_REPORT_DAYS = env_int("RECOMMENDER_REPORT_DAYS", 28)         # default period of the dashboard

# Client addresses: how many reverse proxies in front of gunicorn append to X-Forwarded-For. 0 (default): the TCP
# peer is the client and X-Forwarded-For is ignored (a client could write anything there). Behind one proxy
# (nginx, a load balancer): 1. Throttles and the login lockout use the address this gives (shop.limits.client_ip).
NUM_PROXIES = env_int("NUM_PROXIES", 0)
# HTTP Basic auth on the API hashes a password per request (a cheap way to load the server): off in production
# unless asked for; browsers and the shop's own pages use the session.
API_BASIC_AUTH = env_bool("API_BASIC_AUTH", not PRODUCTION)

# Forecasts (forecasting/): nightly retraining, the promotion gate, publishing, reorder suggestions.
FORECAST_RETRAIN_AT = env("FORECAST_RETRAIN_AT", "03:00")         # HH:MM shop time of the nightly run; off = none
if FORECAST_RETRAIN_AT.lower() != "off" and not re.fullmatch(r"([01]?\d|2[0-3]):[0-5]\d", FORECAST_RETRAIN_AT):
    raise ImproperlyConfigured(f"FORECAST_RETRAIN_AT must be HH:MM or off, not {FORECAST_RETRAIN_AT!r}")
FORECAST_LEAD_TIME_DAYS = env_int("FORECAST_LEAD_TIME_DAYS", 14)  # supplier lead time
FORECAST_REVIEW_DAYS = env_int("FORECAST_REVIEW_DAYS", 7)         # days between two orders of the same product
FORECAST_SERVICE_LEVEL = env_float("FORECAST_SERVICE_LEVEL", 0.95)  # chance of not running out before delivery
if not 0.5 <= FORECAST_SERVICE_LEVEL < 1:
    raise ImproperlyConfigured("FORECAST_SERVICE_LEVEL must be between 0.5 and 1 (e.g. 0.95)")
if FORECAST_LEAD_TIME_DAYS < 0 or FORECAST_REVIEW_DAYS < 0 or FORECAST_LEAD_TIME_DAYS + FORECAST_REVIEW_DAYS > 45:
    raise ImproperlyConfigured("FORECAST_LEAD_TIME_DAYS + FORECAST_REVIEW_DAYS must be between 0 and 45 days")
FORECAST_COLD_START_DAYS = env_int("FORECAST_COLD_START_DAYS", 28)  # less sales history than this = cold start
FORECAST_HISTORY_DAYS = env_int("FORECAST_HISTORY_DAYS", 730)     # days of history the forecaster trains on
FORECAST_ENGINE_CONFIG = env_json("FORECAST_ENGINE_CONFIG", {})   # engine options over the CPU/GPU defaults
if not isinstance(FORECAST_ENGINE_CONFIG, dict):
    raise ImproperlyConfigured("FORECAST_ENGINE_CONFIG must be a JSON object")
FORECAST_GATE_MAX_BIAS = env_float("FORECAST_GATE_MAX_BIAS", 0.5)  # |total forecast / actual - 1| a model may have
FORECAST_TRAIN_THREADS = env_int("FORECAST_TRAIN_THREADS", 2)     # torch threads of a CPU training

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        *(["shop.authentication.BasicAuthentication"] if API_BASIC_AUTH else []),
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "shop.pagination.PageNumberPagination",
    "PAGE_SIZE": 24,
    "NUM_PROXIES": NUM_PROXIES,
    # Every API endpoint (schema and docs included): per client address for visitors, per account when signed in.
    "DEFAULT_THROTTLE_CLASSES": ["shop.limits.AnonThrottle", "shop.limits.UserThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env("API_THROTTLE_ANON", "120/min"),
        "user": env("API_THROTTLE_USER", "600/min"),
        "cart": env("API_THROTTLE_CART", "60/min"),  # cart changes per client address (each may create a cart)
        # Shop pages (POSTs only): login per client address, signup per address, password reset per address and
        # per email address asked for.
        "login": env("LOGIN_THROTTLE", "30/min"),
        "signup": env("SIGNUP_THROTTLE", "10/hour"),
        "password_reset": env("PASSWORD_RESET_THROTTLE", "5/hour"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Shop API", "VERSION": "1.0.0", "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR", "SWAGGER_UI_FAVICON_HREF": "SIDECAR", "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "shop.api_schema.add_error_responses"],
}

# HTTPS and cookies: on in production, each can be turned off (e.g. a local compose run without TLS).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", PRODUCTION)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", PRODUCTION)
SESSION_ENGINE = "shop.sessions"  # database sessions read with one plain statement (shop/sessions.py)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", PRODUCTION)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", PRODUCTION)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", PRODUCTION)
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
