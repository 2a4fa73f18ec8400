"""The email handler of delivery: one message per recipient, with a stable ``Message-ID``.

Each message is built and sent on its own: whatever goes wrong for one recipient (an address
that is no address, an ``entity_meta`` that is not a dict, an event that does not render, a
refusal of the mail server) is that recipient's outcome, and the other messages of the chunk go
out. A recipient without an address is skipped, not tried again.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.core.mail import EmailMultiAlternatives
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext

from entity_event.conf import app_settings
from entity_event.delivery.batches import Batch
from entity_event.delivery.recipients import Failures, Recipient, Skip
from entity_event.models import Event
from entity_event.notifications.unsubscribe import ONE_CLICK, unsubscribe_url
from entity_event.rendering.locales import Locale, activated, locale_of

__all__ = ["email_address", "mail_connection", "message_id", "send_email"]


def message_id(events: list[Event], target: Any) -> str:
    """The ``Message-ID`` of ``events`` sent on their own to ``target`` (an ``Entity`` or a
    ``Recipient``): the same whenever they go to this target, whichever worker sends them, so
    that a receiver that keeps the ids it has seen can drop a message sent twice. (A digest's is
    its key's, fixed when the digest is formed: ``Batch.key_of``.)"""
    digest = hashlib.sha256("\n".join(event.uuid for event in events).encode()).hexdigest()[:32]
    return f"<entity-event.{digest}.{target.pk}@{app_settings.MESSAGE_ID_DOMAIN}>"


def message_id_of(key: str) -> str:
    """The ``Message-ID`` of a delivery's key (``Batch.key_of``)."""
    return f"<entity-event.{key}@{app_settings.MESSAGE_ID_DOMAIN}>"


def email_address(target: Any) -> str | None:
    """The target's email address: ``entity_meta[ENTITY_EVENT_EMAIL_ADDRESS_KEY]`` when
    ``entity_meta`` is a dict and the value a non-empty string, else ``None``."""
    meta = target.entity_meta
    address = meta.get(app_settings.EMAIL_ADDRESS_KEY) if isinstance(meta, dict) else None
    return address if isinstance(address, str) and address.strip() else None


def send_email(batch: Batch) -> Failures:
    """A delivery handler: render each event in the medium's rendering style and email it, one
    message per recipient (recipients never see each other's address), through the site's
    mailer. With ``digest``, one message per recipient lists all their events.

    The subject is the event's source (or, for a digest, the number of events); the body the text
    rendering, with the HTML one as an alternative when there is one. Each message carries the
    ``Message-ID`` of its delivery's key (``batch.key_of``). A recipient without an address is
    skipped; an event that did not render, a message that could not be built and one the mailer
    refuses are failures of that recipient (see the module docstring).
    """
    app_settings.BASE_URL  # noqa: B018 (refuses, before sending anything, when the links cannot be made)
    rendered = renderings(batch)
    failures: Failures = {}
    with mail_connection() as connection:
        for target, events in messages(batch):
            outcome = send_one(connection, batch, target, events, rendered)
            if outcome is not None:
                failures.update({(event, target): outcome for event in events})
    return failures


def renderings(batch: Batch) -> dict[tuple[int, Locale], tuple[str, str]]:
    """``{(event id, locale): (text, html)}`` of the batch's events that render, each rendered
    once per language and time zone of its recipients, and once for the run (``batch.memo``):
    the chunks of a fan-out share their event."""
    wanted: dict[Locale, dict[int, Event]] = {}
    for event, target in batch.pairs:
        wanted.setdefault(locale_of(target), {})[event.pk] = event
    memo = batch.memo.setdefault("send_email.renderings", {})
    for locale, events in wanted.items():
        missing = [event for pk, event in events.items() if (pk, locale) not in memo]
        if missing:
            with activated(locale):
                rendered = batch.medium.render(missing)
            memo.update({(event.pk, locale): rendered.get(event) for event in missing})
    return {
        (pk, locale): memo[(pk, locale)]
        for locale, events in wanted.items()
        for pk in events
        if memo[(pk, locale)] is not None
    }


def build_message(
    batch: Batch, target: Recipient, address: str, events: list[Event], rendered: list[tuple[str, str]]
) -> EmailMultiAlternatives:
    """The message of ``events`` to ``target`` in the active language: their renderings, and,
    unless every source is required, the one-click unsubscribe headers (RFC 8058) and a visible
    link to the same URL."""
    text = "\n\n".join(text for text, _ in rendered)
    html = "\n".join(html for _, html in rendered if html)
    headers = {"Message-ID": message_id_of(batch.key_of(events[0], target))}
    optional = sorted({event.source_id for event in events if not event.source.required})
    if optional:
        url = unsubscribe_url(target.pk, batch.medium.pk, optional)
        headers["List-Unsubscribe"] = f"<{url}>"
        headers["List-Unsubscribe-Post"] = ONE_CLICK
        text += "\n\n--\n" + gettext("To stop receiving these messages: %(url)s") % {"url": url}
        if html:
            html += format_html(
                '\n<p><a href="{}">{}</a></p>', url, gettext("Unsubscribe from these messages")
            )
    subject = (
        events[0].source.display_name
        if len(events) == 1
        else ngettext("%(count)d new event", "%(count)d new events", len(events)) % {"count": len(events)}
    )
    message = EmailMultiAlternatives(subject=subject, body=text, to=[address], headers=headers)
    if html:
        message.attach_alternative(html, "text/html")
    return message


def mail_connection() -> Any:
    """A connection to the site's default mailer: ``mailers.default`` on Django 6.1 and later
    (the ``MAILERS`` setting, or the older email settings while Django still reads them), else
    ``get_connection()`` (``EMAIL_BACKEND``). Opened once for a chunk, so that an SMTP server
    is connected to once, not once per message."""
    try:
        from django.core.mail import mailers
    except ImportError:  # Django 5.2 and 6.0, which have no mailers
        from django.core.mail import get_connection

        return get_connection()
    return mailers.default


def messages(batch: Batch) -> list[tuple[Recipient, list[Event]]]:
    """One message per (target, events): each pair alone, or each digest entry."""
    if batch.digest:
        return [(target, events) for target, events in batch.items]
    return [(target, [event]) for event, target in batch.pairs]


def send_one(
    connection: Any,
    batch: Batch,
    target: Recipient,
    events: list[Event],
    rendered: dict[tuple[int, Locale], tuple[str, str]],
) -> str | Skip | None:
    """Send one message; return why it could not be sent (a ``Skip`` when there is no address),
    or ``None``."""
    address = email_address(target)
    if address is None:
        key = app_settings.EMAIL_ADDRESS_KEY
        return Skip(f"the target {target.pk} has no email address (entity_meta[{key!r}])")
    locale = locale_of(target)
    missing = [event for event in events if (event.pk, locale) not in rendered]
    if missing:
        return f"the event {missing[0].pk} did not render (no context renderer, or its template failed)"
    try:
        with activated(locale):
            message = build_message(
                batch, target, address, events, [rendered[(e.pk, locale)] for e in events]
            )
        connection.send_messages([message])
    except Exception as error:  # this recipient's: an address the backend refuses, a lost connection
        return f"{type(error).__name__}: {error}"
    return None
