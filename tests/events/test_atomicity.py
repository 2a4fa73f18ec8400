"""Event creation is all or nothing: a failure at any point of ``create_events`` leaves no event
and no actor behind, and nothing is ever visible to other connections before the commit.

tests/test_create_event.py already checks bad actor ids, contexts that are not JSON, and a Python
exception raised instead of the actor INSERT. These tests use real transactions
(``transaction=True``) and add failures raised by the database itself: at COMMIT (a deferred
foreign key), and in the middle of the transaction after the actor rows were written.
"""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import IntegrityError, connections, transaction
from django.db.models import QuerySet
from entity.models import Entity

from entity_event import creation
from entity_event.models import Event, EventActor
from tests.entities import make_entity

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]


def counts_seen_by_another_connection() -> tuple[int, int]:
    """(events, actors) as a separate connection to the same database sees them right now."""
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute(
                "SELECT (SELECT COUNT(*) FROM entity_event_event),"
                " (SELECT COUNT(*) FROM entity_event_eventactor)"
            )
            return tuple(cursor.fetchone())
    finally:
        other.close()


def fail_after_the_actor_insert(observed: list[tuple[int, int]] | None = None):
    """Patch the actor INSERT so that it runs, then the database raises an error inside the same
    transaction (a second, duplicate actor row breaks the unique constraint); ``observed``
    receives what another connection sees meanwhile."""
    real_bulk_create = QuerySet.bulk_create

    def insert_then_fail(queryset, objs, *args, **kwargs):
        created = real_bulk_create(queryset, objs, *args, **kwargs)
        if queryset.model is EventActor:
            ours = EventActor.objects.filter(event_id__in={actor.event_id for actor in created})
            assert ours.count() == len(created) > 0  # written, in our transaction
            if observed is not None:
                observed.append(counts_seen_by_another_connection())
            duplicate = EventActor(event_id=created[0].event_id, entity_id=created[0].entity_id)
            real_bulk_create(EventActor.objects.all(), [duplicate])
        return created

    return mock.patch.object(QuerySet, "bulk_create", insert_then_fail)


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
    real_check = creation._check_actors_exist

    def check_then_lose_bob(pending, using):
        real_check(pending, using)
        Entity.all_objects.filter(pk=bob.pk).delete(force=True)  # a real DELETE, not deactivation

    with (
        mock.patch.object(creation, "_check_actors_exist", check_then_lose_bob),
        pytest.raises(IntegrityError),
    ):
        Event.objects.create_events([{"source": photo_source, "actors": [alice, bob]}] * 3)
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


@pytest.mark.postgresql
def test_another_connection_never_sees_a_half_written_batch(photo_source):
    alice, bob = make_entity("Alice"), make_entity("Bob")
    observed: list[tuple[int, int]] = []
    with fail_after_the_actor_insert(observed), pytest.raises(IntegrityError):
        Event.objects.create_events([{"source": photo_source, "actors": [alice, bob]}] * 4)
    assert observed == [(0, 0)]  # while the events and actors were written, but not committed
    assert counts_seen_by_another_connection() == (0, 0)


@pytest.mark.postgresql
def test_another_connection_sees_events_and_actors_together_after_the_commit(photo_source):
    alice, bob = make_entity("Alice"), make_entity("Bob")
    real_bulk_create = QuerySet.bulk_create
    observed = []

    def insert_and_look(queryset, objs, *args, **kwargs):
        created = real_bulk_create(queryset, objs, *args, **kwargs)
        observed.append((queryset.model.__name__, counts_seen_by_another_connection()))
        return created

    with mock.patch.object(QuerySet, "bulk_create", insert_and_look):
        Event.objects.create_events([{"source": photo_source, "actors": [alice, bob]}] * 4)
    assert observed == [("Event", (0, 0)), ("EventActor", (0, 0))]
    assert counts_seen_by_another_connection() == (4, 8)
