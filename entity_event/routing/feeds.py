"""Routing: which events a medium delivers, and which ones one entity receives there.

``Medium.events()`` and ``Medium.entity_events()`` delegate here. The default following rule (an
entity follows itself and its super-entities) is expressed in SQL, so each is one query whatever
the number of events, subscriptions or entities. A ``Medium`` subclass that overrides
``followed_by`` / ``followers_of`` is honoured by calling the overrides, which costs queries per
subscription (docs/performance.rst). ``events_targets()`` (``entity_event.routing.targets``) builds on
``filtered_events`` and ``active_actor_rows``.
"""

from __future__ import annotations

import functools
from typing import Any

from django.db import models
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from entity.models import Entity, EntityRelationship

from entity_event.models import Event, EventActor, EventSeen, Medium, Subscription, Unsubscription
from entity_event.models.filters import EventFilters
from entity_event.models.querysets import EventQuerySet
from entity_event.routing.claims import limited_or_marked
from entity_event.routing.feed_sql import feed_condition
from entity_event.routing.following import (
    entity_id_of,
    entity_ids,
    subset_subscriptions,
    uses_default_following,
)
from entity_event.routing.page_sql import DeliveredEvent
from entity_event.routing.paged_condition import PagedCondition
from entity_event.routing.read_state import with_read_state


def check_saved_medium(medium: Medium, method: str) -> None:
    """An unsaved medium has no subscriptions and no seen records: a ``ValueError`` rather than
    an empty result (``events_targets``) or Django's "Cannot use None as a query value"."""
    if medium.pk is None:
        raise ValueError(f"{method}(): the medium {medium!r} is not saved (it has no primary key)")


def filtered_events(medium: Medium, filters: EventFilters) -> EventQuerySet:
    """The events of the medium's time span matching the filters, before any routing."""
    events = Event.objects.filter(time__gte=medium.time_created)
    if filters.start_time is not None:
        events = events.filter(time__gte=filters.start_time)
    if filters.end_time is not None:
        events = events.filter(time__lte=filters.end_time)
    if not filters.include_expired:
        events = events.filter(time_expires__gt=timezone.now())
    if filters.seen is not None:
        seen = Exists(EventSeen.objects.filter(medium_id=medium.pk, event_id=OuterRef("pk")))
        events = events.filter(seen if filters.seen else ~seen)
    if filters.actor_id is not None:
        events = events.filter(
            Exists(EventActor.objects.filter(event_id=OuterRef("pk"), entity_id=filters.actor_id))
        )
    return events


def active_actor_rows() -> models.QuerySet[EventActor]:
    """The ``EventActor`` rows of active entities: the only actors an only-following
    subscription follows. An inactive entity (a deactivated user, say) neither receives events nor
    makes its events reach its followers, whatever the following rule, so that ``events()``,
    ``entity_events()`` and ``events_targets()`` agree for an overridden rule too."""
    return EventActor.objects.filter(entity__is_active=True)


def _following_subscriptions(medium: Medium) -> models.QuerySet[Subscription]:
    """The only-following subscriptions of the medium that can reach anyone: a group one, or an
    individual one whose entity is active."""
    return Subscription.objects.filter(medium_id=medium.pk, only_following=True).filter(
        Q(sub_entity_kind__isnull=False) | Q(entity__is_active=True)
    )


def _followed_actor_rows(medium: Medium) -> list[models.QuerySet[EventActor]]:
    """For the whole table, the ``EventActor`` rows whose actor is followed (default rule) by a
    subscribed entity of an only-following subscription of the event's source on ``medium``,
    one queryset per way of following (see ``page_sql`` for the four ways and the form a page
    uses). Only active actors count (see ``active_actor_rows``)."""
    event_source = OuterRef("event__source_id")
    following = Subscription.objects.filter(medium_id=medium.pk, only_following=True, source_id=event_source)
    # Individual subscription of S: the actor is S, or a super-entity of S. Inactive S: nothing.
    individual = following.filter(sub_entity_kind__isnull=True, entity__is_active=True)
    individual_self = individual.filter(entity_id=OuterRef("entity_id"))
    individual_super = individual.filter(entity__super_relationships__super_entity_id=OuterRef("entity_id"))
    # A group subscription (G, K): the actor is an active sub-entity of kind K of G, found from
    # the actor's super-entities (an entity has few, a group may have many members).
    group_member = (
        active_actor_rows()
        .annotate(
            super_entity_id=F("entity__super_relationships__super_entity_id"),
            actor_kind_id=F("entity__entity_kind_id"),
        )
        .filter(
            Exists(
                following.filter(
                    entity_id=OuterRef("super_entity_id"), sub_entity_kind_id=OuterRef("actor_kind_id")
                )
            )
        )
    )
    # Or the actor is a super-entity of such a sub-entity, found from the subscriptions' side
    # (one filter() call: the same joined rows).
    group_super = following.filter(
        sub_entity_kind__isnull=False,
        entity__sub_relationships__sub_entity__entity_kind_id=F("sub_entity_kind_id"),
        entity__sub_relationships__sub_entity__is_active=True,
        entity__sub_relationships__sub_entity__super_relationships__super_entity_id=OuterRef("entity_id"),
    )
    return [
        active_actor_rows().filter(Exists(individual_self)),
        active_actor_rows().filter(Exists(individual_super)),
        group_member,
        active_actor_rows().filter(Exists(group_super)),
    ]


