"""Delivery: getting claimed events out of the process (email, push) without losing any.

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
the reason (``{(event, target): "error"}``), or ``None`` when all went out. ``send_email`` is the
one shipped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.core.mail import EmailMultiAlternatives
from django.db import router, transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from entity.models import Entity

from entity_event.backends import locked_with_related
from entity_event.conf import email_address_key, message_id_domain
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


# --- the email handler ---------------------------------------------------------------------------


def message_id(events: list[Event], target: Entity) -> str:
    """A ``Message-ID`` that is the same whenever these events go to this target, whichever worker
    sends them: a receiver that keeps the ids it has seen can drop a message sent twice."""
    digest = hashlib.sha256("\n".join(event.uuid for event in events).encode()).hexdigest()[:32]
    return f"<entity-event.{digest}.{target.pk}@{message_id_domain()}>"


def email_address(target: Entity) -> str | None:
    """The target's email address: ``entity_meta[ENTITY_EVENT_EMAIL_ADDRESS_KEY]``."""
    address = (target.entity_meta or {}).get(email_address_key())
    return address if isinstance(address, str) and address else None


def send_email(batch: Batch) -> Failures:
    """A delivery handler: render each event in the medium's rendering style and email it, one
    message per recipient (recipients never see each other's address), through Django's email
    backend. With ``digest``, one message per recipient lists all their events.

    The subject is the event's source (or, for a digest, the number of events); the body the text
    rendering, with the HTML one as an alternative when there is one. Each message carries a stable
    ``Message-ID`` (``message_id``). A target without an address, an event that did not render and
    a message the backend refuses are failures, reported per recipient; the others are sent.
    """
    events = list({event.pk: event for event, _ in batch.pairs}.values())
    rendered = batch.medium.render(events)
    failures: Failures = {}
    with mail_connection() as connection:
        for target, target_events in _messages(batch):
            error = _send_one(connection, target, target_events, rendered)
            if error:
                failures.update({(event, target): error for event in target_events})
    return failures


def mail_connection() -> Any:
    """A connection to the site's default mailer: ``mailers.default`` on Django 6.1 and later
    (the ``MAILERS`` setting, or the older email settings while Django still reads them), else
    ``get_connection()`` (``EMAIL_BACKEND``). Opened once for a batch, so that an SMTP server
    is connected to once, not once per message."""
    try:
        from django.core.mail import mailers
    except ImportError:  # Django 5.2 and 6.0, which have no mailers
        from django.core.mail import get_connection

        return get_connection()
    return mailers.default


def _messages(batch: Batch) -> list[tuple[Entity, list[Event]]]:
    """One message per (target, events): each pair alone, or each digest entry."""
    if batch.digest:
        return [(target, events) for target, events in batch.items]
    return [(target, [event]) for event, target in batch.pairs]


def _send_one(
    connection: Any, target: Entity, events: list[Event], rendered: dict[Event, tuple[str, str]]
) -> str:
    """Send one message; return why it could not be sent, or ``""``."""
    address = email_address(target)
    if address is None:
        return f"the target {target.pk} has no email address (entity_meta[{email_address_key()!r}])"
    missing = [event for event in events if event not in rendered]
    if missing:
        return f"the event {missing[0].pk} did not render (no context renderer, or its template failed)"
    subject = events[0].source.display_name if len(events) == 1 else f"{len(events)} new events"
    message = EmailMultiAlternatives(
        subject=subject,
        body="\n\n".join(rendered[event][0] for event in events),
        to=[address],
        headers={"Message-ID": message_id(events, target)},
    )
    html = "\n".join(rendered[event][1] for event in events if rendered[event][1])
    if html:
        message.attach_alternative(html, "text/html")
    try:
        connection.send_messages([message])
    except Exception as error:  # the backend's own errors: SMTP refusals, lost connections
        return f"{type(error).__name__}: {error}"
    return ""
