"""The preference center's page and JSON API: a person sees every source that reaches them on
each medium, by source group, and switches them off and on (required ones shown locked).

* ``preferences/`` (``entity_event:preferences``): the HTML page; its form (CSRF-protected)
  posts the state of every switch, or a group's "all on" / "all off", then redirects back.
* ``api/preferences/`` (``entity_event:api_preferences``): ``GET`` the preferences as JSON,
  ``{"mediums": [...]}``; ``api/preferences/change/`` (``entity_event:api_change_preferences``):
  ``POST`` ``{"changes": [{"medium": "email", "source": "news", "receive": false}, {"medium":
  "email", "group": "site", "receive": true}]}``, all or none, answered with the new preferences.

A person sees and edits only their own (the access rule of the notification center); a change
that names what does not reach them, or turns a required source off, is a 400 that changes
nothing.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext

from entity_event.notifications.api import json_api
from entity_event.notifications.center import feed_entity
from entity_event.notifications.preferences import Change, PreferenceError, apply_changes, preferences_of

#: The most changes one request may make.
MAX_CHANGES = 1000


@login_required
def preferences_page(request: HttpRequest) -> HttpResponse:
    """The preference center of the logged-in person (``GET``), and its form (``POST``)."""
    entity = feed_entity(request.user)
    if request.method == "POST":
        try:
            apply_changes(entity, form_changes(request))
        except PreferenceError as error:
            raise BadRequest(str(error)) from error
        return HttpResponseRedirect(reverse("entity_event:preferences"))
    return render(request, "entity_event/notifications/preferences.html", {"mediums": preferences_of(entity)})


def form_changes(request: HttpRequest) -> list[Change]:
    """The changes the page's form asks for: a group's button (``all_on`` / ``all_off``, with
    the value ``medium:group``), else the state of every switch shown (``shown`` lists them as
    ``medium:source``, ``receive`` the ones on)."""
    for receive, button in ((True, "all_on"), (False, "all_off")):
        if button in request.POST:
            medium, _, group = request.POST[button].partition(":")
            return [Change(medium, receive, group=group)]
    received = set(request.POST.getlist("receive"))
    shown = request.POST.getlist("shown")[:MAX_CHANGES]
    return [
        Change(medium, key in received, source=source)
        for key in shown
        for medium, _, source in [key.partition(":")]
    ]


@json_api("GET")
def preferences(request: HttpRequest) -> HttpResponse:
    """The preferences of the logged-in person."""
    return preferences_json(preferences_of(feed_entity(request.user)))


@json_api("POST")
def change_preferences(request: HttpRequest) -> HttpResponse:
    """Make the changes of the body, all or none; answer with the preferences then."""
    entity = feed_entity(request.user)
    try:
        return preferences_json(apply_changes(entity, body_changes(request)))
    except PreferenceError as error:
        raise BadRequest(str(error)) from error


def body_changes(request: HttpRequest) -> list[Change]:
    """The changes of a JSON body; ``BadRequest`` naming what is wrong with it."""
    try:
        body: Any = json.loads(request.body)
    except (ValueError, RecursionError) as error:
        raise BadRequest(gettext("The body is not valid JSON.")) from error
    changes = body.get("changes") if isinstance(body, dict) else None
    if not isinstance(changes, list) or not changes or len(changes) > MAX_CHANGES:
        raise BadRequest(
            gettext('Send {"changes": [...]} with 1 to %(most)d changes.') % {"most": MAX_CHANGES}
        )
    parsed = []
    for change in changes:
        if not (
            isinstance(change, dict)
            and isinstance(change.get("medium"), str)
            and isinstance(change.get("receive"), bool)
            and (isinstance(change.get("source"), str)) != (isinstance(change.get("group"), str))
        ):
            raise BadRequest(
                gettext(
                    'Each change is {"medium": name, "source": name or "group": name, '
                    '"receive": true or false}.'
                )
            )
        parsed.append(Change(change["medium"], change["receive"], change.get("source"), change.get("group")))
    return parsed


def preferences_json(mediums: list[Any]) -> JsonResponse:
    return JsonResponse({"mediums": [medium.as_json() for medium in mediums]})
