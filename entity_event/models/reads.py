"""Read state: which events of its feed on a medium an entity (a person) has read.

It is separate from ``seen`` (per event and medium, for workers). Each (medium, entity) has at
most one ``ReadState``: a watermark, every event with an id up to ``read_up_to`` is read. A
``ReadMark`` overrides the watermark for one event, either way: an event marked read above it,
or marked unread below it. "Mark all read" moves the watermark and drops the marks under it, so
an unread count reads the events after the watermark and the few marks, never the whole history,
and an event written to a group of ten thousand stays one row. See docs/notification_center.rst.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from entity_event.models.events import Event
from entity_event.models.mediums import Medium


class ReadState(models.Model):
    """The read watermark of one entity on one medium: the events up to ``read_up_to`` are read."""

    medium = models.ForeignKey(Medium, on_delete=models.CASCADE, related_name="+", verbose_name=_("medium"))
    entity = models.ForeignKey(
        "entity.Entity", on_delete=models.CASCADE, related_name="+", verbose_name=_("entity")
    )
    #: The id of the newest event when the entity last marked everything read (0: never).
    read_up_to = models.BigIntegerField(verbose_name=_("read up to"), default=0)
    time_updated = models.DateTimeField(verbose_name=_("time updated"), default=timezone.now)

    class Meta:
        verbose_name = _("read state")
        verbose_name_plural = _("read states")
        constraints = [
            models.UniqueConstraint(fields=["medium", "entity"], name="entity_event_readstate_unique"),
        ]
        # Who may look at another person's notifications (staff answering "why is my bell at
        # 3?"); everyone sees their own.
        permissions = [("view_any_feed", _("Can see the notifications of anyone"))]

    def __str__(self) -> str:
        return f"{self.entity_id} on {self.medium_id}: read up to event {self.read_up_to}"


class ReadMark(models.Model):
    """One event marked read (``read=True``) or unread by one entity on one medium, whatever the
    watermark says."""

    medium = models.ForeignKey(Medium, on_delete=models.CASCADE, related_name="+", verbose_name=_("medium"))
    entity = models.ForeignKey(
        "entity.Entity", on_delete=models.CASCADE, related_name="+", verbose_name=_("entity")
    )
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="+", verbose_name=_("event"))
    read = models.BooleanField(verbose_name=_("read"))
    time_marked = models.DateTimeField(verbose_name=_("time marked"), default=timezone.now)

    class Meta:
        verbose_name = _("read mark")
        verbose_name_plural = _("read marks")
        constraints = [
            models.UniqueConstraint(
                fields=["medium", "entity", "event"], name="entity_event_readmark_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} {'read' if self.read else 'unread'} by {self.entity_id} on {self.medium_id}"
