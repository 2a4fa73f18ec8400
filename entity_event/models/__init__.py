"""The data model: where events come from (``sources``), who receives them (``subscriptions``), on
which medium (``mediums``), what happened (``events``), how it looks (``renderers``), where it
went (``deliveries``) and who read it (``reads``).

Everything is importable from ``entity_event.models``, as in the 0.7 API, and so are the event
queryset and manager (``EventQuerySet``, ``EventManager``), which 3.x code imports from here.
The model methods of that API delegate to the services: routing and targets (who receives which
event), claims (seen marks) and rendering (how it looks); docs/architecture.rst draws the layers.
"""

from entity_event.models.deliveries import Delivery
from entity_event.models.events import AdminEvent, Event, EventActor, EventSeen
from entity_event.models.mediums import Medium
from entity_event.models.querysets import EventManager, EventQuerySet
from entity_event.models.reads import ReadMark, ReadState
from entity_event.models.renderers import ContextRenderer, RenderingStyle
from entity_event.models.sources import Source, SourceGroup
from entity_event.models.subscriptions import Subscription, Unsubscription

__all__ = [
    "AdminEvent",
    "ContextRenderer",
    "Delivery",
    "Event",
    "EventActor",
    "EventManager",
    "EventQuerySet",
    "EventSeen",
    "Medium",
    "ReadMark",
    "ReadState",
    "RenderingStyle",
    "Source",
    "SourceGroup",
    "Subscription",
    "Unsubscription",
]
