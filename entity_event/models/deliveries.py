"""Deliveries: the record of each event's delivery to each target on a medium.

``manage.py deliver_entity_events`` claims events (``seen`` stays per event and medium) and
writes one ``Delivery`` per (event, medium, target) before it sends anything; sending then moves
each record to ``sent``, to ``skipped`` when there is nothing to send it to (a target without an
address), or counts a failed attempt and tries again later, until the attempts run out and the
record is ``failed`` (visible, and queued again from the admin). A retry goes only to the
recipients not sent yet. See docs/delivery.rst.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from entity_event.models.events import Event
from entity_event.models.mediums import Medium


class Delivery(models.Model):
    """One event's delivery to one target entity on one medium."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        SENT = "sent", _("sent")
        #: Nothing to send it to (a target without an address): final, not tried again.
        SKIPPED = "skipped", _("skipped")
        FAILED = "failed", _("failed")

    event = models.ForeignKey(
        Event, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("event")
    )
    medium = models.ForeignKey(
        Medium, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("medium")
    )
    target = models.ForeignKey(
        "entity.Entity", on_delete=models.CASCADE, related_name="+", verbose_name=_("target")
    )
    status = models.CharField(
        verbose_name=_("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(verbose_name=_("attempts"), default=0)
    last_error = models.TextField(verbose_name=_("last error"), blank=True, default="")
    time_created = models.DateTimeField(verbose_name=_("time created"), default=timezone.now)
    #: When a pending record may be tried (again): now for a new one, later after a failed attempt.
    time_next_attempt = models.DateTimeField(verbose_name=_("time next attempt"), default=timezone.now)
    time_sent = models.DateTimeField(verbose_name=_("time sent"), null=True, blank=True)
    #: The digest the record belongs to, fixed when the digest is formed and before it is sent,
    #: so that a digest sent again (after a fault) carries the same key and ``Message-ID``;
    #: empty for a record sent on its own.
    digest_key = models.CharField(verbose_name=_("digest key"), max_length=64, blank=True, default="")

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            models.UniqueConstraint(
                fields=["event", "medium", "target"], name="entity_event_delivery_unique"
            ),
        ]
        # Delivery walks a medium's pending records that are due in (time_next_attempt, id)
        # order, chunk after chunk from where the last one ended: the id in the index makes each
        # chunk a range of it, even when a fan-out gives thousands of records the same time.
        indexes = [
            models.Index(
                fields=["medium", "status", "time_next_attempt", "id"], name="entity_event_delivery_due"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} to {self.target_id} on {self.medium_id}: {self.status}"
