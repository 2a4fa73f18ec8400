"""UTC offsets of the times entity_event stores and queries with (``check_time``).

Python allows any offset under 24 hours, in seconds and microseconds too; PostgreSQL takes an
offset of less than 16 hours either way, in whole seconds, and refuses any other with a
``DataError`` ("time zone displacement out of range"), which aborts the caller's transaction.
SQLite and MariaDB convert to UTC first and took them. Every way in now refuses them on every
database, with a ``ValueError`` naming the argument, before any query.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.core.exceptions import BadRequest, ValidationError
from django.db import transaction

from entity_event.models import Event, EventActor
from entity_event.notifications.center import Cursor
from entity_event.validation import check_time, validate_time, validate_time_expires

pytestmark = [pytest.mark.reliability, pytest.mark.django_db]

#: Offsets Python allows and PostgreSQL refuses.
REFUSED_OFFSETS = [
    pytest.param(timedelta(hours=16), id="+16:00"),
    pytest.param(-timedelta(hours=16), id="-16:00"),
    pytest.param(timedelta(hours=23, minutes=59), id="+23:59"),
    pytest.param(-timedelta(hours=23, minutes=59, seconds=59, microseconds=999999), id="-23:59:59.999999"),
    pytest.param(timedelta(hours=5, microseconds=500000), id="+05:00:00.5"),
    pytest.param(-timedelta(microseconds=1), id="-00:00:00.000001"),
]

#: Offsets every database takes: the widest, and one in seconds (Amsterdam's local mean time,
#: which zoneinfo gives times before 1835).
ACCEPTED_OFFSETS = [
    pytest.param(timedelta(hours=15, minutes=59, seconds=59), id="+15:59:59"),
    pytest.param(-timedelta(hours=15, minutes=59, seconds=59), id="-15:59:59"),
    pytest.param(timedelta(minutes=19, seconds=32), id="+00:19:32"),
]


def at(offset: timedelta) -> datetime:
    return datetime(2026, 1, 1, 12, tzinfo=timezone(offset))


def assert_nothing_written() -> None:
    assert not Event.objects.exists()
    assert not EventActor.objects.exists()


@pytest.mark.parametrize("offset", REFUSED_OFFSETS)
class TestRefused:
    def test_the_check_names_the_argument_and_the_rule(self, offset):
        moment = at(offset)
        with pytest.raises(ValueError) as raised:
            check_time(moment, "start_time")
        assert str(raised.value) == (
            f"start_time {moment.isoformat()} has an unsupported UTC offset: an offset must be less "
            "than 16 hours either way and a whole number of seconds, so that every database can "
            "store it"
        )

    @pytest.mark.parametrize("name", ["start_time", "end_time"])
    def test_by_the_query_methods_before_any_query(
        self, email, alice, name, offset, django_assert_num_queries
    ):
        calls = {
            "events": lambda: list(email.events(**{name: at(offset)})),
            "entity_events": lambda: list(email.entity_events(alice, **{name: at(offset)})),
            "events_targets": lambda: email.events_targets(**{name: at(offset)}),
        }
        with transaction.atomic():
            for method, call in calls.items():
                with (
                    django_assert_num_queries(0),
                    pytest.raises(
                        ValueError, match=rf"^{method}\(\): {name} .* has an unsupported UTC offset"
                    ),
                ):
                    call()
            # The caller's transaction goes on (PostgreSQL aborted it).
            assert list(email.events(start_time=at(timedelta(0)))) == []

    @pytest.mark.parametrize("name", ["time", "time_expires"])
    def test_by_create_event_and_create_events(self, photo_source, name, offset, django_assert_num_queries):
        with django_assert_num_queries(0):
            with pytest.raises(ValueError, match=rf"{name} .* has an unsupported UTC offset"):
                Event.objects.create_event(source=photo_source, **{name: at(offset)})
            with pytest.raises(
                ValueError, match=rf"^create_events\[1\]: {name} .* has an unsupported UTC offset"
            ):
                Event.objects.create_events(
                    [{"source": photo_source}, {"source": photo_source, name: at(offset)}]
                )
        assert_nothing_written()

    def test_by_the_model_validators(self, photo_source, offset):
        for validate, name in ((validate_time, "time"), (validate_time_expires, "time_expires")):
            with pytest.raises(ValidationError, match=f"{name} .* has an unsupported UTC offset") as raised:
                validate(at(offset))
            assert raised.value.code == "unstorable"
        event = Event(source=photo_source, context={}, uuid="u", time=at(offset), time_expires=at(offset))
        with pytest.raises(ValidationError) as raised:
            event.full_clean()
        assert set(raised.value.message_dict) == {"time", "time_expires"}
        assert "has an unsupported UTC offset" in raised.value.message_dict["time"][0]


#: ``datetime.fromisoformat`` reads ``-00:00:00.000001`` back as no offset at all: that cursor
#: is a valid one (a microsecond away), not a refused one.
@pytest.mark.parametrize("offset", [offset for offset in REFUSED_OFFSETS if offset.id != "-00:00:00.000001"])
def test_refused_in_a_cursor(offset):
    with pytest.raises(BadRequest, match="Invalid cursor"):
        Cursor.decode(Cursor(at(offset), 1).encode())


@pytest.mark.parametrize("offset", ACCEPTED_OFFSETS)
def test_accepted_offsets_are_stored_queried_and_read_back(photo_source, email, offset):
    moment = at(offset)
    event = Event.objects.create_event(
        source=photo_source, time=moment, time_expires=moment + timedelta(days=1)
    )
    stored = Event.objects.get(pk=event.pk)
    assert (stored.time, stored.time_expires) == (moment, moment + timedelta(days=1))
    assert stored.time.astimezone(UTC) == moment.astimezone(UTC)
    assert list(email.events(start_time=moment, end_time=moment, include_expired=True)) == []
    assert list(email.events_targets(start_time=moment, end_time=moment)) == []
    assert Cursor.decode(Cursor(moment, event.pk).encode()) == Cursor(moment, event.pk)
