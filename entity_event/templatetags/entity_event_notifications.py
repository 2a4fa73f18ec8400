"""Template tags of the notification center, for a site's navigation bar (``{% load
entity_event_notifications %}``):

* ``{% unread_notification_count %}``: the current user's number of unread notifications (0 for
  an anonymous user, a user without an entity, or without the notification medium);
  ``{% unread_notification_count as count %}`` stores it.
* ``{% latest_notifications 5 %}``: a list of the user's newest notifications, rendered.
* ``{% notification_bell %}``: a link to the list with the unread count, kept up to date live
  (or by polling) by the notification center's script.

They need ``request`` in the template context (Django's ``request`` context processor).
"""

from __future__ import annotations

from typing import Any

from django import template
from django.template.context import Context
from entity.models import Entity

from entity_event.models import Medium
from entity_event.notifications.center import entity_for_user, notification_medium, notification_page
from entity_event.notifications.live import page_script_context

register = template.Library()


def medium_and_entity(context: Context) -> tuple[Medium, Entity] | None:
    """The notification medium and the current user's entity, or ``None`` when either is
    missing (anonymous user, user without an entity, no such medium)."""
    request = context.get("request")
    entity = entity_for_user(request.user) if request is not None else None
    medium = notification_medium() if entity is not None else None
    return None if medium is None or entity is None else (medium, entity)


@register.simple_tag(takes_context=True)
def unread_notification_count(context: Context) -> int:
    """The current user's number of unread notifications."""
    found = medium_and_entity(context)
    return found[0].unread_count(found[1]) if found else 0


@register.inclusion_tag("entity_event/notifications/latest.html", takes_context=True)
def latest_notifications(context: Context, count: int = 5) -> dict[str, Any]:
    """The current user's ``count`` newest notifications, rendered in the medium's style."""
    found = medium_and_entity(context)
    page = notification_page(*found, size=count) if found else None
    return {"notifications": page.notifications if page else []}


@register.inclusion_tag("entity_event/notifications/bell.html", takes_context=True)
def notification_bell(context: Context) -> dict[str, Any]:
    """A link to the notification list showing the unread count, updated without a reload."""
    found = medium_and_entity(context)
    return {
        "found": found is not None,
        "unread_count": found[0].unread_count(found[1]) if found else 0,
        **page_script_context(),
    }
