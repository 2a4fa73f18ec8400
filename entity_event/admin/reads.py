"""The admin of per-person read state: the watermarks and the marks of single events.

Staff can look up what someone has read (to answer "why is my bell showing 3?"), reset it by
deleting the watermark and the marks, or correct a mark. The rows reference entities and events
by id (``raw_id_fields``): both tables grow with the site.
"""

from __future__ import annotations

from django.contrib import admin

from entity_event.admin.base import EntityEventAdmin
from entity_event.models import ReadMark, ReadState


@admin.register(ReadState)
class ReadStateAdmin(EntityEventAdmin):
    """Per (medium, entity): every event up to ``read_up_to`` is read, unless marked unread."""

    show_full_result_count = False
    list_display = ["entity", "medium", "read_up_to", "time_updated"]
    list_filter = ["medium"]
    list_select_related = ["entity", "medium"]
    raw_id_fields = ["entity"]
    search_fields = ["entity__display_name"]
    ordering = ["-time_updated", "-id"]


@admin.register(ReadMark)
class ReadMarkAdmin(EntityEventAdmin):
    """Single events marked read or unread, whatever the watermark says."""

    show_full_result_count = False
    list_display = ["event", "entity", "medium", "read", "time_marked"]
    list_filter = ["medium", "read"]
    list_select_related = ["event__source", "entity", "medium"]
    raw_id_fields = ["event", "entity"]
    search_fields = ["entity__display_name", "event__uuid"]
    ordering = ["-time_marked", "-id"]
