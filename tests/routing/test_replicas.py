"""Reads may go to a read replica, through the routers or ``using()``; seen marks, claims and
read marks always go to the primary (the routers' ``db_for_write``).

The replica is a second connection to the test database (``tests/settings.py``); the router
(``tests/routers.py``) sends reads to it inside ``reads_from_replica()``. The tests commit
(``transaction=True``) so that both connections see the data.
"""

from __future__ import annotations

import contextvars
import importlib.util
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.core.checks import run_checks
from django.db import connections
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from entity_event.delivery import deliver_batch
from entity_event.models import Delivery, Event, EventSeen, ReadState
from tests.routers import reads_from_replica
from tests.worlds import newsfeed_world

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica"])


@contextmanager
def queries_by_database():
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections["replica"]) as replica,
    ):
        yield primary, replica


def statements(captured) -> list[str]:
    return [query["sql"].lstrip("(").split()[0].upper() for query in captured.captured_queries]


def writes(captured) -> list[str]:
    """The statements that write or lock rows."""
    return [
        query["sql"]
        for query in captured.captured_queries
        if query["sql"].split()[0].upper() in {"INSERT", "UPDATE", "DELETE"} or "FOR UPDATE" in query["sql"]
    ]


READS = {
    "events()": lambda world: list(world.email.events()),
    "entity_events()": lambda world: list(world.email.entity_events(world.alice)),
    "entity_events(read=False)": lambda world: list(world.email.entity_events(world.alice, read=False)),
    "events_targets()": lambda world: world.email.events_targets(),
    "unread_count()": lambda world: world.email.unread_count(world.alice),
}


@pytest.mark.parametrize("read", READS.values(), ids=READS.keys())
def test_reads_go_where_the_routers_send_them(world, read):
    expected = read(world)
    with reads_from_replica(), queries_by_database() as (primary, replica):
        assert read(world) == expected
    assert expected
    assert statements(primary) == []
    assert "SELECT" in statements(replica)
    assert writes(replica) == []


def test_using_chooses_the_database_of_a_feed(world):
    expected = list(world.email.entity_events(world.alice))
    with queries_by_database() as (primary, replica):
        assert list(world.email.entity_events(world.alice).using("replica")) == expected
    assert (statements(primary), statements(replica)) == ([], ["SELECT"])


def test_rendering_reads_where_the_events_were_read(photo_source):
    feed = newsfeed_world([photo_source], "<b>{{ text }}</b>", "Team", {"Alice": ("Team",)})
    Event.objects.create_event(source=photo_source, actors=[], context={"text": "hello"})
    with reads_from_replica(), queries_by_database() as (primary, replica):
        events = list(feed.medium.entity_events(feed.members["Alice"]))
        rendered = feed.medium.render(events)
    assert list(rendered.values()) == [("hello", "<b>hello</b>")]
    assert [event._state.db for event in events] == ["replica"]
    assert statements(primary) == []
    assert "SELECT" in statements(replica)
    assert writes(replica) == []


WRITES = {
    "claim": lambda world: world.email.events_targets(seen=False, mark_seen=True),
    "events(mark_seen=True)": lambda world: world.email.events(mark_seen=True),
    "entity_events(mark_seen=True)": lambda world: world.email.entity_events(world.alice, mark_seen=True),
    "entity_events(seen=False, mark_seen=True)": lambda world: world.email.entity_events(
        world.alice, seen=False, mark_seen=True
    ),
    "EventQuerySet.mark_seen": lambda world: Event.objects.all().mark_seen(world.email),
}


@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
def test_seen_marks_and_claims_go_to_the_primary(world, write):
    seen_before = EventSeen.objects.count()
    with reads_from_replica(), queries_by_database() as (primary, replica):
        write(world)
    assert statements(replica) == []
    assert "INSERT" in statements(primary)
    assert EventSeen.objects.count() > seen_before


def test_a_delivery_batch_runs_on_the_primary(world):
    sent = []
    with reads_from_replica(), queries_by_database() as (primary, replica):
        report = deliver_batch(world.email, lambda batch: sent.extend(batch.items))
    assert report.claimed and report.sent == len(Delivery.objects.all()) > 0
    assert sent
    assert statements(replica) == []


def test_events_are_created_on_the_primary(world):
    with reads_from_replica(), queries_by_database() as (primary, replica):
        Event.objects.create_event(source=world.photo, actors=[world.alice], uuid="created")
        Event.objects.create_events([{"source": world.photo, "actors": [world.bob], "uuid": "more"}])
    assert statements(replica) == []
    # The rows go in by INSERT, or by COPY on PostgreSQL.
    assert {"INSERT", "COPY"} & set(statements(primary))
    assert Event.objects.filter(uuid__in=["created", "more"]).count() == 2


READ_MARKS = {
    "mark_read(entity)": lambda world, ids: world.email.mark_read(world.alice),
    "mark_read(entity, events)": lambda world, ids: world.email.mark_read(world.alice, ids),
    "mark_unread(entity, events)": lambda world, ids: world.email.mark_unread(world.alice, ids),
}


@pytest.mark.parametrize("write", READ_MARKS.values(), ids=READ_MARKS.keys())
def test_read_marks_go_to_the_primary(world, write):
    ids = list(world.email.entity_events(world.alice).values_list("pk", flat=True))
    assert ids
    with reads_from_replica(), queries_by_database() as (primary, replica):
        write(world, ids)
    assert statements(replica) == []
    assert ReadState.objects.exists()


def test_the_replica_settings_of_the_docs(world, settings):
    """docs/examples/replica_settings.py, on the test database's two connections."""
    path = Path(__file__).resolve().parents[2] / "docs" / "examples" / "replica_settings.py"
    spec = importlib.util.spec_from_file_location("replica_settings", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    assert set(example.DATABASES) == set(settings.DATABASES)
    assert "entity_event.middleware.ReadYourWritesMiddleware" in example.MIDDLEWARE
    names = [
        "DATABASE_ROUTERS",
        "ENTITY_EVENT_READ_YOUR_WRITES_SECONDS",
        "ENTITY_EVENT_REPLICA_RETRY_SECONDS",
    ]
    with override_settings(**{name: getattr(example, name) for name in names}):
        assert [message.id for message in run_checks() if message.id.startswith("entity_event")] == []
        with queries_by_database() as (primary, replica):
            feed = contextvars.Context().run(lambda: list(world.email.entity_events(world.alice)))
        assert feed
        assert (statements(primary), statements(replica)) == ([], ["SELECT"])
        with queries_by_database() as (primary, replica):
            claimed = world.email.events_targets(seen=False, mark_seen=True)
        assert claimed
        assert statements(replica) == []
        assert EventSeen.objects.using("default").count() >= len(claimed)
