"""Rendering events: choosing each event's context renderer for a medium and rendering it.

Everything here works on a batch of events with a number of queries that does not depend on the
batch size: one query for the candidate renderers (plus one for the default rendering style when
``DEFAULT_ENTITY_EVENT_RENDERING_STYLE`` is set), then one per hinted model (plus prefetches).
docs/advanced_features.rst gives the rules.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeAlias

from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS
from django.db.models import F, Q
from django.template import Context, Template
from django.template.loader import get_template, render_to_string
from entity.models import Entity

from entity_event.conf import SETTINGS, app_settings
from entity_event.db.read_only import ReadOnlyDatabase, statements_refused
from entity_event.exceptions import (
    ContextNotLoadedError,
    NoContextRendererError,
    RenderedOutputTooLongError,
)
from entity_event.models import ContextRenderer, Event, Medium, RenderingStyle
from entity_event.models.hints import ContextHints, context_hints_problems
from entity_event.rendering.hinted_rows import HintedRowLoader
from entity_event.validation import JSONObject, JSONValue, check_saved

logger = logging.getLogger(__name__)

#: What the templates of a context renderer see: the loaded context (hinted keys hold model
#: rows), the medium's ``additional_context`` and ``observing_entity``.
TemplateContext: TypeAlias = dict[str, Any]


@dataclass(frozen=True)
class LoadedRendering:
    """What ``load_contexts_and_renderers`` stores for one event and one medium.

    ``context`` is a copy of the event's context with the hinted primary keys replaced by model
    rows; ``renderer`` is the chosen context renderer, or ``None`` when none matches the event.
    """

    context: JSONValue
    renderer: ContextRenderer | None


def default_rendering_style(using: str | None = None) -> RenderingStyle | None:
    """The rendering style that ``DEFAULT_ENTITY_EVENT_RENDERING_STYLE`` names (one query), or
    ``None`` without a query when the setting is unset; ``ImproperlyConfigured`` when no style
    has that name. ``using`` picks the database (``None``: where the routers send reads)."""
    name = app_settings.DEFAULT_RENDERING_STYLE
    if name is None:
        return None
    style = RenderingStyle.objects.using(using).filter(name=name).first()
    if style is None:
        raise ImproperlyConfigured(
            f"{SETTINGS['DEFAULT_RENDERING_STYLE'].name} names the rendering style {name!r}, "
            "which does not exist"
        )
    return style


def renderers_by_source(
    source_ids: Iterable[int], medium: Medium, using: str | None
) -> dict[int, ContextRenderer]:
    """Map each source id to its context renderer on ``medium``, for the sources that have one.

    The order of preference: the source's renderer in the medium's rendering style, the source
    group's renderer in that style, then the same two in the default rendering style. All the
    candidates come from one query.
    """
    source_ids = set(source_ids)
    styles = [medium.rendering_style_id] if medium.rendering_style_id is not None else []
    default_style = default_rendering_style(using)
    if default_style is not None and default_style.pk not in styles:
        styles.append(default_style.pk)
    if not styles or not source_ids:
        return {}

    # One row per (renderer, source it applies to): ``group_source_id`` is set for the rows of a
    # source group's renderer, one per source of the group that is in the batch.
    candidates = (
        ContextRenderer.objects.using(using)
        .annotate(group_source_id=F("source_group__sources__id"))
        .filter(rendering_style_id__in=styles)
        .filter(Q(source_id__in=source_ids) | Q(group_source_id__in=source_ids))
        .order_by()
    )
    ranked: dict[int, tuple[tuple[int, int], ContextRenderer]] = {}
    for renderer in candidates:
        if renderer.source_id is not None:
            source_id, specificity = renderer.source_id, 0
        else:
            source_id, specificity = renderer.group_source_id, 1
        rank = (styles.index(renderer.rendering_style_id), specificity)
        if source_id not in ranked or rank < ranked[source_id][0]:
            ranked[source_id] = (rank, renderer)
    return {source_id: renderer for source_id, (_, renderer) in ranked.items()}


def _hints_of(renderer: ContextRenderer) -> ContextHints:
    problems = context_hints_problems(renderer.context_hints)
    if problems:
        raise ImproperlyConfigured(f"context renderer {renderer.name!r}: {'; '.join(problems)}")
    hints: ContextHints = renderer.context_hints  # valid: no problems
    return hints


def checked_events(events: Iterable[Event]) -> list[Event]:
    """``events`` evaluated as a list; a ``TypeError`` naming the first item that is no ``Event``."""
    events = list(events)
    for position, event in enumerate(events):
        if not isinstance(event, Event):
            raise TypeError(f"events[{position}]: expected an Event, got {type(event).__name__}")
    return events


def load_contexts_and_renderers(events: Iterable[Event], medium: Medium) -> list[Event]:
    """Choose every event's renderer for ``medium`` and load its context; return the events.

    On each event, ``event.loaded_renderings[medium.pk]`` becomes a ``LoadedRendering``; the
    stored ``event.context`` is not modified. Costs one query for the renderers (two with a
    default rendering style), one per hinted model and the hints' prefetch queries, whatever the
    number of events.
    """
    check_saved(medium, Medium, "medium")
    events = checked_events(events)
    if not events:
        return events
    using = events[0]._state.db or medium._state.db
    renderers = renderers_by_source({event.source_id for event in events}, medium, using)
    hints = {renderer.pk: _hints_of(renderer) for renderer in renderers.values()}

    loader = HintedRowLoader(using=using)
    for event in events:
        renderer = renderers.get(event.source_id)
        if renderer is not None:
            loader.add(event.context, hints[renderer.pk], owner=f"the context renderer {renderer.name!r}")
    with statements_refused():
        loader.load()
    for event in events:
        renderer = renderers.get(event.source_id)
        if renderer is None:
            context = copy.deepcopy(event.context)
        else:
            context = loader.loaded_context(event.context, hints[renderer.pk])
        event.__dict__.setdefault("loaded_renderings", {})[medium.pk] = LoadedRendering(context, renderer)
    return events


def loaded_rendering(event: Event, medium: Medium) -> LoadedRendering:
    """The context and renderer loaded for ``event`` on ``medium``, or ``ContextNotLoadedError``."""
    check_saved(medium, Medium, "medium")
    loaded: LoadedRendering | None = event.__dict__.get("loaded_renderings", {}).get(medium.pk)
    if loaded is None:
        raise ContextNotLoadedError(
            f"the context of {event} was not loaded for the medium {medium.name!r}: call "
            "medium.render(events) or Event.objects.filter(...).load_contexts_and_renderers(medium) first"
        )
    return loaded


def additional_context_of(medium: Medium) -> JSONObject:
    """The medium's ``additional_context``, or ``TypeError`` when it is not a dict."""
    additional = medium.additional_context or {}
    if not isinstance(additional, dict):
        raise TypeError(
            f"medium {medium.name!r}: additional_context must be a dict, got {type(additional).__name__}"
        )
    return additional


