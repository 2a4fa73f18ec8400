"""``manage.py prune_entity_events``: delete old events, with their actors and seen records, in
batches small enough that a table of millions of rows is never locked for long.

An event is deleted when it expired more than ``--expired-days`` days ago, or when it happened
more than ``--older-than-days`` days ago (either criterion, or both: an event matching either one
goes). Each batch selects at most ``--batch-size`` primary keys in ascending order and deletes
those events, their ``EventActor``, ``EventSeen``, ``Delivery`` and ``ReadMark`` rows in one short
transaction. Nothing else is touched: sources, mediums, subscriptions, entities and the other
events stay. It runs safely beside delivery workers that claim the same events (see
``_delete_batch``).

A batch costs seven queries whatever its size (select the pks, lock the events, delete the
actors, the seen records, the deliveries, the read marks, the events); no row is loaded as an
object, so the events' contexts never reach memory. Like the bulk inserts of ``create_events``,
these bulk deletes send no per-row ``pre_delete`` or ``post_delete`` signal.

Every argument is checked before the first query, and a bad one raises ``CommandError`` naming
the option: a missing criterion, days that are negative or put the cutoff before 0001-01-02,
a batch size outside 1 to ``MAX_BATCH_SIZE``, an unknown database alias, and, from
``call_command``, values of the wrong type.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Q
from django.utils import timezone

from entity_event.db.backends import lock_own_rows
from entity_event.db.retries import PRUNING, in_transaction_retried
from entity_event.models import Delivery, Event, EventActor, EventSeen, ReadMark
from entity_event.models.querysets import EventQuerySet

#: The tables that point at events, deleted before the events: their rows in a batch's output.
DEPENDENTS = {
    "actors": EventActor,
    "seen records": EventSeen,
    "deliveries": Delivery,
    "read marks": ReadMark,
}
DEFAULT_BATCH_SIZE = 1000
#: The largest ``--batch-size``: a batch is one transaction, and a bigger one would hold its
#: locks for long on a busy table (and a size beyond 64 bits fails in the database).
MAX_BATCH_SIZE = 100_000
#: The earliest cutoff: a day after the first instant ``datetime`` can hold, so that converting
#: the cutoff to any time zone stays within the year 1.
EARLIEST_CUTOFF = datetime(1, 1, 2)


class Command(BaseCommand):
    """``manage.py prune_entity_events`` (see the module docstring and docs/retention.rst)."""

    help = (
        "Delete the events that expired more than --expired-days days ago and/or happened more "
        "than --older-than-days days ago, with their actors and seen records, in batches."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        """``--expired-days``, ``--older-than-days``, ``--batch-size``, ``--dry-run``, ``--database``."""
        parser.add_argument(
            "--expired-days",
            type=int,
            metavar="N",
            help="delete the events whose time_expires is more than N days in the past",
        )
        parser.add_argument(
            "--older-than-days",
            type=int,
            metavar="N",
            help="delete the events whose time is more than N days in the past",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=DEFAULT_BATCH_SIZE,
            metavar="SIZE",
            help=(
                f"delete at most SIZE events per transaction, 1 to {MAX_BATCH_SIZE:,} "
                f"(default {DEFAULT_BATCH_SIZE})"
            ),
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="print how many events, actors and seen records would be deleted; delete nothing",
        )
        parser.add_argument(
            "--database",
            default=DEFAULT_DB_ALIAS,
            help=f'the database to prune (default "{DEFAULT_DB_ALIAS}")',
        )

    def handle(
        self,
        *args: Any,
        expired_days: int | None,
        older_than_days: int | None,
        batch_size: int,
        dry_run: bool,
        database: str,
        verbosity: int,
        **options: Any,
    ) -> None:
        """Check the arguments, then report (``--dry-run``) or delete the matching events."""
        now = timezone.now()
        self._check_arguments(now, expired_days, older_than_days, batch_size, database)
        criteria = self._criteria(now, expired_days, older_than_days)
        self.database = database
        self.verbosity = verbosity
        if verbosity >= 1:
            self.stdout.write(
                f"Events to delete: those {self._describe(now, expired_days, older_than_days)}."
            )
        matching = Event.objects.using(database).filter(criteria)
        if dry_run:
            self._report_dry_run(matching, batch_size)
        else:
            self._delete_in_batches(matching, criteria, batch_size)

    @staticmethod
    def _check_arguments(
        now: datetime, expired_days: object, older_than_days: object, batch_size: object, database: object
    ) -> None:
        """Raise ``CommandError`` naming the first bad option, before any query. The values are
        whatever the caller passed: argparse converts them, ``call_command`` passes them as they
        are."""
        if expired_days is None and older_than_days is None:
            raise CommandError(
                "Give --expired-days N, --older-than-days N, or both: without a criterion "
                "nothing would be deleted."
            )
        days: dict[str, int] = {}
        for option, value in (("--expired-days", expired_days), ("--older-than-days", older_than_days)):
            if value is None:
                continue
            if type(value) is not int:
                raise CommandError(f"{option} must be a whole number of days, got {value!r}.")
            days[option] = value
        if type(batch_size) is not int:
            raise CommandError(f"--batch-size must be a whole number, got {batch_size!r}.")
        if not isinstance(database, str):
            raise CommandError(f"--database must be a database alias, got {database!r}.")
        # now's UTC wall time (local without USE_TZ): the cutoff must not go below the earliest.
        max_days = (now.replace(tzinfo=None) - EARLIEST_CUTOFF).days
        for option, value in days.items():
            if value < 0:
                raise CommandError(f"{option} must be 0 or more, got {value}.")
            if value > max_days:
                raise CommandError(
                    f"{option} {value} puts the cutoff before {_timestamp(EARLIEST_CUTOFF)[:10]}, the "
                    f"earliest this command accepts; give at most {max_days:,} days."
                )
        if not 1 <= batch_size <= MAX_BATCH_SIZE:
            raise CommandError(f"--batch-size must be from 1 to {MAX_BATCH_SIZE:,}, got {batch_size:,}.")
        if database not in connections:
            known = ", ".join(repr(alias) for alias in connections)
            raise CommandError(f"--database {database!r} is not in DATABASES (known aliases: {known}).")

    @staticmethod
    def _criteria(now: datetime, expired_days: int | None, older_than_days: int | None) -> Q:
        criteria = Q()
        if expired_days is not None:
            criteria |= Q(time_expires__lt=now - timedelta(days=expired_days))
        if older_than_days is not None:
            criteria |= Q(time__lt=now - timedelta(days=older_than_days))
        return criteria

    @staticmethod
    def _describe(now: datetime, expired_days: int | None, older_than_days: int | None) -> str:
        parts = []
        if expired_days is not None:
            parts.append(f"that expired before {_timestamp(now - timedelta(days=expired_days))}")
        if older_than_days is not None:
            parts.append(f"that happened before {_timestamp(now - timedelta(days=older_than_days))}")
        return " or ".join(parts)

    def _report_dry_run(self, matching: EventQuerySet, batch_size: int) -> None:
        counts = {
            name: model._default_manager.using(self.database).filter(event__in=matching).count()
            for name, model in DEPENDENTS.items()
        }
        events = matching.count()
        self.stdout.write(
            f"Dry run: would delete {events:,} events ({_details(counts)}) in {-(-events // batch_size):,} "
            f"batches of at most {batch_size:,}; nothing was deleted."
        )

    def _delete_in_batches(self, matching: EventQuerySet, criteria: Q, batch_size: int) -> None:
        totals = dict.fromkeys(["events", *DEPENDENTS], 0)
        batch_number = 0
        last_pk = None
        while True:
            following = matching if last_pk is None else matching.filter(pk__gt=last_pk)
            pks = list(following.order_by("pk").values_list("pk", flat=True)[:batch_size])
            if not pks:
                break
            batch_number += 1
            last_pk = pks[-1]
            # The pk range with the criteria is the selected batch (only a matching event committed
            # meanwhile with a pk inside the range could join it), and it costs two parameters
            # whatever the batch size, unlike a list of pks.
            counts = self._delete_batch(
                Event.objects.using(self.database).filter(criteria, pk__gte=pks[0], pk__lte=last_pk)
            )
            for name, count in counts.items():
                totals[name] += count
            if self.verbosity >= 1:
                self.stdout.write(
                    f"batch {batch_number}: deleted {counts['events']:,} events ({_details(counts)}), "
                    f"{totals['events']:,} so far"
                )
        if self.verbosity >= 1:
            self.stdout.write(
                f"Deleted {totals['events']:,} events ({_details(totals)}) in {batch_number:,} batches."
            )

    def _delete_batch(self, batch: EventQuerySet) -> dict[str, int]:
        """Delete a batch's events and the rows that point at them, in one transaction.

        The events are locked first, in primary key order, as claimers lock them: a claiming
        worker skips the events the batch holds (``SKIP LOCKED``), and the batch waits for the
        events a worker holds until its claim commits, instead of deadlocking with it on the seen
        records and deliveries that point at them. A deadlock or serialization failure with
        another writer (one that marks events seen without claiming them, say) retries the batch
        (``entity_event.db.retries.PRUNING``).

        ``QuerySet.delete()`` would load every row as an object (django-entity listens to
        ``post_delete`` for every model), send a signal per row and delete 100 rows per query: one
        DELETE statement per table instead (``_raw_delete``, what Django's collector itself uses).
        """
        using = self.database

        def delete() -> dict[str, int]:
            list(lock_own_rows(batch.order_by("pk")).values_list("pk", flat=True))
            counts = {
                name: model._default_manager.using(using).filter(event__in=batch)._raw_delete(using)
                for name, model in DEPENDENTS.items()
            }
            counts["events"] = batch._raw_delete(using)
            return counts

        return in_transaction_retried(using, delete, PRUNING)


def _details(counts: dict[str, int]) -> str:
    """``"4 actors, 4 seen records, 0 deliveries, 0 read marks"``."""
    return ", ".join(f"{counts[name]:,} {name}" for name in DEPENDENTS)


def _timestamp(moment: datetime) -> str:
    """``2026-10-28 03:00:00``; ``strftime("%Y")`` would not pad the year 1 to four digits."""
    return f"{moment.year:04d}-{moment:%m-%d %H:%M:%S}"
