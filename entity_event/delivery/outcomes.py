"""The outcome of a chunk, recorded by set-based updates: one ``UPDATE`` for the records sent,
one per distinct reason for those skipped, one per distinct (attempts, reason) for those that
failed an attempt, whatever the number of records.

A failed attempt puts the record off (``retry_delay`` seconds, doubled at each attempt) until
``max_attempts`` are spent and it is ``failed``. The reasons are stored as every database can
store them (``validation.storable_text``): a handler's error may hold a NUL character or a lone
surrogate, or be of any length.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from django.db import connections
from django.db.models import F
from django.utils import timezone

from entity_event.db.id_lists import id_conditions_sql
from entity_event.delivery.chunks import Chunk
from entity_event.delivery.recipients import Failures, Skip
from entity_event.models import Delivery
from entity_event.validation import storable_text

#: The longest reason stored in ``Delivery.last_error``, in characters.
MAX_REASON_LENGTH = 2000


@dataclass(frozen=True)
class HandlerFailed:
    """The handler raised for the whole chunk: every record of it failed an attempt."""

    reason: str


@dataclass
class Outcomes:
    """What became of the records handled (a chunk's, or a batch's summed over its chunks):
    sent, put off for another attempt, failed for good, skipped; to how many recipients."""

    records: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0
    recipients: int = 0

    def add_chunk(self, chunk: Outcomes) -> None:
        """Count a chunk's outcomes in these."""
        for counter in fields(Outcomes):
            setattr(self, counter.name, getattr(self, counter.name) + getattr(chunk, counter.name))


def mark_sent(using: str, ids: list[int], now: datetime, only_pending: bool = False) -> None:
    """Mark the records ``ids`` sent, one statement: the ``UPDATE`` of every chunk, written here
    rather than built by the ORM for what the ORM costs Python per chunk (the same SQL on every
    database, the ids one array on PostgreSQL: ``id_lists``)."""
    connection = connections[using]
    quote = connection.ops.quote_name
    time_sent = Delivery._meta.get_field("time_sent").get_db_prep_value(now, connection)
    pending = f" AND {quote('status')} = %s" if only_pending else ""
    for where, id_params in id_conditions_sql(quote("id"), ids, using):
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {quote(Delivery._meta.db_table)} SET {quote('status')} = %s, "
                f"{quote('attempts')} = {quote('attempts')} + 1, {quote('last_error')} = %s, "
                f"{quote('time_sent')} = %s WHERE {where}{pending}",
                [
                    Delivery.Status.SENT,
                    "",
                    time_sent,
                    *id_params,
                    *([Delivery.Status.PENDING] if only_pending else []),
                ],
            )


def record_outcomes(
    chunk: Chunk, answer: Failures | HandlerFailed, max_attempts: int, retry_delay: float
) -> Outcomes:
    """Record what the handler answered for ``chunk`` (see the module docstring)."""
    records = chunk.records
    if isinstance(answer, HandlerFailed):
        reasons: dict[int, str | Skip] = {record.id: answer.reason for record in records}
    else:
        by_pair = {(event.pk, recipient.pk): reason for (event, recipient), reason in answer.items()}
        reasons = {
            record.id: by_pair[(record.event_id, record.target_id)]
            for record in records
            if (record.event_id, record.target_id) in by_pair
        }
    outcomes = Outcomes(records=len(records), recipients=len({record.target_id for record in records}))
    now = timezone.now()
    rows = Delivery.objects.using(chunk.using)
    if isinstance(answer, HandlerFailed):
        # Recorded after the chunk's transaction rolled back, its locks released: only the
        # records no other worker has taken meanwhile (pending, with the attempts read).
        rows = rows.filter(status=Delivery.Status.PENDING)
    sent = [record.id for record in records if record.id not in reasons]
    if sent:
        mark_sent(chunk.using, sent, now, only_pending=isinstance(answer, HandlerFailed))
    skipped: dict[str, list[int]] = defaultdict(list)
    failed: dict[tuple[int, str], list[int]] = defaultdict(list)
    for record in records:
        reason = reasons.get(record.id)
        if isinstance(reason, Skip):
            skipped[storable_text(reason.reason, MAX_REASON_LENGTH)].append(record.id)
        elif reason is not None:
            failed[(record.attempts, storable_text(str(reason), MAX_REASON_LENGTH))].append(record.id)
    for reason, ids in skipped.items():
        rows.filter(pk__in=ids).update(
            status=Delivery.Status.SKIPPED, attempts=F("attempts") + 1, last_error=reason
        )
    for (attempts, reason), ids in failed.items():
        group = rows.filter(pk__in=ids, attempts=attempts)
        if attempts + 1 >= max_attempts:
            group.update(status=Delivery.Status.FAILED, attempts=attempts + 1, last_error=reason)
            outcomes.failed += len(ids)
        else:
            group.update(
                attempts=attempts + 1,
                last_error=reason,
                time_next_attempt=now + timedelta(seconds=retry_delay * 2**attempts),
            )
            outcomes.retried += len(ids)
    outcomes.sent, outcomes.skipped = len(sent), sum(map(len, skipped.values()))
    return outcomes
