"""The django-eventstream channel manager of the notification center.

Set ``EVENTSTREAM_CHANNELMANAGER_CLASS`` to
``"entity_event.notifications.live_channels.NotificationChannelManager"`` so that each person's
channel (``entity_event.notifications.live.channel_name``) can be read only by that person, and
so that its messages, which only say "something new", are not stored (django-eventstream stores
the messages of the channels it calls reliable, to replay them). Every channel named like the
notification center's (``entity-event-...``) is refused to anyone but its person, the staff
allowed to see any feed included: the pages stream only their own person's notifications. Other
channels keep django-eventstream's default behaviour.
"""

from __future__ import annotations

from typing import Any

from django_eventstream.channelmanager import DefaultChannelManager

from entity_event.notifications.live import is_notification_channel, own_channel

__all__ = ["NotificationChannelManager"]


class NotificationChannelManager(DefaultChannelManager):  # type: ignore[misc]  # untyped library
    """django-eventstream's default manager, with the rules of the notification channels."""

    def can_read_channel(self, user: Any, channel: str) -> bool:
        """A notification channel only for its own person (one query: the user's entity)."""
        if is_notification_channel(channel):
            return channel == own_channel(user)
        return bool(super().can_read_channel(user, channel))

    def is_channel_reliable(self, channel: str) -> bool:
        return not is_notification_channel(channel) and bool(super().is_channel_reliable(channel))
