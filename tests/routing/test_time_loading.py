"""How the large reads load their times on PostgreSQL with psycopg (3).

Django reads ``timestamptz`` through a loader of its own that derives from psycopg's pure-Python
one, so every time of every row goes through Python (Django ticket #36960): with two times per
event, that was about a fifth of a large ``events_targets()``. When the connection reads in UTC
(``USE_TZ`` on, no ``TIME_ZONE`` of its own), psycopg's own loader (in C with its binary package)
gives the same values, and the cursors of ``events_targets()`` and of the marking calls use it.
Elsewhere (another time zone, ``USE_TZ`` off, other databases and drivers) Django's stays.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from entity_event.models import Event, Medium, Subscription

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db]

NOW = timezone.now()


def timestamptz_loader(cursor: Any) -> type:
    """The loader a psycopg cursor reads ``timestamptz`` text with."""
    oid = connection.Database.postgres.types["timestamptz"].oid
    return cursor.adapters.get_loader(oid, 0)


@contextmanager
def loaders_of_the_events_reads() -> Iterator[list[type]]:
    """The loaders that the statements reading events used, in order."""
    used: list[type] = []

    def record(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        result = execute(sql, params, many, context)
        table = connection.ops.quote_name(Event._meta.db_table)
        if sql.startswith("SELECT") and f"FROM {table}" in sql:
            used.append(timestamptz_loader(context["cursor"].cursor))
        return result

    with connection.execute_wrapper(record):
        yield used


@pytest.fixture
def psycopg_loader() -> type:
    if not hasattr(connection.Database, "adapters"):
        pytest.skip("psycopg2 converts times in C already")
    return timestamptz_loader(connection.Database)


@pytest.fixture
def subscribed(photo_source, email, alice):
    """Email, created a month ago (a medium shows no event older than itself), delivering the
    photo source's two events to alice."""
    Medium.objects.filter(pk=email.pk).update(time_created=NOW - timedelta(days=30))
    email.refresh_from_db()
    Subscription.objects.create(medium=email, source=photo_source, entity=alice, only_following=False)
    for days in (1, 2):
        Event.objects.create_event(
            source=photo_source, time=NOW - timedelta(days=days), time_expires=NOW + timedelta(days=days)
        )
    return email


def stored_times() -> list[tuple]:
    return list(Event.objects.order_by("-time").values_list("time", "time_expires"))


def times_of(result) -> list[tuple]:
    return [(event.time, event.time_expires) for event, _ in result]


def test_events_targets_reads_its_times_with_psycopg_s_loader(subscribed, psycopg_loader):
    with loaders_of_the_events_reads() as used:
        result = subscribed.events_targets()
    assert used == [psycopg_loader]
    # The same values as Django's loader gives, UTC itself included.
    assert times_of(result) == stored_times()
    assert all(time.tzinfo is UTC for pair in times_of(result) for time in pair)


def test_the_marking_calls_read_their_times_with_psycopg_s_loader(subscribed, psycopg_loader):
    with loaders_of_the_events_reads() as used:
        claimed = subscribed.events_targets(seen=False, mark_seen=True)
        marked = list(subscribed.events(mark_seen=True))
    # The claim's locking read and the mark's read; each re-check reads no event.
    assert used == [psycopg_loader, psycopg_loader]
    assert times_of(claimed) == stored_times()
    assert [(event.time, event.time_expires) for event in marked] == stored_times()


def test_other_reads_keep_django_s_loader(subscribed, psycopg_loader):
    subscribed.events_targets()
    with loaders_of_the_events_reads() as used:
        list(Event.objects.all())
        list(subscribed.events())
    assert len(used) == 2
    assert psycopg_loader not in used
    assert connection.execute_wrappers == []


@override_settings(USE_TZ=False)
def test_without_use_tz_django_s_loader_reads_naive_times(subscribed, psycopg_loader):
    with loaders_of_the_events_reads() as used:
        result = subscribed.events_targets()
    assert psycopg_loader not in used
    assert times_of(result) == stored_times()
    assert all(time.tzinfo is None for pair in times_of(result) for time in pair)


@contextmanager
def database_time_zone(name: str) -> Iterator[None]:
    """The database's own ``TIME_ZONE`` setting, as Django's tests of time zones change it."""
    settings_dict = connection.settings_dict
    previous = settings_dict["TIME_ZONE"]

    def forget() -> None:
        """Drop the connection's cached time zone."""
        for cached in ("timezone", "timezone_name"):
            getattr(connection, cached)  # computed first, so that it can be deleted
            delattr(connection, cached)

    settings_dict["TIME_ZONE"] = name
    forget()
    try:
        yield
    finally:
        settings_dict["TIME_ZONE"] = previous
        forget()


def test_with_a_database_time_zone_django_s_loader_stays(subscribed, psycopg_loader):
    with database_time_zone("Europe/Paris"), loaders_of_the_events_reads() as used:
        result = subscribed.events_targets()
        expected = stored_times()
    assert used and psycopg_loader not in used
    assert times_of(result) == expected
