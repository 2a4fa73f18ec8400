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
* Templates, template paths and context hints are code: adding or changing a context renderer
  takes the ``entity_event.edit_templates`` permission on top of Django's add or change one
  (superusers have it), and only such a user can preview a renderer, by an explicit POST from
  its form (``ContextRendererAdmin.preview_view``). See docs/security.rst.
* Rows stored with values the API would refuse (a context that is not a dict, written around
  ``create_event``) are shown and flagged, never a server error.
* Delete confirmations count what goes with the deleted objects, per kind of object, instead of
  listing every row, and refuse with counts when events or context renderers protect them
  (``DeletionCountsMixin``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from entity_event.admin_deletion import DeletionCountsMixin
from entity_event.forms import ADMIN_EVENT_UUID_PREFIX, AdminEventForm, JSONTextField
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
from entity_event.preview import RendererPreview, preview_renderer

if TYPE_CHECKING:
    from django.contrib.admin import ModelAdmin, TabularInline
else:

    class _Subscriptable:
        """django-stubs makes ``ModelAdmin`` and ``TabularInline`` generic (``ModelAdmin[Event]``),
        which Django's classes cannot be at run time; rather than monkeypatching Django for the
        whole project (django-stubs-ext), the subscript here gives Django's class itself."""

        def __init__(self, cls: type) -> None:
            self.cls = cls

        def __getitem__(self, parameters: object) -> type:
            return self.cls

    ModelAdmin = _Subscriptable(admin.ModelAdmin)
    TabularInline = _Subscriptable(admin.TabularInline)

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

#: The admins of models with JSON fields show them with ``JSONTextField``.
JSON_FORM_FIELD: Mapping[type[models.Field[Any, Any]], Mapping[str, Any]] = {
    models.JSONField: {"form_class": JSONTextField}
}

#: The permission that editing (and previewing) templates and context hints takes.
EDIT_TEMPLATES_PERMISSION = "entity_event.edit_templates"


def stored_value_problems(event: Event) -> list[str]:
    """What the event's stored values break of the rules ``create_event`` enforces (a context
    that is not a dict, say, written by raw SQL or an older version); empty when none."""
    try:
        event.clean_fields(exclude=["source"])
    except ValidationError as error:
        return [message for messages in error.message_dict.values() for message in messages]
    return []


@admin.register(SourceGroup)
class SourceGroupAdmin(DeletionCountsMixin, ModelAdmin[SourceGroup]):
    """Source groups, searchable by name, display name and description."""

    list_display = ["name", "display_name", "description"]
    search_fields = ["name", "display_name", "description"]
    ordering = ["name"]


@admin.register(Source)
class SourceAdmin(DeletionCountsMixin, ModelAdmin[Source]):
    """Sources, filterable by group, searchable by their names and their group's."""

    list_display = ["name", "display_name", "group"]
    list_filter = ["group"]
    list_select_related = ["group"]
    search_fields = ["name", "display_name", "description", "group__name", "group__display_name"]
    ordering = ["name"]


@admin.register(RenderingStyle)
class RenderingStyleAdmin(DeletionCountsMixin, ModelAdmin[RenderingStyle]):
    """Rendering styles, searchable by name."""

    list_display = ["name", "display_name"]
    search_fields = ["name", "display_name"]
    ordering = ["name"]


@admin.register(Medium)
class MediumAdmin(DeletionCountsMixin, ModelAdmin[Medium]):
    """Mediums with their rendering style and creation time."""

    formfield_overrides = JSON_FORM_FIELD

    list_display = ["name", "display_name", "rendering_style", "time_created"]
    list_filter = ["rendering_style"]
    list_select_related = ["rendering_style"]
    search_fields = ["name", "display_name", "description"]
    ordering = ["name"]


@admin.register(Subscription)
class SubscriptionAdmin(DeletionCountsMixin, ModelAdmin[Subscription]):
    """Subscriptions: the entity by id, searchable by entity, source and medium names."""

    show_full_result_count = False
    list_display = ["entity", "sub_entity_kind", "source", "medium", "only_following"]
    list_filter = ["medium", "source", "sub_entity_kind", "only_following"]
    list_select_related = ["entity", "sub_entity_kind", "source", "medium"]
    raw_id_fields = ["entity"]
    search_fields = ENTITY_SOURCE_MEDIUM_SEARCH
    ordering = ["medium__name", "source__name", "entity__display_name", "id"]


@admin.register(Unsubscription)
class UnsubscriptionAdmin(DeletionCountsMixin, ModelAdmin[Unsubscription]):
    """Unsubscriptions: the entity by id, searchable by entity, source and medium names."""

    show_full_result_count = False
    list_display = ["entity", "source", "medium"]
    list_filter = ["medium", "source"]
    list_select_related = ["entity", "source", "medium"]
    raw_id_fields = ["entity"]
    search_fields = ENTITY_SOURCE_MEDIUM_SEARCH
    ordering = ["medium__name", "source__name", "entity__display_name", "id"]


class EventActorInline(TabularInline[EventActor, Event]):
    """The actors of an event, on the event's page; entities by id."""

    model = EventActor
    raw_id_fields = ["entity"]
    extra = 0


class EventSeenInline(TabularInline[EventSeen, Event]):
    """The mediums an event was seen on, on the event's page."""

    model = EventSeen
    extra = 0


@admin.register(Event)
class EventAdmin(DeletionCountsMixin, ModelAdmin[Event]):
    """Every event, newest first, searchable by uuid, source and actor names."""

    formfield_overrides = JSON_FORM_FIELD

    show_full_result_count = False
    list_display = ["time", "source", "uuid", "time_expires"]
    list_filter = ["source__group", "source"]
    list_select_related = ["source"]
    search_fields = ["uuid", "source__name", "source__display_name", "eventactor__entity__display_name"]
    date_hierarchy = "time"
    ordering = ["-time", "-id"]
    inlines = [EventActorInline, EventSeenInline]
    readonly_fields = ["stored_values"]

    @admin.display(description="stored values")
    def stored_values(self, event: Event) -> str:
        """ "valid", or what is wrong with the values stored in the database, flagged."""
        problems = stored_value_problems(event) if event.pk is not None else []
        if not problems:
            return "valid"
        return format_html(
            '<ul class="errorlist">{}</ul>', format_html_join("", "<li>{}</li>", ((p,) for p in problems))
        )


@admin.register(AdminEvent)
class AdminEventAdmin(DeletionCountsMixin, ModelAdmin[AdminEvent]):
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
        """The text of the event, from its context (flagged when the stored context is not a dict)."""
        if not isinstance(event.context, dict):
            return format_html(
                '<span class="errornote">the stored context is a {}, not a dict</span>',
                type(event.context).__name__,
            )
        return str(event.context.get("text", ""))

    def save_model(self, request: HttpRequest, obj: AdminEvent, form: AdminEventForm, change: bool) -> None:
        """Create the event with ``Event.objects.create_event`` instead of saving ``obj``."""
        # A new event goes through Event.objects.create_event (generated uuid, atomic write).
        form.save_event()


@admin.register(EventSeen)
class EventSeenAdmin(DeletionCountsMixin, ModelAdmin[EventSeen]):
    """Seen records, newest first; the event by id."""

    show_full_result_count = False
    list_display = ["event", "medium", "time_seen"]
    list_filter = ["medium", "time_seen"]
    list_select_related = ["event__source", "medium"]
    raw_id_fields = ["event"]
    search_fields = ["event__uuid", "event__source__name", "event__source__display_name", "medium__name"]
    ordering = ["-time_seen", "-id"]


@admin.register(ContextRenderer)
class ContextRendererAdmin(DeletionCountsMixin, ModelAdmin[ContextRenderer]):
    """Context renderers, validated by ``ContextRenderer.clean()``.

    Templates, template paths and hints are code: adding or changing a renderer takes the
    ``entity_event.edit_templates`` permission too; without it the renderer is read-only. Such
    a user can preview the form's renderer (saved or not) on the latest events of its source
    with the button under the form: an explicit POST, never a plain page view.
    """

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
    ]
    formfield_overrides = JSON_FORM_FIELD
    change_form_template = "admin/entity_event/contextrenderer/change_form.html"
    preview_template = "admin/entity_event/contextrenderer/preview.html"

    @staticmethod
    def may_edit_templates(request: HttpRequest) -> bool:
        """Whether the user holds ``entity_event.edit_templates`` (superusers do)."""
        return request.user.has_perm(EDIT_TEMPLATES_PERMISSION)

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Django's add permission and ``edit_templates``."""
        return super().has_add_permission(request) and self.may_edit_templates(request)

    def has_change_permission(self, request: HttpRequest, obj: ContextRenderer | None = None) -> bool:
        """Django's change permission and ``edit_templates``; without them the page is read-only
        (for users with the view or change permission)."""
        return super().has_change_permission(request, obj) and self.may_edit_templates(request)

    def get_urls(self) -> list[URLPattern]:
        """The admin's URLs and the two preview URLs (a new renderer's, a saved one's)."""
        preview = self.admin_site.admin_view(self.preview_view)
        info = self.opts.app_label, self.opts.model_name
        return [
            path("preview/", preview, name="{}_{}_preview_new".format(*info)),
            path("<path:object_id>/preview/", preview, name="{}_{}_preview".format(*info)),
            *super().get_urls(),
        ]

    def render_change_form(
        self, request: HttpRequest, context: dict[str, Any], add: bool = False, change: bool = False,
        form_url: str = "", obj: ContextRenderer | None = None,
    ) -> HttpResponse:  # fmt: skip
        """The change form, with the preview button when the user may edit the renderer."""
        context["can_preview"] = (
            self.has_add_permission(request) if add else self.has_change_permission(request, obj)
        )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def preview_view(self, request: HttpRequest, object_id: str | None = None) -> HttpResponse:
        """Render the posted form's renderer on the latest events of its source, without saving.

        POST only (with the admin's CSRF protection), for users who may add (a new renderer) or
        change (a saved one) renderers, that is, who hold ``edit_templates``.
        """
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        renderer = None
        if object_id is not None:
            renderer = self.get_object(request, unquote(object_id))
            if renderer is None:
                raise Http404(f"no context renderer with id {object_id!r}")
        allowed = (
            self.has_add_permission(request)
            if renderer is None
            else self.has_change_permission(request, renderer)
        )
        if not allowed:
            raise PermissionDenied
        form = self.get_form(request, renderer, change=renderer is not None)(request.POST, instance=renderer)
        previews = preview_renderer(form.instance, limit=PREVIEW_EVENTS) if form.is_valid() else None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": renderer,
            "title": f"Preview of {form.instance.name or 'a new context renderer'}",
            "errors": form.errors,
            "preview_table": None if previews is None else preview_table(previews),
        }
        return TemplateResponse(request, self.preview_template, context)


def preview_table(previews: list[RendererPreview]) -> SafeString | str:
    """The previews as an HTML table: the text and the HTML output shown as escaped source (the
    HTML is never injected into the admin page), or the error an event's rendering raised."""
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
