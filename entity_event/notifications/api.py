"""The notification center's JSON API: plain Django views, no extra dependency.

* ``GET  api/``                the notifications, newest first: ``{"results": [...], "next": cursor
  or null, "unread_count": n}``; ``?cursor=`` (the ``next`` of the previous page), ``?limit=``
  (1 to 100, default 20), ``?unread=1``, ``?entity=<id>`` (staff with the permission).
* ``GET  api/unread-count/``   ``{"unread_count": n}``.
* ``POST api/mark-read/``, ``api/mark-unread/`` with the event ids, as JSON (``{"events": [1, 2]}``)
  or as form fields (``events=1&events=2``); ``POST api/mark-all-read/``. Each answers with the
  new ``{"unread_count": n}``. Django's CSRF protection applies: send the ``X-CSRFToken`` header.

Errors are JSON too, ``{"error": "..."}``: 400 for a bad cursor, limit or body, 403 when not
logged in or asking for someone else's notifications, 404 without the notification medium, 405
for a wrong method (with ``Allow``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import BadRequest, PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext

from entity_event.notifications.center import feed_entity
from entity_event.notifications.marking import unread_count_after_marking
from entity_event.notifications.requests import (
    entity_id_parameter,
    medium_or_404,
    page_size,
    parse_id,
    requested_listing,
)

View = Callable[[HttpRequest], HttpResponse]

#: The most event ids one mark request may name.
MAX_MARKED_EVENTS = 1000


def json_api(method: str) -> Callable[[View], View]:
    """Make a view answer only ``method`` and turn its errors into JSON responses."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest) -> HttpResponse:
            if request.method != method:
                response = error(
                    405,
                    gettext("Use %(allowed)s here, not %(method)s.")
                    % {"allowed": method, "method": request.method},
                )
                response["Allow"] = method
                return response
            try:
                return view(request)
            except BadRequest as problem:
                return error(400, str(problem))
            except PermissionDenied as problem:
                return error(403, str(problem))
            except Http404 as problem:
                return error(404, str(problem))

        return wrapper

    return decorate


def error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def marked_event_ids(request: HttpRequest) -> list[int]:
    """The event ids of a mark request: ``{"events": [...]}`` as JSON, or ``events`` fields."""
    if request.content_type == "application/json":
        try:
            body: Any = json.loads(request.body)
        except ValueError as problem:
            raise BadRequest(gettext("The body is not valid JSON.")) from problem
        except RecursionError as problem:
            # The parser recurses once per nested list or dict: a body nested deeper than the
            # interpreter's recursion limit is refused by it, not by the parser's ValueError.
            raise BadRequest(gettext("The body is not valid JSON: it nests too deeply.")) from problem
        events = body.get("events") if isinstance(body, dict) else None
    else:
        events = request.POST.getlist("events") or None
    if not isinstance(events, list) or not events:
        raise BadRequest(gettext('Name the events to mark: {"events": [id, ...]}.'))
    if len(events) > MAX_MARKED_EVENTS:
        raise BadRequest(
            gettext("At most %(most)d events per request, got %(count)d.")
            % {"most": MAX_MARKED_EVENTS, "count": len(events)}
        )
    ids = [parse_id(event) for event in events]
    if None in ids:
        raise BadRequest(gettext("events must be a list of event ids."))
    return [pk for pk in ids if pk is not None]


@json_api("GET")
def notifications(request: HttpRequest) -> HttpResponse:
    """A page of the notifications, with the cursor of the next one."""
    listing = requested_listing(request, page_size(request.GET.get("limit")))
    return JsonResponse(
        {
            "results": [notification.as_json() for notification in listing.page.notifications],
            "next": listing.page.next_cursor.encode() if listing.page.next_cursor else None,
            "unread_count": listing.unread_count,
        }
    )


@json_api("GET")
def unread_count(request: HttpRequest) -> HttpResponse:
    """The number of unread notifications."""
    medium = medium_or_404()
    entity = feed_entity(request.user, entity_id_parameter(request.GET.get("entity")))
    return JsonResponse({"unread_count": medium.unread_count(entity)})


@json_api("POST")
def mark_read(request: HttpRequest) -> HttpResponse:
    """Mark the named notifications of the user read."""
    medium, entity = medium_or_404(), feed_entity(request.user)
    medium.mark_read(entity, marked_event_ids(request))
    return JsonResponse({"unread_count": unread_count_after_marking(medium, entity)})


@json_api("POST")
def mark_unread(request: HttpRequest) -> HttpResponse:
    """Mark the named notifications of the user unread."""
    medium, entity = medium_or_404(), feed_entity(request.user)
    medium.mark_unread(entity, marked_event_ids(request))
    return JsonResponse({"unread_count": unread_count_after_marking(medium, entity)})


@json_api("POST")
def mark_all_read(request: HttpRequest) -> HttpResponse:
    """Mark every notification of the user read."""
    medium, entity = medium_or_404(), feed_entity(request.user)
    medium.mark_read(entity)
    return JsonResponse({"unread_count": unread_count_after_marking(medium, entity)})
