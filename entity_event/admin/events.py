"""The admin of events and of what happens to them: seen records and deliveries.

Events show their actors, seen records and recipients on the event's page (the recipients and
the Explain page: ``entity_event.admin.explain``); admin events are the events that
staff write by hand; seen records and delivery records have their own lists.

Wherever an expiry is shown, the "never expires" instant (a date in the year 9000, which would
read as a real one) is shown as "never" (``shown_expiry``).
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
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from entity_event.admin.base import EntityEventAdmin, EntityEventInline
from entity_event.admin.explain import EventExplanationAdmin
from entity_event.admin.forms import ADMIN_EVENT_UUID_PREFIX, AdminEventForm, ExpiryField
from entity_event.delivery import queue_again
from entity_event.models import AdminEvent, Delivery, Event, EventActor, EventSeen
from entity_event.timestamps import never_expires


def stored_value_problems(event: Event) -> list[str]:
    """What the event's stored values break of the rules ``create_event`` enforces (a context
    that is not a dict, say, written by raw SQL or an older version); empty when none."""
    try:
        event.clean_fields(exclude=["source"])
    except ValidationError as error:
        return [message for messages in error.message_dict.values() for message in messages]
    return []


def shown_expiry(event: Event) -> str:
    """The event's expiry as the admin shows it: "never" for the "never expires" instant, else the
    date and time as Django shows them."""
    if event.time_expires == never_expires():
        return gettext("never")
    return str(display_for_field(event.time_expires, Event._meta.get_field("time_expires"), "-"))


class EventActorInline(EntityEventInline):
    """The actors of an event, on the event's page; entities by id."""

    model = EventActor
    raw_id_fields = ["entity"]


class EventSeenInline(EntityEventInline):
    """The mediums an event was seen on, on the event's page."""

    model = EventSeen


@admin.register(Event)
class EventAdmin(EventExplanationAdmin):
    """Every event, newest first, searchable by uuid, source and actor names; the Explain page
    and each event's recipients come from ``EventExplanationAdmin``."""

    show_full_result_count = False
    list_display = ["time", "source", "uuid", "expires"]
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
            return ExpiryField(label=gettext("Expires"), widget=AdminSplitDateTime)
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

    @admin.display(description=_("expires"), ordering="time_expires")
    def expires(self, event: Event) -> str:
        """The expiry column of the list, and the read-only expiry of a view-only page."""
        return shown_expiry(event)

    @admin.display(description=_("stored values"))
    def stored_values(self, event: Event) -> str:
        """ "valid", or what is wrong with the values stored in the database, flagged."""
        problems = stored_value_problems(event) if event.pk is not None else []
        if not problems:
            return gettext("valid")
        return format_html(
            '<ul class="errorlist">{}</ul>', format_html_join("", "<li>{}</li>", ((p,) for p in problems))
        )


@admin.register(AdminEvent)
class AdminEventAdmin(EntityEventAdmin):
    """Create one-off events by hand; the changelist shows the events created this way."""

    form = AdminEventForm
    show_full_result_count = False
    list_display = ["time", "source", "text", "expires"]
    list_filter = ["source"]
    list_select_related = ["source"]
    search_fields = ["context__text", "source__name", "source__display_name"]
    date_hierarchy = "time"
    ordering = ["-time", "-id"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[AdminEvent]:
        """Only the events created through this page (their uuid has the admin prefix)."""
        return super().get_queryset(request).filter(uuid__startswith=ADMIN_EVENT_UUID_PREFIX)

    @admin.display(description=_("text"))
    def text(self, event: AdminEvent) -> str:
        """The text of the event, from its context (flagged when the stored context is not a dict)."""
        if not isinstance(event.context, dict):
            return format_html(
                '<span class="errornote">{}</span>',
                gettext("the stored context is a %(type)s, not a dict")
                % {"type": type(event.context).__name__},
            )
        return str(event.context.get("text", ""))

    @admin.display(description=_("expires"), ordering="time_expires")
    def expires(self, event: AdminEvent) -> str:
        """The expiry column of the list, "never" for never."""
        return shown_expiry(event)

    def save_model(self, request: HttpRequest, obj: AdminEvent, form: AdminEventForm, change: bool) -> None:
        """Create the event with ``Event.objects.create_event`` instead of saving ``obj``."""
        # A new event goes through Event.objects.create_event (generated uuid, atomic write).
        form.save_event()


@admin.register(EventSeen)
class EventSeenAdmin(EntityEventAdmin):
    """Seen records, newest first; the event by id."""

    show_full_result_count = False
    list_display = ["event", "medium", "time_seen"]
    list_filter = ["medium", "time_seen"]
    list_select_related = ["event__source", "medium"]
    raw_id_fields = ["event"]
    search_fields = ["event__uuid", "event__source__name", "event__source__display_name", "medium__name"]
    ordering = ["-time_seen", "-id"]


@admin.register(Delivery)
class DeliveryAdmin(EntityEventAdmin):
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

    @admin.action(description=_("Queue the selected failed deliveries again"), permissions=["change"])
    def queue_again(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        """Make the selected failed deliveries pending again, with no attempt counted."""
        count = queue_again(queryset)
        message = ngettext(
            "%(count)d failed delivery queued again.", "%(count)d failed deliveries queued again.", count
        )
        self.message_user(request, message % {"count": count})
