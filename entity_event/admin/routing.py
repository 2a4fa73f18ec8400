"""The admin of routing, who receives what: sources, mediums and subscriptions.

It holds the admins of source groups, sources, mediums, subscriptions and unsubscriptions. The
(un)subscription lists grow with the site: they reference entities by id and skip the count
of the unfiltered table.
"""

from __future__ import annotations

from django.contrib import admin

from entity_event.admin.base import EntityEventAdmin
from entity_event.models import Medium, Source, SourceGroup, Subscription, Unsubscription

#: Search of the (un)subscription lists: the entity, source and medium by name.
ENTITY_SOURCE_MEDIUM_SEARCH = [
    "entity__display_name",
    "source__name",
    "source__display_name",
    "medium__name",
    "medium__display_name",
]


@admin.register(SourceGroup)
class SourceGroupAdmin(EntityEventAdmin):
    """Source groups, searchable by name, display name and description."""

    list_display = ["name", "display_name", "description"]
    search_fields = ["name", "display_name", "description"]
    ordering = ["name"]


@admin.register(Source)
class SourceAdmin(EntityEventAdmin):
    """Sources, filterable by group and by whether they are required (nobody can unsubscribe
    from those), searchable by their names and their group's."""

    list_display = ["name", "display_name", "group", "required"]
    list_filter = ["group", "required"]
    list_select_related = ["group"]
    search_fields = ["name", "display_name", "description", "group__name", "group__display_name"]
    ordering = ["name"]


@admin.register(Medium)
class MediumAdmin(EntityEventAdmin):
    """Mediums with their rendering style and creation time."""

    list_display = ["name", "display_name", "rendering_style", "time_created"]
    list_filter = ["rendering_style"]
    list_select_related = ["rendering_style"]
    search_fields = ["name", "display_name", "description"]
    ordering = ["name"]


@admin.register(Subscription)
class SubscriptionAdmin(EntityEventAdmin):
    """Subscriptions: the entity by id, searchable by entity, source and medium names."""

    show_full_result_count = False
    list_display = ["entity", "sub_entity_kind", "source", "medium", "only_following"]
    list_filter = ["medium", "source", "sub_entity_kind", "only_following"]
    list_select_related = ["entity", "sub_entity_kind", "source", "medium"]
    raw_id_fields = ["entity"]
    search_fields = ENTITY_SOURCE_MEDIUM_SEARCH
    ordering = ["medium__name", "source__name", "entity__display_name", "id"]


@admin.register(Unsubscription)
class UnsubscriptionAdmin(EntityEventAdmin):
    """Unsubscriptions: the entity by id, searchable by entity, source and medium names."""

    show_full_result_count = False
    list_display = ["entity", "source", "medium"]
    list_filter = ["medium", "source"]
    list_select_related = ["entity", "source", "medium"]
    raw_id_fields = ["entity"]
    search_fields = ENTITY_SOURCE_MEDIUM_SEARCH
    ordering = ["medium__name", "source__name", "entity__display_name", "id"]
