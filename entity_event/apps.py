"""Application configuration of entity_event."""

from __future__ import annotations

from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _


class EntityEventConfig(AppConfig):
    """The entity_event application: 64-bit primary keys, the system checks of its settings, and
    the live updates of the notification center."""

    name = "entity_event"
    verbose_name = _("Entity events")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Register the system checks (``entity_event.E001``, ``W001``, ``W002`` and ``W003`` are
        database checks) and the receiver that pushes live updates when events are created."""
        from entity_event.checks import (
            check_base_url,
            check_claim_isolation,
            check_default_rendering_style,
            check_replica_router,
            check_settings,
            check_upgraded_values,
        )
        from entity_event.notifications.live import publish_new_events
        from entity_event.signals import events_created

        checks.register(check_settings)
        checks.register(check_claim_isolation)
        checks.register(check_base_url)
        checks.register(check_replica_router)
        checks.register(check_default_rendering_style, checks.Tags.database)
        checks.register(check_upgraded_values, checks.Tags.database)
        events_created.connect(publish_new_events, dispatch_uid="entity_event.notifications.live")
