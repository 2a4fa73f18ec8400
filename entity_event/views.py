"""The notification center's HTML pages: the list of a person's notifications, and the forms
that mark them read or unread (which work without JavaScript; the page's script only adds live
updates). URLs in ``entity_event.urls``; the JSON API is ``entity_event.api``.

Each page asks ``feed_entity`` whose notifications it shows: the user's own, or, for staff with
``entity_event.view_any_feed``, anyone's (``?entity=<id>``). Marking is only ever done by the
person themselves.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from entity_event.live import page_script_context
from entity_event.models import Medium
from entity_event.notification_center import (
    DEFAULT_PAGE_SIZE,
    Cursor,
    feed_entity,
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
            "No notification medium: create the medium that ENTITY_EVENT_NOTIFICATION_MEDIUM names."
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
        raise BadRequest(f"Invalid event id {event_id}: event ids run from 1 to {MAX_ID}.")
    return event_id


def entity_id_parameter(value: str | None) -> int | None:
    """The ``entity`` query parameter as an id; ``BadRequest`` when it is not one."""
    if value is None or value == "":
        return None
    entity_id = parse_id(value)
    if entity_id is None:
        raise BadRequest(f"Invalid entity id {value!r}.")
    return entity_id


@require_GET
@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    """A page of notifications, newest first: ``?cursor=`` for the next page, ``?unread=1`` for
    the unread ones only, ``?entity=<id>`` for someone else's (staff with the permission)."""
    medium = medium_or_404()
    feed = viewed_feed(request.user, entity_id_parameter(request.GET.get("entity")))
    cursor = Cursor.decode(request.GET["cursor"]) if request.GET.get("cursor") else None
    unread_only = request.GET.get("unread") == "1"
    page = notification_page(
        medium, feed.entity, cursor=cursor, size=DEFAULT_PAGE_SIZE, unread_only=unread_only
    )
    return render(
        request,
        "entity_event/notifications/list.html",
        {
            "medium": medium,
            "feed": feed,
            "page": page,
            "unread_count": medium.unread_count(feed.entity),
            "unread_only": unread_only,
            "next_cursor": page.next_cursor.encode() if page.next_cursor else None,
            **page_script_context(),
        },
    )


def redirect_back(request: HttpRequest) -> HttpResponseRedirect:
    """Back to the ``next`` form field when it is a URL of this site, else to the list."""
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        target = reverse("entity_event:notifications")
    return HttpResponseRedirect(target)


@require_POST
@login_required
def mark_all_read(request: HttpRequest) -> HttpResponse:
    """Mark every notification of the user read (the form under the list)."""
    medium_or_404().mark_read(feed_entity(request.user))
    return redirect_back(request)


@require_POST
@login_required
def mark_read(request: HttpRequest, event_id: int) -> HttpResponse:
    """Mark one notification of the user read (events outside their feed are ignored)."""
    medium_or_404().mark_read(feed_entity(request.user), [event_id_in_url(event_id)])
    return redirect_back(request)


@require_POST
@login_required
def mark_unread(request: HttpRequest, event_id: int) -> HttpResponse:
    """Mark one notification of the user unread again."""
    medium_or_404().mark_unread(feed_entity(request.user), [event_id_in_url(event_id)])
    return redirect_back(request)