def merged_context(event: Event, medium: Medium) -> JSONObject:
    """The event's loaded context with the medium's ``additional_context`` merged over it."""
    loaded = loaded_rendering(event, medium)
    return {**stored_dict(loaded.context, event), **additional_context_of(medium)}


def stored_dict(context: JSONValue, event: Event) -> JSONObject:
    """``context`` when it is a dict; a ``TypeError`` naming the event otherwise.

    ``create_event`` and the admin only store dicts, but a row written around them (raw SQL,
    ``Event.objects.create``, an older version) may hold a list or a number: that event fails
    alone, with a message saying why, instead of breaking a page.
    """
    if not isinstance(context, dict):
        raise TypeError(f"the stored context of {_describe(event)} is a {type(context).__name__}, not a dict")
    return context


def template_context(event: Event, medium: Medium, observing_entity: Entity | None = None) -> TemplateContext:
    """What the templates see: ``merged_context`` and ``observing_entity`` (``None`` if not given)."""
    return {**merged_context(event, medium), "observing_entity": observing_entity}


class TemplateRenderer:
    """Renders the templates of context renderers; compiles each inline template once per batch."""

    def __init__(self) -> None:
        self._compiled: dict[str, Template] = {}

    def _inline(self, source: str) -> Template:
        template = self._compiled.get(source)
        if template is None:
            template = self._compiled[source] = Template(source)
        return template

    def render(self, path: str, inline: str, context: TemplateContext, autoescape: bool) -> str:
        """Render the template at ``path``, else the ``inline`` one, else return ``""``.

        ``autoescape`` is false for text output: a Django template then renders without HTML
        escaping. (A template of another engine, found by path, keeps that engine's escaping.)
        Rendering refuses every write to the database (``statements_refused``), and an output
        longer than ``ENTITY_EVENT_MAX_RENDERED_LENGTH`` raises ``RenderedOutputTooLongError``.
        """
        with statements_refused():
            output = self._render(path, inline, context, autoescape)
        limit = app_settings.MAX_RENDERED_LENGTH
        if len(output) > limit:
            raise RenderedOutputTooLongError(
                f"the rendered output is {len(output):,} characters long, over the limit of {limit:,} "
                f"({SETTINGS['MAX_RENDERED_LENGTH'].name})"
            )
        return output

    def _render(self, path: str, inline: str, context: TemplateContext, autoescape: bool) -> str:
        if path:
            if autoescape:
                return render_to_string(path, context).strip()
            template = get_template(path)
            django_template = getattr(template, "template", None)
            if isinstance(django_template, Template):
                return django_template.render(Context(context, autoescape=False)).strip()
            return template.render(context).strip()
        if inline:
            return self._inline(inline).render(Context(context, autoescape=autoescape)).strip()
        return ""

    def render_event(
        self, event: Event, medium: Medium, observing_entity: Entity | None = None
    ) -> tuple[str, str]:
        """Render a loaded event on ``medium`` as ``(text, html)``."""
        renderer = loaded_rendering(event, medium).renderer
        if renderer is None:
            raise NoContextRendererError(
                f"no context renderer matches {event} on the medium {medium.name!r} (its rendering "
                f"style, nor {SETTINGS['DEFAULT_RENDERING_STYLE'].name})"
            )
        return self.render_templates(renderer, template_context(event, medium, observing_entity))

    def render_templates(self, renderer: ContextRenderer, context: TemplateContext) -> tuple[str, str]:
        """Render a context renderer's text and HTML templates with ``context``."""
        text = self.render(renderer.text_template_path, renderer.text_template, context, autoescape=False)
        html = self.render(renderer.html_template_path, renderer.html_template, context, autoescape=True)
        return text, html


