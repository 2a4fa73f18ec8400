"""Routing: which entities receive which events on a medium (DESIGN.md points 3-6).

The ``Medium`` and ``Subscription`` methods of the 0.7 API delegate here. The default following
rule (an entity follows itself and its super-entities) is expressed in SQL, so ``events()`` and
``entity_events()`` are one query each and ``events_targets()`` a constant number of queries,
whatever the number of events, subscriptions, entities or targets. A ``Medium`` subclass that
overrides ``followed_by`` / ``followers_of`` is honoured by calling the overrides; that costs
queries per subscription or per distinct actor set (see docs/performance.rst).
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import models, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from entity.models import Entity, EntityKind, EntityRelationship

from entity_event.validation import check_flag, check_time, model_pk

if TYPE_CHECKING:
    from entity_event.models import Event, Medium, Subscription
    from entity_event.querysets import EventQuerySet

#: The keyword arguments of ``events``, ``entity_events`` and ``events_targets``.
FILTER_ARGUMENTS = ("start_time", "end_time", "seen", "include_expired", "actor", "mark_seen")


@dataclass(frozen=True)
class EventFilters:
    """The validated filters of one query method call."""

    start_time: datetime | None = None
    end_time: datetime | None = None
    seen: bool | None = None
    include_expired: bool = False
    actor_id: int | None = None
    mark_seen: bool = False

    @property
    def claims(self) -> bool:
        """``seen=False, mark_seen=True``: the caller claims unseen events (DESIGN.md point 6)."""
        return self.seen is False and self.mark_seen


def parse_filters(method: str, filters: dict[str, Any]) -> EventFilters:
    """Validate the keyword arguments of a query method; a bad one is a ``TypeError`` naming it."""
    unknown = sorted(set(filters) - set(FILTER_ARGUMENTS))
    if unknown:
        raise TypeError(f"{method}() got unexpected keyword argument(s): {', '.join(unknown)}")
    for name in ("start_time", "end_time"):
        check_time(filters.get(name), f"{method}(): {name}")
    seen = filters.get("seen")
    if seen is not None and not isinstance(seen, bool):
        raise TypeError(f"{method}(): seen must be True, False or None, got {seen!r}")
    for name in ("include_expired", "mark_seen"):
        check_flag(filters.get(name, False), f"{method}(): {name}")
    actor = filters.get("actor")
    actor_id = None if actor is None else entity_id_of(actor, f"{method}(): actor")
    return EventFilters(
        start_time=filters.get("start_time"),
        end_time=filters.get("end_time"),
        seen=seen,
        include_expired=filters.get("include_expired", False),
        actor_id=actor_id,
        mark_seen=filters.get("mark_seen", False),
    )


def entity_id_of(value: Any, argument: str) -> int:
    """The id of a saved ``Entity`` or an integer id; anything else is a ``TypeError``, an unsaved
    entity or an id beyond 64 bits a ``ValueError`` (SQLite raised ``OverflowError`` on those)."""
    return model_pk(value, Entity, argument)


def entity_ids(entities: Any, argument: str = "entities") -> models.QuerySet | list[int]:
    """Something usable in ``pk__in``: an ``Entity``, an ``Entity`` queryset, or an iterable of
    entities or ids. A queryset stays a subquery (no query is run here)."""
    if isinstance(entities, models.QuerySet):
        if entities.model is not Entity:
            raise TypeError(
                f"{argument}: expected a queryset of Entity, got one of {entities.model.__name__}"
            )
        return entities.values("pk")
    if isinstance(entities, (Entity, int)) and not isinstance(entities, bool):
        return [entity_id_of(entities, argument)]
    if isinstance(entities, (str, bytes)) or not isinstance(entities, Iterable):
        raise TypeError(f"{argument}: expected an Entity, a queryset or an iterable of entities or ids")
    return [entity_id_of(entity, argument) for entity in entities]


def check_saved_medium(medium: Medium, method: str) -> None:
    """An unsaved medium has no subscriptions and no seen records: a ``ValueError`` rather than
    an empty result (``events_targets``) or Django's "Cannot use None as a query value"."""
    if medium.pk is None:
        raise ValueError(f"{method}(): the medium {medium!r} is not saved (it has no primary key)")


