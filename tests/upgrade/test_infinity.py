"""PostgreSQL's special timestamps ``infinity`` and ``-infinity`` in a 3.x database.

3.x read them through psycopg2, which gives ``datetime.max`` and ``datetime.min`` for them;
psycopg 3 cannot read them at all (``DataError``), nor any time Python's ``datetime`` cannot hold
(the year 10000, the years before 1). The upgrade (docs/upgrading.rst) turns each into the
nearest instant this project stores, and ``entity_event.W003`` reports any written afterwards.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core import checks
from django.db import DataError, connections
from django.test.utils import override_settings

from entity_event.models import Event, Medium
from entity_event.timestamps import NEVER_EXPIRES_UTC
from entity_event.validation import MAX_TIME, MIN_TIME

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db]

#: Events a 3.x site may hold: uuid -> (time, time_expires), as PostgreSQL reads them.
SPECIAL = {
    "infinite-time": ("infinity", "2100-01-01 00:00:00+00"),
    "minus-infinite-time": ("-infinity", "2100-01-01 00:00:00+00"),
    "infinite-expiry": ("2026-01-01 00:00:00+00", "infinity"),
    "minus-infinite-expiry": ("2026-01-01 00:00:00+00", "-infinity"),
    "before-year-1": ("0001-01-01 00:00:00+00 BC", "0001-01-01 00:00:00+00 BC"),
    "year-10000": ("10000-06-01 00:00:00+00", "2100-01-01 00:00:00+00"),
}

#: What the upgrade makes of them: a time beyond the ends of what is stored becomes the nearest
#: end, as psycopg2 read it (the latest or earliest instant), an infinite expiry "never expires"
#: (3.x's datetime.max), and one before the earliest instant the earliest (already expired).
CONVERTED = {
    "infinite-time": (MAX_TIME, datetime(2100, 1, 1, tzinfo=UTC)),
    "minus-infinite-time": (MIN_TIME, datetime(2100, 1, 1, tzinfo=UTC)),
    "infinite-expiry": (datetime(2026, 1, 1, tzinfo=UTC), NEVER_EXPIRES_UTC),
    "minus-infinite-expiry": (datetime(2026, 1, 1, tzinfo=UTC), MIN_TIME),
    "before-year-1": (MIN_TIME, MIN_TIME),
    "year-10000": (MAX_TIME, datetime(2100, 1, 1, tzinfo=UTC)),
}


def inserting(values: dict[str, tuple[str, str]]) -> list[str]:
    return [
        "INSERT INTO entity_event_event (context, time, time_expires, uuid, source_id) "
        f"VALUES ('{{}}', '{time}', '{expires}', '{uuid}', 1)"
        for uuid, (time, expires) in values.items()
    ]


def database_warnings(alias: str) -> dict[str, str]:
    return {
        message.id: message.msg
        for message in checks.run_checks(databases=[alias], tags=[checks.Tags.database])
        if message.id.startswith("entity_event")
    }


def ids(alias: str, *uuids: str) -> list[int]:
    return list(Event.objects.using(alias).filter(uuid__in=uuids).order_by("pk").values_list("pk", flat=True))


class TestTheUpgrade:
    def test_before_it_the_events_cannot_be_used(self, legacy):
        """psycopg 3 cannot read them at all; psycopg2 reads some as ``datetime.max`` or
        ``datetime.min``, outside what the library stores and queries with (and fails on the
        others): either way, not values a feed can use."""
        alias = legacy.load(*inserting(SPECIAL))
        legacy.migrate(alias, "0006_read_state")
        psycopg2 = connections[alias].Database.__name__ == "psycopg2"
        for uuid in SPECIAL:
            try:
                [event] = Event.objects.using(alias).filter(uuid=uuid)
            except (DataError, ValueError, OverflowError):
                continue
            assert psycopg2, f"psycopg 3 read {uuid}"
            times = (event.time, event.time_expires)
            assert not all(MIN_TIME <= moment <= MAX_TIME for moment in times), uuid

    @pytest.mark.parametrize("use_tz", [True, False])
    def test_converts_them_under_either_setting(self, legacy, use_tz):
        alias = legacy.load(*inserting(SPECIAL))
        with override_settings(USE_TZ=use_tz, TIME_ZONE="America/Chicago"):
            legacy.migrate(alias)
        events = Event.objects.using(alias)
        found = {event.uuid: (event.time, event.time_expires) for event in events.filter(uuid__in=SPECIAL)}
        if not use_tz:
            # "Never expires" is written in the site's time zone when USE_TZ is off.
            found["infinite-expiry"] = (found["infinite-expiry"][0], NEVER_EXPIRES_UTC)
            assert events.get(uuid="infinite-expiry").time_expires == datetime(9000, 1, 1, 6, tzinfo=UTC)
        assert found == CONVERTED
        assert database_warnings(alias) == {}

    def test_afterwards_every_event_reads_back(self, legacy):
        alias = legacy.load(*inserting(SPECIAL))
        legacy.migrate(alias)
        assert len(list(Event.objects.using(alias).all())) == 15 + len(SPECIAL)
        email = Medium.objects.using(alias).get(name="email")
        assert list(email.events(include_expired=True).using(alias).values_list("time", flat=True))


class TestTheCheck:
    def test_reports_those_written_after_the_upgrade(self, legacy):
        # A 3.x process still running after the upgrade, or SQL of the site's own.
        alias = legacy.load()
        legacy.migrate(alias)
        with connections[alias].cursor() as cursor:
            for statement in inserting(SPECIAL):
                cursor.execute(statement)
        warnings = database_warnings(alias)
        unreadable = ids(alias, *(uuid for uuid in SPECIAL if uuid != "infinite-expiry"))
        assert warnings["entity_event.W003"] == (
            f"{len(unreadable)} events of the database {alias!r} have a time or an expiry outside "
            "what entity_event stores (0001-01-02 to 9999-12-30 in UTC), such as PostgreSQL's "
            f"infinity: ids {', '.join(map(str, unreadable))}."
        )
        # An expiry later than "never expires" is W001's, infinity included.
        assert f"ids {ids(alias, 'infinite-expiry')[0]}." in warnings["entity_event.W001"]
