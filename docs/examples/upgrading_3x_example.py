"""Code written for the published 3.x, which runs unchanged here (docs/upgrading.rst).

Run by tests/project/test_docs_examples.py::test_upgrading_3x_example.
"""

from __future__ import annotations

from datetime import datetime

from entity_event.context_loader import get_default_rendering_style, load_contexts_and_renderers
from entity_event.context_serializer import DefaultContextSerializer
from entity_event.models import Event, Medium
from entity_event.models.querysets import EventQuerySet


class PublicContextSerializer(DefaultContextSerializer):
    """Leaves out the keys that start with an underscore, in every dict of a context."""

    def serialize_dict(self, value: dict) -> dict:
        data = super().serialize_dict(value)
        return {key: item for key, item in data.items() if not key.startswith("_")}


def new_events(medium: Medium, since: datetime) -> EventQuerySet:
    """The events since ``since`` that were not seen on ``medium`` yet, marked seen now: the events
    of the medium's time span, before any subscription applies."""
    return medium.get_filtered_events(start_time=since, seen=False, mark_seen=True)


def render_everywhere(mediums: list[Medium]) -> dict[str, list[str]]:
    """The text of every event on each medium, newest first: the contexts and renderers are
    loaded for all the mediums, then each event renders on each."""
    events = load_contexts_and_renderers(Event.objects.cache_related(), mediums)
    return {medium.name: [event.render(medium)[0] for event in events] for medium in mediums}


def catch_up(medium: Medium) -> None:
    """Mark every event seen on ``medium``: the next ``new_events`` starts from now."""
    Event.objects.mark_seen(medium)


def public_contexts(medium: Medium) -> list[object]:
    """The contexts of the medium's events, for a client that renders them itself."""
    return [PublicContextSerializer(event.context).data for event in medium.events()]


def fallback_style_name() -> str | None:
    """The name of the style used when a medium's own style has no renderer for an event."""
    style = get_default_rendering_style()
    return None if style is None else style.name