# --- following rule (default) -------------------------------------------------------------------


def default_followed_by(entities: Any) -> models.QuerySet:
    """The entities followed by ``entities``: themselves and their super-entities."""
    ids = entity_ids(entities)
    supers = EntityRelationship.objects.filter(sub_entity__in=ids).values("super_entity")
    return Entity.objects.filter(Q(pk__in=ids) | Q(pk__in=supers))


def default_followers_of(entities: Any) -> models.QuerySet:
    """The entities that follow ``entities``: themselves and their sub-entities."""
    ids = entity_ids(entities)
    subs = EntityRelationship.objects.filter(super_entity__in=ids).values("sub_entity")
    return Entity.objects.filter(Q(pk__in=ids) | Q(pk__in=subs))


def uses_default_following(medium: Medium) -> bool:
    """True when the medium's class does not override the following rule (the fast path)."""
    from entity_event.models import Medium

    cls = type(medium)
    return cls.followed_by is Medium.followed_by and cls.followers_of is Medium.followers_of


# --- subscriptions -------------------------------------------------------------------------------


def subscribed_entities(subscription: Subscription) -> models.QuerySet:
    """The entity of an individual subscription; the active sub-entities of the subscription's
    kind under its entity for a group subscription."""
    if subscription.sub_entity_kind_id is None:
        return Entity.objects.filter(pk=subscription.entity_id)
    return Entity.objects.filter(
        entity_kind_id=subscription.sub_entity_kind_id,
        super_relationships__super_entity_id=subscription.entity_id,
    )


def subset_subscriptions(subscriptions: models.QuerySet, entity: Entity | int | None) -> models.QuerySet:
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


# --- event queries -------------------------------------------------------------------------------


def filtered_events(medium: Medium, filters: EventFilters) -> EventQuerySet:
    """The events of the medium's time span matching the filters, before any routing."""
    from entity_event.models import Event, EventActor, EventSeen

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


def _following_subscriptions(medium: Medium) -> models.QuerySet:
    """The only-following subscriptions of the medium that can reach anyone: a group one, or an
    individual one whose entity is active."""
    from entity_event.models import Subscription

    return Subscription.objects.filter(medium_id=medium.pk, only_following=True).filter(
        Q(sub_entity_kind__isnull=False) | Q(entity__is_active=True)
    )


def _followed_actor_event_ids(medium: Medium) -> list[models.QuerySet]:
    """Uncorrelated subqueries of event ids having an actor followed (default rule) by a subscribed
    entity of an only-following subscription of the event's source on ``medium``.

    The pieces are combined with ``UNION`` by ``medium_events``. Only active actors count, on
    every path (see ``active_actor_rows``).
    """
    from entity_event.models import Subscription

    following = Subscription.objects.filter(
        medium_id=medium.pk, only_following=True, source_id=OuterRef("event__source_id")
    )
    # Individual subscription of S: the actor is S, or a super-entity of S. Inactive S: nothing.
    individual = following.filter(sub_entity_kind__isnull=True, entity__is_active=True)
    individual_self = individual.filter(entity_id=OuterRef("entity_id"))
    individual_super = individual.filter(entity__super_relationships__super_entity_id=OuterRef("entity_id"))
    # Group subscription (G, K): the actor is an active sub-entity of G of kind K. Written from
    # the actor's side (an entity has few super-entities, a group may have many members): each
    # actor row joined to its super-entities probes a hash of the medium's subscriptions, which
    # does not depend on the planner estimating how many members the subscribed groups have.
    group_member_rows = (
        active_actor_rows()
        .annotate(
            event_source_id=F("event__source_id"),
            super_entity_id=F("entity__super_relationships__super_entity_id"),
            actor_kind_id=F("entity__entity_kind_id"),
        )
        .filter(
            Exists(
                Subscription.objects.filter(
                    medium_id=medium.pk,
                    only_following=True,
                    source_id=OuterRef("event_source_id"),
                    entity_id=OuterRef("super_entity_id"),
                    sub_entity_kind_id=OuterRef("actor_kind_id"),
                )
            )
        )
        .values("event_id")
    )
    # ... or a super-entity of such a sub-entity (one filter() call: the same joined rows).
    group = following.filter(sub_entity_kind__isnull=False)
    group_super = group.filter(
        entity__sub_relationships__sub_entity__entity_kind_id=F("sub_entity_kind_id"),
        entity__sub_relationships__sub_entity__is_active=True,
        entity__sub_relationships__sub_entity__super_relationships__super_entity_id=OuterRef("entity_id"),
    )
    return [
        *(
            active_actor_rows().filter(Exists(condition)).values("event_id")
            for condition in (individual_self, individual_super, group_super)
        ),
        group_member_rows,
    ]


