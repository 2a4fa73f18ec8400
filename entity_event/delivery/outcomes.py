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
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import F
from django.utils import timezone

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
    """What became of a chunk's records."""

    records: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0
    recipients: int = 0


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
    sent = [record.id for record in records if record.id not in reasons]
    if sent:
        rows.filter(pk__in=sent).update(
            status=Delivery.Status.SENT, attempts=F("attempts") + 1, last_error="", time_sent=now
        )
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
        if attempts + 1 >= max_attempts:
            rows.filter(pk__in=ids).update(
                status=Delivery.Status.FAILED, attempts=attempts + 1, last_error=reason
            )
            outcomes.failed += len(ids)
        else:
            rows.filter(pk__in=ids).update(
                attempts=attempts + 1,
                last_error=reason,
                time_next_attempt=now + timedelta(seconds=retry_delay * 2**attempts),
            )
            outcomes.retried += len(ids)
    outcomes.sent, outcomes.skipped = len(sent), sum(map(len, skipped.values()))
    return outcomes
