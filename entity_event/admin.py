"""The Django admin of entity_event: every model, with changelists that stay fast on big tables.

Choices that matter on a real site:

* Entities are referenced by id (``raw_id_fields``): a site has too many of them for a
  ``<select>``; the magnifier opens a searchable entity list when the project registers
  ``entity.Entity`` in its admin.
* Every changelist joins the rows it prints (``list_select_related``), so it runs the same number
  of queries for 20 rows as for 200. The changelists of the tables that grow with the site
  (events, seen records, subscriptions) skip the count of the unfiltered table
  (``show_full_result_count = False``), which is slow on a big PostgreSQL table.
* Search goes through the names and display names of the related objects
  (``source__display_name``, ``entity__display_name``...), never through a bare foreign key.
* ``AdminEvent`` is the page where staff create one-off events by hand (``AdminEventForm``).
* Delete confirmations count what goes with the deleted objects, per kind of object, instead of
  listing every row, and refuse with counts when events or context renderers protect them
  (``DeletionCountsMixin``).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from entity_event.admin_deletion import DeletionCountsMixin
from entity_event.forms import ADMIN_EVENT_UUID_PREFIX, AdminEventForm
from entity_event.models import (
    AdminEvent,
    ContextRenderer,
    Event,
    EventActor,
    EventSeen,
    Medium,
    RenderingStyle,
    Source,
    SourceGroup,
    Subscription,
    Unsubscription,
)
from entity_event.rendering import preview_renderer

#: Search of the (un)subscription lists: the entity, source and medium by name.
ENTITY_SOURCE_MEDIUM_SEARCH = [
    "entity__display_name",
    "source__name",
    "source__display_name",
    "medium__name",
    "medium__display_name",
]

#: How many recent events the context renderer preview renders.
PREVIEW_EVENTS = 5
PREVIEW_OUTPUT_CELLS = "<td><pre>{}</pre></td><td><pre>{}</pre></td>"


@admin.register(SourceGroup)
class SourceGroupAdmin(DeletionCountsMixin, admin.ModelAdmin):
    """Source groups, searchable by name, display name and description."""

    list_display = ["name", "display_name", "description"]
    search_fields = ["name", "display_name", "description"]
    ordering = ["name"]


@admin.register(Source)
class SourceAdmin(DeletionCountsMixin, admin.ModelAdmin):
    """Sources, filterable by group, searchable by their names and their group's."""

    list_display = ["name", "display_name", "group"]
    list_filter = ["group"]
    list_select_related = ["group"]
    search_fields = ["name", "display_name", "description", "group__name", "group__display_name"]
    ordering = ["name"]


@admin.register(RenderingStyle)
class RenderingStyleAdmin(DeletionCountsMixin, admin.ModelAdmin):
    """Rendering styles, searchable by name."""

    list_display = ["name", "display_name"]
    search_fields = ["name", "display_name"]
    ordering = ["name"]


@admin.register(Medium)
class MediumAdmin(DeletionCountsMixin, admin.ModelAdmin):
    """Mediums with their rendering style and creation time."""

    list_display = ["name", "display_name", "rendering_style", "time_created"]
    list_filter = ["rendering_style"]
    list_select_related = ["rendering_style"]
    search_fields = ["name", "display_name", "description"]
    ordering = ["name"]


@admin.register(Subscription)
class SubscriptionAdmin(DeletionCountsMixin, admin.ModelAdmin):
    """Subscriptions: the entity by id, searchable by entity, source and medium names."""

    show_full_result_count = False
    list_display = ["entity", "sub_entity_kind", "source", "medium", "only_following"]
    list_filter = ["medium", "source", "sub_entity_kind", "only_following"]
    list_select_related = ["entity", "sub_entity_kind", "source", "medium"]
    raw_id_fields = ["entity"]
    search_fields = ENTITY_SOURCE_MEDIUM_SEARCH
    ordering = ["medium__name", "source__name", "entity__display_name", "id"]


@admin.register(Unsubscription)
class UnsubscriptionAdmin(DeletionCountsMixin, admin.ModelAdmin):
    """Unsubscriptions: the entity by id, searchable by entity, source and medium names."""

    show_full_result_count = False
    list_display = ["entity", "source", "medium"]
    list_filter = ["medium", "source"]
    list_select_related = ["entity", "source", "medium"]
    raw_id_fields = ["entity"]
    search_fields = ENTITY_SOURCE_MEDIUM_SEARCH
    ordering = ["medium__name", "source__name", "entity__display_name", "id"]