def active_actor_rows() -> models.QuerySet:
    """The ``EventActor`` rows of active entities: the only actors an only-following
    subscription follows. An inactive entity (a deactivated user, say) neither receives events nor
    makes its events reach its followers, whatever the following rule, so that ``events()``,
    ``entity_events()`` and ``events_targets()`` agree for an overridden rule too."""
    from entity_event.models import EventActor

    return EventActor.objects.filter(entity__is_active=True)


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


def medium_events(medium: Medium, filters: EventFilters) -> EventQuerySet:
    """The query of ``Medium.events()`` (without ``mark_seen``)."""
    from entity_event.models import Event, Subscription

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
        # One IN over a UNION of the ways an event can be delivered, not an OR of IN
        # subqueries: PostgreSQL runs it as a (hash) semi-join whatever the sizes, whereas an
        # OR'ed subquery too big for work_mem would be re-run for every event row.
        delivered = (
            Event.objects.filter(source_id__in=unconditional.values("source_id")).order_by().values("pk")
        )
        return events.filter(pk__in=delivered.union(*_followed_actor_event_ids(medium)))
    condition = Q(source_id__in=unconditional.values("source_id")) | _custom_following_condition(medium)
    return events.filter(condition)


def entity_medium_events(medium: Medium, entity: Entity | int, filters: EventFilters) -> EventQuerySet:
    """The query of ``Medium.entity_events()`` (without ``mark_seen``)."""
    from entity_event.models import Unsubscription

    check_saved_medium(medium, "entity_events")
    entity_id = entity_id_of(entity, "entity")
    events = filtered_events(medium, filters)
    subscriptions = subset_subscriptions(medium.subscriptions.all(), entity_id)
    # An inactive entity receives nothing (group subscriptions cover active sub-entities only).
    active = Entity.objects.filter(pk=entity_id).values("pk")
    if uses_default_following(medium):
        # The entity follows itself and its super-entities: two small IN subqueries that read the
        # EventActor (entity, event) index, estimated well by the planner.
        supers = EntityRelationship.objects.filter(sub_entity_id=entity_id).values("super_entity_id")
        followed_actor = Q(pk__in=active_actor_rows().filter(entity_id=entity_id).values("event_id")) | Q(
            pk__in=active_actor_rows().filter(entity_id__in=supers).values("event_id")
        )
    else:
        followed = medium.followed_by(Entity.all_objects.filter(pk=entity_id))
        followed_actor = Q(
            pk__in=active_actor_rows().filter(entity_id__in=entity_ids(followed)).values("event_id")
        )
    condition = Q(source_id__in=subscriptions.filter(only_following=False).values("source_id")) | (
        Q(source_id__in=subscriptions.filter(only_following=True).values("source_id")) & followed_actor
    )
    unsubscribed = Unsubscription.objects.filter(medium_id=medium.pk, entity_id=entity_id)
    return (
        events.filter(condition)
        .filter(Exists(active))
        .exclude(source_id__in=unsubscribed.values("source_id"))
    )


