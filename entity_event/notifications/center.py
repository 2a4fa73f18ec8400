"""The notification center: who is asking, whose notifications they may see, and one page of them.

The shipped views (HTML and JSON), the template tags and the live updates share this module:

* ``entity_for_user`` turns ``request.user`` into the user's entity, through the function the
  ``ENTITY_EVENT_ENTITY_FOR_USER`` setting names (by default django-entity's
  ``Entity.objects.get_for_obj(user)``).
* ``feed_entity`` applies the access rule: a person sees their own notifications; staff with the
  ``entity_event.view_any_feed`` permission may see anyone's.
* ``notification_page`` reads one page of an entity's feed on the notification medium, newest
  first, from a ``Cursor`` (the position after the last event shown): keyset pagination, so a
  page costs the same whatever the length of the feed, and new events never shift the pages
  being read. Each notification carries its read state and its rendering.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, PermissionsMixin
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import BadRequest, PermissionDenied
from django.db.models import Q
from django.http import Http404
from django.utils.module_loading import import_string
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext
from entity.models import Entity

from entity_event.conf import app_settings
from entity_event.models import Event, Medium
from entity_event.routing.read_state import read_flags
from entity_event.validation import MAX_ID, check_time

#: The permission that lets staff see the notifications of anyone.
VIEW_ANY_FEED_PERMISSION = "entity_event.view_any_feed"
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100

User = AbstractBaseUser | AnonymousUser


def default_entity_for_user(user: User) -> Entity | None:
    """The active entity django-entity keeps for ``user`` (what ``Entity.objects.get_for_obj(user)``
    gives), or ``None`` for an anonymous user or a user without one."""
    if not user.is_authenticated:
        return None
    user_type = ContentType.objects.get_for_model(user, for_concrete_model=False)
    return cast(Entity | None, Entity.objects.filter(entity_type=user_type, entity_id=user.pk).first())


def entity_for_user(user: User) -> Entity | None:
    """The entity of ``user``, by the function ``ENTITY_EVENT_ENTITY_FOR_USER`` names."""
    function: Callable[[User], Entity | None] = import_string(app_settings.ENTITY_FOR_USER)
    return function(user)


@dataclass(frozen=True)
class ViewedFeed:
    """Whose notifications a user looks at, and whether they are the user's own."""

    entity: Entity
    own: bool


def viewed_feed(user: User, entity_id: int | None = None) -> ViewedFeed:
    """The feed ``user`` asks for: their own, or with ``entity_id`` another active entity's,
    which only staff with ``entity_event.view_any_feed`` may see.

    ``PermissionDenied`` for an anonymous user, a user without an entity, or someone else's
    notifications without the permission; the message says which. ``Http404`` when someone
    allowed to see any feed asks for an entity that is unknown or inactive."""
    if not user.is_authenticated:
        raise PermissionDenied(gettext("Log in to see your notifications."))
    own = entity_for_user(user)
    if entity_id is None or (own is not None and own.pk == entity_id):
        if own is None:
            raise PermissionDenied(gettext("Your account has no entity, so it has no notifications."))
        return ViewedFeed(own, own=True)
    allowed = isinstance(user, PermissionsMixin) and user.has_perm(VIEW_ANY_FEED_PERMISSION)
    if not (getattr(user, "is_staff", False) and allowed):
        raise PermissionDenied(gettext("You may only see your own notifications."))
    other = Entity.objects.filter(pk=entity_id).first()
    if other is None:
        raise Http404(gettext("No active entity has the id %(id)d.") % {"id": entity_id})
    return ViewedFeed(cast(Entity, other), own=False)


def feed_entity(user: User, entity_id: int | None = None) -> Entity:
    """The entity of the feed ``user`` may see (``viewed_feed``): their own by default."""
    return viewed_feed(user, entity_id).entity


def notification_medium() -> Medium | None:
    """The medium ``ENTITY_EVENT_NOTIFICATION_MEDIUM`` names, or ``None`` when there is none."""
    return Medium.objects.filter(name=app_settings.NOTIFICATION_MEDIUM).first()


@dataclass(frozen=True)
class Cursor:
    """A position in a feed: just after the event ``(time, event_id)``, newest first."""

    time: datetime
    event_id: int

    @classmethod
    def after(cls, event: Event) -> Cursor:
        return cls(event.time, event.pk)

    def encode(self) -> str:
        """An opaque, URL-safe text for the position."""
        return base64.urlsafe_b64encode(f"{self.time.isoformat()}|{self.event_id}".encode()).decode()

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """The position ``encode`` wrote; ``BadRequest`` for anything else."""
        try:
            moment, _, event_id = base64.urlsafe_b64decode(text.encode("ascii")).decode().partition("|")
            cursor = cls(datetime.fromisoformat(moment), int(event_id))
            check_time(cursor.time, "cursor")
        except (ValueError, TypeError, UnicodeError, binascii.Error) as error:
            raise BadRequest(gettext("Invalid cursor %(cursor)r.") % {"cursor": text}) from error
        if cursor.time.tzinfo is None or not 1 <= cursor.event_id <= MAX_ID:
            raise BadRequest(gettext("Invalid cursor %(cursor)r.") % {"cursor": text})
        return cursor

    def condition(self) -> Q:
        """The events after this position, newest first: ``(time, id) < (self.time, self.id)``."""
        return Q(time__lt=self.time) | Q(time=self.time, pk__lt=self.event_id)


@dataclass(frozen=True)
class Notification:
    """One event of a page: whether the entity has read it, and its rendering (empty when no
    context renderer matches it on the medium)."""

    event: Event
    read: bool
    text: str
    html: SafeString | str

    def as_json(self) -> dict[str, Any]:
        """What the JSON API returns for it (no raw context: only what its templates show)."""
        return {
            "id": self.event.pk,
            "uuid": self.event.uuid,
            "source": self.event.source.name,
            "source_display_name": self.event.source.display_name,
            "time": self.event.time.isoformat(),
            "read": self.read,
            "text": self.text,
            "html": str(self.html),
        }


@dataclass(frozen=True)
class NotificationPage:
    """One page of an entity's notifications and the cursor of the next one (``None``: last)."""

    notifications: list[Notification]
    next_cursor: Cursor | None


def notification_page(
    medium: Medium,
    entity: Entity,
    *,
    cursor: Cursor | None = None,
    size: int = DEFAULT_PAGE_SIZE,
    unread_only: bool = False,
) -> NotificationPage:
    """Up to ``size`` notifications of ``entity`` after ``cursor``, newest first (only the unread
    ones with ``unread_only``), read state and renderings included: a constant number of queries
    (the read state, the page, the read marks of the page, the rendering's own)."""
    events = medium.entity_events(entity, read=False if unread_only else None).select_related("source")
    if cursor is not None:
        events = events.filter(cursor.condition())
    rows = list(events[: size + 1])
    has_more, rows = len(rows) > size, rows[:size]
    flags = (
        dict.fromkeys((e.pk for e in rows), False)
        if unread_only
        else read_flags(medium, entity.pk, [e.pk for e in rows], events.db)
    )
    rendered = medium.render(rows, observing_entity=entity) if rows else {}
    notifications = []
    for event in rows:
        text, html = rendered.get(event, ("", ""))
        # The HTML template ran with autoescaping (Medium.render): its output is safe as it is.
        notifications.append(Notification(event, flags[event.pk], text, mark_safe(html) if html else ""))
    return NotificationPage(notifications, Cursor.after(rows[-1]) if has_more else None)
