"""URLs of the runnable project: the Django admin and the example site (``example/``).

The project also registers django-entity's ``Entity`` in the admin (django-entity ships no admin),
so that the entity fields of entity_event's admin, typed in by id, get a lookup popup with search.
"""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path, reverse
from django.utils.html import format_html
from entity.models import Entity


@admin.register(Entity)
class EntityAdmin(admin.ModelAdmin):
    list_display = ["display_name", "entity_kind", "entity_type", "entity_id", "is_active", "newsfeed"]
    list_filter = ["entity_kind", "is_active"]
    list_select_related = ["entity_kind", "entity_type"]
    search_fields = ["display_name"]
    ordering = ["display_name", "id"]

    def get_queryset(self, request):
        # Entity.objects holds only active entities; the admin shows the inactive ones too.
        return Entity.all_objects.select_related("entity_kind")

    @admin.display(description="Newsfeed")
    def newsfeed(self, entity: Entity) -> str:
        """A link to the entity's page on the example site (only active entities have one)."""
        if not entity.is_active:
            return "-"
        return format_html('<a href="{}">Newsfeed</a>', reverse("example:newsfeed", args=[entity.pk]))


urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("example.urls")),
]
