"""The following rule and subscriptions' audiences: who follows whom, who a subscription covers.

By default an entity follows itself and its super-entities. A ``Medium`` subclass may override
``followed_by`` / ``followers_of`` (its inverse); the query methods then call the overrides, and
``uses_default_following`` tells them when they may use the fast SQL of the default rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeAlias

from django.db import models
from django.db.models import Q
from entity.models import Entity, EntityRelationship

from entity_event.models import Medium, Subscription
from entity_event.validation import model_pk

#: What ``followed_by`` and ``followers_of`` take: an ``Entity``, an ``Entity`` queryset, or an
#: iterable of entities or ids (an id alone is accepted too).
Entities: TypeAlias = Entity | int | Iterable[Entity | int]

#: A subquery of entity ids (``values_list("pk", flat=True)``) or a list of them: something usable
#: in ``pk__in``.
EntityIds: TypeAlias = models.QuerySet[Entity, int] | list[int]


def entity_id_of(value: object, argument: str) -> int:
    """The id of a saved ``Entity`` or an integer id; anything else is a ``TypeError``, an unsaved
    entity or an id beyond 64 bits a ``ValueError`` (SQLite raised ``OverflowError`` on those)."""
    return model_pk(value, Entity, argument)


def entity_ids(entities: Entities, argument: str = "entities") -> EntityIds:
    """Something usable in ``pk__in``: an ``Entity``, an ``Entity`` queryset, or an iterable of
    entities or ids. A queryset stays a subquery (no query is run here)."""
    if isinstance(entities, models.QuerySet):
        if entities.model is not Entity:
            raise TypeError(
                f"{argument}: expected a queryset of Entity, got one of {entities.model.__name__}"
            )
        return entities.values_list("pk", flat=True)
    if isinstance(entities, (Entity, int)) and not isinstance(entities, bool):
        return [entity_id_of(entities, argument)]
    if isinstance(entities, (str, bytes)) or not isinstance(entities, Iterable):
        raise TypeError(f"{argument}: expected an Entity, a queryset or an iterable of entities or ids")
    return [entity_id_of(entity, argument) for entity in entities]


def default_followed_by(entities: Entities) -> models.QuerySet[Entity]:
    """The entities followed by ``entities``: themselves and their super-entities."""
    ids = entity_ids(entities)
    supers = EntityRelationship.objects.filter(sub_entity__in=ids).values("super_entity")
    return Entity.objects.filter(Q(pk__in=ids) | Q(pk__in=supers))


def default_followers_of(entities: Entities) -> models.QuerySet[Entity]:
    """The entities that follow ``entities``: themselves and their sub-entities."""
    ids = entity_ids(entities)
    subs = EntityRelationship.objects.filter(super_entity__in=ids).values("sub_entity")
    return Entity.objects.filter(Q(pk__in=ids) | Q(pk__in=subs))


def uses_default_following(medium: Medium) -> bool:
    """True when the medium's class does not override the following rule (the fast path)."""
    cls = type(medium)
    return cls.followed_by is Medium.followed_by and cls.followers_of is Medium.followers_of


def subscribed_entities(subscription: Subscription) -> models.QuerySet[Entity]:
    """The entity of an individual subscription; the active sub-entities of the subscription's
    kind under its entity for a group subscription."""
    if subscription.sub_entity_kind_id is None:
        return Entity.objects.filter(pk=subscription.entity_id)
    return Entity.objects.filter(
        entity_kind_id=subscription.sub_entity_kind_id,
        super_relationships__super_entity_id=subscription.entity_id,
    )


def subset_subscriptions(
    subscriptions: models.QuerySet[Subscription], entity: Entity | int | None
) -> models.QuerySet[Subscription]:
    """The subscriptions ``entity`` takes part in: its individual ones, and the group ones over
    one of its super-entities whose sub-entity kind is the entity's kind."""
    if entity is None:
        return subscriptions
    entity_id = entity_id_of(entity, "entity")
    kind = Entity.all_objects.filter(pk=entity_id).values("entity_kind_id")
    supers = EntityRelationship.objects.filter(sub_entity_id=entity_id).values("super_entity_id")
    return subscriptions.filter(
        Q(sub_entity_kind__isnull=True, entity_id=entity_id)
        | Q(sub_entity_kind__isnull=False, sub_entity_kind_id__in=kind, entity_id__in=supers)
    )
