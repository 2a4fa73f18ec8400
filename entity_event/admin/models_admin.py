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
  its form (``entity_event.admin_renderers``). See docs/security.rst.
* Rows stored with values the API would refuse (a context that is not a dict, written around
  ``create_event``) are shown and flagged, never a server error.
* Delete confirmations count what goes with the deleted objects, per kind of object, instead of
  listing every row, and refuse with counts when events or context renderers protect them
  (``DeletionCountsMixin``).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import display_for_field
from django.contrib.admin.widgets import AdminSplitDateTime
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import QuerySet
from django.forms import Field as FormField
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from entity_event import (
    admin_reads,  # noqa: F401 (registers the read state's admin)
    admin_renderers,  # noqa: F401 (registers the context renderers' admin)
)
from entity_event.admin_base import JSON_FORM_FIELD, ModelAdmin, TabularInline
from entity_event.admin_deletion import DeletionCountsMixin
from entity_event.delivery import queue_again
from entity_event.forms import ADMIN_EVENT_UUID_PREFIX, AdminEventForm, ExpiryField
from entity_event.models import (
    AdminEvent,
    Delivery,
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
from entity_event.timestamps import never_expires

#: Search of the (un)subscription lists: the entity, source and medium by name.
ENTITY_SOURCE_MEDIUM_SEARCH = [
    "entity__display_name",
    "source__name",
    "source__display_name",
    "medium__name",
    "medium__display_name",
]


def stored_value_problems(event: Event) -> list[str]:
    """What the event's stored values break of the rules ``create_event`` enforces (a context
    that is not a dict, say, written by raw SQL or an older version); empty when none."""
    try:
        event.clean_fields(exclude=["source"])
    except ValidationError as error:
        return [message for messages in error.message_dict.values() for message in messages]
    return []


@admin.display(description="expires", ordering="time_expires")
def expires(event: Event) -> str:
    """The event's expiry as the admin shows it: "never" for the "never expires" instant (a date in
    the year 9000, which would read as a real one), else the date and time as Django shows them."""
    if event.time_expires == never_expires():
        return "never"
    return str(display_for_field(event.time_expires, Event._meta.get_field("time_expires"), "-"))


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
    list_display = ["time", "source", "uuid", expires]
    list_filter = ["source__group", "source"]
    list_select_related = ["source"]
    search_fields = ["uuid", "source__name", "source__display_name", "eventactor__entity__display_name"]
    date_hierarchy = "time"
    ordering = ["-time", "-id"]
    inlines = [EventActorInline, EventSeenInline]
    readonly_fields = ["stored_values"]

    def formfield_for_dbfield(
        self, db_field: models.Field[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> FormField | None:
        """The expiry is empty for "never" and takes a date and a time (``ExpiryField``)."""
        if db_field.name == "time_expires":
            return ExpiryField(label="Expires", widget=AdminSplitDateTime)
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Event | None = None) -> list[str]:
        """A view-only page shows the expiry through ``expires`` ("never" for never)."""
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "expires"] if self.is_view_only(request, obj) else fields

    def get_fields(self, request: HttpRequest, obj: Event | None = None) -> list[Any]:
        """On a view-only page, ``expires`` in the place of ``time_expires``."""
        fields = list(super().get_fields(request, obj))
        if not self.is_view_only(request, obj):
            return fields
        return ["expires" if name == "time_expires" else name for name in fields if name != "expires"]

    def is_view_only(self, request: HttpRequest, obj: Event | None) -> bool:
        """Whether the page of ``obj`` shows every field read-only (the user may not change it)."""
        return obj is not None and not self.has_change_permission(request, obj)

    @admin.display(description="expires")
    def expires(self, event: Event) -> str:
        """The expiry, "never" for never (the read-only field of a view-only page)."""
        return expires(event)

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
    list_display = ["time", "source", "text", expires]
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


@admin.register(Delivery)
class DeliveryAdmin(DeletionCountsMixin, ModelAdmin[Delivery]):
    """The delivery records of ``deliver_entity_events``, filterable by status and medium; failed
    ones can be queued again."""

    show_full_result_count = False
    list_display = [
        "event",
        "target",
        "medium",
        "status",
        "attempts",
        "time_sent",
        "time_next_attempt",
        "last_error",
    ]
    list_filter = ["status", "medium"]
    list_select_related = ["event__source", "target", "medium"]
    raw_id_fields = ["event", "target"]
    search_fields = ["event__uuid", "target__display_name", "last_error"]
    ordering = ["-time_created", "-id"]
    actions = ["queue_again"]

    @admin.action(description="Queue the selected failed deliveries again", permissions=["change"])
    def queue_again(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        """Make the selected failed deliveries pending again, with no attempt counted."""
        count = queue_again(queryset)
        self.message_user(request, f"{count} failed deliveries queued again.")
