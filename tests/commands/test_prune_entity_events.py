"""``manage.py prune_entity_events``: what it deletes, in which batches, what it leaves alone."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from io import StringIO
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.db import InterfaceError, connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from entity.models import Entity, EntityKind, EntityRelationship

from entity_event.models import (
    Delivery,
    Event,
    EventActor,
    EventSeen,
    Medium,
    ReadMark,
    ReadState,
    Source,
    SourceGroup,
    Subscription,
    Unsubscription,
)
from tests.faults import before_statement, deletes_from, failing_statement

pytestmark = pytest.mark.django_db

#: The refusal of a day count whose cutoff falls before 0001-01-02, as a pattern.
TOO_MANY_DAYS = (
    "{option} {days} puts the cutoff before 0001-01-02, the earliest this command accepts; "
    r"give at most [0-9,]+ days\."
)
#: A fixed "now" for the tests of the earliest cutoff: at most 739,946 days back from it.
FROZEN_NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def prune(*args: str, verbosity: int = 1) -> str:
    out = StringIO()
    call_command("prune_entity_events", *args, stdout=out, verbosity=verbosity)
    return out.getvalue()


def make_events(source, actors, mediums, count, *, prefix, days_ago=0, expired_days_ago=None):
    """Create ``count`` events that happened ``days_ago`` days ago and expired
    ``expired_days_ago`` days ago (never, when None), with ``actors``, seen on ``mediums``."""
    now = timezone.now()
    expires = None if expired_days_ago is None else now - timedelta(days=expired_days_ago)
    events = Event.objects.create_events(
        {
            "source": source,
            "uuid": f"{prefix}-{n}",
            "actors": actors,
            "time": now - timedelta(days=days_ago),
            "time_expires": expires,
        }
        for n in range(count)
    )
    for medium in mediums:
        Event.objects.filter(pk__in=[event.pk for event in events]).mark_seen(medium)
    return events


def uuid_prefixes() -> set[str]:
    return {uuid.split("-")[0] for uuid in Event.objects.values_list("uuid", flat=True)}


@pytest.fixture
def timeline(photo_source, email, newsfeed, alice, bob):
    """Four kinds of events, two of each, with actors and seen records."""
    make_events(
        photo_source, [alice, bob], [email, newsfeed], 2, prefix="expiredlongago", expired_days_ago=40
    )
    make_events(photo_source, [alice], [email], 2, prefix="expiredrecently", expired_days_ago=5)
    make_events(photo_source, [bob], [newsfeed], 2, prefix="old", days_ago=400)
    make_events(photo_source, [alice], [email], 2, prefix="recent", days_ago=1)


class TestWhatIsDeleted:
    def test_expired_more_than_n_days_ago(self, timeline):
        output = prune("--expired-days", "30")
        assert uuid_prefixes() == {"expiredrecently", "old", "recent"}
        assert (
            "Deleted 2 events (4 actors, 4 seen records, 0 deliveries, 0 read marks) in 1 batches." in output
        )
        # The survivors keep their actors and seen records.
        assert EventActor.objects.count() == 2 + 2 + 2
        assert EventSeen.objects.count() == 2 + 2 + 2
        assert not EventActor.objects.filter(event__uuid__startswith="expiredlongago").exists()

    def test_the_read_marks_of_deleted_events_go_and_the_watermarks_stay(self, timeline, email, alice):
        # Marks made directly: which events a feed holds is not the point here.
        events = {event.uuid: event for event in Event.objects.all()}
        ReadMark.objects.bulk_create(
            ReadMark(medium=email, entity=alice, event=events[uuid], read=True)
            for uuid in ("expiredlongago-0", "expiredlongago-1", "recent-0")
        )
        ReadState.objects.create(medium=email, entity=alice, read_up_to=max(e.pk for e in events.values()))
        output = prune("--expired-days", "30")
        assert "Deleted 2 events (4 actors, 4 seen records, 0 deliveries, 2 read marks)" in output
        assert list(ReadMark.objects.values_list("event__uuid", flat=True)) == ["recent-0"]
        assert ReadState.objects.count() == 1

    def test_expired_days_zero_means_every_expired_event(self, timeline):
        prune("--expired-days", "0")
        assert uuid_prefixes() == {"old", "recent"}

    def test_older_than_n_days(self, timeline):
        prune("--older-than-days", "365")
        assert uuid_prefixes() == {"expiredlongago", "expiredrecently", "recent"}

    def test_both_criteria_delete_the_events_matching_either(self, timeline):
        output = prune("--expired-days", "30", "--older-than-days", "365")
        assert uuid_prefixes() == {"expiredrecently", "recent"}
        assert "expired before" in output and "or that happened before" in output
        assert "Deleted 4 events (6 actors, 6 seen records, 0 deliveries, 0 read marks)" in output

    def test_events_that_never_expire_are_kept_by_expired_days(self, timeline):
        prune("--expired-days", "0")
        assert Event.objects.filter(uuid__startswith="old").count() == 2

    def test_nothing_but_events_actors_and_seen_records_is_deleted(
        self, timeline, photo_source, email, alice, bob
    ):

        team = Entity.all_objects.create(
            display_name="Team",
            entity_type=alice.entity_type,
            entity_id=10_000,
            entity_kind=EntityKind.objects.create(name="team", display_name="Team"),
        )
        EntityRelationship.objects.create(sub_entity=alice, super_entity=team)
        Subscription.objects.create(medium=email, source=photo_source, entity=team, only_following=False)
        Unsubscription.objects.create(medium=email, source=photo_source, entity=bob)
        models = [SourceGroup, Source, Medium, Subscription, Unsubscription, Entity.all_objects.model]
        before = {model: model._base_manager.count() for model in models}
        relationships = EntityRelationship.objects.count()

        prune("--expired-days", "0", "--older-than-days", "0")

        assert not Event.objects.exists()
        assert not EventActor.objects.exists()
        assert not EventSeen.objects.exists()
        assert {model: model._base_manager.count() for model in models} == before
        assert EntityRelationship.objects.count() == relationships
        assert EntityKind.objects.filter(name="team").exists()

    def test_the_command_knows_every_row_that_points_at_an_event(self):
        """The command deletes actors and seen records itself before the events (without the
        collector, which would load every event): a new model pointing at Event must be added."""
        pointing_at_event = {
            field.related_model
            for field in Event._meta.get_fields(include_hidden=True)
            if field.auto_created and not field.concrete and not field.many_to_many
        }
        assert pointing_at_event == {EventActor, EventSeen, Delivery, ReadMark}

    def test_nothing_to_delete(self, timeline):
        output = prune("--expired-days", "365")
        assert (
            output.splitlines()[-1]
            == "Deleted 0 events (0 actors, 0 seen records, 0 deliveries, 0 read marks) in 0 batches."
        )
        assert "batch 1" not in output
        assert Event.objects.count() == 8


class TestBatches:
    def test_batches_of_bounded_size_with_a_progress_line_each(self, photo_source, email, alice, bob):
        make_events(photo_source, [alice, bob], [email], 25, prefix="gone", expired_days_ago=10)
        make_events(photo_source, [alice], [email], 3, prefix="kept", expired_days_ago=1)
        output = prune("--expired-days", "7", "--batch-size", "10")
        lines = output.splitlines()
        assert lines[0].startswith("Events to delete: those that expired before ")
        assert lines[1:] == [
            "batch 1: deleted 10 events (20 actors, 10 seen records, 0 deliveries, 0 read marks), 10 so far",
            "batch 2: deleted 10 events (20 actors, 10 seen records, 0 deliveries, 0 read marks), 20 so far",
            "batch 3: deleted 5 events (10 actors, 5 seen records, 0 deliveries, 0 read marks), 25 so far",
            "Deleted 25 events (50 actors, 25 seen records, 0 deliveries, 0 read marks) in 3 batches.",
        ]
        assert uuid_prefixes() == {"kept"}
        assert EventActor.objects.count() == EventSeen.objects.count() == 3

    def test_large_numbers_have_thousands_separators(self, photo_source, alice):
        make_events(photo_source, [alice], [], 1200, prefix="gone", expired_days_ago=10)
        output = prune("--expired-days", "7", "--batch-size", "1100")
        assert (
            "batch 2: deleted 100 events (100 actors, 0 seen records, 0 deliveries, 0 read marks), "
            "1,200 so far" in output
        )
        assert (
            "Deleted 1,200 events (1,200 actors, 0 seen records, 0 deliveries, 0 read marks) in 2 batches."
            in output
        )

    def test_default_batch_size_is_1000(self, photo_source):
        make_events(photo_source, [], [], 1001, prefix="gone", days_ago=10)
        output = prune("--older-than-days", "7")
        assert "batch 1: deleted 1,000 events" in output and "batch 2: deleted 1 events" in output

    @pytest.mark.parametrize("batch_size", [3, 300])
    def test_queries_per_batch_do_not_depend_on_the_batch_size(
        self, photo_source, email, alice, bob, batch_size, django_assert_num_queries
    ):
        make_events(photo_source, [alice, bob], [email], 2 * batch_size, prefix="gone", expired_days_ago=10)
        # Per batch: select the pks, then in a transaction (a savepoint inside the test's own
        # transaction: SAVEPOINT and RELEASE) lock the events and delete actors, seen records,
        # deliveries, read marks and events; then one last select that finds nothing.
        # 2 batches x 9 + 1.
        with django_assert_num_queries(19):
            prune("--expired-days", "7", "--batch-size", str(batch_size))
        assert not Event.objects.exists()

    def test_events_and_their_contexts_are_never_loaded(self, photo_source, alice):
        Event.objects.create_events(
            {
                "source": photo_source,
                "context": {"big": "x" * 1000},
                "time": timezone.now() - timedelta(days=9),
            }
            for _ in range(20)
        )
        with CaptureQueriesContext(connection) as captured:
            prune("--older-than-days", "7", "--batch-size", "8")
        selects = [query["sql"] for query in captured if query["sql"].lstrip().upper().startswith("SELECT")]
        assert len(selects) == 7  # three batches (the pks, then the lock) and the last, empty look
        assert all('"context"' not in query["sql"] for query in captured.captured_queries)
        assert not Event.objects.exists()

    @pytest.mark.reliability
    def test_each_batch_is_its_own_transaction(self, photo_source, email, alice):
        """A failure in the second batch keeps the first batch deleted and the second intact."""
        make_events(photo_source, [alice], [email], 6, prefix="gone", expired_days_ago=10)
        with (
            failing_statement(
                deletes_from("entity_event_eventseen"), InterfaceError("connection lost"), skip=1
            ) as deletes,
            pytest.raises(InterfaceError, match="connection lost"),
        ):
            prune("--expired-days", "7", "--batch-size", "3")
        assert len(deletes) == 2  # the second batch failed at its DELETE of seen records
        remaining = Event.objects.order_by("pk")
        assert remaining.count() == 3
        assert EventActor.objects.filter(event__in=remaining).count() == 3
        assert EventSeen.objects.filter(event__in=remaining).count() == 3
        assert EventActor.objects.count() == EventSeen.objects.count() == 3

    def test_verbosity_0_prints_nothing(self, photo_source):
        make_events(photo_source, [], [], 3, prefix="gone", days_ago=10)
        assert prune("--older-than-days", "7", verbosity=0) == ""
        assert not Event.objects.exists()


class TestDryRun:
    def test_prints_the_counts_and_deletes_nothing(self, timeline, django_assert_num_queries):
        with django_assert_num_queries(5):  # events, actors, seen records, deliveries, read marks
            output = prune(
                "--expired-days", "30", "--older-than-days", "365", "--batch-size", "3", "--dry-run"
            )
        assert output.splitlines()[-1] == (
            "Dry run: would delete 4 events (6 actors, 6 seen records, 0 deliveries, 0 read marks) "
            "in 2 batches of at most 3; nothing was deleted."
        )
        assert Event.objects.count() == 8
        assert EventActor.objects.count() == 10
        assert EventSeen.objects.count() == 10

    def test_the_dry_run_counts_match_the_real_run(self, timeline):
        dry = prune("--expired-days", "0", "--dry-run").splitlines()[-1]
        real = prune("--expired-days", "0").splitlines()[-1]
        assert dry.startswith(
            "Dry run: would delete 4 events (6 actors, 6 seen records, 0 deliveries, 0 read marks)"
        )
        assert real.startswith("Deleted 4 events (6 actors, 6 seen records, 0 deliveries, 0 read marks)")


class TestArguments:
    @pytest.mark.parametrize(
        ("args", "message"),
        [
            ([], "Give --expired-days N, --older-than-days N, or both"),
            (["--batch-size", "10"], "Give --expired-days N, --older-than-days N, or both"),
            (["--expired-days", "-1"], "--expired-days must be 0 or more, got -1"),
            (["--older-than-days", "-30"], "--older-than-days must be 0 or more, got -30"),
            (["--expired-days", "1", "--batch-size", "0"], "--batch-size must be from 1 to 100,000, got 0."),
            (
                ["--expired-days", "1", "--batch-size", "-5"],
                "--batch-size must be from 1 to 100,000, got -5.",
            ),
            (
                ["--expired-days", "1", "--batch-size", "100001"],
                "--batch-size must be from 1 to 100,000, got 100,001.",
            ),
            (
                # Beyond 64 bits: it used to reach the database and fail there (DataError).
                ["--expired-days", "1", "--batch-size", "18446744073709551616"],
                "--batch-size must be from 1 to 100,000, got 18,446,744,073,709,551,616.",
            ),
            (
                ["--expired-days", "1", "--batch-size", "1e3"],
                "argument --batch-size: invalid int value: '1e3'",
            ),
            (["--expired-days", "ten"], "argument --expired-days: invalid int value: 'ten'"),
            (["--older-than-days", "1.5"], "argument --older-than-days: invalid int value: '1.5'"),
            (
                ["--older-than-days", "1000000"],
                TOO_MANY_DAYS.format(option="--older-than-days", days=1000000),
            ),
            (
                ["--expired-days", "800000", "--dry-run"],
                TOO_MANY_DAYS.format(option="--expired-days", days=800000),
            ),
            (
                # Too big for timedelta, and for the C int behind it.
                ["--expired-days", "10" * 10],
                TOO_MANY_DAYS.format(option="--expired-days", days="10" * 10),
            ),
            (
                ["--expired-days", "1", "--database", "nope"],
                r"--database 'nope' is not in DATABASES \(known aliases: 'default', 'replica'\)\.",
            ),
            (["--expired-days", "1", "--database", ""], r"--database '' is not in DATABASES"),
        ],
    )
    def test_bad_arguments_raise_a_clear_error_and_delete_nothing(self, timeline, args, message):
        with pytest.raises(CommandError, match=message):
            prune(*args)
        assert Event.objects.count() == 8

    @pytest.mark.parametrize(
        ("options", "message"),
        [
            ({"expired_days": "30"}, "--expired-days must be a whole number of days, got '30'."),
            ({"older_than_days": 1.5}, "--older-than-days must be a whole number of days, got 1.5."),
            ({"expired_days": True}, "--expired-days must be a whole number of days, got True."),
            ({"expired_days": 1, "batch_size": None}, "--batch-size must be a whole number, got None."),
            ({"expired_days": 1, "batch_size": "10"}, "--batch-size must be a whole number, got '10'."),
            ({"expired_days": 1, "database": None}, "--database must be a database alias, got None."),
        ],
    )
    def test_keyword_arguments_of_call_command_are_checked_too(self, timeline, options, message):
        """call_command passes keyword arguments to the command without argparse's conversion."""
        with pytest.raises(CommandError, match=re.escape(message)):
            call_command("prune_entity_events", stdout=StringIO(), **options)
        assert Event.objects.count() == 8

    def test_arguments_are_checked_before_any_query(self, django_assert_num_queries):
        with django_assert_num_queries(0), pytest.raises(CommandError):
            prune("--expired-days", "1", "--batch-size", "18446744073709551616")

    def test_the_limits_themselves_are_accepted(self, timeline):
        """The earliest cutoff and the largest batch size reach the database and work there."""
        with mock.patch("django.utils.timezone.now", return_value=FROZEN_NOW):
            with pytest.raises(CommandError, match="give at most 739,946 days"):
                prune("--older-than-days", "739947")
            output = prune(
                "--older-than-days", "739946", "--expired-days", "739946", "--batch-size", "100000"
            )
        assert output.splitlines() == [
            "Events to delete: those that expired before 0001-01-02 12:00:00 or that happened before "
            "0001-01-02 12:00:00.",
            "Deleted 0 events (0 actors, 0 seen records, 0 deliveries, 0 read marks) in 0 batches.",
        ]
        assert prune("--expired-days", "0", "--batch-size", "100000").splitlines()[-1] == (
            "Deleted 4 events (6 actors, 6 seen records, 0 deliveries, 0 read marks) in 1 batches."
        )

    @pytest.mark.parametrize(
        ("use_tz", "zone"),
        [(True, "Pacific/Pago_Pago"), (False, "Pacific/Pago_Pago"), (False, "Pacific/Kiritimati")],
    )
    def test_the_earliest_cutoff_works_in_every_time_zone(self, timeline, use_tz, zone):
        now = FROZEN_NOW if use_tz else FROZEN_NOW.replace(tzinfo=None)
        with (
            override_settings(USE_TZ=use_tz, TIME_ZONE=zone),
            timezone.override(zone),
            mock.patch("django.utils.timezone.now", return_value=now),
        ):
            with pytest.raises(CommandError, match="give at most 739,946 days"):
                prune("--expired-days", "739947")
            output = prune("--older-than-days", "739946", "--expired-days", "739946")
        assert (
            output.splitlines()[-1]
            == "Deleted 0 events (0 actors, 0 seen records, 0 deliveries, 0 read marks) in 0 batches."
        )
        assert Event.objects.count() == 8


