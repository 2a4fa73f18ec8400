"""Delivery batches: claim events, record a delivery per (event, target), send the due ones in
chunks, each chunk's outcome committed before the next is sent.

``manage.py deliver_entity_events`` runs ``deliver_batch`` in a loop. Each batch:

1. **claims** up to ``batch_size`` unseen events of the medium and writes a pending
   ``Delivery`` for each (event, target), in one transaction (``records``): the claim is
   exactly-once among workers, and from its commit on, the records hold what is left to send;
2. **sends** up to ``batch_size`` due records (pending, or failed earlier and due again), in
   chunks of ``chunk_size`` (``chunks``): each chunk is locked so that concurrent workers take
   different ones (``SKIP LOCKED``), handed to the handler, and its outcome recorded and
   committed before the next chunk is taken. A record the handler could not deliver counts a
   failed attempt and is put off (``retry_delay`` seconds, doubled at each attempt) until
   ``max_attempts`` are spent and it is ``failed``; one it says there is nothing to send to is
   ``skipped``. A handler that raises fails every record of its chunk alike (an attempt each),
   and the next chunks go on.

So delivery to an outside system is at-least-once, and what a fault sends twice is bounded by a
chunk: a message is sent again only when the process dies (or the database goes away) between
the outside system's answer and the commit of its chunk. Each record has a stable key
(``Batch.key_of``, a digest's fixed when the digest is formed) that the handler gives the outside
system, so that a receiver can drop such a duplicate (the email handler's ``Message-ID``).

A handler is any callable taking a ``Batch`` and returning what it could not deliver, ``{(event,
recipient): reason}`` (a ``str`` to try again, a ``Skip`` not to), or ``None`` when all went out.
``send_email`` (``entity_event.delivery.email``) is the one shipped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from entity_event.delivery.chunks import Sweep, take_chunk
from entity_event.delivery.outcomes import HandlerFailed, Outcomes, record_outcomes
from entity_event.delivery.recipients import Failures, Recipient
from entity_event.delivery.records import claim_and_record
from entity_event.models import Delivery, Event, Medium

logger = logging.getLogger(__name__)

#: How many records a chunk holds unless told otherwise: what a fault may send twice.
DEFAULT_CHUNK_SIZE = 100


@dataclass(frozen=True)
class Batch:
    """What a handler receives: one chunk of due deliveries on ``medium``.

    ``items`` is ``[(event, [recipients])]``, or with ``digest`` ``[(recipient, [events])]`` (one
    entry per digest), in the order the records fell due. ``key_of(event, recipient)`` is the
    delivery's stable key, the same whenever it is sent again (a digest's, for each of its
    events). ``memo`` is kept from chunk to chunk of a run, for what a handler computes once per
    event (the email handler's renderings).
    """

    medium: Medium
    number: int
    digest: bool
    items: list[tuple[Any, list[Any]]]
    keys: dict[tuple[int, int], str] = field(default_factory=dict)
    memo: dict[Any, Any] = field(default_factory=dict)

    @property
    def pairs(self) -> list[tuple[Event, Recipient]]:
        """Every (event, recipient) of the batch."""
        if self.digest:
            return [(event, target) for target, events in self.items for event in events]
        return [(event, target) for event, targets in self.items for target in targets]

    def key_of(self, event: Event, recipient: Recipient) -> str:
        """The stable key of the delivery of ``event`` to ``recipient``."""
        return self.keys[(event.pk, recipient.pk)]


Handler = Callable[[Batch], "Failures | None"]


@dataclass
class BatchReport(Outcomes):
    """What one batch did: events claimed, records written, and what became of the records it
    handled (``records``): sent, put off, failed for good, skipped; in how many chunks, to how
    many recipients."""

    number: int = 1
    claimed: int = 0
    recorded: int = 0
    chunks: int = 0

    @property
    def idle(self) -> bool:
        """Nothing was claimed and nothing was due."""
        return not (self.claimed or self.chunks)

    def add_chunk(self, chunk: Outcomes) -> None:
        """Count a chunk's outcomes in the batch's."""
        super().add_chunk(chunk)
        self.chunks += 1


def deliver_batch(
    medium: Medium,
    handler: Handler,
    *,
    number: int = 1,
    batch_size: int = 100,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    digest: bool = False,
    max_attempts: int = 5,
    retry_delay: float = 60.0,
    sweep: Sweep | None = None,
) -> BatchReport:
    """Claim and record new events, then send up to ``batch_size`` due records in chunks of
    ``chunk_size`` with ``handler`` (see the module docstring). ``sweep`` carries, from batch to
    batch of a run, where the walk through the due records is and what it has loaded."""
    report = BatchReport(number=number)
    report.claimed, report.recorded = claim_and_record(medium, batch_size)
    sweep = Sweep(medium, digest) if sweep is None else sweep
    while report.records < batch_size:
        with take_chunk(sweep, min(chunk_size, batch_size - report.records)) as chunk:
            if chunk is None:
                break
            batch = Batch(medium, number, digest, chunk.items, chunk.keys, sweep.memo)
            answer = run_handler(handler, batch, sweep.using)
            if not isinstance(answer, HandlerFailed):
                outcomes = record_outcomes(chunk, answer, max_attempts, retry_delay)
        if isinstance(answer, HandlerFailed):  # the chunk's transaction rolled back: a new one
            with transaction.atomic(using=sweep.using):
                outcomes = record_outcomes(chunk, answer, max_attempts, retry_delay)
        report.add_chunk(outcomes)
    return report


def run_handler(handler: Handler, batch: Batch, using: str) -> Failures | HandlerFailed:
    """What ``handler`` answers for ``batch``; when it raises, ``HandlerFailed`` with its error
    (logged), and the chunk's transaction marked to roll back, what the handler wrote with it,
    so that the chunk's records count a failed attempt in a transaction of their own and the
    next chunks go on: a chunk that always fails is put off, then failed, and cannot stop the
    queue. (No savepoint around the handler: it would cost every chunk two statements.)"""
    try:
        return handler(batch) or {}
    except Exception as error:
        logger.exception("the handler failed for chunk %s of the medium %r", batch.number, batch.medium.name)
        transaction.set_rollback(True, using=using)
        return HandlerFailed(f"the handler failed: {type(error).__name__}: {error}")


def queue_again(deliveries: QuerySet[Delivery]) -> int:
    """Make failed deliveries (a queryset) pending and due now, with their attempts reset; return
    how many. The admin's "Queue again" action."""
    return deliveries.filter(status=Delivery.Status.FAILED).update(
        status=Delivery.Status.PENDING, attempts=0, time_next_attempt=timezone.now()
    )
