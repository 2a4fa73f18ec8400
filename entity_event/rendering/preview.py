"""The admin's preview of a context renderer: its output on the latest events of its source.

It renders a renderer as posted from its form (saved or not), in the same read-only scope as
``Medium.render``; who may run it is the admin's business (docs/security.rst).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS

from entity_event.db.read_only import ReadOnlyDatabase, statements_refused
from entity_event.models import ContextRenderer, Event
from entity_event.models.hints import context_hints_problems
from entity_event.rendering.hinted_rows import HintedRowLoader
from entity_event.rendering.renderers import TemplateRenderer, stored_dict


@dataclass(frozen=True)
class RendererPreview:
    """One event rendered with one context renderer: its output, or the error it raised."""

    event: Event
    text: str = ""
    html: str = ""
    error: str = ""


def preview_renderer(renderer: ContextRenderer, limit: int = 5) -> list[RendererPreview]:
    """Render the ``limit`` most recent events of the renderer's source (or source group) with it.

    Used by the admin to show a renderer's output while it is being edited. The contexts are
    loaded with the renderer's hints in one query per hinted model; no medium is involved, so no
    ``additional_context`` is merged. An error (invalid hints, a template that raises) is
    reported in the preview instead of raised.
    """
    latest = Event.objects.select_related("source")
    if renderer.source_id is not None:
        latest = latest.filter(source_id=renderer.source_id)
    else:
        latest = latest.filter(source__group_id=renderer.source_group_id)
    events = list(latest.order_by("-time", "-id")[:limit])

    problems = context_hints_problems(renderer.context_hints)
    if problems:
        error = f"invalid context hints: {'; '.join(problems)}"
        return [RendererPreview(event, error=error) for event in events]
    with ReadOnlyDatabase(renderer._state.db or DEFAULT_DB_ALIAS) as read_only:
        loader = HintedRowLoader(using=renderer._state.db)
        for event in events:
            loader.add(event.context, renderer.context_hints, owner=f"the context renderer {renderer.name!r}")
        try:
            with statements_refused():
                loader.load()
        except ImproperlyConfigured as error:
            return [RendererPreview(event, error=str(error)) for event in events]
        templates = TemplateRenderer()
        previews = []
        for event in events:
            try:
                loaded = stored_dict(loader.loaded_context(event.context, renderer.context_hints), event)
                text, html = templates.render_templates(renderer, {**loaded, "observing_entity": None})
            except Exception as error:
                previews.append(RendererPreview(event, error=f"{type(error).__name__}: {error}"))
                read_only.recover_after(error)
            else:
                previews.append(RendererPreview(event, text=text, html=html))
    return previews
