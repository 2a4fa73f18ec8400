"""Who receives what: subscriptions and unsubscriptions of entities to sources on mediums."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _
from entity.models import Entity

from entity_event.models.mediums import Medium
from entity_event.models.querysets import SubscriptionQuerySet
from entity_event.models.sources import Source


class Subscription(models.Model):
    """An entity, or every sub-entity of a kind under it, receives a source's events on a medium.

    With ``only_following`` the subscribed entities only receive the events whose actors they
    follow (by default: themselves and their super-entities).
    """

    medium = models.ForeignKey(
        Medium, on_delete=models.CASCADE, related_name="subscriptions", verbose_name=_("medium")
    )
    source = models.ForeignKey(
        Source, on_delete=models.CASCADE, related_name="subscriptions", verbose_name=_("source")
    )
    entity = models.ForeignKey(
        "entity.Entity", on_delete=models.CASCADE, related_name="+", verbose_name=_("entity")
    )
    sub_entity_kind = models.ForeignKey(
        "entity.EntityKind",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("sub entity kind"),
    )
    only_following = models.BooleanField(verbose_name=_("only following"), default=True)

    objects = SubscriptionQuerySet.as_manager()

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        # One individual subscription per (medium, source, entity), one group subscription per
        # (medium, source, entity, kind). The group one needs no condition (rows whose kind is NULL
        # are never equal); the individual one is a partial index, which MariaDB and MySQL lack:
        # migration 0007 enforces it there with a unique index over a virtual column.
        constraints = [
            models.UniqueConstraint(
                fields=["medium", "source", "entity"],
                condition=Q(sub_entity_kind__isnull=True),
                name="entity_event_subscription_unique_individual",
            ),
            models.UniqueConstraint(
                fields=["medium", "source", "entity", "sub_entity_kind"],
                name="entity_event_subscription_unique_group",
            ),
        ]
        indexes = [models.Index(fields=["source", "medium"], name="entity_event_sub_source_medium")]

    def __str__(self) -> str:
        audience = str(self.entity)
        if self.sub_entity_kind_id is not None:
            audience = f"every {self.sub_entity_kind} under {audience}"
        following = " (only following)" if self.only_following else ""
        return f"{audience}: {self.source} on {self.medium}{following}"

    def subscribed_entities(self) -> QuerySet[Entity]:
        """The entities this subscription covers: its entity for an individual subscription, the
        active sub-entities of ``sub_entity_kind`` under it for a group subscription."""
        from entity_event.routing.following import subscribed_entities

        return subscribed_entities(self)


class Unsubscription(models.Model):
    """One entity opts out of one source on one medium, whatever subscriptions include it."""

    entity = models.ForeignKey(
        "entity.Entity", on_delete=models.CASCADE, related_name="+", verbose_name=_("entity")
    )
    medium = models.ForeignKey(
        Medium, on_delete=models.CASCADE, related_name="unsubscriptions", verbose_name=_("medium")
    )
    source = models.ForeignKey(
        Source, on_delete=models.CASCADE, related_name="unsubscriptions", verbose_name=_("source")
    )

    class Meta:
        verbose_name = _("unsubscription")
        verbose_name_plural = _("unsubscriptions")
        constraints = [
            models.UniqueConstraint(
                fields=("entity", "medium", "source"), name="entity_event_unsubscription_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.entity} unsubscribed from {self.source} on {self.medium}"

    def clean(self) -> None:
        """Refuse an unsubscription of a required source, which would change nothing."""
        if self.source_id is not None and self.source.required:
            raise ValidationError(
                {
                    "source": ValidationError(
                        _(
                            "%(source)s is required: it reaches everyone it is meant for, and nobody "
                            "can unsubscribe from it."
                        ),
                        code="required_source",
                        params={"source": self.source},
                    )
                }
            )