def evaluate(events: EventQuerySet, medium: Medium, filters: EventFilters) -> EventQuerySet:
    """Return ``events`` as asked: lazy without ``mark_seen``; otherwise evaluated, marked seen,
    and restricted to exactly the returned events (claimed under row locks when ``seen=False``)."""
    if not filters.mark_seen:
        return events
    with transaction.atomic(using=events.db):
        rows = claim(events, medium) if filters.claims else list(events)
        result = restrict_to(rows)
        result.mark_seen(medium)
    return result


def restrict_to(rows: list[Event]) -> EventQuerySet:
    """An ``EventQuerySet`` of exactly ``rows``, already evaluated (iterating it runs no query;
    chaining it filters by primary key)."""
    from entity_event.models import Event

    result = Event.objects.filter(pk__in=[event.pk for event in rows])
    result._result_cache = list(rows)
    return result


def claim(events: EventQuerySet, medium: Medium) -> list[Event]:
    """Lock the unseen events (skipping rows another transaction holds) and drop the ones another
    worker marked seen meanwhile. Must run inside a transaction, which must also insert the
    ``EventSeen`` rows so that the claim is released only once they are committed.

    On PostgreSQL, a row locked and then committed by another worker after our statement started
    is locked by us but its ``EventSeen`` row was invisible to our statement's snapshot: the second
    query (a new snapshot) sees it. SQLite has no row locks: its database write lock serialises
    the claims (a second claimer waits, or gets "database is locked" after the timeout), so an
    event is never handed out twice there either.
    """
    from entity_event.models import EventSeen

    rows = list(events.select_for_update(skip_locked=True, of=("self",)))
    seen = set(
        EventSeen.objects.filter(medium_id=medium.pk, event_id__in=[event.pk for event in rows]).values_list(
            "event_id", flat=True
        )
    )
    return [event for event in rows if event.pk not in seen]


# --- events_targets ------------------------------------------------------------------------------


@dataclass
class _SourceRouting:
    """What one source's subscriptions deliver, with unsubscriptions applied."""

    everyone: frozenset[int] = frozenset()  # targets of every event (non-following subscriptions)
    following: frozenset[int] = frozenset()  # targets that get events whose actors they follow
    following_subscriptions: tuple[Subscription, ...] = ()


