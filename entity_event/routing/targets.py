"""Targets: ``Medium.events_targets()``, each event with the entities that receive it.

With the default following rule it costs seven queries whatever the number of events,
subscriptions, entities or targets: the three of the routes (``entity_event.routing.routes``:
the medium's subscriptions, the members of its non-following group subscriptions, its
unsubscriptions); the events (under row locks for a claim, plus a re-check of the claimed rows);
the active actors of the events that only-following subscriptions may deliver; the
relationships of those actors (``DefaultFollowers``); the target entities. No group's members
are read for an only-following subscription, so a batch costs the same for a group of a thousand
members as for one of a hundred thousand. Everything else is Python over ids: per source, who
receives every event and who receives the events whose actors they follow; per distinct
(source, actors), who follows; per distinct set of targets, one list of entities that its
events share. A medium that overrides the following rule costs queries per distinct set of
actors and per only-following subscription (``CustomFollowers``).

A large result is tens of thousands of model instances; the code builds as few other objects
as it can: the events are read as rows of values, and only those with targets become ``Event``
instances (an event nobody receives costs no instance); one tuple of actor ids per event; sets
and lists per distinct value only: every object that lives on costs Python's garbage collector
at each full collection, and its settings belong to the whole process, not to a library.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from operator import itemgetter
from typing import Any

from entity.models import Entity, EntityKind

from entity_event.db.id_lists import id_filters
from entity_event.db.retries import MARKING, in_transaction_retried
from entity_event.models import Event, Medium
from entity_event.models.filters import EventFilters
from entity_event.models.querysets import EventQuerySet
from entity_event.routing.claims import claim, fetch, mark_ids_seen, seen_marks_database
from entity_event.routing.feeds import active_actor_rows, check_saved_medium, filtered_events
from entity_event.routing.following import uses_default_following
from entity_event.routing.routes import CustomFollowers, DefaultFollowers, SourceRouting, routes_by_source
from entity_event.validation import model_pk

#: ``[(event, targets)]``, what ``events_targets`` returns.
EventsTargets = list[tuple[Event, list[Entity]]]

#: An event read as a row of its values, in the order of ``ROW_FIELDS`` (``values_list``).
Row = tuple[Any, ...]
#: The fields of a row: every column of ``Event``, as ``Event.from_db`` takes them.
ROW_FIELDS = tuple(field.attname for field in Event._meta.concrete_fields)
#: Where a row holds the event's primary key and its source's.
PK = ROW_FIELDS.index(Event._meta.pk.attname)
SOURCE = ROW_FIELDS.index("source_id")


def events_targets(
    medium: Medium, entity_kind: EntityKind | int | None, filters: EventFilters
) -> EventsTargets:
    """``Medium.events_targets()``: see its docstring."""
    check_saved_medium(medium, "events_targets")
    kind_id = (
        None if entity_kind is None else model_pk(entity_kind, EntityKind, "events_targets(): entity_kind")
    )
    # A call that marks reads everything on the primary database (claims.seen_marks_database), the
    # others where the routers send reads.
    using = seen_marks_database() if filters.mark_seen else None
    routes = routes_by_source(medium, kind_id, using)
    if not routes:
        return []
    # The events of the sources that deliver by the routes read above (a source subscribed since
    # waits for the next call); those without targets are dropped in Python, which costs less
    # than routing in SQL (the condition of events() took Django longer to compile than the
    # rows it saved).
    delivering = [source_id for source_id, route in routes.items() if route.everyone or route.follows]
    events = filtered_events(medium, filters).filter(source_id__in=delivering).using(using)
    if not filters.mark_seen:
        return collect(events, medium, routes, filters)[1]

    # A call that marks writes, in a transaction (and, to claim, under row locks).
    def mark() -> EventsTargets:
        rows, result = collect(events, medium, routes, filters)
        # It marks the events it returns, and a claim consumes every event it claimed: one
        # without targets (none at all, or none of entity_kind) is marked seen too. Left unseen,
        # it would be claimed again at every call, and claims in batches stalled behind enough
        # of them.
        consumed = [row[PK] for row in rows] if filters.claims else [event.pk for event, _ in result]
        if consumed:
            mark_ids_seen(consumed, medium, events.db)
        return result

    return in_transaction_retried(events.db, mark, MARKING)


def collect(
    events: EventQuerySet, medium: Medium, routes: dict[int, SourceRouting], filters: EventFilters
) -> tuple[list[Row], EventsTargets]:
    """The rows of the events read (claimed, when the filters claim), and those events that have
    targets with their targets, without marking them."""
    values = events.values_list(*ROW_FIELDS)
    rows = (
        claim(values, medium, filters.limit, itemgetter(PK))
        if filters.claims
        else fetch(values, filters.limit)
    )
    actors, actor_ids = actors_of(rows, routes, medium, filters, events.db)
    followers = (
        DefaultFollowers(actor_ids, routes, events.db)
        if uses_default_following(medium)
        else CustomFollowers(medium)
    )
    return rows, with_entities(rows, targets_of(rows, routes, actors, followers), events.db)


def actors_of(
    rows: list[Row], routes: dict[int, SourceRouting], medium: Medium, filters: EventFilters, using: str
) -> tuple[dict[int, tuple[int, ...]], list[int]]:
    """The active actors of the events that only-following subscriptions may deliver, as
    ``{event id: actor ids}``, and the distinct actor ids (whose followers ``DefaultFollowers``
    looks up by that list: a subquery there would run the events' query again). Tuples rather
    than lists or sets: once the garbage collector has seen them, tuples of ints are no longer
    tracked.

    One query, from a subquery of the events when the events were not claimed or limited; from
    the listed ids otherwise (the claim skipped rows locked elsewhere, which re-running its query
    would not), in as many queries as the database's parameter limit asks (``id_filters``).
    """
    needing = [row[PK] for row in rows if routes[row[SOURCE]].follows]
    if not needing:
        return {}, []
    pairs: list[tuple[int, int]] = []
    if filters.claims or filters.limit is not None:
        actor_rows = active_actor_rows().using(using).values_list("event_id", "entity_id")
        for condition in id_filters("event_id", needing, using):
            pairs += actor_rows.filter(condition)
    else:
        # Without the seen filter: an event another process marks seen between the two
        # statements keeps its actors (the actors of extra events are simply unused).
        unfiltered = filtered_events(medium, dataclasses.replace(filters, seen=None))
        following_sources = [source_id for source_id, route in routes.items() if route.follows]
        pairs = list(
            active_actor_rows()
            .using(using)
            .filter(event_id__in=unfiltered.filter(source_id__in=following_sources).values("pk"))
            .values_list("event_id", "entity_id")
        )
    actors: dict[int, tuple[int, ...]] = {}
    for event_id, actor in pairs:
        actors[event_id] = (*actors.get(event_id, ()), actor)
    return actors, list({actor for _, actor in pairs})


def targets_of(
    rows: list[Row],
    routes: dict[int, SourceRouting],
    actors: dict[int, tuple[int, ...]],
    followers: DefaultFollowers | CustomFollowers,
) -> list[tuple[int, ...]]:
    """The ids of the entities that receive each event, sorted: everyone its source delivers to,
    and those followers of its actors that its only-following subscriptions cover. Computed once
    per source, and per (source, actors): events with the same ones share one tuple. (Tuples of
    ids rather than sets, which the garbage collector would track for as long as they live.)"""
    everyone = {source_id: route.everyone_in_order for source_id, route in routes.items()}
    cache: dict[int, dict[tuple[int, ...], tuple[int, ...]]] = defaultdict(dict)
    targets = []
    for row in rows:
        source_id = row[SOURCE]
        route = routes[source_id]
        event_actors = actors.get(row[PK]) if route.follows else None
        if not event_actors:
            targets.append(everyone[source_id])
            continue
        cached = cache[source_id]
        ids = cached.get(event_actors)
        if ids is None:
            # The source's shared tuple when following adds nobody new to it.
            extra = followers.reached(event_actors, route) - route.everyone
            ids = cached[event_actors] = (
                tuple(sorted(route.everyone | extra)) if extra else everyone[source_id]
            )
        targets.append(ids)
    return targets


def with_entities(rows: list[Row], targets: list[tuple[int, ...]], using: str) -> EventsTargets:
    """``[(event, [target entities])]`` for the events with targets, each built from its row as
    Django builds the rows it reads (``Event.from_db``); events with the same targets share one
    list. One query for the entities (``id_filters``)."""
    # Each distinct tuple object once (hashing a long tuple of ids for every event would cost
    # more than the rest), then one list per distinct value.
    distinct = {id(ids): ids for ids in targets if ids}
    # all_objects: an entity deactivated since the routing queries still has its row.
    entity_rows = Entity.all_objects.using(using)
    entities = {
        entity.pk: entity
        for condition in id_filters("id", list(set().union(*distinct.values())), using)
        for entity in entity_rows.filter(condition)
    }
    by_value: dict[tuple[int, ...], list[Entity]] = {}
    lists = {}
    for key, ids in distinct.items():
        if ids not in by_value:
            by_value[ids] = [entities[pk] for pk in ids]
        lists[key] = by_value[ids]
    return [
        (Event.from_db(using, ROW_FIELDS, row), lists[id(ids)])
        for row, ids in zip(rows, targets, strict=True)
        if ids
    ]
