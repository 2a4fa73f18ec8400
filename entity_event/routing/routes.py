"""Routes: what each source's subscriptions on a medium deliver, and whom they reach among the
followers of a batch's actors (``events_targets``, ``entity_event.routing.targets``).

``routes_by_source`` reads a medium's subscriptions, the members of its non-following group
subscriptions and its unsubscriptions (three queries) into a ``SourceRouting`` per source.
Under the default following rule an only-following group subscription stays a (group, kind)
pair: the followers of a batch's actors are the actors and their sub-entities, so
``DefaultFollowers`` reads their relationships (one query per batch) and their memberships
decide, whatever the size of the group. A medium that overrides the rule has its members loaded
and its rule called per distinct set of actors (``CustomFollowers``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict

from django.db.models import Case, Exists, IntegerField, OuterRef, Q, QuerySet, Value, When
from entity.models import Entity, EntityRelationship

from entity_event.db.id_lists import AnyOfIds, id_filters, in_chunks
from entity_event.models import Medium, Subscription, Unsubscription
from entity_event.routing.following import uses_default_following

if TYPE_CHECKING:
    from typing_extensions import ReadOnly

    class SubscriptionRow(TypedDict):
        """A subscription as ``routes_by_source`` reads it (a row of ``values()``). Read-only
        items: django-stubs types the nullable ``sub_entity_kind_id`` of such rows as ``int``."""

        id: ReadOnly[int]
        source_id: ReadOnly[int]
        entity_id: ReadOnly[int]
        sub_entity_kind_id: ReadOnly[int | None]
        only_following: ReadOnly[bool]
        entity__is_active: ReadOnly[bool]
        entity__entity_kind_id: ReadOnly[int]
        reaches_someone: ReadOnly[bool]


@dataclass(frozen=True)
class SourceRouting:
    """What one source's subscriptions on a medium deliver, unsubscriptions applied."""

    everyone: frozenset[int]  # the targets of every event (non-following subscriptions)
    # The targets of the events whose actors they follow: every one for a custom following rule;
    # for the default rule those of individual subscriptions, the members of the groups of
    # following_groups being found from the actors (DefaultFollowers).
    following: frozenset[int]
    following_subscriptions: tuple[Subscription, ...]  # for a custom following rule
    # (group, kind) of the only-following group subscriptions that reach someone (default rule).
    following_groups: frozenset[tuple[int, int]] = frozenset()
    unsubscribed: frozenset[int] = frozenset()  # who opted out of the source on the medium

    @property
    def everyone_in_order(self) -> tuple[int, ...]:
        """``everyone``, sorted."""
        return tuple(sorted(self.everyone))

    @property
    def follows(self) -> bool:
        """Some only-following subscription of the source reaches someone: the actors of its
        events decide who else receives them."""
        return bool(self.following or self.following_groups)


def subscription_rows(
    medium: Medium, unsubscriptions: QuerySet[Unsubscription], using: str | None
) -> list[SubscriptionRow]:
    """The medium's subscriptions as rows (one query). Under the default following rule an
    only-following group subscription says whether it reaches someone: an active member of its
    kind who has not opted out of its source (``reaches_someone``, looked up for those rows
    only)."""
    reaches_someone: Any = Value(False)
    if uses_default_following(medium):
        members = EntityRelationship.objects.filter(
            super_entity_id=OuterRef("entity_id"),
            sub_entity__entity_kind_id=OuterRef("sub_entity_kind_id"),
            sub_entity__is_active=True,
        )
        opted_out = unsubscriptions.filter(
            entity_id=OuterRef("sub_entity_id"), source_id=OuterRef(OuterRef("source_id"))
        )
        reaches_someone = Case(
            When(
                only_following=True,
                sub_entity_kind__isnull=False,
                then=Exists(members.exclude(Exists(opted_out))),
            ),
            default=Value(False),
        )
    return list(
        Subscription.objects.using(using).filter(medium_id=medium.pk).values(
            "id", "source_id", "entity_id", "sub_entity_kind_id", "only_following",
            "entity__is_active", "entity__entity_kind_id", reaches_someone=reaches_someone,
        )
    )  # fmt: skip


