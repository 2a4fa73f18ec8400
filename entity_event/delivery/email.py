"""The email handler of delivery: one message per recipient, with a stable ``Message-ID``."""

from __future__ import annotations

import hashlib
from typing import Any

from django.core.mail import EmailMultiAlternatives
from entity.models import Entity

from entity_event.conf import app_settings
from entity_event.delivery.batches import Batch, Failures
from entity_event.models import Event


def message_id(events: list[Event], target: Entity) -> str:
    """A ``Message-ID`` that is the same whenever these events go to this target, whichever worker
    sends them: a receiver that keeps the ids it has seen can drop a message sent twice."""
    digest = hashlib.sha256("\n".join(event.uuid for event in events).encode()).hexdigest()[:32]
    return f"<entity-event.{digest}.{target.pk}@{app_settings.MESSAGE_ID_DOMAIN}>"


def email_address(target: Entity) -> str | None:
    """The target's email address: ``entity_meta[ENTITY_EVENT_EMAIL_ADDRESS_KEY]``."""
    address = (target.entity_meta or {}).get(app_settings.EMAIL_ADDRESS_KEY)
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
        return (
            f"the target {target.pk} has no email address (entity_meta[{app_settings.EMAIL_ADDRESS_KEY!r}])"
        )
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
