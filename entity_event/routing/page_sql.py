"""The routing condition of a page of ``Medium.events()``, checked row by row, as plain SQL.

A site's "recent activity" page asks for the newest events the medium delivers to anyone. The
database walks the ``time`` index from the newest event and checks each one, so a page costs
what checking a few dozen events costs, whatever the size of the table: provided each check
starts from the event's few actors, not from the subscribed groups' members (a group may have a
hundred thousand). Written with the ORM, the check was a dozen nested subqueries that took
Django longer to build than the database to run, and PostgreSQL flattened the deepest of them
(an actor that is a super-entity of a member) into a join that gathered every member of every
subscribed group for each event. Written here, each way of delivering is its own correlated
``EXISTS``, the deepest ones fenced (``db.backends.subquery_fence``) so that PostgreSQL keeps
them in the order written: the event's actors, then their sub-entities, then those members'
groups.

An event is delivered (the default following rule: an entity follows itself and its
super-entities) when its source has a non-following subscription that reaches someone, or one
of its active actors is followed by an entity that an only-following subscription of its source
covers: the actor is that entity (1) or a super-entity of it (2), for an individual
subscription; or, for a group subscription (G, K), an active member of kind K of G (3) or a
super-entity of one (4). The set-based form for the whole table is in ``feeds``;
the test suite checks that both select the same events.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import BooleanField, Expression, F
from django.db.models.sql.compiler import SQLCompiler
from entity.models import Entity, EntityRelationship

from entity_event.db.backends import subquery_fence
from entity_event.models import EventActor, Subscription

#: The tables the condition reads, by the placeholder its SQL names them with.
TABLES = {
    "subscription": Subscription,
    "actor": EventActor,
    "entity": Entity,
    "relationship": EntityRelationship,
}

#: The condition, for the outer event ``{event_id}`` of source ``{event_source}``. Parameters:
#: the medium's id, five times.
DELIVERED_EVENT = """
    {event_source} IN (
      SELECT s.source_id FROM {subscription} s JOIN {entity} se ON se.id = s.entity_id
      WHERE s.medium_id = %s AND NOT s.only_following
        AND ((s.sub_entity_kind_id IS NULL AND se.is_active)
          OR (s.sub_entity_kind_id IS NOT NULL AND EXISTS (
            SELECT 1 FROM {relationship} r JOIN {entity} m ON m.id = r.sub_entity_id
            WHERE r.super_entity_id = s.entity_id AND m.entity_kind_id = s.sub_entity_kind_id
              AND m.is_active))))
    OR EXISTS (
      SELECT 1 FROM {actor} a
      WHERE a.event_id = {event_id}
        AND EXISTS (SELECT 1 FROM {entity} ae WHERE ae.id = a.entity_id AND ae.is_active{fence})
        AND (
          EXISTS (
            SELECT 1 FROM {subscription} s
            WHERE s.entity_id = a.entity_id AND s.medium_id = %s AND s.only_following
              AND s.source_id = {event_source} AND s.sub_entity_kind_id IS NULL{fence})
          OR EXISTS (
            SELECT 1 FROM {relationship} r JOIN {subscription} s ON s.entity_id = r.super_entity_id
            WHERE r.sub_entity_id = a.entity_id AND s.medium_id = %s AND s.only_following
              AND s.source_id = {event_source} AND s.sub_entity_kind_id = (
                SELECT k.entity_kind_id FROM {entity} k WHERE k.id = a.entity_id){fence})
          OR EXISTS (
            SELECT 1 FROM {relationship} r JOIN {subscription} s ON s.entity_id = r.sub_entity_id
            WHERE r.super_entity_id = a.entity_id AND s.medium_id = %s AND s.only_following
              AND s.source_id = {event_source} AND s.sub_entity_kind_id IS NULL
              AND EXISTS (SELECT 1 FROM {entity} se WHERE se.id = s.entity_id AND se.is_active{fence}){fence})
          OR EXISTS (
            SELECT 1 FROM {relationship} rm
            WHERE rm.super_entity_id = a.entity_id AND EXISTS (
              SELECT 1 FROM {entity} m
              WHERE m.id = rm.sub_entity_id AND m.is_active AND EXISTS (
                SELECT 1 FROM {relationship} rg JOIN {subscription} s ON s.entity_id = rg.super_entity_id
                WHERE rg.sub_entity_id = m.id AND s.sub_entity_kind_id = m.entity_kind_id
                  AND s.medium_id = %s AND s.only_following
                  AND s.source_id = {event_source}{fence}){fence}){fence})))
"""


class DeliveredEvent(Expression):
    """``DELIVERED_EVENT`` for the events of the query it filters: the outer event's id and
    source are that query's columns (whatever alias it has, inside another query too), the
    tables the models', quoted for the connection that compiles it."""

    conditional = True

    def __init__(self, medium_id: int) -> None:
        super().__init__(output_field=BooleanField())
        self.medium_id = medium_id
        self.event_id: Any = F("pk")
        self.event_source: Any = F("source_id")

    def get_source_expressions(self) -> list[Any]:
        return [self.event_id, self.event_source]

    def set_source_expressions(self, expressions: Sequence[Any]) -> None:
        self.event_id, self.event_source = expressions

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> tuple[str, Any]:
        names = {name: connection.ops.quote_name(model._meta.db_table) for name, model in TABLES.items()}
        sql = DELIVERED_EVENT.format(
            **names,
            event_id=compiler.compile(self.event_id)[0],
            event_source=compiler.compile(self.event_source)[0],
            fence=subquery_fence(connection),
        )
        return f"({sql})", (self.medium_id,) * 5