def events_targets(medium: Medium, entity_kind: Any, filters: EventFilters) -> list[tuple[Event, list]]:
    """``Medium.events_targets()``: see its docstring."""
    from entity_event.models import Event, Subscription, Unsubscription

    check_saved_medium(medium, "events_targets")
    kind_id = None if entity_kind is None else _entity_kind_id(entity_kind)
    default_rule = uses_default_following(medium)

    subscriptions = list(
        Subscription.objects.filter(medium_id=medium.pk).values(
            "id", "source_id", "entity_id", "sub_entity_kind_id", "only_following",
            "entity__is_active", "entity__entity_kind_id",
        )
    )  # fmt: skip
    if not subscriptions:
        return []
    members = _group_members(subscriptions)
    unsubscribed: dict[int, set[int]] = defaultdict(set)
    for entity_id, source_id in Unsubscription.objects.filter(medium_id=medium.pk).values_list(
        "entity_id", "source_id"
    ):
        unsubscribed[source_id].add(entity_id)

    routing = _routing_by_source(subscriptions, members, unsubscribed, kind_id)
    sources = [source_id for source_id, route in routing.items() if route.everyone or route.following]
    events_query = filtered_events(medium, filters).filter(source_id__in=sources)

    # Only a call that marks events writes; it needs a transaction (and, to claim, row locks).
    atomic = transaction.atomic(using=events_query.db) if filters.mark_seen else contextlib.nullcontext()
    with atomic, _garbage_collector_paused():
        rows = claim(events_query, medium) if filters.claims else list(events_query)
        actors: dict[int, list[int]] = defaultdict(list)
        following_sources = [source_id for source_id, route in routing.items() if route.following]
        needs_actors = [event.pk for event in rows if routing[event.source_id].following]
        actor_rows = None
        if needs_actors:
            # Without the seen filter: an event another process marks seen between the two
            # statements must keep its actors (the extra actors of other events are unused).
            unseen_or_not = dataclasses.replace(filters, seen=None)
            with_actors = filtered_events(medium, unseen_or_not).filter(source_id__in=following_sources)
            event_ids = _id_subquery(with_actors, needs_actors, filters)
            actor_rows = active_actor_rows().filter(event_id__in=event_ids)
            for event_id, actor_id in actor_rows.values_list("event_id", "entity_id"):
                actors[event_id].append(actor_id)
        followers = _DefaultFollowers(actor_rows) if default_rule else _CustomFollowers(medium)

        # Events with the same target set share one list object (many events, many targets).
        target_ids_cache: dict[tuple[int, frozenset[int]], frozenset[int]] = {}
        pending: list[tuple[Event, frozenset[int]]] = []
        for event in rows:
            route = routing[event.source_id]
            event_actors = frozenset(actors.get(event.pk, ()))
            key = (event.source_id, event_actors if route.following else frozenset())
            targets = target_ids_cache.get(key)
            if targets is None:
                targets = route.everyone
                if route.following and event_actors:
                    # Keep the shared set object when following adds nobody new to it.
                    extra = followers.reached(event_actors, route) - route.everyone
                    if extra:
                        targets = targets | extra
                target_ids_cache[key] = targets
            if targets:
                pending.append((event, targets))

        # all_objects: an entity deactivated since the queries above still has its row.
        distinct_sets = {id(targets): targets for _, targets in pending}.values()
        entities = Entity.all_objects.in_bulk(set().union(*distinct_sets))
        lists: dict[frozenset[int], list[Entity]] = {}
        result = []
        for event, targets in pending:
            if targets not in lists:
                lists[targets] = [entities[t] for t in sorted(targets)]
            result.append((event, lists[targets]))
        if filters.mark_seen and result:
            Event.objects.filter(pk__in=[event.pk for event, _ in result]).mark_seen(medium)
    return result


