"""Live updates of the notification center, through django-eventstream (server-sent events).

Each person has a channel of their own on the notification medium (``channel_name``), and each
open page listens to its person's channel only (``live_channels`` lets a user read no other).
When events are created (the ``events_created`` signal, after the commit), each entity that
receives at least one of them on the notification medium gets one message on its channel,
``{"count": n}``, ``n`` being how many of the events reach it; nobody else hears of them. The
recipients come from the routing in a constant number of queries whatever their number
(``entity_event.notifications.recipients``). The message says only that there is something new:
the page then asks the JSON API for its unread count and newest notifications, so the access
rules of the API decide what it sees.

The live channel is optional: without django-eventstream installed, or with
``ENTITY_EVENT_LIVE_UPDATES = False``, pages poll the JSON API instead, and they do the same
while the stream is down. django-eventstream needs an ASGI server (``daphne`` or ``uvicorn``). A
message reaches only the streams of the process that sends it unless django-eventstream carries
it through Redis (``EVENTSTREAM_REDIS``): without Redis, pages also poll while their stream is
open (``live_across_processes``), to learn of the events created in other processes (workers,
shells, other server processes).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseForbidden
from django.urls import reverse

from entity_event.conf import app_settings
from entity_event.models import Event, Medium
from entity_event.notifications.center import User, entity_for_user, feed_entity
from entity_event.notifications.recipients import notified_counts

#: The type of the messages on the channels (``addEventListener("events", ...)`` in a page).
MESSAGE_TYPE = "events"
#: What the names of the notification center's channels start with: every channel so named is
#: one person's (``live_channels`` refuses the others to everyone).
CHANNEL_PREFIX = "entity-event-"


def channel_name(entity_id: int) -> str:
    """The django-eventstream channel of the entity ``entity_id`` on the notification medium."""
    return f"{CHANNEL_PREFIX}{app_settings.NOTIFICATION_MEDIUM}-{entity_id}"


def is_notification_channel(channel: str) -> bool:
    """Whether ``channel`` is named like a channel of the notification center."""
    return channel.startswith(CHANNEL_PREFIX)


def own_channel(user: User | None) -> str | None:
    """The channel of ``user``'s own entity, or ``None`` for an anonymous user (django-eventstream
    passes ``None``) or a user without an entity."""
    if user is None or not user.is_authenticated:
        return None
    entity = entity_for_user(user)
    return None if entity is None else channel_name(entity.pk)


def live_updates_url() -> str | None:
    """The URL of the stream, or ``None`` when live updates are off."""
    return reverse("entity_event:live") if app_settings.LIVE_UPDATES else None


def live_across_processes() -> bool:
    """Whether a message sent in one process reaches the streams served by every process: when
    django-eventstream publishes through Redis, which it does when ``EVENTSTREAM_REDIS`` is set
    (it tests the setting's presence the same way)."""
    return hasattr(settings, "EVENTSTREAM_REDIS")


def page_script_context() -> dict[str, Any]:
    """What the pages' script needs (``_script.html``): the stream's URL, the polling period, and
    whether the stream hears of the events of every process (else the page polls beside it)."""
    return {
        "live_url": live_updates_url(),
        "poll_seconds": app_settings.POLL_SECONDS,
        "live_across_processes": live_across_processes(),
    }


def publish_new_events(sender: object, events: list[Event], using: str, **kwargs: Any) -> None:
    """Receiver of ``events_created``: tell each person who receives some of ``events`` on the
    notification medium, on their own channel (two queries whatever the number of recipients:
    the medium, and the recipients with their counts)."""
    if not app_settings.LIVE_UPDATES:
        return
    medium = Medium.objects.using(using).filter(name=app_settings.NOTIFICATION_MEDIUM).first()
    if medium is None:
        return
    counts = notified_counts(medium, events, using)
    if not counts:
        return
    from django_eventstream import send_event

    for entity_id, count in sorted(counts.items()):
        send_event(channel_name(entity_id), MESSAGE_TYPE, {"count": count})


def live_updates(request: HttpRequest) -> HttpResponse:
    """The stream of the user's own channel, for a logged-in user with an entity (403
    otherwise); 404 when live updates are off.

    The ``es-meta`` parameter (the ``link=next`` URLs of a GRIP proxy carry it) is a token that
    django-eventstream decodes with PyJWT; it names the channels and the user to stream for, and
    django-eventstream takes that user for the reader. So a token signed with the site's key is
    taken only for the user logged in (else a 403, plain text): the channel manager then refuses
    it any channel but theirs. A token this site did not sign is a 400 (plain text, as
    django-eventstream answers its own bad requests), where django-eventstream would let PyJWT's
    ``InvalidTokenError`` escape as a 500; only that error is caught."""
    if not app_settings.LIVE_UPDATES:
        raise Http404("Live updates are off.")
    entity = feed_entity(request.user)
    # Both optional (the live extra; PyJWT comes with django-eventstream): imported only here.
    import jwt
    from django_eventstream.views import events

    try:
        if not token_of_the_user(request):
            return HttpResponseForbidden(
                "Forbidden: es-meta names another user than the one logged in.\n",
                content_type="text/plain; charset=utf-8",
            )
        response: HttpResponse = events(request, channels=[channel_name(entity.pk)])
    except jwt.InvalidTokenError as error:
        return HttpResponseBadRequest(
            f"Invalid request: es-meta is not a token of this site ({error}).\n",
            content_type="text/plain; charset=utf-8",
        )
    return response


def token_of_the_user(request: HttpRequest) -> bool:
    """Whether the request's ``es-meta`` token, if any, names no user or the one logged in,
    decoded as django-eventstream decodes it (PyJWT's ``InvalidTokenError`` for a token that
    this site did not sign)."""
    import jwt

    token = request.GET.get("es-meta")
    if not token:
        return True
    claims = jwt.decode(token, settings.SECRET_KEY.encode("utf-8"), algorithms=["HS256"])
    return "user" not in claims or claims["user"] == request.user.pk
