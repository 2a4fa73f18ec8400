"""Bad input to ``create_event(s)`` that used to reach the database, where it failed with a
backend-specific error (or, on SQLite, was stored when PostgreSQL would refuse it). Each case now
raises a TypeError or ValueError naming the argument before any query, and writes nothing.

The cases already covered by tests/events/test_create_event.py::TestBadInput are not repeated here.
"""

from __future__ import annotations

import pytest

from entity_event.models import Event, EventActor

pytestmark = [pytest.mark.reliability, pytest.mark.django_db]


def assert_nothing_written() -> None:
    assert not Event.objects.exists()
    assert not EventActor.objects.exists()


BAD_INPUT = [
    # NaN and infinities are not JSON: SQLite's JSON_VALID check and PostgreSQL's json parser
    # refused them with an IntegrityError or a DataError.
    ({"context": {"x": float("nan")}}, ValueError, "context cannot be stored as JSON: it contains nan"),
    ({"context": {"x": [float("inf")]}}, ValueError, "context cannot be stored as JSON: it contains inf"),
    (
        {"context": {"x": {"y": -float("inf")}}},
        ValueError,
        "context cannot be stored as JSON: it contains -inf",
    ),
    # PostgreSQL's jsonb cannot hold a NUL character; SQLite stored it.
    ({"context": {"x": "a\x00b"}}, ValueError, r"context cannot be stored as JSON: it contains a NUL"),
    ({"context": {"key\x00": 1}}, ValueError, r"context cannot be stored as JSON: it contains a NUL"),
    ({"context": {"x": ["\\", "\x00"]}}, ValueError, "it contains a NUL"),
    # The uuid column holds 512 characters: PostgreSQL raised a DataError, SQLite stored it.
    ({"uuid": "u" * 513}, ValueError, "uuid is 513 characters long, the limit is 512"),
    # Ids beyond 64 bits: SQLite raised OverflowError without naming the argument.
    ({"actors": [2**70]}, ValueError, "actors: the id 1180591620717411303424 is out of range"),
    ({"actors": [-(2**63) - 1]}, ValueError, "actors: the id .* is out of range"),
    ({"source": 2**64}, ValueError, "source: the id 18446744073709551616 is out of range"),
    # Anything but a bool was silently taken for True or False.
    ({"ignore_duplicates": "no"}, TypeError, "ignore_duplicates must be True or False, got 'no'"),
    ({"ignore_duplicates": None}, TypeError, "ignore_duplicates must be True or False, got None"),
    ({"ignore_duplicates": 1}, TypeError, "ignore_duplicates must be True or False, got 1"),
]


@pytest.mark.parametrize(("kwargs", "error", "message"), BAD_INPUT)
def test_create_event_refuses_before_any_query(
    photo_source, alice, kwargs, error, message, django_assert_num_queries
):
    with django_assert_num_queries(0), pytest.raises(error, match=message):
        Event.objects.create_event(**{"source": photo_source, "actors": [alice], **kwargs})
    assert_nothing_written()


@pytest.mark.parametrize(("kwargs", "error", "message"), BAD_INPUT)
def test_a_bad_event_late_in_a_batch_writes_nothing(photo_source, alice, kwargs, error, message):
    batch = [{"source": photo_source, "actors": [alice]} for _ in range(3)]
    batch.append({"source": photo_source, "actors": [alice], **kwargs})
    with pytest.raises(error, match=rf"create_events\[3\]: .*{message}"):
        Event.objects.create_events(batch)
    assert_nothing_written()


@pytest.mark.parametrize(
    "event_context",
    [
        {"x": "\\u0000"},  # the six characters backslash, u, 0, 0, 0, 0: not a NUL
        {"x": "\\\\u0000", "y": "\\"},
        {"x": 1.5, "y": -2, "z": 0.1},
        {"x": "\u00e9t\u00e9 \U0001f600", "\u00e9": ["\t", "\n", '"']},
    ],
)
def test_contexts_near_the_limits_are_stored_exactly(photo_source, event_context):
    event = Event.objects.create_event(source=photo_source, context=event_context)
    event.refresh_from_db()
    assert event.context == event_context


def test_a_uuid_of_the_maximum_length_is_accepted(photo_source):
    event = Event.objects.create_event(source=photo_source, uuid="u" * 512)
    assert Event.objects.get().uuid == event.uuid == "u" * 512


@pytest.mark.parametrize("ignore_duplicates", [True, False])
def test_ignore_duplicates_takes_a_bool(photo_source, ignore_duplicates):
    assert Event.objects.create_event(source=photo_source, ignore_duplicates=ignore_duplicates)
