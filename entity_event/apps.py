"""Application configuration of entity_event."""

from __future__ import annotations

from django.apps import AppConfig


class EntityEventConfig(AppConfig):
    name = "entity_event"
    verbose_name = "Entity events"
    default_auto_field = "django.db.models.BigAutoField"