class TestDeadlocks:
    """A batch that deadlocks with a concurrent writer (PostgreSQL aborts one of them with an
    OperationalError) is tried again; the real thing, with claiming workers, is
    tests/delivery/test_processes.py::test_prune_runs_beside_claiming_workers."""

    @pytest.fixture
    def no_pause(self, monkeypatch):
        from entity_event.management.commands import prune_entity_events

        monkeypatch.setattr(prune_entity_events, "PRUNING", replace(prune_entity_events.PRUNING, pause=0))

    def test_a_deadlocked_batch_is_tried_again(self, photo_source, email, alice, no_pause):
        from django.db import OperationalError

        make_events(photo_source, [alice], [email], 3, prefix="gone", expired_days_ago=10)
        actor_deletes = deletes_from("entity_event_eventactor")
        with failing_statement(actor_deletes, OperationalError("deadlock detected")) as tried:
            output = prune("--expired-days", "7")
        assert len(tried) == 2  # the batch's DELETE of actors: refused once, then done
        assert (
            "Deleted 3 events (3 actors, 3 seen records, 0 deliveries, 0 read marks) in 1 batches." in output
        )
        assert not Event.objects.exists()

    def test_a_batch_that_keeps_deadlocking_fails_after_the_last_attempt(self, photo_source, alice, no_pause):
        from django.db import OperationalError

        from entity_event.db.retries import PRUNING

        RETRIES = PRUNING.attempts

        make_events(photo_source, [alice], [], 2, prefix="gone", expired_days_ago=10)

        def deadlock():
            raise OperationalError("deadlock detected")

        actor_deletes = deletes_from("entity_event_eventactor")
        with (
            before_statement(actor_deletes, deadlock, times=RETRIES) as tried,
            pytest.raises(OperationalError),
        ):
            prune("--expired-days", "7")
        assert len(tried) == RETRIES
        assert Event.objects.count() == 2  # every attempt rolled back
