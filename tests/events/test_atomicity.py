"""Event creation is all or nothing: a failure at any point of ``create_events`` leaves no event
and no actor behind, and nothing is ever visible to other connections before the commit.

tests/events/test_create_event.py already checks bad actor ids, contexts that are not JSON, and an
actor INSERT that the database refuses. These tests use real transactions (``transaction=True``)
and add failures raised by the database itself: at COMMIT (a deferred foreign key, after another
connection deleted an actor), and in the middle of the transaction after the actor rows were
written. The faults are injected at chosen statements (tests/faults.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import IntegrityError, transaction

from entity_event.models import Event, EventActor
from tests.entities import make_entity
from tests.faults import after_statement, before_statement, inserts_into, on_another_connection

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]


def counts_seen_by_another_connection() -> tuple[int, int]:
    """(events, actors) as a separate connection to the same database sees them right now."""
    [counts] = on_another_connection(
        "SELECT (SELECT COUNT(*) FROM entity_event_event), (SELECT COUNT(*) FROM entity_event_eventactor)"
    )
    return tuple(counts)


@contextmanager
def fail_after_the_actor_insert(observed: list[tuple[int, int]] | None = None) -> Iterator[None]:
    """Right after the actor INSERT has run, the database raises an error inside the same
    transaction: a second row for an actor just written breaks the unique constraint.
    ``observed`` receives what another connection sees meanwhile."""
    actors_before = EventActor.objects.count()

    def duplicate_an_actor() -> None:
        assert EventActor.objects.count() > actors_before  # written, in our transaction
        if observed is not None:
            observed.append(counts_seen_by_another_connection())
        written = EventActor.objects.order_by("-pk").first()
        EventActor.objects.create(event_id=written.event_id, entity_id=written.entity_id)

    with after_statement(inserts_into("entity_event_eventactor"), duplicate_an_actor) as inserts:
        yield
    assert len(inserts) == 1


def test_a_database_error_after_the_actors_were_written_rolls_everything_back(photo_source):
    alice, bob = make_entity("Alice"), make_entity("Bob")
    with fail_after_the_actor_insert(), pytest.raises(IntegrityError):
        Event.objects.create_events([{"source": photo_source, "actors": [alice, bob]}] * 5)
    assert not Event.objects.exists()
    assert not EventActor.objects.exists()
    # The connection is usable again: the failed transaction is over.
    assert Event.objects.create_event(source=photo_source, actors=[alice]) is not None


def test_an_actor_deleted_before_the_commit_fails_the_commit_and_writes_nothing(photo_source):
    """The actors are checked, then another writer deletes one of them before our commit: the
    deferred foreign key fails at COMMIT with an IntegrityError, and nothing of ours remains."""
    alice, bob = make_entity("Alice"), make_entity("Bob")

    def another_writer_deletes_bob() -> None:  # committed at once, before our first INSERT
        on_another_connection("DELETE FROM entity_entity WHERE id = %s", [bob.pk])

    with (
        before_statement(inserts_into("entity_event_event"), another_writer_deletes_bob) as inserts,
        pytest.raises(IntegrityError),
    ):
        Event.objects.create_events([{"source": photo_source, "actors": [alice, bob]}] * 3)
    assert inserts
    assert not Event.objects.exists()
    assert not EventActor.objects.exists()


def test_a_failed_call_inside_an_outer_transaction_leaves_it_usable(photo_source):
    """create_events runs in a savepoint when the caller has a transaction open: catching its
    error lets the caller go on and commit the rest."""
    alice = make_entity("Alice")
    with transaction.atomic():
        Event.objects.create_event(source=photo_source, uuid="first", actors=[alice])
        with pytest.raises(IntegrityError):
            Event.objects.create_event(source=photo_source, uuid="first", actors=[alice])
        with fail_after_the_actor_insert(), pytest.raises(IntegrityError):
            Event.objects.create_event(source=photo_source, uuid="doomed", actors=[alice])
        Event.objects.create_event(source=photo_source, uuid="second", actors=[alice])
    assert sorted(Event.objects.values_list("uuid", flat=True)) == ["first", "second"]
    assert EventActor.objects.count() == 2


@pytest.mark.database_server
def test_another_connection_never_sees_a_half_written_batch(photo_source):
    alice, bob = make_entity("Alice"), make_entity("Bob")
    observed: list[tuple[int, int]] = []
    with fail_after_the_actor_insert(observed), pytest.raises(IntegrityError):
        Event.objects.create_events([{"source": photo_source, "actors": [alice, bob]}] * 4)
    assert observed == [(0, 0)]  # while the events and actors were written, but not committed
    assert counts_seen_by_another_connection() == (0, 0)


@pytest.mark.database_server
def test_another_connection_sees_events_and_actors_together_after_the_commit(photo_source):
    alice, bob = make_entity("Alice"), make_entity("Bob")
    observed: list[tuple[int, int]] = []

    def events_or_actors(sql: str) -> bool:
        return inserts_into("entity_event_event")(sql) or inserts_into("entity_event_eventactor")(sql)

    def look() -> None:
        observed.append(counts_seen_by_another_connection())

    with after_statement(events_or_actors, look, times=2) as inserts:
        Event.objects.create_events([{"source": photo_source, "actors": [alice, bob]}] * 4)
    assert [re.split('["`]', sql)[1] for sql in inserts] == ["entity_event_event", "entity_event_eventactor"]
    assert observed == [(0, 0), (0, 0)]  # after each INSERT, before the commit
    assert counts_seen_by_another_connection() == (4, 8)
