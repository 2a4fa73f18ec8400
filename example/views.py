"""The pages of the example site: the start page and the newsfeed page.

``/`` is the start page (:func:`home`): links to the admin, the notification center and the
newsfeeds the visitor may see, and the demo's logins (or, before ``bash scripts/demo`` ran, how
to build the demo's world).

``/feed/<entity id>/`` shows the events an entity receives on the medium named by the
``EXAMPLE_NEWSFEED_MEDIUM`` setting, newest first, :data:`EVENTS_PER_PAGE` per page
(``?page=N``). Only the events of the requested page are loaded and rendered, so a page costs
the same queries whatever the length of the feed: the medium, the entity, the count of the
feed, the page's events (with their sources), the context renderers, and one query per model
the renderers' context hints name.

Who may see a feed is the notification center's rule (``entity_event.notifications.center``): a
logged-in user sees their own; staff with the ``entity_event.view_any_feed`` permission anyone's.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import SafeString, mark_safe
from entity.models import Entity

from entity_event.models import Event, Medium
from entity_event.notifications.center import VIEW_ANY_FEED_PERMISSION, entity_for_user, feed_entity
from example.management.commands.entity_event_demo import DEMO_ADMIN, DEMO_PASSWORD, DEMO_USERS

#: How many events one page of a feed shows.
EVENTS_PER_PAGE = 20


@dataclass(frozen=True)
class FeedItem:
    """One event of a page, as the template shows it.

    ``html`` is the event's HTML rendering; when the event's renderer has no HTML template, or
    no context renderer matches the event on the medium (``Medium.render`` leaves such events
    out), it is empty and the template shows ``text`` (escaped) or else a plain line naming the
    event's source, so that an event the entity is subscribed to never silently disappears and
    every page keeps its length.
    """

    event: Event
    text: str
    html: SafeString | str


#: How many newsfeed links the start page offers staff allowed to see any feed.
FEEDS_ON_THE_START_PAGE = 20


def home(request: HttpRequest) -> HttpResponse:
    """The start page: the site's pages, the visitor's newsfeed (or, for staff allowed to see any
    feed, the users' newsfeeds) and the demo's logins when the demo built its world."""
    user = request.user
    own = entity_for_user(user) if user.is_authenticated else None
    feeds: list[Entity] = []
    if user.is_staff and user.has_perm(VIEW_ANY_FEED_PERMISSION):
        feeds = list(
            Entity.objects.filter(entity_kind__name="user").order_by("display_name")[:FEEDS_ON_THE_START_PAGE]
        )
    demo_built = Medium.objects.filter(name=settings.EXAMPLE_NEWSFEED_MEDIUM).exists()
    return render(
        request,
        "example/home.html",
        {
            "own": own,
            "feeds": feeds,
            "demo_built": demo_built,
            "demo_logins": demo_built and User.objects.filter(username=DEMO_ADMIN).exists(),
            "demo_users": DEMO_USERS,
            "demo_admin": DEMO_ADMIN,
            "demo_password": DEMO_PASSWORD,
        },
    )


def newsfeed_medium() -> Medium:
    """The medium named by ``EXAMPLE_NEWSFEED_MEDIUM``, or ``Http404`` when there is none."""
    name = settings.EXAMPLE_NEWSFEED_MEDIUM
    medium = Medium.objects.filter(name=name).first()
    if medium is None:
        raise Http404(f"no medium named {name!r} (the EXAMPLE_NEWSFEED_MEDIUM setting)")
    return medium


@login_required
def newsfeed(request: HttpRequest, entity_id: int) -> HttpResponse:
    """One page of the newsfeed of the active entity ``entity_id``, for that entity's user or
    staff allowed to see any feed (403 for anyone else); 404 for an unknown or inactive entity
    or a missing medium. A page number past the end shows the last page, and one that is not a
    number the first (``Paginator.get_page``)."""
    medium = newsfeed_medium()
    entity = feed_entity(request.user, entity_id)

    events = medium.entity_events(entity).select_related("source")
    page = Paginator(events, EVENTS_PER_PAGE).get_page(request.GET.get("page"))
    page_events = list(page.object_list)
    rendered = medium.render(page_events, observing_entity=entity)
    items = []
    for event in page_events:
        text, html = rendered.get(event, ("", ""))
        # The HTML template of the context renderer ran with autoescaping: its output is safe.
        items.append(FeedItem(event=event, text=text, html=mark_safe(html) if html else ""))
    return render(
        request,
        "example/newsfeed.html",
        {"entity": entity, "medium": medium, "page": page, "items": items},
    )
