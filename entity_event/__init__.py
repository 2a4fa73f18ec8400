"""Django Entity Event: store events, route them to subscribed entities, render them per medium.

The models can be imported from the package itself, as in the 0.7 documentation
(``from entity_event import Event, Medium``). They are loaded lazily, so importing the package
before Django's app registry is ready (from settings, say) stays safe.
"""

from __future__ import annotations

from typing import Any

__version__ = "1.0.0.dev0"

_MODEL_NAMES = frozenset(
    {
        "AdminEvent",
        "ContextRenderer",
        "Delivery",
        "Event",
        "EventActor",
        "EventSeen",
        "Medium",
        "RenderingStyle",
        "Source",
        "SourceGroup",
        "Subscription",
        "Unsubscription",
    }
)

__all__ = sorted(_MODEL_NAMES)


def __getattr__(name: str) -> Any:
    if name in _MODEL_NAMES:
        from entity_event import models

        return getattr(models, name)
    raise AttributeError(f"module 'entity_event' has no attribute {name!r}")
