"""Application configuration of entity_event."""

from __future__ import annotations

from django.apps import AppConfig
from django.core import checks


class EntityEventConfig(AppConfig):
    """The entity_event application: 64-bit primary keys and the system checks of its settings."""

    name = "entity_event"
    verbose_name = "Entity events"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Register the system checks ``entity_event.E001`` (a database check) and ``E002``."""
        from entity_event.checks import check_default_rendering_style, check_settings

        checks.register(check_settings)
        checks.register(check_default_rendering_style, checks.Tags.database)