def routes_by_source(medium: Medium, kind_id: int | None, using: str | None) -> dict[int, SourceRouting]:
    """Each source's routing on ``medium``: three queries (subscriptions, group members,
    unsubscriptions) on ``using`` (``None``: the routers' choice), none when the medium has no
    subscription. With the default following rule, an only-following group subscription is kept
    as its (group, kind) when it reaches someone (``subscription_rows``), its members left to
    ``DefaultFollowers``."""
    unsubscriptions = Unsubscription.objects.using(using).filter(medium_id=medium.pk, source__required=False)
    subscriptions = subscription_rows(medium, unsubscriptions, using)
    if not subscriptions:
        return {}
    default = uses_default_following(medium)

    def by_members(row: SubscriptionRow) -> bool:
        return not (default and row["only_following"] and row["sub_entity_kind_id"] is not None)

    members = group_members([row for row in subscriptions if by_members(row)], using)
    unsubscribed = opted_out_by_source(unsubscriptions)
    everyone: dict[int, set[int]] = defaultdict(set)
    following: dict[int, set[int]] = defaultdict(set)
    following_groups: dict[int, set[tuple[int, int]]] = defaultdict(set)
    following_subscriptions: dict[int, list[Subscription]] = defaultdict(list)
    for row in subscriptions:
        source_id = row["source_id"]
        if not by_members(row):
            kind = row["sub_entity_kind_id"]
            if kind is not None and row["reaches_someone"] and kind_id in (None, kind):
                following_groups[source_id].add((row["entity_id"], kind))
            continue
        entities = subscribed_ids(row, members, kind_id) - unsubscribed[source_id]
        if row["only_following"]:
            following[source_id] |= entities
            following_subscriptions[source_id].append(
                Subscription(
                    id=row["id"], source_id=source_id, entity_id=row["entity_id"],
                    sub_entity_kind_id=row["sub_entity_kind_id"], only_following=True,
                )
            )  # fmt: skip
        else:
            everyone[source_id] |= entities
    return {
        source_id: SourceRouting(
            frozenset(everyone[source_id]),
            frozenset(following[source_id]),
            tuple(following_subscriptions[source_id]),
            frozenset(following_groups[source_id]),
            frozenset(unsubscribed[source_id]),
        )  # fmt: skip
        for source_id in {row["source_id"] for row in subscriptions}
    }


def opted_out_by_source(unsubscriptions: QuerySet[Unsubscription]) -> dict[int, set[int]]:
    """``{source id: ids of the entities that opted out of it}`` (one query)."""
    unsubscribed: dict[int, set[int]] = defaultdict(set)
    for entity_id, source_id in unsubscriptions.values_list("entity_id", "source_id"):
        unsubscribed[source_id].add(entity_id)
    return unsubscribed


def group_members(
    subscriptions: Sequence[SubscriptionRow], using: str | None
) -> dict[tuple[int, int], set[int]]:
    """``{(group entity, kind): active sub-entity ids}`` for every group subscription, one query."""
    groups = {s["entity_id"] for s in subscriptions if s["sub_entity_kind_id"] is not None}
    kinds = {s["sub_entity_kind_id"] for s in subscriptions if s["sub_entity_kind_id"] is not None}
    members: dict[tuple[int, int], set[int]] = defaultdict(set)
    if groups:
        for super_id, sub_id, kind in (
            EntityRelationship.objects.using(using)
            .filter(
                super_entity_id__in=groups, sub_entity__entity_kind_id__in=kinds, sub_entity__is_active=True
            )
            .values_list("super_entity_id", "sub_entity_id", "sub_entity__entity_kind_id")
        ):
            members[(super_id, kind)].add(sub_id)
    return members


def subscribed_ids(
    row: SubscriptionRow, members: dict[tuple[int, int], set[int]], kind_id: int | None
) -> set[int]:
    """The ids a subscription (a row of ``routes_by_source``) covers, of kind ``kind_id`` if given:
    its entity when active, or the active members of its kind under its entity."""
    if row["sub_entity_kind_id"] is None:
        entities = {row["entity_id"]} if row["entity__is_active"] else set()
        entity_kind = row["entity__entity_kind_id"]
    else:
        entities = members.get((row["entity_id"], row["sub_entity_kind_id"]), set())
        entity_kind = row["sub_entity_kind_id"]
    return entities if kind_id is None or entity_kind == kind_id else set()