def render_event(event: Event, medium: Medium, observing_entity: Entity | None = None) -> tuple[str, str]:
    """``Event.render``: render one loaded event in its own read-only scope; errors propagate."""
    with ReadOnlyDatabase(event._state.db or medium._state.db or DEFAULT_DB_ALIAS):
        return TemplateRenderer().render_event(event, medium, observing_entity)


def _describe(event: Event) -> str:
    """The event for a log message, without a query (``str(event)`` reads its source)."""
    return f"the event {event.pk} (uuid {event.uuid}, source {event.source_id})"


def render_events(
    events: Iterable[Event], medium: Medium, observing_entity: Entity | None = None
) -> dict[Event, tuple[str, str]]:
    """Load and render a batch of events on ``medium``: ``{event: (text, html)}``.

    Events that no context renderer matches are left out (and logged at debug level). An event
    whose template raises while rendering (a missing template file, a failing filter or
    attribute) is left out too and logged as a warning with the traceback, so that one bad event
    or renderer cannot break a whole page or batch; ``Event.render`` lets the error propagate.
    """
    # A misconfigured medium concerns the whole batch: it raises instead of leaving events out.
    additional_context_of(medium)
    # Evaluated before the read-only scope: a queryset the caller built may lock its rows.
    events = list(events)
    if not events:
        return {}
    loaded: list[tuple[Event, ContextRenderer]] = []
    for event in load_contexts_and_renderers(events, medium):
        renderer = event.loaded_renderings[medium.pk].renderer
        if renderer is None:
            logger.debug(
                "no context renderer for %s on the medium %r: not rendered", _describe(event), medium.name
            )
        else:
            loaded.append((event, renderer))
    if not loaded:
        return {}
    templates = TemplateRenderer()
    rendered = {}
    with ReadOnlyDatabase(_database_of(events, medium)) as read_only:
        for event, renderer in loaded:
            try:
                rendered[event] = templates.render_event(event, medium, observing_entity)
            except Exception as error:
                logger.warning(
                    "rendering %s on the medium %r with the context renderer %r failed: left out",
                    _describe(event),
                    medium.name,
                    renderer.name,
                    exc_info=True,
                )
                read_only.recover_after(error)
    return rendered


def _database_of(events: list[Event], medium: Medium) -> str:
    """The database the events were read from (the medium's, for unsaved or foreign objects)."""
    first = events[0]
    return getattr(getattr(first, "_state", None), "db", None) or medium._state.db or DEFAULT_DB_ALIAS
