"""The example project registers django-entity's ``Entity`` in the admin (django-entity ships no
admin), so that the entity fields of entity_event's admin, typed in by id, get a lookup popup
with search, and each entity links to its newsfeed page."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from entity.models import Entity


@admin.register(Entity)
class EntityAdmin(admin.ModelAdmin):
    """Every entity, active or not, searchable by display name."""

    list_display = ["display_name", "entity_kind", "entity_type", "entity_id", "is_active", "newsfeed"]
    list_filter = ["entity_kind", "is_active"]
    list_select_related = ["entity_kind", "entity_type"]
    search_fields = ["display_name"]
    ordering = ["display_name", "id"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Entity]:
        # Entity.objects holds only active entities; the admin shows the inactive ones too.
        return Entity.all_objects.select_related("entity_kind").order_by(*self.ordering)

    @admin.display(description="Newsfeed")
    def newsfeed(self, entity: Entity) -> str:
        """A link to the entity's page on the example site (only active entities have one)."""
        if not entity.is_active:
            return "-"
        return format_html('<a href="{}">Newsfeed</a>', reverse("example:newsfeed", args=[entity.pk]))
