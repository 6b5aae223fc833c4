"""Configuration read from the environment, with a test override."""
from __future__ import annotations

import os
import secrets
from pathlib import Path


def _instance_secret(instance_path: Path) -> str:
    """Return the secret stored under instance/, creating it once when absent."""
    path = instance_path / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    # Create with owner-only permissions; never overwrite a key another process just wrote.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def from_environment(instance_path: str) -> dict:
    """Build the configuration mapping for a production or development run."""
    inst = Path(instance_path)
    db_url = os.environ.get("DATABASE_URL") or f"sqlite:///{inst / 'trainapp.sqlite3'}"
    if db_url.startswith("postgres://"):
        db_url = "postgresql+psycopg://" + db_url[len("postgres://"):]
    elif db_url.startswith("postgresql://"):
        db_url = "postgresql+psycopg://" + db_url[len("postgresql://"):]
    secure = os.environ.get("TRAINAPP_SECURE_COOKIES", "0") == "1"
    return {
        **common(),
        "SECRET_KEY": os.environ.get("SECRET_KEY") or _instance_secret(inst),
        "SQLALCHEMY_DATABASE_URI": db_url,
        # No pool_pre_ping: it costs a database round trip on every request, a measurable share of an
        # exam answer's cost under load. Connections are renewed after 30 minutes, and one that sat
        # unused in the pool for 10 s or more is pinged before use (extensions.ping_after_idle).
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_recycle": 1800},
        "DB_PING_AFTER_IDLE_SECONDS": 10,
        "TRAINAPP_BASE_URL": os.environ.get("TRAINAPP_BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        "TRAINAPP_DISTRICT_CODE": os.environ.get("TRAINAPP_DISTRICT_CODE", "DEMO"),
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        "SESSION_COOKIE_SECURE": secure,
        "REMEMBER_COOKIE_SECURE": secure,
    }


def common() -> dict:
    """Settings that do not depend on the environment."""
    return {
        "RATELIMIT_HEADERS_ENABLED": True,
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "LANGUAGES": ["zh_CN", "en"],
        "BOOTSTRAP_SERVE_LOCAL": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "PERMANENT_SESSION_LIFETIME": 8 * 3600,
        "MAX_CONTENT_LENGTH": 25 * 1024 * 1024,
        "WTF_CSRF_TIME_LIMIT": 8 * 3600,
        "IMPORT_MAX_BYTES": 20 * 1024 * 1024,
    }


def for_tests(database_url: str | None = None) -> dict:
    """Configuration for the test suite: its own database, fixed secret, CSRF kept on."""
    url = database_url or os.environ.get("DATABASE_URL") or "sqlite://"
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return {
        **common(),
        "TESTING": True,
        "SECRET_KEY": "test-only-secret",
        "SQLALCHEMY_DATABASE_URI": url,
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": "memory://",
        "TRAINAPP_BASE_URL": "http://testserver",
        "TRAINAPP_DISTRICT_CODE": "TEST",
        # Real hashing, with a low work factor so the suite does not spend its time in scrypt.
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:2000",
    }