class DefaultFollowers:
    """Followers of actors under the default rule: the actors themselves and their sub-entities,
    and which of them are active members of the groups of only-following group subscriptions
    (of the subscription's kind), for every actor of the batch (``actor_ids``): one query (a
    ``UNION ALL`` of the two lookups) or as many as the database's parameter limit asks, each
    reading the relationships of the batch's few entities, never a group's members."""

    def __init__(self, actor_ids: list[int], routes: dict[int, SourceRouting], using: str) -> None:
        self.subs: dict[int, list[int]] = defaultdict(list)
        self.memberships: dict[int, set[tuple[int, int]]] = defaultdict(set)
        by_groups = any(route.following_groups for route in routes.values())
        relationships = EntityRelationship.objects.using(using)
        # A chunk of actors appears three times in the statement (once without group routes).
        for chunk in in_chunks(actor_ids, using, occurrences=3 if by_groups else 1):

            def among(field: str, ids: Sequence[int] = chunk) -> Q | AnyOfIds:
                return next(id_filters(field, ids, using))

            subs = relationships.filter(among("super_entity_id")).values_list(
                "super_entity_id", "sub_entity_id", Value(None, output_field=IntegerField())
            )
            if by_groups:
                # Every active membership of the actors and of their sub-entities, with the
                # member's kind: reached() keeps those of the routes' (group, kind). Two lookups
                # by index rather than one with an OR, which the database would answer by reading
                # every relationship.
                memberships = relationships.filter(sub_entity__is_active=True).values_list(
                    "super_entity_id", "sub_entity_id", "sub_entity__entity_kind_id"
                )
                subs = subs.union(
                    memberships.filter(among("sub_entity_id")),
                    memberships.filter(among("sub_entity__super_relationships__super_entity_id")),
                    all=True,
                )
            for super_id, sub_id, kind in subs:
                if kind is None:
                    self.subs[super_id].append(sub_id)
                else:
                    self.memberships[sub_id].add((super_id, kind))

    def reached(self, actors: tuple[int, ...], route: SourceRouting) -> frozenset[int]:
        """The only-following targets of ``route`` that follow one of ``actors``: among the
        actors and their sub-entities, those its individual subscriptions cover and the members
        of its groups who have not opted out."""
        candidates = set(actors)
        if not self.subs.keys().isdisjoint(actors):  # the unusual case: actors with sub-entities
            for actor in actors:
                candidates.update(self.subs.get(actor, ()))
        reached = route.following.intersection(candidates)
        if route.following_groups:
            reached |= {
                candidate
                for candidate in candidates - route.unsubscribed
                if not route.following_groups.isdisjoint(self.memberships.get(candidate, ()))
            }
        return frozenset(reached)


class CustomFollowers:
    """Followers of actors under an overridden rule: for each distinct actor set, the medium's
    ``followers_of`` intersected with each only-following subscription's subscribed entities
    (queries per distinct actor set and subscription, cached for the batch)."""

    def __init__(self, medium: Medium) -> None:
        self.medium = medium
        self.followers: dict[tuple[int, ...], set[int]] = {}
        self.subscribed: dict[int, set[int]] = {}

    def reached(self, actors: tuple[int, ...], route: SourceRouting) -> frozenset[int]:
        """The only-following targets of ``route`` that, by the medium's rule, follow one of
        ``actors`` and are covered by one of the source's only-following subscriptions."""
        if actors not in self.followers:
            followers = self.medium.followers_of(Entity.all_objects.filter(pk__in=actors))
            self.followers[actors] = set(followers.values_list("pk", flat=True))
        followers_of_actors = self.followers[actors]
        reached: set[int] = set()
        for subscription in route.following_subscriptions:
            if subscription.id not in self.subscribed:
                self.subscribed[subscription.id] = set(
                    subscription.subscribed_entities().values_list("pk", flat=True)
                )
            reached |= self.subscribed[subscription.id] & followers_of_actors
        return route.following & reached
