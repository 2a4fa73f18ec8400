"""Chunks of due deliveries: taken under row locks, one transaction each, walked by keyset.

A run walks the medium's due records (pending, ``time_next_attempt`` passed) in
``(time_next_attempt, id)`` order from where its last chunk ended (``Sweep.cursor``), so that a
chunk is a range of the index whatever was sent before it; at the end it starts over once, for
the records that fell due meanwhile or that another worker held. Each chunk is locked with
``SKIP LOCKED`` where the database has it (PostgreSQL, MariaDB), so that workers share a big
fan-out chunk by chunk; SQLite, which has no row locks, serialises them.

With ``digest``, the records are first formed into digests, one per recipient, in a
transaction of their own (``form_digests``): the key each digest gets is committed before the
digest is sent, so that a digest sent again after a fault is the same digest, with the same key.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from django.db import connections, models, transaction
from django.db.models import BooleanField, Case, Value, When
from django.db.models.expressions import RawSQL
from django.utils import timezone
from entity.models import Entity

from entity_event.db.backends import lock_own_rows, locks_only_own_rows
from entity_event.delivery.recipients import Recipient, load_recipients
from entity_event.delivery.records import records_database
from entity_event.models import Delivery, Event, Medium

logger = logging.getLogger(__name__)

#: How many events a run keeps loaded between chunks (a fan-out's chunks share their event).
MAX_CACHED_EVENTS = 1000


class DueRecord(NamedTuple):
    """A locked record of a chunk, as read: only what sending and recording need."""

    id: int
    event_id: int
    target_id: int
    attempts: int
    digest_key: str
    #: As the database gave it (a ``datetime``, or the text SQLite stores): the walk hands it
    #: back to the database as it is.
    time_next_attempt: Any


RECORD_FIELDS = DueRecord._fields


def event_key(event: Event) -> str:
    """The event's part of the stable key of its deliveries on their own (``{event key}.{target
    id}``): the same whenever they are sent, by whichever worker."""
    return hashlib.sha256(event.uuid.encode()).hexdigest()[:32]


@dataclass
class Sweep:
    """A run's walk through the due records of ``medium``: where it is, and what it has loaded."""

    medium: Medium
    digest: bool
    using: str = field(default_factory=records_database)
    cursor: tuple[Any, int] | None = None
    events: dict[int, Event] = field(default_factory=dict)
    memo: dict[Any, Any] = field(default_factory=dict)

    def due(self) -> models.QuerySet[Delivery]:
        """The medium's pending records that are due now."""
        return Delivery.objects.using(self.using).filter(
            medium_id=self.medium.pk, status=Delivery.Status.PENDING, time_next_attempt__lte=timezone.now()
        )

    def after_cursor(self, due: models.QuerySet[Delivery]) -> models.QuerySet[Delivery]:
        """``due`` from just after the cursor, in the order of the walk (a row comparison, which
        the index takes as the start of a range)."""
        if self.cursor is not None:
            connection = connections[self.using]
            quote = connection.ops.quote_name
            table = quote(Delivery._meta.db_table)
            moment = Delivery._meta.get_field("time_next_attempt").get_db_prep_value(
                self.cursor[0], connection
            )
            due = due.filter(
                RawSQL(
                    f"({table}.{quote('time_next_attempt')}, {table}.{quote('id')}) > (%s, %s)",
                    (moment, self.cursor[1]),
                    output_field=BooleanField(),
                )
            )
        return due.order_by("time_next_attempt", "id")

    def events_of(self, event_ids: set[int]) -> dict[int, Event]:
        """The events ``event_ids``, with their sources, loaded once for the run (one query for
        those not loaded yet)."""
        missing = event_ids - self.events.keys()
        if missing:
            if len(self.events) + len(missing) > MAX_CACHED_EVENTS:
                self.events.clear()
                self.memo.clear()
            self.events.update(Event.objects.using(self.using).select_related("source").in_bulk(missing))
        return {pk: self.events[pk] for pk in event_ids}


