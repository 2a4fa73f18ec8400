"""Values that one database stored and another refused, or that broke every later query: each is
now refused before any query, with the same error and message on every database (issue findings
"one event poisons every query" and "backend-dependent bad values")."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, timezone

import pytest
from django.test import override_settings

from entity_event.models import Event, EventActor
from entity_event.validation import MAX_CONTEXT_DEPTH, MAX_TIME, MIN_TIME

pytestmark = [pytest.mark.reliability, pytest.mark.django_db]

MINUS_5 = timezone(timedelta(hours=-5))
PLUS_5 = timezone(timedelta(hours=5))

#: ``datetime.max`` at -5 h is the year 10000 in UTC: PostgreSQL stored it, and from then on every
#: query reading the event raised "year 10000 is out of range". The year 1 at +5 h is the year 0.
OUT_OF_RANGE_TIMES = [
    pytest.param(datetime.max.replace(tzinfo=MINUS_5), id="max-at-minus-5h"),
    pytest.param(datetime.min.replace(tzinfo=PLUS_5), id="min-at-plus-5h"),
    pytest.param(datetime.max.replace(tzinfo=UTC), id="max-in-utc"),
    pytest.param(datetime.min.replace(tzinfo=UTC), id="min-in-utc"),
    pytest.param(MAX_TIME + timedelta(microseconds=1), id="just-after-max"),
    pytest.param(MIN_TIME - timedelta(microseconds=1), id="just-before-min"),
]


def nested(depth: int) -> dict:
    """A context whose dicts and lists nest ``depth`` levels deep (the context is level 1)."""
    value: object = "leaf"
    for level in range(depth - 1):
        value = [value] if level % 2 else {"next": value}
    return {"top": value}


def assert_nothing_written() -> None:
    assert not Event.objects.exists()
    assert not EventActor.objects.exists()


class TestTimes:
    @pytest.mark.parametrize("moment", OUT_OF_RANGE_TIMES)
    @pytest.mark.parametrize("name", ["time", "time_expires"])
    def test_create_event_refuses_before_any_query(
        self, photo_source, name, moment, django_assert_num_queries
    ):
        with (
            django_assert_num_queries(0),
            pytest.raises(ValueError, match=rf"\[0\]: {name} .* is out of range"),
        ):
            Event.objects.create_event(source=photo_source, **{name: moment})
        assert_nothing_written()
        # Nothing poisons the table: every query still reads it.
        Event.objects.create_event(source=photo_source)
        assert len(list(Event.objects.all())) == 1

    @pytest.mark.parametrize("moment", OUT_OF_RANGE_TIMES)
    @pytest.mark.parametrize("name", ["start_time", "end_time"])
    def test_query_filters_refuse_before_any_query(
        self, email, alice, name, moment, django_assert_num_queries
    ):
        calls = {
            "events": lambda: email.events(**{name: moment}),
            "entity_events": lambda: email.entity_events(alice, **{name: moment}),
            "events_targets": lambda: email.events_targets(**{name: moment}),
        }
        for method, call in calls.items():
            with (
                django_assert_num_queries(0),
                pytest.raises(ValueError, match=rf"{method}\(\): {name} .*out of range"),
            ):
                call()

    @pytest.mark.parametrize(
        "moment", [MIN_TIME, MAX_TIME, MIN_TIME.astimezone(PLUS_5), MAX_TIME.astimezone(MINUS_5)]
    )
    def test_the_limits_are_stored_and_read_back(self, photo_source, email, moment):
        event = Event.objects.create_event(source=photo_source, time=moment, time_expires=moment)
        stored = Event.objects.get(pk=event.pk)
        assert stored.time == stored.time_expires == moment
        assert list(email.events(start_time=MIN_TIME, end_time=MAX_TIME, include_expired=True)) == []

    @override_settings(TIME_ZONE="America/Chicago")
    def test_a_naive_time_is_checked_in_the_default_time_zone(self, photo_source):
        # Naive datetime.max in Chicago is 05:59 on 1 January 10000 in UTC.
        with pytest.raises(ValueError, match="time_expires 9999-12-31T23:59:59.999999 is out of range"):
            Event.objects.create_event(source=photo_source, time_expires=datetime.max)
        assert_nothing_written()

    @override_settings(USE_TZ=False, TIME_ZONE="America/Chicago")
    def test_without_time_zone_support_naive_times_are_checked_in_the_default_time_zone(self, photo_source):
        with pytest.raises(ValueError, match=r"time_expires 9999-12-31T23:59:59.999999 is out of range"):
            Event.objects.create_event(source=photo_source, time_expires=datetime.max)
        event = Event.objects.create_event(source=photo_source, time_expires=datetime(9999, 12, 30, 12))
        assert Event.objects.get(pk=event.pk).time_expires == datetime(9999, 12, 30, 12)


class TestStringsAndContexts:
    """Refused identically on every database with a ValueError naming the argument; PostgreSQL
    used to raise driver errors (ValueError, DataError) for these while SQLite stored them."""

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"uuid": "a\x00b"}, r"uuid cannot contain a NUL character"),
            ({"uuid": "a\ud800b"}, r"uuid cannot contain the lone surrogate '\\ud800'"),
            (
                {"context": {"x": "\udfff"}},
                r"context cannot be stored as JSON: it contains the lone surrogate",
            ),
            ({"context": {"\ud83d": 1}}, r"context cannot be stored as JSON: it contains the lone surrogate"),
            (
                {"context": {"x": [{"y": "\ud800"}]}},
                r"context cannot be stored as JSON: it contains the lone",
            ),
            ({"context": {"price": float("nan")}}, r"context cannot be stored as JSON: it contains nan"),
            ({"context": {"price": float("-inf")}}, r"context cannot be stored as JSON: it contains -inf"),
            (
                {"context": nested(5000)},
                rf"context .* nests dicts and lists more than {MAX_CONTEXT_DEPTH} levels deep",
            ),
            ({"context": nested(MAX_CONTEXT_DEPTH + 1)}, "context .* more than 20 levels deep"),
        ],
    )
    def test_refused_before_any_query(self, photo_source, kwargs, message, django_assert_num_queries):
        with django_assert_num_queries(0), pytest.raises(ValueError, match=rf"create_events\[0\]: {message}"):
            Event.objects.create_event(source=photo_source, **kwargs)
        assert_nothing_written()

    def test_a_value_the_encoder_refuses_is_a_value_error(self, photo_source):
        with pytest.raises(
            ValueError, match="context cannot be stored as JSON: JSON can't represent timezone-aware"
        ):
            Event.objects.create_event(source=photo_source, context={"at": time(12, tzinfo=UTC)})

    def test_a_context_that_refers_to_itself_is_refused(self, photo_source):
        context: dict = {}
        context["self"] = context
        with pytest.raises(ValueError, match="more than 20 levels deep"):
            Event.objects.create_event(source=photo_source, context=context)

    @pytest.mark.parametrize(
        "event_context",
        [
            nested(MAX_CONTEXT_DEPTH),
            {"emoji": "\U0001f600 \u00e9t\u00e9", "\U0001f600": ["\U0010ffff"]},  # surrogate pairs in JSON
            {"big": 10**30, "small": -(10**30), "tiny": 1e-300, "float": 123456.789},
            # More brackets than levels allowed, but shallow: wide, or brackets in strings.
            {"rows": [[1.5, row, {"cell": [row]}] for row in range(30)]},
            {"text": "[{" * 50, "[[[": "{{{"},
        ],
    )
    def test_what_is_accepted_reads_back_unchanged(self, photo_source, event_context):
        event = Event.objects.create_event(source=photo_source, context=event_context)
        assert Event.objects.get(pk=event.pk).context == event_context


class TestActors:
    @pytest.mark.parametrize(
        ("actors", "kind"),
        [(0, "int"), (False, "bool"), ("", "str"), (b"12", "bytes"), (3.0, "float"), ("{entity: 1}", "str")],
    )
    def test_falsy_and_scalar_actors_are_refused(self, photo_source, actors, kind):
        # 0, False and "" used to create an event with no actors.
        with pytest.raises(TypeError, match=rf"actors must be a list of Entity objects or ids, got {kind}"):
            Event.objects.create_event(source=photo_source, actors=actors)
        assert_nothing_written()

    def test_a_mapping_is_refused_instead_of_using_its_keys(self, photo_source, alice):
        with pytest.raises(TypeError, match="actors must be a list of Entity objects or ids, got dict"):
            Event.objects.create_event(source=photo_source, actors={alice: 1})
        assert_nothing_written()

    @pytest.mark.parametrize("make", [list, tuple, set, iter, lambda actors: (a for a in actors)])
    def test_any_other_iterable_is_accepted(self, photo_source, alice, bob, make):
        event = Event.objects.create_event(source=photo_source, actors=make([alice, bob.pk]))
        assert set(EventActor.objects.filter(event=event).values_list("entity_id", flat=True)) == {
            alice.pk,
            bob.pk,
        }

    def test_none_means_no_actors(self, photo_source):
        event = Event.objects.create_event(source=photo_source, actors=None)
        assert not EventActor.objects.filter(event=event).exists()


class TestCreateEventsArgument:
    @pytest.mark.parametrize(("value", "kind"), [(None, "NoneType"), (5, "int"), ("abc", "str")])
    def test_not_a_list(self, value, kind, django_assert_num_queries):
        # It said "'NoneType' object is not iterable".
        with (
            django_assert_num_queries(0),
            pytest.raises(
                TypeError,
                match=rf"create_events must be a list of dicts of create_event arguments, got {kind}",
            ),
        ):
            Event.objects.create_events(value)

    def test_a_single_dict_instead_of_a_list(self, photo_source):
        with pytest.raises(TypeError, match="create_events must be a list of dicts .*, got dict"):
            Event.objects.create_events({"source": photo_source})
        assert_nothing_written()
