"""The module ``entity_event.context_loader`` of the published 3.x: its two public functions, for
code written for 3.x (docs/upgrading.rst).

Both delegate to ``entity_event.rendering.renderers``, which chooses renderers and loads contexts for one
medium at a time (what ``Medium.render`` and ``EventQuerySet.load_contexts_and_renderers`` use);
the batch loading of hinted rows lives in ``entity_event.rendering.hinted_rows``.
"""

from __future__ import annotations

from collections.abc import Iterable

from entity_event.models import Event, Medium, RenderingStyle
from entity_event.rendering.renderers import checked_events, default_rendering_style
from entity_event.rendering.renderers import load_contexts_and_renderers as load_for_medium
from entity_event.validation import check_saved

__all__ = ["get_default_rendering_style", "load_contexts_and_renderers"]


def get_default_rendering_style() -> RenderingStyle | None:
    """The ``RenderingStyle`` that ``DEFAULT_ENTITY_EVENT_RENDERING_STYLE`` names, or ``None``
    when the setting is unset (no query then; one otherwise).

    Called without arguments, as in 3.x. A setting that names no existing style raises
    ``ImproperlyConfigured`` naming the setting: the error rendering raises for it, and what the
    system check ``entity_event.E001`` reports at start-up.
    """
    return default_rendering_style()


def load_contexts_and_renderers(events: Iterable[Event], mediums: Iterable[Medium]) -> list[Event]:
    """Load the contexts and choose the renderers of ``events`` for each of ``mediums``, as in 3.x:
    ``load_contexts_and_renderers(events, mediums)`` with a list (or queryset) of events and a
    list of mediums. Returns the events as a list; each can then ``render(medium)`` and
    ``get_serialized_context(medium)`` on every one of the mediums.

    ``events`` is evaluated once. Each medium costs what
    ``EventQuerySet.load_contexts_and_renderers(medium)`` costs (one query for its renderers, one
    for the default rendering style when the setting is set, one per hinted model), whatever the
    number of events; with no medium or no event, evaluating ``events`` is the only query. A
    single medium instead of a list or an item that is not an ``Event`` raises ``TypeError``, an
    unsaved medium ``ValueError``, before any query of the loading.
    """
    if isinstance(mediums, Medium) or not isinstance(mediums, Iterable):
        raise TypeError(f"mediums: expected a list of saved Mediums, got {mediums!r}")
    mediums = [check_saved(medium, Medium, f"mediums[{index}]") for index, medium in enumerate(mediums)]
    events = checked_events(events)
    for medium in mediums:
        load_for_medium(events, medium)
    return events
