"""What the notification center's pages and JSON API read from a request, read once for both:
ids in parameters and URLs, the page size, the cursor, and the listing they answer with.

A value that cannot be one raises ``BadRequest`` naming it (a 400: JSON from the API, Django's
page from the HTML views); an empty parameter is an absent one (``?cursor=`` is the first
page, on the page as in the API).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import BadRequest
from django.http import Http404, HttpRequest
from django.utils.translation import gettext

from entity_event.models import Medium
from entity_event.notifications.center import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    Cursor,
    NotificationPage,
    ViewedFeed,
    notification_medium,
    notification_page,
    viewed_feed,
)
from entity_event.validation import MAX_ID


def medium_or_404() -> Medium:
    """The notification medium, or ``Http404`` naming the setting."""
    medium = notification_medium()
    if medium is None:
        raise Http404(
            gettext("No notification medium: create the medium that %(setting)s names.")
            % {"setting": "ENTITY_EVENT_NOTIFICATION_MEDIUM"}
        )
    return medium


def whole_number(text: str, maximum: int) -> int | None:
    """``text`` as a whole number from 1 to ``maximum`` (ASCII digits only, leading zeros
    allowed), or ``None`` when it is not one.

    The digits are counted before ``int()`` converts them: Python refuses to convert more than
    a few thousand digits (a ``ValueError`` of its own), and a number with more significant
    digits than ``maximum`` cannot be in range anyway."""
    if not (text.isascii() and text.isdigit()):
        return None
    digits = text.lstrip("0")
    if not digits or len(digits) > len(str(maximum)):
        return None
    number = int(digits)
    return number if number <= maximum else None


def parse_id(value: object) -> int | None:
    """A database id given as an int or as text (``"42"``), or ``None`` when it is not one."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 1 <= value <= MAX_ID else None
    if isinstance(value, str):
        return whole_number(value, MAX_ID)
    return None


def event_id_in_url(event_id: int) -> int:
    """The ``<int:event_id>`` of a form's URL, which matches any number of digits, as a database
    id: ``BadRequest`` for one no event can have (0, or beyond 64 bits, which the databases
    refuse with errors of their own), as the JSON API refuses it."""
    if parse_id(event_id) is None:
        raise BadRequest(
            gettext("Invalid event id %(id)s: event ids run from 1 to %(most)d.")
            % {"id": event_id, "most": MAX_ID}
        )
    return event_id


def entity_id_parameter(value: str | None) -> int | None:
    """The ``entity`` query parameter as an id; ``BadRequest`` when it is not one."""
    if value is None or value == "":
        return None
    entity_id = parse_id(value)
    if entity_id is None:
        raise BadRequest(gettext("Invalid entity id %(id)r.") % {"id": value})
    return entity_id


def page_size(value: str | None) -> int:
    """The ``limit`` parameter: 1 to ``MAX_PAGE_SIZE``, default ``DEFAULT_PAGE_SIZE``."""
    if not value:
        return DEFAULT_PAGE_SIZE
    size = whole_number(value, MAX_PAGE_SIZE)
    if size is None:
        raise BadRequest(
            gettext("limit must be a whole number from 1 to %(most)d, got %(value)r.")
            % {"most": MAX_PAGE_SIZE, "value": value}
        )
    return size


def cursor_parameter(value: str | None) -> Cursor | None:
    """The ``cursor`` parameter: the position after the previous page, ``None`` for the first."""
    return Cursor.decode(value) if value else None


@dataclass(frozen=True)
class Listing:
    """What a list of notifications answers: the medium, whose feed, the page and the unread
    count."""

    medium: Medium
    feed: ViewedFeed
    page: NotificationPage
    unread_count: int
    unread_only: bool


def requested_listing(request: HttpRequest, size: int) -> Listing:
    """The page of notifications ``request`` asks for (``?cursor=``, ``?unread=1``,
    ``?entity=<id>``), ``size`` at most, with the unread count; the access rule of
    ``viewed_feed`` applies."""
    medium = medium_or_404()
    feed = viewed_feed(request.user, entity_id_parameter(request.GET.get("entity")))
    unread_only = request.GET.get("unread") == "1"
    page = notification_page(
        medium,
        feed.entity,
        cursor=cursor_parameter(request.GET.get("cursor")),
        size=size,
        unread_only=unread_only,
    )
    return Listing(medium, feed, page, medium.unread_count(feed.entity), unread_only)
