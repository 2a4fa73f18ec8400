"""URLs of the runnable project: the Django admin.

The project also registers django-entity's ``Entity`` in the admin (django-entity ships no admin),
so that the entity fields of entity_event's admin, typed in by id, get a lookup popup with search.
"""

from __future__ import annotations

from django.contrib import admin
from django.urls import path
from entity.models import Entity


@admin.register(Entity)
class EntityAdmin(admin.ModelAdmin):
    list_display = ["display_name", "entity_kind", "entity_type", "entity_id", "is_active"]
    list_filter = ["entity_kind", "is_active"]
    list_select_related = ["entity_kind", "entity_type"]
    search_fields = ["display_name"]
    ordering = ["display_name", "id"]

    def get_queryset(self, request):
        # Entity.objects holds only active entities; the admin shows the inactive ones too.
        return Entity.all_objects.select_related("entity_kind")


urlpatterns = [
    path("admin/", admin.site.urls),
]
