"""Django Entity Event: store events, route them to subscribed entities, render them per medium.

The models can be imported from the package itself, as in the 0.7 documentation
(``from entity_event import Event, Medium``). They are loaded lazily, so importing the package
before Django's app registry is ready (from settings, say) stays safe.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "4.0.0.dev0"

__all__ = [
    "AdminEvent", "ContextRenderer", "Delivery", "Event", "EventActor", "EventSeen", "Medium",
    "ReadMark", "ReadState", "RenderingStyle", "Source", "SourceGroup", "Subscription", "Unsubscription",
]  # fmt: skip

_MODEL_NAMES = frozenset(__all__)

if TYPE_CHECKING:
    # What the lazy lookup below gives, for type checkers (which never run it).
    from entity_event.models import (
        AdminEvent,
        ContextRenderer,
        Delivery,
        Event,
        EventActor,
        EventSeen,
        Medium,
        ReadMark,
        ReadState,
        RenderingStyle,
        Source,
        SourceGroup,
        Subscription,
        Unsubscription,
    )
else:

    def __getattr__(name: str) -> object:
        if name in _MODEL_NAMES:
            from entity_event import models

            return getattr(models, name)
        raise AttributeError(f"module 'entity_event' has no attribute {name!r}")
