"""The routing condition of one entity's feed, as three SQL subqueries, for the default rule.

``Medium.entity_events(entity)`` is the query behind every notification list, bell and unread
count, so the time Python takes to build it counts as much as the database's. Written with the
ORM, its dozen nested subqueries cost Django more to resolve and compile than the database takes
to run them; written here as plain SQL they cost little, and the database receives the same plan
(the test suite checks both give the same events; docs/performance.rst has the figures).

The subqueries are uncorrelated (they never name the outer query's tables), so the feed stays an
ordinary ``EventQuerySet`` that can be filtered, sliced, or used inside another query, and they
take their table names from the models, quoted for the connection that runs them.
"""

from __future__ import annotations

from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.db.models.sql.compiler import SQLCompiler
from entity.models import Entity, EntityRelationship

from entity_event.models import Event, EventActor, Source, Subscription, Unsubscription

#: The tables the subqueries read, by the placeholder their SQL names them with.
TABLES = {
    "event": Event,
    "subscription": Subscription,
    "unsubscription": Unsubscription,
    "source": Source,
    "actor": EventActor,
    "entity": Entity,
    "relationship": EntityRelationship,
}

#: The sources of the medium's subscriptions of one flavour (``{following}``: ``NOT`` for the
#: non-following ones) that reach the entity: its individual subscriptions, and the group ones
#: over one of its super-entities for its kind; none when the entity is inactive; minus the
#: sources it unsubscribed from (but the required ones). Parameters: medium, entity (four
#: times), medium, entity.
SUBSCRIBED_SOURCES = """
    SELECT s.source_id FROM {subscription} s
    WHERE s.medium_id = %s AND {following}s.only_following
      AND ((s.sub_entity_kind_id IS NULL AND s.entity_id = %s)
        OR (s.sub_entity_kind_id = (SELECT k.entity_kind_id FROM {entity} k WHERE k.id = %s)
            AND s.entity_id IN (SELECT r.super_entity_id FROM {relationship} r WHERE r.sub_entity_id = %s)))
      AND EXISTS (SELECT 1 FROM {entity} e WHERE e.id = %s AND e.is_active)
      AND s.source_id NOT IN (
        SELECT u.source_id FROM {unsubscription} u JOIN {source} us ON us.id = u.source_id
        WHERE u.medium_id = %s AND u.entity_id = %s AND NOT us.required)
"""

#: The events one of whose actors is the entity itself (active: an inactive entity has no
#: subscribed sources). Parameter: the entity.
OWN_EVENTS = """
    SELECT a.event_id FROM {actor} a WHERE a.entity_id = %s
"""

#: The events one of whose active actors is a super-entity of the entity. Parameter: the entity.
SUPER_ENTITY_EVENTS = """
    SELECT a.event_id FROM {actor} a JOIN {entity} e ON e.id = a.entity_id
    WHERE e.is_active
      AND a.entity_id IN (SELECT r.super_entity_id FROM {relationship} r WHERE r.sub_entity_id = %s)
"""


#: The time before which the feed has no event, when no non-following subscription reaches the
#: entity: the oldest event of the actors it follows (NULL without any: no event at all). With
#: a non-following subscription it is the time of the oldest event (no bound). A bound the
#: database reads once (from indexes), so that a feed with nothing in it does not walk the whole
#: ``time`` index to find that out. Parameters: those of ``SUBSCRIBED_SOURCES``, entity, entity.
FEED_START = """
    SELECT CASE WHEN EXISTS ({unconditional_sources}) THEN (SELECT MIN(fe.time) FROM {event} fe) ELSE (
      SELECT MIN(oldest) FROM (
        SELECT MIN(fe.time) AS oldest FROM {actor} a JOIN {event} fe ON fe.id = a.event_id
        WHERE a.entity_id = %s
        UNION ALL
        SELECT MIN(fe.time) AS oldest FROM {actor} a JOIN {event} fe ON fe.id = a.event_id
        WHERE a.entity_id IN (SELECT r.super_entity_id FROM {relationship} r WHERE r.sub_entity_id = %s)
      ) followed_actors
    ) END
"""


class FeedSubquery(RawSQL):
    """A ``RawSQL`` whose ``{table}`` placeholders become the models' tables, quoted for the
    connection that compiles it."""

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> tuple[str, Any]:
        """The subquery in brackets, its table names filled in for ``connection``."""
        names = {name: connection.ops.quote_name(model._meta.db_table) for name, model in TABLES.items()}
        return f"({self.sql.format(**names)})", self.params


def subscribed_sources(medium_id: int, entity_id: int, *, only_following: bool) -> FeedSubquery:
    """The sources whose events reach the entity through its subscriptions of one flavour."""
    return FeedSubquery(
        subscribed_sources_sql(only_following), subscribed_sources_params(medium_id, entity_id)
    )


def subscribed_sources_sql(only_following: bool) -> str:
    return SUBSCRIBED_SOURCES.replace("{following}", "" if only_following else "NOT ")


def subscribed_sources_params(medium_id: int, entity_id: int) -> tuple[int, ...]:
    return (medium_id, entity_id, entity_id, entity_id, entity_id, medium_id, entity_id)


def feed_start(medium_id: int, entity_id: int) -> FeedSubquery:
    """The time before which the entity's feed on the medium has no event (``FEED_START``)."""
    sql = FEED_START.replace("{unconditional_sources}", subscribed_sources_sql(only_following=False))
    return FeedSubquery(sql, (*subscribed_sources_params(medium_id, entity_id), entity_id, entity_id))


def feed_condition(medium_id: int, entity_id: int, *, bounded: bool = True) -> Q:
    """The events of the entity's feed on the medium under the default following rule (the
    entity follows itself and its super-entities), before the time and seen filters; with
    ``bounded``, the time bound of ``FEED_START`` too."""
    followed_actor = Q(pk__in=FeedSubquery(OWN_EVENTS, (entity_id,))) | Q(
        pk__in=FeedSubquery(SUPER_ENTITY_EVENTS, (entity_id,))
    )
    routed = Q(source_id__in=subscribed_sources(medium_id, entity_id, only_following=False)) | (
        Q(source_id__in=subscribed_sources(medium_id, entity_id, only_following=True)) & followed_actor
    )
    return Q(time__gte=feed_start(medium_id, entity_id)) & routed if bounded else routed
