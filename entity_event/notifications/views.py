"""The notification center's HTML pages: the list of a person's notifications, and the forms
that mark them read or unread (which work without JavaScript; the page's script only adds live
updates). URLs in ``entity_event.urls``; the JSON API is ``entity_event.notifications.api``.

Each page asks ``feed_entity`` whose notifications it shows: the user's own, or, for staff with
``entity_event.view_any_feed``, anyone's (``?entity=<id>``). Marking is only ever done by the
person themselves.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from entity_event.notifications.center import DEFAULT_PAGE_SIZE, feed_entity
from entity_event.notifications.live import page_script_context
from entity_event.notifications.requests import event_id_in_url, medium_or_404, requested_listing


@require_GET
@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    """A page of notifications, newest first: ``?cursor=`` for the next page, ``?unread=1`` for
    the unread ones only, ``?entity=<id>`` for someone else's (staff with the permission)."""
    listing = requested_listing(request, DEFAULT_PAGE_SIZE)
    return render(
        request,
        "entity_event/notifications/list.html",
        {
            "medium": listing.medium,
            "feed": listing.feed,
            "page": listing.page,
            "unread_count": listing.unread_count,
            "unread_only": listing.unread_only,
            "next_cursor": listing.page.next_cursor.encode() if listing.page.next_cursor else None,
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
