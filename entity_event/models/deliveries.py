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

from entity_event.models.events import Event
from entity_event.models.mediums import Medium


class Delivery(models.Model):
    """One event's delivery to one target entity on one medium."""

    class Status(models.TextChoices):
        PENDING = "pending", "pending"
        SENT = "sent", "sent"
        #: Nothing to send it to (a target without an address): final, not tried again.
        SKIPPED = "skipped", "skipped"
        FAILED = "failed", "failed"

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    medium = models.ForeignKey(Medium, on_delete=models.CASCADE, related_name="deliveries")
    target = models.ForeignKey("entity.Entity", on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    time_created = models.DateTimeField(default=timezone.now)
    #: When a pending record may be tried (again): now for a new one, later after a failed attempt.
    time_next_attempt = models.DateTimeField(default=timezone.now)
    time_sent = models.DateTimeField(null=True, blank=True)
    #: The digest the record belongs to, fixed when the digest is formed and before it is sent,
    #: so that a digest sent again (after a fault) carries the same key and ``Message-ID``;
    #: empty for a record sent on its own.
    digest_key = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        verbose_name_plural = "deliveries"
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
