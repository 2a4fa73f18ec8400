"""Settings of the runnable project that hosts the demo and the test suite.

The database comes from the ``DATABASE_URL`` environment variable:

* unset, or ``sqlite:///db.sqlite3``: SQLite in a file of the project (``sqlite:////tmp/x.db``:
  an absolute path; ``sqlite://`` alone: in memory);
* ``postgres://USER:PASSWORD@HOST:PORT/NAME``: PostgreSQL through psycopg (3), or psycopg2 when
  only that is installed (Django's choice);
* ``mysql://USER:PASSWORD@HOST:PORT/NAME`` or ``mariadb://...``: MariaDB or MySQL through
  mysqlclient, in ``utf8mb4`` (the test database too, with a binary collation: see
  ``MYSQL_TEST_COLLATION``).

This project is not shipped with the package; it exists so that ``manage.py`` works from a clone.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

import django

BASE_DIR = Path(__file__).resolve().parent


#: The collation of the test database on MariaDB/MySQL: compares strings by code point without
#: padding, as PostgreSQL and SQLite do, so that names differing in case or trailing spaces are
#: different names on every database.
MYSQL_TEST_COLLATION = "utf8mb4_nopad_bin"


def database_from_url(url: str, sqlite_engine: str = "django.db.backends.sqlite3") -> dict[str, object]:
    """Turn a ``DATABASE_URL`` into a ``DATABASES['default']`` entry (``sqlite_engine`` is the
    backend of ``sqlite://`` URLs: the test settings use a subclass of Django's)."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        # sqlite:///name is relative to the project, sqlite:////abs/path absolute.
        path = unquote(parts.path[1:])
        return {
            "ENGINE": sqlite_engine,
            "NAME": str(BASE_DIR / path) if path else ":memory:",
        }
    if parts.scheme in ("postgres", "postgresql"):
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")) or "postgres",
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
        }
    if parts.scheme in ("mysql", "mariadb"):
        return {
            "ENGINE": "django.db.backends.mysql",
            "NAME": unquote(parts.path.lstrip("/")) or "test",
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            # utf8mb4: every Unicode character, the four-byte ones (emoji) included; MySQL's
            # "utf8" is utf8mb3, which refuses them.
            "OPTIONS": {"charset": "utf8mb4"},
            "TEST": {"CHARSET": "utf8mb4", "COLLATION": MYSQL_TEST_COLLATION},
        }
    raise ValueError(
        f"DATABASE_URL: unsupported scheme {parts.scheme!r} (use sqlite://, postgres:// or mysql://)"
    )


DATABASES = {"default": database_from_url(os.environ.get("DATABASE_URL", "sqlite:///db.sqlite3"))}

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "insecure-key-for-the-demo-project-only")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]

INSTALLED_APPS = [
    # daphne first: `manage.py runserver` then serves the site over ASGI, which the live updates
    # of the notification center (django-eventstream, server-sent events) need.
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "entity",
    # The example site: a newsfeed page, the Entity admin and the demo command; not shipped. It
    # comes before entity_event so that its templates override the app's (the layout of the
    # notification center's pages).
    "example",
    "entity_event",
    "django_eventstream",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Each person's pages in the language their browser asks for, among LANGUAGES.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # X-Frame-Options: DENY, so that no other site can show the pages in a frame (clickjacking).
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "example.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

STATIC_URL = "static/"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en"
# The languages the app ships catalogues for; a recipient's entity_meta["language"] picks one.
LANGUAGES = [("en", "English"), ("fr", "Français"), ("de", "Deutsch")]

#: Emails (the demo's, the delivery command's) are written as files to sent-mail/, not sent:
#: through Django 6.1's mailers, or the older settings on 5.2 and 6.0 (6.1 refuses both at once).
if django.VERSION >= (6, 1):
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "OPTIONS": {"file_path": BASE_DIR / "sent-mail"},
        }
    }
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = BASE_DIR / "sent-mail"

#: The medium whose events the example site's newsfeed page shows (see docs/example_site.rst).
EXAMPLE_NEWSFEED_MEDIUM = "newsfeed"

#: The notification center (docs/notification_center.rst): its medium, the channel manager of its
#: live updates, and where logging in leads.
ENTITY_EVENT_NOTIFICATION_MEDIUM = "notifications"
#: What the links of emails (one-click unsubscribe, the preference center) start with.
ENTITY_EVENT_BASE_URL = os.environ.get("ENTITY_EVENT_BASE_URL", "http://127.0.0.1:8000")
EVENTSTREAM_CHANNELMANAGER_CLASS = "entity_event.notifications.live_channels.NotificationChannelManager"


def redis_from_url(url: str) -> dict[str, object]:
    """Turn ``redis://[:PASSWORD@]HOST[:PORT][/DB]`` into the keyword arguments of
    ``redis.Redis``, which is what django-eventstream's ``EVENTSTREAM_REDIS`` holds."""
    parts = urlsplit(url)
    if parts.scheme != "redis":
        raise ValueError(f"EVENTSTREAM_REDIS_URL: unsupported scheme {parts.scheme!r} (use redis://)")
    database = parts.path.lstrip("/") or "0"
    if not database.isdigit():
        raise ValueError(f"EVENTSTREAM_REDIS_URL: the database must be a number, not {database!r}")
    options: dict[str, object] = {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 6379,
        "db": int(database),
    }
    if parts.password:
        options["password"] = unquote(parts.password)
    return options


#: Live updates that cross server processes (docs/notification_center.rst): django-eventstream
#: carries each message through Redis to the streams of every process once EVENTSTREAM_REDIS is
#: set, which needs the redis package. Set only when EVENTSTREAM_REDIS_URL asks for it, so that
#: the project loads without the package (django-eventstream imports it whenever the setting
#: exists, whatever its value).
if os.environ.get("EVENTSTREAM_REDIS_URL"):
    EVENTSTREAM_REDIS = redis_from_url(os.environ["EVENTSTREAM_REDIS_URL"])
ASGI_APPLICATION = "example.asgi.application"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "entity_event:notifications"
