"""The django-eventstream channel manager of the notification center.

Set ``EVENTSTREAM_CHANNELMANAGER_CLASS`` to
``"entity_event.notifications.live_channels.NotificationChannelManager"`` so that only logged-in
users read the notification channel, and so that its messages, which only say "something new",
are not stored (django-eventstream stores the messages of the channels it calls reliable, to
replay them). Other channels keep django-eventstream's default behaviour.
"""

from __future__ import annotations

from typing import Any

from django_eventstream.channelmanager import DefaultChannelManager

from entity_event.notifications.live import channel_name

__all__ = ["NotificationChannelManager"]


class NotificationChannelManager(DefaultChannelManager):  # type: ignore[misc]  # untyped library
    """django-eventstream's default manager, with the rules of the notification channel."""

    def can_read_channel(self, user: Any, channel: str) -> bool:
        if channel == channel_name():
            return user is not None and bool(user.is_authenticated)
        return bool(super().can_read_channel(user, channel))

    def is_channel_reliable(self, channel: str) -> bool:
        return channel != channel_name() and bool(super().is_channel_reliable(channel))
