"""The system check of what the upgrade from 3.x could not convert (``entity_event.W001``,
``W002`` and ``W003``, docs/upgrading.rst), on every database. The values are written past the
API (which refuses them) as 3.x, or a 3.x process still running after the upgrade, would have."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core import checks
from django.db import ProgrammingError
from django.db.migrations.recorder import MigrationRecorder
from django.test.utils import override_settings
from django.utils import timezone

from entity_event.checks import LISTED_IDS, check_upgraded_values
from entity_event.db.upgrade import UPGRADE_MIGRATION, storable_range
from entity_event.models import Event
from entity_event.timestamps import NEVER_EXPIRES_UTC, never_expires
from entity_event.validation import MAX_TIME, MIN_TIME
from tests.faults import failing_statement, selects_from


@pytest.fixture
def events(photo_source) -> list[Event]:
    return [Event.objects.create_event(source=photo_source, context={"n": n}) for n in range(3)]


def database_warnings() -> list[checks.CheckMessage]:
    return [
        message
        for message in checks.run_checks(databases=["default"], tags=[checks.Tags.database])
        if message.id.startswith("entity_event")
    ]


class TestUpgradedValuesCheck:
    def test_nothing_to_report_on_a_fresh_install(self, events, django_assert_num_queries):
        Event.objects.filter(pk=events[0].pk).update(time_expires=datetime(2100, 1, 1, tzinfo=UTC))
        assert database_warnings() == []
        # Whether the upgrade migration ran, then one count for each kind of value.
        with django_assert_num_queries(4):
            assert check_upgraded_values(databases=["default"]) == []

    @pytest.mark.parametrize("use_tz", [True, False])
    def test_never_expires_in_any_time_zone_is_not_reported(self, events, use_tz):
        # This project writes "never expires" in the site's time zone when USE_TZ is off.
        with override_settings(USE_TZ=use_tz, TIME_ZONE="Pacific/Kiritimati"):
            Event.objects.filter(pk=events[0].pk).update(time_expires=never_expires())
            assert check_upgraded_values(databases=["default"]) == []

    @pytest.mark.parametrize(
        "expires",
        [
            NEVER_EXPIRES_UTC + timedelta(days=2),  # later than never: not recognised
            datetime(9500, 1, 1, tzinfo=UTC),
            datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),  # 3.x's, written after the upgrade
        ],
    )
    def test_a_far_future_expiry_is_reported(self, events, expires):
        Event.objects.filter(pk=events[1].pk).update(time_expires=expires)
        [warning] = database_warnings()
        assert warning.id == "entity_event.W001"
        assert warning.level == checks.WARNING
        assert warning.msg == (
            "1 events of the database 'default' expire later than \"never expires\" (the first of the "
            f"year 9000): ids {events[1].pk}."
        )
        assert "entity_event.timestamps.never_expires()" in warning.hint

    def test_an_empty_uuid_is_reported(self, events, django_assert_num_queries):
        Event.objects.filter(pk=events[2].pk).update(uuid="")
        with django_assert_num_queries(5):  # and the ids it lists
            [warning] = check_upgraded_values(databases=["default"])
        assert warning.id == "entity_event.W002"
        assert warning.msg == f"1 events of the database 'default' have an empty uuid: ids {events[2].pk}."
        assert "uuid.uuid4().hex" in warning.hint

    @pytest.mark.parametrize("use_tz", [True, False])
    @pytest.mark.parametrize(
        ("field", "moment"),
        [
            ("time", MAX_TIME + timedelta(microseconds=1)),
            ("time", MIN_TIME - timedelta(microseconds=1)),
            ("time_expires", MIN_TIME - timedelta(microseconds=1)),
        ],
    )
    def test_a_time_outside_the_stored_range_is_reported(self, events, use_tz, field, moment):
        with override_settings(USE_TZ=use_tz, TIME_ZONE="Pacific/Kiritimati"):
            stored = moment if use_tz else timezone.make_naive(moment)
            Event.objects.filter(pk=events[0].pk).update(**{field: stored})
            [warning] = database_warnings()
        assert warning.id == "entity_event.W003"
        assert warning.msg == (
            "1 events of the database 'default' have a time or an expiry outside what entity_event "
            f"stores (0001-01-02 to 9999-12-30 in UTC), such as PostgreSQL's infinity: ids {events[0].pk}."
        )
        assert "entity_event.validation.MIN_TIME (already expired)" in warning.hint

    @pytest.mark.parametrize("use_tz", [True, False])
    def test_the_ends_of_the_stored_range_are_not_reported(self, events, use_tz):
        with override_settings(USE_TZ=use_tz, TIME_ZONE="Pacific/Kiritimati"):
            earliest, latest = storable_range()
            Event.objects.filter(pk=events[0].pk).update(time=earliest, time_expires=earliest)
            Event.objects.filter(pk=events[1].pk).update(time=latest)
            assert check_upgraded_values(databases=["default"]) == []

    def test_many_are_listed_in_part(self, photo_source):
        created = [Event.objects.create_event(source=photo_source) for _ in range(LISTED_IDS + 2)]
        Event.objects.update(time_expires=datetime(9500, 1, 1, tzinfo=UTC))
        [warning] = database_warnings()
        listed = ", ".join(str(event.pk) for event in created[:LISTED_IDS])
        assert warning.msg.endswith(f"ids {listed} and 2 more.")

    def test_before_the_upgrade_migration_nothing_is_reported(self, events):
        # On a 3.x database, before migrate, these are the values migrate converts.
        Event.objects.filter(pk=events[2].pk).update(uuid="", time_expires=datetime(9500, 1, 1, tzinfo=UTC))
        MigrationRecorder.Migration.objects.filter(app="entity_event", name=UPGRADE_MIGRATION).delete()
        assert check_upgraded_values(databases=["default"]) == []

    def test_without_databases_nothing_is_queried(self, events):
        Event.objects.filter(pk=events[2].pk).update(uuid="")
        assert check_upgraded_values() == []

    def test_a_database_without_the_tables_is_skipped(self, events):
        missing_table = ProgrammingError("relation django_migrations does not exist")
        with failing_statement(selects_from("django_migrations"), missing_table) as selects:
            assert check_upgraded_values(databases=["default"]) == []
        assert len(selects) == 1