@dataclass
class Chunk:
    """The locked records of one chunk, with their events and recipients, grouped as the handler
    receives them, each with its key."""

    records: list[DueRecord]
    events: dict[int, Event]
    recipients: dict[int, Recipient]
    digest: bool
    using: str
    items: list[tuple[Any, list[Any]]] = field(default_factory=list)
    keys: dict[tuple[int, int], str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        groups: dict[Any, tuple[Any, list[Any]]] = {}
        prefixes: dict[int, str] = {}  # an event's part of the key, once per event
        for record in self.records:
            event, recipient = self.events[record.event_id], self.recipients[record.target_id]
            if self.digest:
                self.keys[(event.pk, recipient.pk)] = f"{record.digest_key}.{recipient.pk}"
                groups.setdefault(record.digest_key, (recipient, []))[1].append(event)
            else:
                self.keys[(event.pk, recipient.pk)] = (
                    f"{prefixes.setdefault(event.pk, event_key(event))}.{recipient.pk}"
                )
                groups.setdefault(record.event_id, (event, []))[1].append(recipient)
        self.items = list(groups.values())


@contextmanager
def take_chunk(sweep: Sweep, size: int) -> Iterator[Chunk | None]:
    """Lock the next chunk of at most ``size`` due records (with a digest: of whole digests) and
    give it, loaded, in a transaction that commits when the block ends; ``None`` when nothing is
    due."""
    if sweep.digest:
        form_digests(sweep, size)
    with transaction.atomic(using=sweep.using):
        recipients: dict[int, Recipient] = {}
        records = lock_next(sweep, size, recipients)
        if not records and sweep.cursor is not None:
            sweep.cursor = None  # start over once: what fell due meanwhile, or was held elsewhere
            records = lock_next(sweep, size, recipients)
        if not records:
            yield None
            return
        events = sweep.events_of({record.event_id for record in records})
        if not recipients:
            recipients = load_recipients(sorted({record.target_id for record in records}), sweep.using)
        yield Chunk(records, events, recipients, sweep.digest, sweep.using)


def lock_next(sweep: Sweep, size: int, found: dict[int, Recipient]) -> list[DueRecord]:
    """Lock the next ``size`` due records of the walk (skipping those another worker holds) and
    move the cursor past them; with a digest, the records of the next ``size`` digests. Their
    recipients go into ``found`` when the locking query could read them (``locked``)."""
    if not sweep.digest:
        records = locked_in_order(sweep, size, found)
    else:
        due = sweep.due()
        keys = list(
            sweep.after_cursor(due.exclude(digest_key="")).values_list(
                "digest_key", "time_next_attempt", "id"
            )[:size]
        )
        if not keys:
            return []
        sweep.cursor = (keys[-1][1], keys[-1][2])
        return locked(
            due.filter(digest_key__in={key for key, _, _ in keys}).order_by("digest_key", "id"), found
        )
    if records:
        sweep.cursor = (records[-1].time_next_attempt, records[-1].id)
    return records


#: What the chunk reads of each target along with its record, where the lock allows a join.
RECIPIENT_FIELDS = ("target__display_name", "target__entity_meta", "target__entity_kind_id")


def locked(records: models.QuerySet[Delivery], found: dict[int, Recipient]) -> list[DueRecord]:
    """The rows of ``records``, locked, skipping those another transaction holds; where the
    database locks the rows of the query's own table alone (PostgreSQL, SQLite), the recipients
    are read in the same query, into ``found``."""
    if not locks_only_own_rows(records.db):
        return [
            DueRecord(*row) for row in lock_own_rows(records, skip_locked=True).values_list(*RECORD_FIELDS)
        ]
    rows = records.select_for_update(skip_locked=True, of=("self",)).values_list(
        *RECORD_FIELDS, *RECIPIENT_FIELDS
    )
    due = []
    for row in rows:
        record = DueRecord(*row[: len(RECORD_FIELDS)])
        found[record.target_id] = Recipient(record.target_id, *row[len(RECORD_FIELDS) :])
        due.append(record)
    return due


def locked_in_order(sweep: Sweep, size: int, found: dict[int, Recipient]) -> list[DueRecord]:
    """The next ``size`` due records after the cursor, locked (skipping those another worker
    holds), with their recipients into ``found`` where the lock allows the join (``lock_sql``)."""
    connection = connections[sweep.using]
    sql, params, joined = lock_sql(sweep, size)
    meta = Entity._meta.get_field("entity_meta")
    width = len(RECORD_FIELDS)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    records = []
    for row in rows:
        record = DueRecord(*row[:width])
        if joined:
            name, stored, kind = row[width:]
            found[record.target_id] = Recipient(
                record.target_id, name, meta.from_db_value(stored, meta.cached_col, connection), kind
            )
        records.append(record)
    return records


def lock_sql(sweep: Sweep, size: int) -> tuple[str, list[Any], bool]:
    """The query of every chunk of a run that sends records on their own, its parameters, and
    whether it reads the recipients too (a join, where the database locks the rows of the
    query's own table alone: PostgreSQL, SQLite).

    Written here rather than built by the ORM: building and compiling it, and converting its
    values, cost Python more per chunk than the database's work (docs/performance.rst). The
    same SQL on every database but for the lock; the cursor's time is handed back to the
    database as it gave it."""
    connection = connections[sweep.using]
    quote = connection.ops.quote_name
    features = connection.features
    joined = locks_only_own_rows(sweep.using)
    columns = [f"d.{quote(name)}" for name in RECORD_FIELDS]
    join = ""
    if joined:
        columns += [f"t.{quote(name)}" for name in ("display_name", "entity_meta", "entity_kind_id")]
        join = f" JOIN {quote(Entity._meta.db_table)} t ON t.{quote('id')} = d.{quote('target_id')}"
    now = Delivery._meta.get_field("time_next_attempt").get_db_prep_value(timezone.now(), connection)
    params: list[Any] = [sweep.medium.pk, Delivery.Status.PENDING, now]
    after = ""
    if sweep.cursor is not None:
        after = f" AND (d.{quote('time_next_attempt')}, d.{quote('id')}) > (%s, %s)"
        params += list(sweep.cursor)
    lock = ""
    if features.has_select_for_update:
        lock = " FOR UPDATE" + (" OF d" if features.has_select_for_update_of else "") + " SKIP LOCKED"
    sql = (
        f"SELECT {', '.join(columns)} FROM {quote(Delivery._meta.db_table)} d{join}"
        f" WHERE d.{quote('medium_id')} = %s AND d.{quote('status')} = %s"
        f" AND d.{quote('time_next_attempt')} <= %s{after}"
        f" ORDER BY d.{quote('time_next_attempt')}, d.{quote('id')} LIMIT {int(size)}{lock}"
    )
    return sql, params, joined


def form_digests(sweep: Sweep, size: int) -> None:
    """Give the next ``size`` due records that belong to no digest yet their digest: one per
    recipient, keyed by its records, committed at once (see the module docstring)."""
    with transaction.atomic(using=sweep.using):
        due = sweep.due().filter(digest_key="").order_by("time_next_attempt", "id")[:size]
        rows = list(lock_own_rows(due, skip_locked=True).values_list("id", "target_id"))
        if not rows:
            return
        by_target: dict[int, list[int]] = {}
        for record_id, target_id in rows:
            by_target.setdefault(target_id, []).append(record_id)
        keys = {
            record_id: hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()[:32]
            for ids in by_target.values()
            for record_id in ids
        }
        Delivery.objects.using(sweep.using).filter(pk__in=list(keys)).update(
            digest_key=Case(*(When(pk=pk, then=Value(key)) for pk, key in keys.items()))
        )
