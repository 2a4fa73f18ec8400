"""Delivery batches: claim events, record a delivery per (event, target), send the due ones.

``manage.py deliver_entity_events`` runs ``deliver_batch`` in a loop. Each batch:

1. **claims** up to ``batch_size`` unseen events of the medium (``events_targets(seen=False,
   mark_seen=True, limit=...)``) and writes a pending ``Delivery`` for each (event, target), in one
   transaction: the claim is exactly-once among workers, and from its commit on, the records
   hold what is left to send;
2. **sends** up to ``batch_size`` due records (pending, or failed earlier and due again), locked
   so that concurrent workers take different ones (``SKIP LOCKED`` on PostgreSQL), by calling
   the handler with them grouped as ``(event, targets)`` pairs, or with ``digest`` as
   ``(target, events)`` entries; then marks each record sent, or counts the failed attempt and
   puts the record off (``retry_delay`` seconds, doubled at each attempt) until ``max_attempts``
   are spent and it is ``failed``. If the handler raises, the transaction rolls back: no record
   changes, and the batch is sent again by a later run.

So delivery to an outside system is at-least-once: a message is sent again only when the process
dies (or the handler raises) between the outside system's answer and the commit. A handler that
gives each message a stable key (``message_id``) lets the receiver drop such a duplicate.

A handler is any callable taking a ``Batch`` and returning the pairs it could not deliver, with
the reason (``{(event, target): "error"}``), or ``None`` when all went out. ``send_email``
(``entity_event.delivery.email``) is the one shipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import router, transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from entity.models import Entity

from entity_event.db.backends import locked_with_related
from entity_event.models import Delivery, Event, Medium

#: The pairs a handler could not deliver, with the reason: ``{(event, target): "error"}``.
Failures = dict[tuple[Event, Entity], str]


@dataclass(frozen=True)
class Batch:
    """What a handler receives: the due deliveries of one batch on ``medium``.

    ``items`` is ``[(event, [targets])]``, or with ``digest`` ``[(target, [events])]``, in the
    order the records fell due.
    """

    medium: Medium
    number: int
    digest: bool
    items: list[tuple[Any, list[Any]]]

    @property
    def pairs(self) -> list[tuple[Event, Entity]]:
        """Every (event, target) of the batch."""
        if self.digest:
            return [(event, target) for target, events in self.items for event in events]
        return [(event, target) for event, targets in self.items for target in targets]


Handler = Callable[[Batch], "Failures | None"]


@dataclass
class BatchReport:
    """What one batch did: events claimed, records written, sent, put off and failed for good."""

    number: int
    claimed: int = 0
    recorded: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    targets: set[int] = field(default_factory=set)

    @property
    def idle(self) -> bool:
        """Nothing was claimed and nothing was due."""
        return not (self.claimed or self.sent or self.retried or self.failed)


def claim_and_record(medium: Medium, batch_size: int) -> tuple[int, int]:
    """Claim up to ``batch_size`` unseen events of ``medium`` and write a pending delivery for
    each of their targets, in one transaction; return (events claimed, records written)."""
    with transaction.atomic(using=router.db_for_write(Delivery)):
        claimed = medium.events_targets(seen=False, mark_seen=True, limit=batch_size)
        records = [
            Delivery(event_id=event.pk, medium_id=medium.pk, target_id=target.pk)
            for event, targets in claimed
            for target in targets
        ]
        Delivery.objects.bulk_create(records, ignore_conflicts=True)
    return len(claimed), len(records)


def due_deliveries(medium: Medium, batch_size: int) -> list[Delivery]:
    """Lock and return up to ``batch_size`` pending deliveries of ``medium`` that are due, oldest
    first, with their events, sources and targets (one query; two on MariaDB and MySQL, which lock
    only the deliveries: ``backends.locked_with_related``). Must run in a transaction."""
    due = Delivery.objects.filter(
        medium_id=medium.pk, status=Delivery.Status.PENDING, time_next_attempt__lte=timezone.now()
    ).order_by("time_next_attempt", "id")[:batch_size]
    return locked_with_related(due, ("event__source", "target"), skip_locked=True)


def grouped(deliveries: list[Delivery], digest: bool) -> list[tuple[Any, list[Any]]]:
    """The records as ``[(event, [targets])]``, or ``[(target, [events])]`` with ``digest``."""
    groups: dict[int, tuple[Any, list[Any]]] = {}
    for delivery in deliveries:
        key, item, member = (
            (delivery.target_id, delivery.target, delivery.event)
            if digest
            else (delivery.event_id, delivery.event, delivery.target)
        )
        groups.setdefault(key, (item, []))[1].append(member)
    return list(groups.values())


def deliver_batch(
    medium: Medium,
    handler: Handler,
    *,
    number: int = 1,
    batch_size: int = 100,
    digest: bool = False,
    max_attempts: int = 5,
    retry_delay: float = 60.0,
) -> BatchReport:
    """Claim and record new events, then send the due deliveries with ``handler`` (see the module
    docstring). An exception of the handler propagates, after rolling back the sending step."""
    report = BatchReport(number)
    report.claimed, report.recorded = claim_and_record(medium, batch_size)
    with transaction.atomic(using=router.db_for_write(Delivery)):
        deliveries = due_deliveries(medium, batch_size)
        if not deliveries:
            return report
        failures = handler(Batch(medium, number, digest, grouped(deliveries, digest))) or {}
        record_outcome(deliveries, failures, max_attempts, retry_delay, report)
    return report


def record_outcome(
    deliveries: list[Delivery], failures: Failures, max_attempts: int, retry_delay: float, report: BatchReport
) -> None:
    """Mark the sent records sent (one UPDATE) and count a failed attempt on the others (one
    bulk UPDATE): due again after ``retry_delay`` seconds, doubled at each attempt, or ``failed``
    once ``max_attempts`` attempts failed."""
    now = timezone.now()
    errors = {(event.pk, target.pk): error for (event, target), error in failures.items()}
    sent, missed = [], []
    for delivery in deliveries:
        error = errors.get((delivery.event_id, delivery.target_id))
        report.targets.add(delivery.target_id)
        if error is None:
            sent.append(delivery.pk)
            continue
        delivery.attempts += 1
        delivery.last_error = error
        if delivery.attempts >= max_attempts:
            delivery.status = Delivery.Status.FAILED
            report.failed += 1
        else:
            delivery.time_next_attempt = now + timedelta(seconds=retry_delay * 2 ** (delivery.attempts - 1))
            report.retried += 1
        missed.append(delivery)
    Delivery.objects.filter(pk__in=sent).update(
        status=Delivery.Status.SENT, attempts=F("attempts") + 1, last_error="", time_sent=now
    )
    Delivery.objects.bulk_update(missed, ["attempts", "last_error", "status", "time_next_attempt"])
    report.sent = len(sent)


def queue_again(deliveries: QuerySet[Delivery]) -> int:
    """Make failed deliveries (a queryset) pending and due now, with their attempts reset; return
    how many. The admin's "Queue again" action."""
    return deliveries.filter(status=Delivery.Status.FAILED).update(
        status=Delivery.Status.PENDING, attempts=0, time_next_attempt=timezone.now()
    )
