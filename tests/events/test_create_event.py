"""``Event.objects.create_event`` and ``create_events``: every form, bad input, query counts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.db import IntegrityError, OperationalError, connection
from django.db.models.signals import post_save

from entity_event.models import Event, EventActor, Source
from entity_event.timestamps import never_expires
from tests.entities import make_entity
from tests.faults import after_statement, failing_statement, inserts_into, selects_from

pytestmark = pytest.mark.django_db


def actor_ids(event: Event) -> set[int]:
    return set(EventActor.objects.filter(event=event).values_list("entity_id", flat=True))


def assert_nothing_written() -> None:
    assert not Event.objects.exists()
    assert not EventActor.objects.exists()


class TestCreateEvent:
    def test_the_quickstart_call(self, photo_source, alice, bob):
        event = Event.objects.create_event(
            source=photo_source,
            actors=[alice, bob],
            context={"photo_owner": 7, "photo_location": "Paris"},
        )
        event.refresh_from_db()
        assert event.source == photo_source
        assert event.context == {"photo_owner": 7, "photo_location": "Paris"}
        assert actor_ids(event) == {alice.id, bob.id}
        assert event.time_expires == never_expires()
        assert abs(event.time - datetime.now(UTC)) < timedelta(minutes=1)

    def test_actors_as_ids_and_mixed(self, photo_source, alice, bob):
        by_ids = Event.objects.create_event(source=photo_source, actors=[alice.id, bob.id])
        mixed = Event.objects.create_event(source=photo_source, actors=(alice, bob.id))
        assert actor_ids(by_ids) == actor_ids(mixed) == {alice.id, bob.id}

    def test_a_repeated_actor_is_stored_once(self, photo_source, alice):
        event = Event.objects.create_event(source=photo_source, actors=[alice, alice.id, alice])
        assert EventActor.objects.filter(event=event).count() == 1

    def test_inactive_entities_can_be_actors(self, photo_source):
        retired = make_entity("Retired", is_active=False)
        event = Event.objects.create_event(source=photo_source, actors=[retired])
        assert actor_ids(event) == {retired.id}

    def test_no_actors(self, photo_source):
        event = Event.objects.create_event(source=photo_source)
        assert actor_ids(event) == set()
        assert event.context == {}

    def test_actors_may_be_a_queryset(self, photo_source, alice, bob):
        from entity.models import Entity

        event = Event.objects.create_event(source=photo_source, actors=Entity.objects.all())
        assert actor_ids(event) == {alice.id, bob.id}

    def test_source_as_id(self, photo_source):
        event = Event.objects.create_event(source=photo_source.id)
        assert Event.objects.get().source == photo_source == event.source

    def test_explicit_fields(self, photo_source):
        when = datetime(2026, 5, 1, 12, tzinfo=UTC)
        expires = datetime(2026, 6, 1, tzinfo=UTC)
        event = Event.objects.create_event(source=photo_source, uuid="u-1", time=when, time_expires=expires)
        event.refresh_from_db()
        assert (event.uuid, event.time, event.time_expires) == ("u-1", when, expires)

    def test_a_uuid_object_is_stored_as_hex(self, photo_source):
        value = uuid.uuid4()
        assert Event.objects.create_event(source=photo_source, uuid=value).uuid == value.hex

    def test_generated_uuids_are_unique(self, photo_source):
        first = Event.objects.create_event(source=photo_source)
        second = Event.objects.create_event(source=photo_source)
        assert first.uuid and second.uuid and first.uuid != second.uuid
        assert Event.objects.count() == 2

    def test_time_expires_none_means_never(self, photo_source):
        event = Event.objects.create_event(source=photo_source, time_expires=None)
        assert event.time_expires == never_expires()

    def test_context_with_dates_and_decimals_is_stored_as_json(self, photo_source):
        from decimal import Decimal

        event = Event.objects.create_event(
            source=photo_source, context={"when": datetime(2026, 1, 1, tzinfo=UTC), "x": Decimal("1.5")}
        )
        event.refresh_from_db()
        assert event.context == {"when": "2026-01-01T00:00:00Z", "x": "1.5"}


class TestDuplicates:
    def test_ignored_duplicate_returns_none_and_writes_nothing(self, photo_source, alice, bob):
        first = Event.objects.create_event(source=photo_source, uuid="once", actors=[alice])
        again = Event.objects.create_event(
            source=photo_source, uuid="once", actors=[bob], ignore_duplicates=True
        )
        assert again is None
        assert list(Event.objects.all()) == [first]
        assert actor_ids(first) == {alice.id}

    def test_duplicate_without_ignore_raises_and_writes_nothing(self, photo_source, alice):
        Event.objects.create_event(source=photo_source, uuid="once")
        with pytest.raises(IntegrityError):
            Event.objects.create_event(source=photo_source, uuid="once", actors=[alice])
        assert Event.objects.count() == 1
        assert not EventActor.objects.exists()

    def test_create_events_with_new_and_existing_uuids(self, photo_source, alice, bob):
        existing = Event.objects.create_event(source=photo_source, uuid="old")
        results = Event.objects.create_events(
            [
                {"source": photo_source, "uuid": "new-1", "actors": [alice]},
                {"source": photo_source, "uuid": "old", "actors": [bob], "ignore_duplicates": True},
                {"source": photo_source, "uuid": "new-2", "actors": [bob], "ignore_duplicates": True},
            ]
        )
        assert [event and event.uuid for event in results] == ["new-1", None, "new-2"]
        assert actor_ids(results[0]) == {alice.id}
        assert actor_ids(results[2]) == {bob.id}
        assert actor_ids(existing) == set()

    def test_a_uuid_repeated_in_one_batch(self, photo_source):
        results = Event.objects.create_events(
            [
                {"source": photo_source, "uuid": "twice"},
                {"source": photo_source, "uuid": "twice", "ignore_duplicates": True},
            ]
        )
        assert results[0].uuid == "twice" and results[1] is None
        with pytest.raises(IntegrityError, match="duplicate uuid 'again'"):
            Event.objects.create_events([{"source": photo_source, "uuid": "again"}] * 2)
        assert Event.objects.count() == 1

    def test_every_event_a_duplicate(self, photo_source):
        Event.objects.create_event(source=photo_source, uuid="a")
        assert Event.objects.create_events(
            [{"source": photo_source, "uuid": "a", "ignore_duplicates": True}]
        ) == [None]

    @pytest.mark.reliability
    def test_a_writer_that_wins_the_race_makes_ours_a_duplicate(self, photo_source, alice):
        """Another writer inserts our uuid between our check and our INSERT: we retry without it."""

        def competitor_commits() -> None:  # right after our first look
            Event.objects.bulk_create([Event(source=photo_source, uuid="raced")])

        with after_statement(selects_from("entity_event_event", "uuid"), competitor_commits) as lookups:
            results = Event.objects.create_events(
                [
                    {"source": photo_source, "uuid": "raced", "actors": [alice], "ignore_duplicates": True},
                    {"source": photo_source, "uuid": "fresh", "actors": [alice], "ignore_duplicates": True},
                ]
            )
        assert results[0] is None and results[1].uuid == "fresh"
        assert len(lookups) == 2  # the INSERT failed, we looked again
        assert sorted(Event.objects.values_list("uuid", flat=True)) == ["fresh", "raced"]
        assert actor_ids(results[1]) == {alice.id}
        assert not EventActor.objects.filter(event__uuid="raced").exists()

    def test_a_non_ignored_duplicate_among_ignored_ones_raises(self, photo_source):
        Event.objects.create_event(source=photo_source, uuid="taken")
        with pytest.raises(IntegrityError):
            Event.objects.create_events(
                [
                    {"source": photo_source, "uuid": "new", "ignore_duplicates": True},
                    {"source": photo_source, "uuid": "taken"},
                ]
            )
        assert list(Event.objects.values_list("uuid", flat=True)) == ["taken"]


class TestBadInput:
    """Each bad argument raises an error naming it, before anything is written."""

    @pytest.mark.parametrize(
        ("kwargs", "error", "message"),
        [
            ({"colour": "red"}, TypeError, "unexpected keyword argument 'colour'"),
            ({"source": None}, TypeError, "source argument is required"),
            ({"source": "photo-tag"}, TypeError, "source: expected a Source or an integer id, got str"),
            ({"source": True}, TypeError, "source: expected a Source"),
            ({"context": ["a"]}, TypeError, "context must be a dict, got list"),
            ({"context": {"x": object()}}, TypeError, "context cannot be stored as JSON"),
            ({"uuid": ""}, TypeError, "uuid must be a non-empty string"),
            ({"uuid": 12}, TypeError, "uuid must be a non-empty string or a UUID, got 12"),
            ({"time": "2026-01-01"}, TypeError, "time must be a datetime or None, got str"),
            ({"time_expires": 5}, TypeError, "time_expires must be a datetime or None, got int"),
            ({"actors": "alice"}, TypeError, "actors must be a list"),
            ({"actors": 3}, TypeError, "actors must be a list"),
            ({"actors": [1.5]}, TypeError, "actors: expected an Entity or an integer id, got float"),
            ({"actors": [987654]}, ValueError, r"actors: no Entity with id\(s\) \[987654\]"),
        ],
    )
    def test_create_event(self, photo_source, kwargs, error, message):
        with pytest.raises(error, match=message):
            Event.objects.create_event(**{"source": photo_source, **kwargs})
        assert_nothing_written()

    def test_create_events_names_unknown_arguments(self, photo_source):
        # create_event has a real signature; the dicts of create_events are checked against it.
        with pytest.raises(TypeError, match=r"create_events\[1\]: unexpected argument\(s\) colour, size"):
            Event.objects.create_events(
                [{"source": photo_source}, {"source": photo_source, "size": 1, "colour": 2}]
            )
        assert_nothing_written()

    def test_source_id_that_does_not_exist(self, photo_source):
        with pytest.raises(ValueError, match=r"source: no Source with id\(s\) \[424242\]"):
            Event.objects.create_event(source=424242)
        assert_nothing_written()

    def test_unsaved_source_and_actor(self, photo_source, source_group):
        from entity.models import Entity

        with pytest.raises(ValueError, match="source: the Source .* is not saved"):
            Event.objects.create_event(source=Source(name="x", group=source_group))
        with pytest.raises(ValueError, match="actors: the Entity .* is not saved"):
            Event.objects.create_event(source=photo_source, actors=[Entity(display_name="ghost")])
        assert_nothing_written()

    def test_one_bad_event_in_a_batch_writes_none(self, photo_source, alice):
        batch = [{"source": photo_source, "actors": [alice]} for _ in range(3)]
        batch.append({"source": photo_source, "actors": [alice.id, 999999]})
        with pytest.raises(ValueError, match="999999"):
            Event.objects.create_events(batch)
        with pytest.raises(TypeError, match=r"create_events\[1\]: expected a dict"):
            Event.objects.create_events([{"source": photo_source}, ["not", "a", "dict"]])
        assert_nothing_written()

    @pytest.mark.reliability
    def test_a_failure_inside_the_transaction_rolls_back_the_events(self, photo_source, alice):
        # The database refuses the actor INSERT, after the events were inserted.
        with (
            failing_statement(inserts_into("entity_event_eventactor"), OperationalError("disk full")),
            pytest.raises(OperationalError, match="disk full"),
        ):
            Event.objects.create_events([{"source": photo_source, "actors": [alice]}] * 3)
        assert_nothing_written()

    def test_empty_batch(self, django_assert_num_queries):
        with django_assert_num_queries(0):
            assert Event.objects.create_events([]) == []


class TestQueryCounts:
    """The number of queries of create_events does not depend on how many events or actors."""

    def batch(self, source, actors, size, ignore_duplicates=False):
        return [
            {
                "source": source,
                "actors": actors,
                "context": {"n": n},
                "ignore_duplicates": ignore_duplicates,
            }
            for n in range(size)
        ]

    @pytest.mark.parametrize("ignore_duplicates", [False, True])
    def test_500_events_with_2_actors_cost_the_same_as_5(self, photo_source, alice, bob, ignore_duplicates):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        counts = {}
        for size in (5, 500):
            with CaptureQueriesContext(connection) as captured:
                Event.objects.create_events(self.batch(photo_source, [alice, bob], size, ignore_duplicates))
            counts[size] = len(captured)
        assert counts[5] == counts[500]
        assert Event.objects.count() == 505
        assert EventActor.objects.count() == 1010

    def test_exact_counts(self, photo_source, alice, bob, django_assert_num_queries):
        # The test runs inside a transaction, so create_events' own transaction is a savepoint
        # (SAVEPOINT + RELEASE); outside tests it is BEGIN/COMMIT, which are not counted. The
        # rows go in with one INSERT per table, or on PostgreSQL by one COPY per table after
        # one query that draws the events' ids.
        ids = 1 if connection.vendor == "postgresql" else 0
        # savepoint + events + actors + release; actors given as instances are not looked up
        with django_assert_num_queries(4 + ids):
            Event.objects.create_events(self.batch(photo_source, [alice, bob], 50))
        # actors given as ids: + their lookup
        with django_assert_num_queries(5 + ids):
            Event.objects.create_events(self.batch(photo_source, [alice.id, bob.id], 50))
        # + the lookup of existing uuids, and the savepoint around the events (2 statements)
        with django_assert_num_queries(7 + ids):
            Event.objects.create_events(self.batch(photo_source, [alice, bob], 50, ignore_duplicates=True))
        # source check + savepoint + events + release; no actors, no write of actors
        with django_assert_num_queries(4 + ids):
            Event.objects.create_events([{"source": photo_source.id} for _ in range(50)])


def test_create_event_sends_no_per_row_signals(photo_source, alice):
    """Bulk creation skips save() and its signals, as bulk_create always does; documented."""
    handler = mock.Mock()
    post_save.connect(handler, sender=Event)
    try:
        Event.objects.create_event(source=photo_source, actors=[alice])
    finally:
        post_save.disconnect(handler, sender=Event)
    handler.assert_not_called()
