"""The differences between the databases, in entity_event.db.backends, and the check that goes with
them (``entity_event.W010``). The claims that rely on them are tested with real concurrent
workers in tests/routing/test_concurrent_claims.py, on PostgreSQL and on MariaDB."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection

from entity_event.checks import check_claim_isolation, isolation_warnings
from entity_event.db.backends import lock_own_rows, locked_with_related, upsert_target
from entity_event.models import Delivery, Event
from tests.databases import ON_MARIADB
from tests.faults import selects_for_update

pytestmark = pytest.mark.django_db


def test_a_locking_query_that_joins_is_refused_on_every_database(photo_source):
    for joined in (Event.objects.filter(source__name="photo-tag"), Event.objects.select_related("source")):
        with pytest.raises(ValueError, match="joins other tables"):
            lock_own_rows(joined)


def test_only_the_rows_of_the_query_are_locked(photo_source):
    Event.objects.create_events([{"source": photo_source}] * 3)
    statements = []
    with connection.execute_wrapper(
        lambda execute, sql, *args: statements.append(sql) or execute(sql, *args)
    ):
        rows = list(lock_own_rows(Event.objects.filter(source_id=photo_source.pk).order_by("id")))
    assert len(rows) == 3
    [sql] = statements
    if connection.vendor == "sqlite":
        assert not selects_for_update(sql)  # no row locks: Django sends a plain SELECT
    else:
        assert selects_for_update(sql)
        assert " JOIN " not in sql  # MariaDB would lock the joined rows too


def test_locked_rows_come_with_their_related_rows_in_order(
    photo_source, alice, bob, email, django_assert_num_queries
):
    events = Event.objects.create_events([{"source": photo_source}] * 2)
    for event in events:
        for target in (bob, alice):
            Delivery.objects.create(event=event, medium=email, target=target)
    due = Delivery.objects.filter(medium=email).order_by("-id")[:3]
    expected = list(due.values_list("pk", flat=True))
    # One query where the database locks only the deliveries' rows; two on MariaDB.
    with django_assert_num_queries(2 if ON_MARIADB else 1):
        rows = locked_with_related(due, ("event__source", "target"))
    assert [row.pk for row in rows] == expected
    with django_assert_num_queries(0):
        assert {row.event.source.name for row in rows} == {"photo-tag"}
        assert {row.target.display_name for row in rows} <= {"Alice", "Bob"}


def test_an_upsert_names_its_constraint_where_the_database_takes_one():
    assert upsert_target("default", ["a", "b"]) == ({} if ON_MARIADB else {"unique_fields": ["a", "b"]})


class TestClaimIsolationCheck:
    MARIADB = {"ENGINE": "django.db.backends.mysql", "NAME": "events"}

    def databases(self, **options):
        return {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}, "maria": options}

    @pytest.mark.parametrize(
        "options", [{}, {"isolation_level": "read committed"}, {"isolation_level": "READ COMMITTED"}]
    )
    def test_read_committed_is_fine(self, options):
        assert isolation_warnings(self.databases(**self.MARIADB, OPTIONS=options)) == []

    def test_another_level_is_reported(self):
        databases = self.databases(**self.MARIADB, OPTIONS={"isolation_level": "repeatable read"})
        [warning] = isolation_warnings(databases)
        assert warning.id == "entity_event.W010"
        assert "'maria'" in warning.msg and "'repeatable read'" in warning.msg

    def test_other_databases_are_not_concerned(self):
        databases = self.databases(ENGINE="django.db.backends.postgresql", OPTIONS={"isolation_level": 3})
        assert isolation_warnings(databases) == []

    def test_the_test_databases_are_fine(self):
        # The check is registered and reads settings.DATABASES: the suite's use Django's default.
        assert check_claim_isolation() == []


def test_four_byte_characters_and_microseconds_round_trip(photo_source):
    # MariaDB stores them in utf8mb4 and DATETIME(6) (the test database's charset, settings.py);
    # MySQL's "utf8" (utf8mb3) would refuse the emoji.
    moment = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
    event = Event.objects.create_event(
        source=photo_source, uuid="\U0001f600-\u00e9", time=moment, context={"k": "\U0001f389"}
    )
    event = Event.objects.get(pk=event.pk)
    assert (event.uuid, event.time, event.context) == ("\U0001f600-\u00e9", moment, {"k": "\U0001f389"})
    assert Event.objects.filter(uuid="\U0001f600-\u00e9").count() == 1
    assert not Event.objects.filter(uuid="\U0001f600-\u00c9").exists()  # case matters, as elsewhere
