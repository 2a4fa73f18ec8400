"""Seen marks and claims: ``mark_seen``, and ``seen=False, mark_seen=True`` as a claim.

Seen state is per (event, medium). A query method called with ``mark_seen=True`` evaluates its
query, marks exactly the returned events seen on the medium, and returns them; with
``seen=False`` too, it claims them: concurrent callers never receive the same event (see
``claim``, and docs/guarantees.rst for the tests that show it).

Marks and claims run on the database that takes writes (``seen_marks_database``), whatever the
routers choose for reads: a read replica never receives a lock or an insert, and a claim never
reads a lagging copy of what it marks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.db import models, router
from django.utils import timezone

from entity_event.db.backends import lock_own_rows, native_time_loading
from entity_event.db.id_lists import id_filters
from entity_event.db.retries import MARKING, in_transaction_retried
from entity_event.models import Event, EventSeen, Medium
from entity_event.models.bulk_rows import insert_seen
from entity_event.models.filters import EventFilters
from entity_event.models.querysets import EventQuerySet
from entity_event.validation import check_saved

#: What a claimed or fetched query yields: events, or rows of their values (``values_list``).
RowT = TypeVar("RowT")
#: What a marking call returns.
ResultT = TypeVar("ResultT")


def seen_marks_database() -> str:
    """The database of seen marks and claims: the one the routers send writes of ``EventSeen``
    to (``db_for_write``; ``default`` without routers)."""
    return router.db_for_write(EventSeen)


def mark_seen(events: EventQuerySet, medium: Medium) -> None:
    """``EventQuerySet.mark_seen``: record the events as seen on ``medium``, idempotently (an
    event seen already keeps its first ``time_seen``), in two queries whatever their number,
    both on the primary database."""
    check_saved(medium, Medium, "medium")
    using = seen_marks_database()
    mark_ids_seen(list(events.using(using).values_list("pk", flat=True)), medium, using)


def mark_ids_seen(event_ids: list[int], medium: Medium, using: str) -> None:
    """Record the events ``event_ids`` as seen on ``medium`` (one INSERT that skips the events
    seen already, none without events); they share one ``time_seen``."""
    insert_seen(event_ids, medium.pk, timezone.now(), using)


def limited_or_marked(events: EventQuerySet, medium: Medium, filters: EventFilters) -> EventQuerySet:
    """Return ``events`` as the filters ask: lazy without ``mark_seen`` (the newest ``limit``, when
    given); otherwise evaluated, marked seen, and restricted to exactly the returned events
    (claimed under row locks when ``seen=False``: the oldest ``limit``, oldest first), on the
    primary database."""
    if not filters.mark_seen:
        return events if filters.limit is None else events[: filters.limit]
    events = events.using(seen_marks_database())

    def mark() -> list[Event]:
        rows = (
            claim(events, medium, filters.limit, event_pk) if filters.claims else fetch(events, filters.limit)
        )
        mark_ids_seen([event.pk for event in rows], medium, events.db)
        return rows

    return restrict_to(in_transaction_retried(events.db, mark, MARKING))


def event_pk(event: Event) -> int:
    """An event's primary key (what ``claim`` needs of the rows it claims)."""
    return event.pk


def fetch(events: models.QuerySet[Event, RowT], limit: int | None) -> list[RowT]:
    """The events (or rows of their values), newest first: all of them, or the newest ``limit``
    (their times read as ``backends.native_time_loading`` says: a large read is many times)."""
    with native_time_loading(events.db):
        return list(events if limit is None else events[:limit])


def restrict_to(rows: list[Event]) -> EventQuerySet:
    """An ``EventQuerySet`` of exactly ``rows``, already evaluated (iterating it runs no query;
    chaining it filters by primary key)."""
    result = Event.objects.filter(pk__in=[event.pk for event in rows])
    result._result_cache = list(rows)
    return result


def claim(
    events: models.QuerySet[Event, RowT], medium: Medium, limit: int | None, pk_of: Callable[[RowT], int]
) -> list[RowT]:
    """Lock the unseen events (skipping rows another transaction holds) and drop the ones another
    worker marked seen meanwhile: all of them, newest first, or the oldest ``limit``, oldest first.
    ``events`` yields events or rows of their values (``values_list``); ``pk_of`` reads their
    primary keys.
    Must run inside a transaction, which must also insert the ``EventSeen`` rows so that the
    claim is released only once they are committed (by the caller's transaction, when it has
    one: an exception there rolls the claim back, and a later claim hands the events out again).

    On PostgreSQL, a row locked and then committed by another worker after our statement started
    is locked by us but its ``EventSeen`` row was invisible to our statement's snapshot: the second
    query (a new snapshot) sees it. MariaDB and MySQL lock the same way (the locking query joins
    no table, so that only event rows are locked: see ``backends``), and the second query sees
    what other claims committed under READ COMMITTED, Django's default there. SQLite has no row
    locks: its database write lock serialises the claims (a second claimer waits, or gets
    "database is locked" after the timeout), so an event is never handed out twice there either.
    """
    locked = lock_own_rows(events, skip_locked=True)
    with native_time_loading(events.db):
        rows = list(locked if limit is None else locked.order_by("time", "id")[:limit])
    seen_since = EventSeen.objects.using(events.db).filter(medium_id=medium.pk)
    seen: set[int] = set()
    for condition in id_filters("event_id", [pk_of(row) for row in rows], events.db):
        seen.update(seen_since.filter(condition).values_list("event_id", flat=True))
    return [row for row in rows if pk_of(row) not in seen]
