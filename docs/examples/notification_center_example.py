"""The read-state examples of docs/notification_center.rst, run by tests/project/test_docs_examples.py."""

from __future__ import annotations

from entity.models import Entity

from entity_event.models import Event, Medium


def bell_count(notifications_medium: Medium, user_entity: Entity) -> int:
    return notifications_medium.unread_count(user_entity)  # two queries


def newest_unread(notifications_medium: Medium, user_entity: Entity) -> list[Event]:
    return list(notifications_medium.entity_events(user_entity, read=False)[:10])


def open_notification(notifications_medium: Medium, user_entity: Entity, event: Event) -> None:
    # The person opened it: read, for them only (seen, per medium, is the workers' business).
    notifications_medium.mark_read(user_entity, [event])


def keep_for_later(notifications_medium: Medium, user_entity: Entity, event: Event) -> None:
    notifications_medium.mark_unread(user_entity, [event])


def clear_the_bell(notifications_medium: Medium, user_entity: Entity) -> None:
    # Everything up to now is read; what is created afterwards is unread.
    notifications_medium.mark_read(user_entity)
