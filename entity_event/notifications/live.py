"""Live updates of the notification center, through django-eventstream (server-sent events).

When events are created (the ``events_created`` signal, after the commit), one message goes to
the notification medium's channel, unless none of the events' sources is subscribed to on that
medium. The message says only that there is something new (``{"count": n}``): each open page then
asks the JSON API for its own unread count and newest notifications, so the access rules of the
API decide what it sees, and nothing about an event reaches a page that may not see it.

The live channel is optional: without django-eventstream installed, or with
``ENTITY_EVENT_LIVE_UPDATES = False``, pages poll the JSON API instead, and they do the same
while the stream is down. django-eventstream needs an ASGI server (``daphne`` or ``uvicorn``);
to reach pages served by other processes, configure its Redis support (``EVENTSTREAM_REDIS``).
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.urls import reverse

from entity_event.conf import app_settings
from entity_event.models import Event, Subscription
from entity_event.notifications.center import feed_entity

#: The type of the messages on the channel (``addEventListener("events", ...)`` in a page).
MESSAGE_TYPE = "events"


def channel_name() -> str:
    """The django-eventstream channel of the notification medium."""
    return f"entity-event-{app_settings.NOTIFICATION_MEDIUM}"


def live_updates_url() -> str | None:
    """The URL of the stream, or ``None`` when live updates are off."""
    return reverse("entity_event:live") if app_settings.LIVE_UPDATES else None


def page_script_context() -> dict[str, Any]:
    """What the pages' script needs (``_script.html``): the stream's URL and the polling period."""
    return {"live_url": live_updates_url(), "poll_seconds": app_settings.POLL_SECONDS}


def publish_new_events(sender: object, events: list[Event], using: str, **kwargs: Any) -> None:
    """Receiver of ``events_created``: tell the open pages that there is something new (one
    query: whether the notification medium carries any of the events' sources)."""
    if not app_settings.LIVE_UPDATES:
        return
    carried = Subscription.objects.using(using).filter(
        medium__name=app_settings.NOTIFICATION_MEDIUM, source_id__in={event.source_id for event in events}
    )
    if not carried.exists():
        return
    from django_eventstream import send_event

    send_event(channel_name(), MESSAGE_TYPE, {"count": len(events)})


def live_updates(request: HttpRequest) -> HttpResponse:
    """The stream of the notification medium's channel, for a logged-in user with an entity
    (403 otherwise); 404 when live updates are off.

    A 400 (plain text, as django-eventstream answers its own bad requests) for an ``es-meta``
    parameter that is not a token this site signed: django-eventstream decodes it with PyJWT
    (the ``link=next`` URLs of a GRIP proxy carry it) and lets PyJWT's ``InvalidTokenError``
    escape as a 500. Only that error is caught; a token signed with the site's key is taken."""
    if not app_settings.LIVE_UPDATES:
        raise Http404("Live updates are off.")
    feed_entity(request.user)
    # Both optional (the live extra; PyJWT comes with django-eventstream): imported only here.
    import jwt
    from django_eventstream.views import events

    try:
        response: HttpResponse = events(request, channels=[channel_name()])
    except jwt.InvalidTokenError as error:
        return HttpResponseBadRequest(
            f"Invalid request: es-meta is not a token of this site ({error}).\n",
            content_type="text/plain; charset=utf-8",
        )
    return response
