"""Settings of the test suite (``DJANGO_SETTINGS_MODULE = "tests.settings"``).

The database comes from ``DATABASE_URL`` as in the runnable project (``sqlite://`` by default,
in memory); on SQLite the suite uses ``tests.dbbackends.sqlite3``, which batches bulk inserts by
the connection's real parameter limit, so that the query counts it pins are the same on every
database. Besides entity_event, the suite installs the example site (its pages are tested) and
``tests.testapp``, whose models event contexts point at.
"""

from __future__ import annotations

import os

import django

from settings import BASE_DIR, database_from_url, redis_from_url

DATABASES = {
    "default": database_from_url(
        os.environ.get("DATABASE_URL", "sqlite://"), sqlite_engine="tests.dbbackends.sqlite3"
    )
}
# A read replica, as a second connection to the same test database (Django's test mirror). The
# router sends reads to it only inside ``tests.routers.reads_from_replica()``.
DATABASES["replica"] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}
DATABASE_ROUTERS = ["tests.routers.ReplicaRouter"]

SECRET_KEY = "insecure-key-for-the-test-suite-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "entity",
    # The example site before entity_event: its templates override the app's (the layout of the
    # notification center's pages).
    "example",
    "entity_event",
    "django_eventstream",
    "tests.testapp",
]

# The optional delivery task (entity_event.delivery.tasks) runs as it is enqueued: Django's own tasks
# framework from 6.0 on, its backport django-tasks on 5.2.
if django.VERSION >= (6, 0):
    TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
else:
    INSTALLED_APPS.append("django_tasks")
    TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}

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
STATIC_ROOT = BASE_DIR / "test-output" / "static"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en"
# The languages the app ships catalogues for; a recipient's entity_meta["language"] picks one.
LANGUAGES = [("en", "English"), ("fr", "Français"), ("de", "Deutsch")]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Django 6.1 configures email as mailers and refuses the older settings beside them.
if django.VERSION >= (6, 1):
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
else:
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

EXAMPLE_NEWSFEED_MEDIUM = "newsfeed"

#: The notification center (docs/notification_center.rst): its medium, the channel manager of its
#: live updates, and where logging in leads.
ENTITY_EVENT_NOTIFICATION_MEDIUM = "notifications"
#: What the links of emails (one-click unsubscribe, the preference center) start with.
ENTITY_EVENT_BASE_URL = "https://testserver"
EVENTSTREAM_CHANNELMANAGER_CLASS = "entity_event.notifications.live_channels.NotificationChannelManager"
# Redis for the live updates only when EVENTSTREAM_REDIS_URL is set (the server processes of
# tests/browser/test_live_streams.py); the suite itself runs without it.
if os.environ.get("EVENTSTREAM_REDIS_URL"):
    EVENTSTREAM_REDIS = redis_from_url(os.environ["EVENTSTREAM_REDIS_URL"])
ASGI_APPLICATION = "example.asgi.application"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "entity_event:notifications"
