"""A database router for a site with a hot standby: the app's reads from the standby, everything
else, and the reads that follow a write, from the primary.

``DATABASE_ROUTERS = ["entity_event.db.replicas.ReplicaRouter"]``, with the standby in
``DATABASES`` under ``ENTITY_EVENT_REPLICA_DATABASE`` (``"replica"``) and the primary under
``ENTITY_EVENT_PRIMARY_DATABASE`` (``"default"``):

* reads of the models of entity_event and django-entity (feeds, counts, pages, renderings: the
  read-heavy part of the app) go to the standby, except delivery records, which only workers
  read and which must not lag;
* every other model (sessions, users, task queues, the site's own) reads and writes on the
  primary: a standby that lags must not log anyone out or hand a worker a task row it cannot
  lock;
* a write to one of the app's models pins its writer's reads to the primary for
  ``ENTITY_EVENT_READ_YOUR_WRITES_SECONDS`` (5): the rest of the request (or task), and, with
  ``entity_event.middleware.ReadYourWritesMiddleware``, the person's next requests, so that the
  page after "mark all read" shows everything read however far the standby is behind;
* reads inside a transaction of the primary stay on it (they must see what it wrote);
* when the standby cannot be reached (its connection fails to open), reads go to the primary
  for ``ENTITY_EVENT_REPLICA_RETRY_SECONDS`` (30) before it is tried again. The check costs no
  query: it is the connection the first read would open anyway, made once per connection.

The library's own writes, and the reads they depend on (claims, seen and read marks, delivery),
use the primary whatever the router (``db_for_write``).
"""

from __future__ import annotations

import logging
import time
from contextvars import ContextVar
from typing import Any

from django.db import DatabaseError, connections

from entity_event.conf import app_settings

__all__ = ["ReadPin", "ReplicaRouter", "pin_reads_to_primary", "reads_pinned_until"]

logger = logging.getLogger(__name__)

#: Until when (``time.time()``) the reads of this context go to the primary.
_reads_pinned_until: ContextVar[float] = ContextVar("entity_event_reads_pinned_until", default=0.0)

#: Until when (``time.monotonic()``) each standby is left alone after failing to connect.
_unreachable_until: dict[str, float] = {}


def reads_pinned_until() -> float:
    """The time (as ``time.time()``) until which this context's reads go to the primary."""
    return _reads_pinned_until.get()


def pin_reads_to_primary(until: float) -> None:
    """Send this context's reads to the primary until ``until`` (never shortening a pin)."""
    if until > _reads_pinned_until.get():
        _reads_pinned_until.set(until)


class ReadPin:
    """A pin of this context's reads for the span of one request: set when it starts (from what
    the person's earlier writes asked for), and released when it ends: ``release()`` returns
    until when the request's own writes pin the person's reads."""

    def __init__(self, until: float) -> None:
        self.until = until
        self._token = _reads_pinned_until.set(until)

    def release(self) -> float:
        written = _reads_pinned_until.get()
        _reads_pinned_until.reset(self._token)
        return written


def replica_unreachable(alias: str) -> bool:
    """Whether the standby ``alias`` is out of reach: it failed to connect less than
    ``ENTITY_EVENT_REPLICA_RETRY_SECONDS`` ago, or fails now, on the first read of a connection."""
    if time.monotonic() < _unreachable_until.get(alias, 0.0):
        return True
    connection = connections[alias]
    if connection.connection is not None:
        return False
    try:
        connection.ensure_connection()
    except DatabaseError as error:
        retry = app_settings.REPLICA_RETRY_SECONDS
        _unreachable_until[alias] = time.monotonic() + retry
        logger.warning(
            "The replica %r cannot be reached (%s): reading from the primary for %ss", alias, error, retry
        )
        return True
    return False


class ReplicaRouter:
    """See the module docstring. A site whose own read-heavy apps should read from the standby
    too subclasses it: ``replica_apps = ReplicaRouter.replica_apps | {"blog"}``."""

    #: The apps whose models' reads go to the standby, and the models of them that stay on the
    #: primary (``(app_label, model_name)``).
    replica_apps: frozenset[str] = frozenset({"entity_event", "entity"})
    primary_models: frozenset[tuple[str, str]] = frozenset({("entity_event", "delivery")})

    def reads_from_replica(self, model: type[Any]) -> bool:
        """Whether the reads of ``model`` may go to the standby at all."""
        meta = model._meta
        return (
            meta.app_label in self.replica_apps
            and (meta.app_label, meta.model_name) not in self.primary_models
        )

    def db_for_read(self, model: type[Any], **hints: Any) -> str:
        primary = app_settings.PRIMARY_DATABASE
        if not self.reads_from_replica(model):
            return primary
        instance = hints.get("instance")
        if instance is not None and instance._state.db == primary:
            return primary  # the rows related to a row of the primary (a worker's) come from it too
        if time.time() < _reads_pinned_until.get() or connections[primary].in_atomic_block:
            return primary
        replica = app_settings.REPLICA_DATABASE
        return primary if replica_unreachable(replica) else replica

    def db_for_write(self, model: type[Any], **hints: Any) -> str:
        if self.reads_from_replica(model):
            pin_reads_to_primary(time.time() + app_settings.READ_YOUR_WRITES_SECONDS)
        return app_settings.PRIMARY_DATABASE

    def allow_relation(self, first: Any, second: Any, **hints: Any) -> bool | None:
        databases = {app_settings.PRIMARY_DATABASE, app_settings.REPLICA_DATABASE}
        return True if {first._state.db, second._state.db} <= databases else None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return False if db == app_settings.REPLICA_DATABASE else None
