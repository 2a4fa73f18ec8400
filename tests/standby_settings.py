"""Settings of the site that the real-standby tests run (tests/deployment/test_standby.py): the
test settings, with a primary and a streaming hot standby of a private cluster as its two
databases (``PRIMARY_URL``, ``REPLICA_URL``), entity_event's replica router and its
read-your-writes middleware, database sessions, and a short connect timeout to the standby so
that its outage costs little."""

from __future__ import annotations

import os

from settings import database_from_url
from tests.settings import *  # noqa: F403 (these settings, the databases changed)
from tests.settings import MIDDLEWARE

DATABASES = {
    "default": database_from_url(os.environ["PRIMARY_URL"]),
    "replica": {**database_from_url(os.environ["REPLICA_URL"]), "OPTIONS": {"connect_timeout": 2}},
}
DATABASE_ROUTERS = ["entity_event.db.replicas.ReplicaRouter"]
MIDDLEWARE = [*MIDDLEWARE, "entity_event.middleware.ReadYourWritesMiddleware"]
SESSION_ENGINE = "django.contrib.sessions.backends.db"