@contextlib.contextmanager
def _garbage_collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a large result is assembled.

    ``events_targets`` builds tens of thousands of model instances, sets and lists at once; each
    allocation burst triggers the collector, whose full passes walk every object of the process
    again and again (a third of the call's time at 50,000 events). None of these objects need it
    (they form no reference cycles that plain reference counting cannot free), so the collector
    is paused for the call and resumed after, unless the caller had disabled it already.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _entity_kind_id(entity_kind: Any) -> int:
    # An unsaved kind (pk None) would otherwise mean "no kind filter": every target.
    return model_pk(entity_kind, EntityKind, "events_targets(): entity_kind")


def _id_subquery(events_query: EventQuerySet, ids: list[int], filters: EventFilters) -> Any:
    """The ids of ``events_query`` as a subquery, or the listed ids once rows were claimed (the
    claim excluded rows locked elsewhere, which re-running the query would not)."""
    return ids if filters.claims else events_query.values("pk")


def _group_members(subscriptions: list[dict[str, Any]]) -> dict[tuple[int, int], set[int]]:
    """``{(group entity, kind): active sub-entity ids}`` for every group subscription, one query."""
    groups = {s["entity_id"] for s in subscriptions if s["sub_entity_kind_id"] is not None}
    kinds = {s["sub_entity_kind_id"] for s in subscriptions if s["sub_entity_kind_id"] is not None}
    members: dict[tuple[int, int], set[int]] = defaultdict(set)
    if groups:
        for super_id, sub_id, kind in EntityRelationship.objects.filter(
            super_entity_id__in=groups, sub_entity__entity_kind_id__in=kinds, sub_entity__is_active=True
        ).values_list("super_entity_id", "sub_entity_id", "sub_entity__entity_kind_id"):
            members[(super_id, kind)].add(sub_id)
    return members


def _routing_by_source(
    subscriptions: list[dict[str, Any]],
    members: dict[tuple[int, int], set[int]],
    unsubscribed: dict[int, set[int]],
    kind_id: int | None,
) -> dict[int, _SourceRouting]:
    from entity_event.models import Subscription

    everyone: dict[int, set[int]] = defaultdict(set)
    following: dict[int, set[int]] = defaultdict(set)
    following_subscriptions: dict[int, list[Subscription]] = defaultdict(list)
    for s in subscriptions:
        if s["sub_entity_kind_id"] is None:
            entities = {s["entity_id"]} if s["entity__is_active"] else set()
            entity_kind = s["entity__entity_kind_id"]
        else:
            entities = members.get((s["entity_id"], s["sub_entity_kind_id"]), set())
            entity_kind = s["sub_entity_kind_id"]
        if kind_id is not None and entity_kind != kind_id:
            entities = set()
        entities = entities - unsubscribed[s["source_id"]]
        if s["only_following"]:
            following[s["source_id"]] |= entities
            following_subscriptions[s["source_id"]].append(
                Subscription(
                    id=s["id"],
                    source_id=s["source_id"],
                    entity_id=s["entity_id"],
                    sub_entity_kind_id=s["sub_entity_kind_id"],
                    only_following=True,
                )
            )
        else:
            everyone[s["source_id"]] |= entities
    return {
        source_id: _SourceRouting(
            everyone=frozenset(everyone[source_id]),
            following=frozenset(following[source_id]),
            following_subscriptions=tuple(following_subscriptions[source_id]),
        )
        for source_id in {s["source_id"] for s in subscriptions}
    }


class _DefaultFollowers:
    """Followers of actors under the default rule: the actors and their sub-entities, from one
    query over the relationships of every actor of the batch (``actor_rows``, the batch's
    ``EventActor`` rows, as a subquery rather than a list of thousands of ids)."""

    def __init__(self, actor_rows: models.QuerySet | None) -> None:
        self.subs: dict[int, set[int]] = defaultdict(set)
        if actor_rows is not None:
            for super_id, sub_id in EntityRelationship.objects.filter(
                super_entity_id__in=actor_rows.values("entity_id")
            ).values_list("super_entity_id", "sub_entity_id"):
                self.subs[super_id].add(sub_id)

    def reached(self, actors: frozenset[int], route: _SourceRouting) -> frozenset[int]:
        reached = route.following.intersection(actors)
        for actor in actors:
            subs = self.subs.get(actor)
            if subs:
                reached |= route.following.intersection(subs)
        return reached


class _CustomFollowers:
    """Followers of actors under an overridden rule: for each distinct actor set, the medium's
    ``followers_of`` intersected with each only-following subscription's subscribed entities
    (queries per distinct actor set and subscription, cached for the batch)."""

    def __init__(self, medium: Medium) -> None:
        self.medium = medium
        self.followers: dict[frozenset[int], set[int]] = {}
        self.subscribed: dict[int, set[int]] = {}

    def reached(self, actors: frozenset[int], route: _SourceRouting) -> frozenset[int]:
        if actors not in self.followers:
            followers = self.medium.followers_of(Entity.all_objects.filter(pk__in=actors))
            self.followers[actors] = set(followers.values_list("pk", flat=True))
        followers = self.followers[actors]
        reached: set[int] = set()
        for subscription in route.following_subscriptions:
            if subscription.id not in self.subscribed:
                self.subscribed[subscription.id] = set(
                    subscription.subscribed_entities().values_list("pk", flat=True)
                )
            reached |= self.subscribed[subscription.id] & followers
        return route.following & reached
