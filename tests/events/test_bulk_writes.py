"""How new events reach the database (``entity_event.models.bulk_rows``, through
``entity_event.db.bulk_writes``): ``COPY`` on PostgreSQL, ``INSERT ... RETURNING`` elsewhere,
with the same values read back either way."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import NotSupportedError, connection
from django.db.models.signals import post_init, pre_init
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from entity_event.db.bulk_writes import copy_text, copy_values
from entity_event.models import Event, EventActor
from entity_event.models.bulk_rows import EVENT_COLUMNS

pytestmark = pytest.mark.django_db

#: Characters that COPY's text format would read as separators or escapes.
AWKWARD = "tab\there, line\nbreak, return\r, back\\slash, \\N, \\., quote\" ' and é 🎉"


def test_the_positional_order_of_event_fields():
    # insert_events builds events from positional values in this order.
    assert tuple(field.attname for field in Event._meta.concrete_fields) == EVENT_COLUMNS


def test_awkward_text_is_stored_as_given(photo_source, alice):
    context = {AWKWARD: [AWKWARD, {"nested \\ key": "\\u0041 is not A"}], "n": 1.5}
    event = Event.objects.create_event(source=photo_source, uuid=AWKWARD, context=context, actors=[alice])
    stored = Event.objects.get(pk=event.pk)
    assert stored.uuid == AWKWARD
    assert stored.context == context
    assert list(stored.eventactor_set.values_list("entity_id", flat=True)) == [alice.id]


def test_ids_and_state_are_those_of_saved_rows(photo_source, alice, bob):
    events = Event.objects.create_events(
        [{"source": photo_source, "actors": [alice, bob], "uuid": f"e{n}"} for n in range(3)]
    )
    assert [event.pk for event in events] == list(Event.objects.order_by("uuid").values_list("pk", flat=True))
    assert all(not event._state.adding and event._state.db == "default" for event in events)
    assert EventActor.objects.filter(event__in=events).count() == 6


@override_settings(TIME_ZONE="America/Chicago")
def test_a_naive_time_is_a_time_of_the_default_time_zone(photo_source):
    # As Django stores it (with its warning): noon in Chicago, 17:00 in UTC in May.
    with pytest.warns(RuntimeWarning, match="naive datetime"):
        event = Event.objects.create_event(source=photo_source, time=datetime(2026, 5, 1, 12))
    assert Event.objects.get(pk=event.pk).time == datetime(2026, 5, 1, 17, tzinfo=UTC)


def test_aware_times_in_any_zone_are_the_instants_they_are(photo_source):
    moment = datetime(2026, 5, 1, 12, 30, 15, 123456, tzinfo=ZoneInfo("Asia/Kolkata"))
    event = Event.objects.create_event(source=photo_source, time=moment, time_expires=moment)
    stored = Event.objects.get(pk=event.pk)
    assert stored.time == stored.time_expires == moment


@pytest.mark.postgresql
def test_postgresql_writes_by_copy(photo_source, alice):
    with CaptureQueriesContext(connection) as captured:
        Event.objects.create_events([{"source": photo_source, "actors": [alice]}] * 2)
    statements = [query["sql"].split(" (")[0] for query in captured if "COPY" in query["sql"]]
    assert statements == ['COPY "entity_event_event"', 'COPY "entity_event_eventactor"']


def test_the_events_returned_are_those_django_builds(photo_source, alice):
    # Built without Model.__init__ when nothing listens: the same fields, values and state.
    events = Event.objects.create_events(
        [{"source": photo_source, "actors": [alice], "context": {"n": n}, "uuid": f"u{n}"} for n in range(3)]
    )
    for event in events:
        built = Event(event.pk, photo_source.pk, event.context, event.time, event.time_expires, event.uuid)
        assert {**vars(event), "_state": None} == {**vars(built), "_state": None}
        assert (event._state.adding, event._state.db) == (False, "default")
        assert event.source == photo_source
        event.context = {"changed": True}
        event.save()
        assert Event.objects.get(pk=event.pk).context == {"changed": True}


def test_init_signals_are_sent_to_their_receivers(photo_source):
    # With a receiver, each event is built by Model.__init__, which sends both signals.
    received = []

    def receiver(signal, sender, **kwargs):
        received.append((signal, kwargs.get("instance")))

    pre_init.connect(receiver, sender=Event)
    post_init.connect(receiver, sender=Event)
    try:
        events = Event.objects.create_events([{"source": photo_source, "uuid": f"u{n}"} for n in range(3)])
    finally:
        pre_init.disconnect(receiver, sender=Event)
        post_init.disconnect(receiver, sender=Event)
    assert [signal for signal, _ in received] == [pre_init, post_init] * 3
    assert [instance for _, instance in received if instance is not None] == events


def test_an_init_of_its_own_builds_each_event(monkeypatch, photo_source):
    calls = []
    django_init = Event.__init__

    def own_init(self, *args, **kwargs):
        calls.append(args)
        django_init(self, *args, **kwargs)

    monkeypatch.setattr(Event, "__init__", own_init)
    events = Event.objects.create_events([{"source": photo_source, "uuid": f"u{n}"} for n in range(3)])
    assert len(calls) == 3
    assert sorted(event.uuid for event in events) == ["u0", "u1", "u2"]


def copy_statements(create):
    with CaptureQueriesContext(connection) as captured:
        create()
    return [query["sql"] for query in captured if query["sql"].startswith("COPY")]


@pytest.mark.postgresql
def test_psycopg_sends_the_events_in_the_binary_format(photo_source, alice):
    if connection.Database.__name__ != "psycopg":
        pytest.skip("psycopg2 writes COPY's text format")
    context = {AWKWARD: [AWKWARD, 1.5, None, True], "emoji": "🎉"}
    statements = copy_statements(
        lambda: Event.objects.create_event(source=photo_source, context=context, actors=[alice], uuid=AWKWARD)
    )
    assert statements[0].startswith('COPY "entity_event_event"')
    assert statements[0].endswith(" FROM STDIN (FORMAT BINARY)")
    assert Event.objects.get(uuid=AWKWARD).context == context


@pytest.mark.postgresql
@override_settings(USE_TZ=False)
def test_naive_times_are_sent_as_text(photo_source):
    # Binary timestamptz needs aware times: without USE_TZ the rows go as text, and a naive time
    # means the connection's time zone, as Django stores it.
    moment = datetime(2026, 5, 1, 12, 30)
    statements = copy_statements(lambda: Event.objects.create_event(source=photo_source, time=moment))
    assert statements[0].endswith(" FROM STDIN")
    assert Event.objects.get().time == moment


@pytest.mark.postgresql
@pytest.mark.parametrize("driver", ["psycopg", "psycopg2"])
def test_copy_with_either_driver(driver):
    # Straight through a connection of the driver itself, to the test database.
    # The test group installs both; the psycopg2 leg of tox has psycopg2 alone.
    module = pytest.importorskip(driver)
    settings = connection.settings_dict
    raw = module.connect(
        dbname=settings["NAME"],
        user=settings["USER"],
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        password=settings["PASSWORD"] or None,
    )
    moment = datetime(2026, 5, 1, 12, 30, 15, 123456, tzinfo=ZoneInfo("Asia/Kolkata"))
    try:
        cursor = raw.cursor()
        cursor.execute("CREATE TEMPORARY TABLE copied (n integer, text text, at timestamptz)")
        copy_text(cursor, "COPY copied (n, text) FROM STDIN", "1\tone\n2\ttwo\\tand a tab\n")
        rows = [(3, AWKWARD, moment), (4, "plain", moment)]
        copy_values(cursor, "COPY copied (n, text, at) FROM STDIN", rows)
        cursor.execute("SELECT n, text, at FROM copied ORDER BY n")
        assert cursor.fetchall() == [
            (1, "one", None),
            (2, "two\tand a tab", None),
            (3, AWKWARD, moment),
            (4, "plain", moment),
        ]
    finally:
        raw.close()


def test_elsewhere_the_events_go_in_by_insert_and_their_actors_by_executemany(photo_source, alice, bob):
    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL writes by COPY")
    arguments = [
        {"source": photo_source, "actors": [alice, bob][: n % 3], "context": {"n": n}, "uuid": f"u{n:03}"}
        for n in range(450)
    ]
    with CaptureQueriesContext(connection) as captured:
        events = Event.objects.create_events(arguments)
    inserts = [query["sql"] for query in captured if "INSERT" in query["sql"]]
    batch = connection.ops.bulk_batch_size(Event._meta.concrete_fields[1:], arguments)
    assert len(inserts) == -(-450 // batch) + 1
    assert all(sql.startswith("INSERT") and "RETURNING" in sql for sql in inserts[:-1])
    actor_rows = sum(n % 3 for n in range(450))
    table = connection.ops.quote_name("entity_event_eventactor")
    assert inserts[-1].startswith(f"{actor_rows} times: INSERT INTO {table}")  # one executemany
    stored = dict(Event.objects.values_list("uuid", "pk"))
    actors = set(EventActor.objects.values_list("event_id", "entity_id"))
    assert len(actors) == actor_rows
    for n, event in enumerate(events):
        assert (event.uuid, event.context, stored[event.uuid]) == (f"u{n:03}", {"n": n}, event.pk)
        assert all((event.pk, actor.pk) in actors for actor in [alice, bob][: n % 3])


def test_a_database_that_cannot_return_the_ids_is_refused(monkeypatch, photo_source):
    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL writes by COPY")
    # (A property on the class wins over a value cached on the instance.)
    monkeypatch.setattr(
        type(connection.features), "can_return_rows_from_bulk_insert", property(lambda self: False)
    )
    with pytest.raises(NotSupportedError, match="returns the ids of a multi-row INSERT"):
        Event.objects.create_events([{"source": photo_source}])
    assert not Event.objects.exists()
