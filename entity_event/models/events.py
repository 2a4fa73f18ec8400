"""Events: what happened (source, context, time), who took part (actors), and where it was seen."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from entity.models import Entity

from entity_event.models.mediums import Medium
from entity_event.models.querysets import EventManager
from entity_event.models.sources import Source
from entity_event.timestamps import never_expires
from entity_event.validation import (
    JSONValue,
    validate_context,
    validate_time,
    validate_time_expires,
    validate_uuid,
)

if TYPE_CHECKING:
    from entity_event.rendering.renderers import LoadedRendering

#: The longest ``Event.uuid``, in characters (``create_event`` refuses a longer one).
UUID_MAX_LENGTH = 512


class Event(models.Model):
    """Something that happened: its source, who did it (actors) and what (the JSON ``context``).

    ``uuid`` identifies the event for idempotent creation; ``time_expires`` hides it from the
    queries after that instant (by default it never expires: the first instant of the year 9000,
    which survives conversion to any time zone, where 0.7's ``datetime.max`` overflowed).
    """

    # Events are history: a source that has events cannot be deleted until they are deleted or
    # pruned (docs/models.rst).
    source = models.ForeignKey(
        Source, on_delete=models.PROTECT, related_name="events", verbose_name=_("source")
    )
    # The validators are the checks of create_event, for the admin's forms (same messages).
    context = models.JSONField(
        verbose_name=_("context"),
        default=dict,
        blank=True,
        encoder=DjangoJSONEncoder,
        validators=[validate_context],
    )
    time = models.DateTimeField(
        verbose_name=_("time"), default=timezone.now, db_index=True, validators=[validate_time]
    )
    time_expires = models.DateTimeField(
        verbose_name=_("time expires"),
        default=never_expires,
        db_index=True,
        validators=[validate_time_expires],
    )
    uuid = models.CharField(
        verbose_name=_("uuid"), max_length=UUID_MAX_LENGTH, unique=True, validators=[validate_uuid]
    )

    objects = EventManager()

    #: Set by ``load_contexts_and_renderers``: the context and renderer loaded for each medium
    #: (by its primary key). Not a field: it lives on the instance only.
    loaded_renderings: dict[int, LoadedRendering]

    class Meta:
        ordering = ["-time", "-id"]
        verbose_name = _("event")
        verbose_name_plural = _("events")

    def __str__(self) -> str:
        return f"{self.source} event {self.uuid}"

    def render(self, medium: Medium, observing_entity: Entity | None = None) -> tuple[str, str]:
        """Render this event on ``medium`` as ``(text, html)``.

        The context and renderer must have been loaded for that medium (by ``Medium.render`` or
        ``load_contexts_and_renderers``), otherwise ``ContextNotLoadedError`` (a ``RuntimeError``)
        is raised; ``NoContextRendererError`` when no context renderer matches the event. Like
        ``Medium.render`` it never writes: it runs in a read-only scope, whose few statements it
        pays on every call, so render a batch with ``Medium.render``.
        """
        from entity_event.rendering.renderers import render_event

        return render_event(self, medium, observing_entity)

    def get_serialized_context(self, medium: Medium) -> JSONValue:
        """A JSON-safe version of the context this event renders with on ``medium``.

        It is the loaded context (hinted rows as dicts, with their loaded relations) with the
        medium's ``additional_context`` over it, serialised by ``DefaultContextSerializer``. The
        context must have been loaded for that medium, as for ``render``.
        """
        from entity_event.context_serializer import DefaultContextSerializer
        from entity_event.rendering.renderers import merged_context

        return DefaultContextSerializer(merged_context(self, medium)).data


class AdminEvent(Event):
    """A proxy of ``Event`` whose admin form creates one-off events (announcements) by hand."""

    class Meta:
        proxy = True
        verbose_name = _("admin event")
        verbose_name_plural = _("admin events")


class EventActor(models.Model):
    """An entity that took part in an event; only-following subscriptions route on actors."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, verbose_name=_("event"))
    entity = models.ForeignKey(
        "entity.Entity", on_delete=models.CASCADE, related_name="+", verbose_name=_("entity")
    )

    class Meta:
        verbose_name = _("event actor")
        verbose_name_plural = _("event actors")
        constraints = [
            models.UniqueConstraint(fields=["event", "entity"], name="entity_event_eventactor_unique"),
        ]
        # "The events of these actors" (routing) reads (entity, event) from the index alone.
        indexes = [models.Index(fields=["entity", "event"], name="entity_event_actor_ent_evt")]

    def __str__(self) -> str:
        return f"{self.entity} in {self.event}"


class EventSeen(models.Model):
    """Records that an event was seen on a medium; seen state is per (event, medium)."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, verbose_name=_("event"))
    medium = models.ForeignKey(Medium, on_delete=models.CASCADE, related_name="+", verbose_name=_("medium"))
    time_seen = models.DateTimeField(verbose_name=_("time seen"), default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "medium"], name="entity_event_eventseen_unique"),
        ]
        verbose_name = _("event seen")
        verbose_name_plural = _("events seen")

    def __str__(self) -> str:
        return f"{self.event} seen on {self.medium} at {self.time_seen:%Y-%m-%d %H:%M}"