class EventActorInline(admin.TabularInline):
    """The actors of an event, on the event's page; entities by id."""

    model = EventActor
    raw_id_fields = ["entity"]
    extra = 0


class EventSeenInline(admin.TabularInline):
    """The mediums an event was seen on, on the event's page."""

    model = EventSeen
    extra = 0


@admin.register(Event)
class EventAdmin(DeletionCountsMixin, admin.ModelAdmin):
    """Every event, newest first, searchable by uuid, source and actor names."""

    show_full_result_count = False
    list_display = ["time", "source", "uuid", "time_expires"]
    list_filter = ["source__group", "source"]
    list_select_related = ["source"]
    search_fields = ["uuid", "source__name", "source__display_name", "eventactor__entity__display_name"]
    date_hierarchy = "time"
    ordering = ["-time", "-id"]
    inlines = [EventActorInline, EventSeenInline]


@admin.register(AdminEvent)
class AdminEventAdmin(DeletionCountsMixin, admin.ModelAdmin):
    """Create one-off events by hand; the changelist shows the events created this way."""

    form = AdminEventForm
    show_full_result_count = False
    list_display = ["time", "source", "text", "time_expires"]
    list_filter = ["source"]
    list_select_related = ["source"]
    search_fields = ["context__text", "source__name", "source__display_name"]
    date_hierarchy = "time"
    ordering = ["-time", "-id"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[AdminEvent]:
        """Only the events created through this page (their uuid has the admin prefix)."""
        return super().get_queryset(request).filter(uuid__startswith=ADMIN_EVENT_UUID_PREFIX)

    @admin.display(description="text")
    def text(self, event: AdminEvent) -> str:
        """The text of the event, from its context."""
        return str((event.context or {}).get("text", ""))

    def save_model(self, request: HttpRequest, obj: AdminEvent, form: Any, change: bool) -> None:
        """Create the event with ``Event.objects.create_event`` instead of saving ``obj``."""
        # A new event goes through Event.objects.create_event (generated uuid, atomic write).
        form.save_event()


@admin.register(EventSeen)
class EventSeenAdmin(DeletionCountsMixin, admin.ModelAdmin):
    """Seen records, newest first; the event by id."""

    show_full_result_count = False
    list_display = ["event", "medium", "time_seen"]
    list_filter = ["medium", "time_seen"]
    list_select_related = ["event__source", "medium"]
    raw_id_fields = ["event"]
    search_fields = ["event__uuid", "event__source__name", "event__source__display_name", "medium__name"]
    ordering = ["-time_seen", "-id"]


@admin.register(ContextRenderer)
class ContextRendererAdmin(DeletionCountsMixin, admin.ModelAdmin):
    """Context renderers, validated by ``ContextRenderer.clean()``, with a preview of
    their output on the latest events of their source."""

    list_display = ["name", "rendering_style", "source", "source_group"]
    list_filter = ["rendering_style", "source_group", "source"]
    list_select_related = ["rendering_style", "source", "source_group"]
    search_fields = [
        "name",
        "source__name",
        "source__display_name",
        "source_group__name",
        "source_group__display_name",
        "rendering_style__name",
    ]
    ordering = ["name"]
    fieldsets = [
        (None, {"fields": ["name", "rendering_style", "source", "source_group"]}),
        ("Inline templates", {"fields": ["text_template", "html_template"]}),
        (
            "Template files (a path wins over the inline template)",
            {"fields": ["text_template_path", "html_template_path"]},
        ),
        ("Context", {"fields": ["context_hints"]}),
        ("Preview with the most recent events", {"fields": ["preview"]}),
    ]
    readonly_fields = ["preview"]

    @admin.display(description="Preview")
    def preview(self, renderer: ContextRenderer) -> str:
        """The renderer's text and HTML output for the latest events of its source (or group).

        The HTML is shown as escaped source, never injected into the admin page; a template
        that raises shows its error instead of output.
        """
        if renderer.pk is None:
            return "Save the renderer to preview it."
        previews = preview_renderer(renderer, limit=PREVIEW_EVENTS)
        if not previews:
            return "No events of this source yet."
        return format_html(
            '<table class="entity-event-preview"><tr><th>Event</th><th>Text</th><th>HTML (source)</th></tr>'
            "{}</table>",
            format_html_join(
                "",
                "<tr><td>{}</td>{}</tr>",
                (
                    (
                        str(preview.event),
                        format_html('<td colspan="2" class="errornote">{}</td>', preview.error)
                        if preview.error
                        else format_html(PREVIEW_OUTPUT_CELLS, preview.text, preview.html),
                    )
                    for preview in previews
                ),
            ),
        )