def _custom_following_condition(medium: Medium) -> Q:
    """The only-following condition of ``events()`` for a medium with an overridden rule: one
    ``followed_by`` call per only-following subscription (queries per subscription)."""
    condition = Q(pk__in=[])
    for subscription in _following_subscriptions(medium):
        followed = medium.followed_by(subscription.subscribed_entities())
        condition |= Q(source_id=subscription.source_id) & Q(
            pk__in=active_actor_rows().filter(entity_id__in=entity_ids(followed)).values("event_id")
        )
    return condition


def _whole_table_ids(
    medium: Medium, unconditional: models.QuerySet[Subscription]
) -> models.QuerySet[Any, Any]:
    """The events ``events()`` delivers under the default rule, for the whole table (see
    ``paged_condition``): the ids of a ``UNION`` of the ways an event can be delivered, which
    PostgreSQL runs as a hash semi-join whatever the sizes, whereas an ``OR`` of ``IN`` subqueries
    too big for ``work_mem`` would be re-run for every event row. The form of a page, checked row
    by row, is ``page_sql.DeliveredEvent``."""
    delivered = Event.objects.filter(source_id__in=unconditional.values("source_id")).order_by().values("pk")
    return delivered.union(*(rows.values("event_id") for rows in _followed_actor_rows(medium))).order_by()


def medium_events_query(medium: Medium, filters: EventFilters) -> EventQuerySet:
    """The query of ``Medium.events()`` (without ``mark_seen``)."""
    check_saved_medium(medium, "events")
    events = filtered_events(medium, filters)
    # A non-following subscription delivers when it reaches someone: an active individual entity,
    # or a group with at least one active sub-entity of the subscription's kind.
    active_member = EntityRelationship.objects.filter(
        super_entity_id=OuterRef("entity_id"),
        sub_entity__entity_kind_id=OuterRef("sub_entity_kind_id"),
        sub_entity__is_active=True,
    )
    unconditional = Subscription.objects.filter(medium_id=medium.pk, only_following=False).filter(
        Q(sub_entity_kind__isnull=True, entity__is_active=True)
        | Q(sub_entity_kind__isnull=False) & Exists(active_member)
    )
    if uses_default_following(medium):
        whole = functools.partial(_whole_table_ids, medium, unconditional)
        return events.filter(PagedCondition(DeliveredEvent(medium.pk), whole))
    condition = Q(source_id__in=unconditional.values("source_id")) | _custom_following_condition(medium)
    return events.filter(condition)


def entity_events_query(
    medium: Medium, entity: Entity | int, filters: EventFilters, *, bounded: bool = True
) -> EventQuerySet:
    """The query of ``Medium.entity_events()`` (without ``mark_seen``). ``bounded=False`` leaves
    out the lower time bound (``feed_sql.FEED_START``) for a caller that bounds the query itself."""
    check_saved_medium(medium, "entity_events")
    entity_id = entity_id_of(entity, "entity")
    events = filtered_events(medium, filters)
    if uses_default_following(medium):
        # The hottest query of a site: its routing condition is three plain SQL subqueries,
        # which Django compiles in a fraction of the time of their ORM form (feed_sql).
        return events.filter(feed_condition(medium.pk, entity_id, bounded=bounded))
    subscriptions = subset_subscriptions(medium.subscriptions.all(), entity_id)
    # An inactive entity receives nothing (group subscriptions cover active sub-entities only).
    active = Entity.objects.filter(pk=entity_id).values("pk")
    followed = medium.followed_by(Entity.all_objects.filter(pk=entity_id))
    followed_actor = Q(
        pk__in=active_actor_rows().filter(entity_id__in=entity_ids(followed)).values("event_id")
    )
    condition = Q(source_id__in=subscriptions.filter(only_following=False).values("source_id")) | (
        Q(source_id__in=subscriptions.filter(only_following=True).values("source_id")) & followed_actor
    )
    unsubscribed = Unsubscription.objects.filter(
        medium_id=medium.pk, entity_id=entity_id, source__required=False
    )
    return (
        events.filter(condition)
        .filter(Exists(active))
        .exclude(source_id__in=unsubscribed.values("source_id"))
    )


def medium_filtered_events(medium: Medium, filters: EventFilters) -> EventQuerySet:
    """``Medium.get_filtered_events()``: ``filtered_events``, before any routing, marked seen (or
    claimed) as the filters ask."""
    check_saved_medium(medium, "get_filtered_events")
    return limited_or_marked(filtered_events(medium, filters), medium, filters)


def medium_events(medium: Medium, filters: EventFilters) -> EventQuerySet:
    """``Medium.events()``: its query, marked seen (or claimed) as the filters ask."""
    return limited_or_marked(medium_events_query(medium, filters), medium, filters)


def entity_medium_events(
    medium: Medium, entity: Entity | int, filters: EventFilters, read: bool | None = None
) -> EventQuerySet:
    """``Medium.entity_events()``: its query, restricted to the events the entity has read (or
    not) when ``read`` is given, marked seen (or claimed) as the filters ask."""
    if read is None:
        return limited_or_marked(entity_events_query(medium, entity, filters), medium, filters)
    # The read filter bounds the query by id (the events after the watermark) already; the time
    # bound would only add to its planning.
    events = entity_events_query(medium, entity, filters, bounded=False)
    return limited_or_marked(
        with_read_state(events, medium, entity_id_of(entity, "entity"), read), medium, filters
    )
