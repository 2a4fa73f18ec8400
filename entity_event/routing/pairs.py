"""The (event, target) pairs of a batch of events on a medium, routed by the database.

Under the default following rule the routing of ``events_targets`` is also one ``SELECT``
(``ROUTED_PAIRS``): the events joined with the subscriptions of their sources, the members of
the subscribed groups, the actors an only-following subscription asks for and the
unsubscriptions. Delivery inserts its records from it (``entity_event.delivery.records``) and
the live updates count each person's new events with it
(``entity_event.notifications.recipients``), so that an announcement to a million members costs
one statement and no Python object per pair. The tests compare its pairs with those of
``Medium.events_targets()`` on random worlds.
"""

from __future__ import annotations

from django.db import connections
from entity.models import Entity, EntityRelationship

from entity_event.models import Event, EventActor, Source, Subscription, Unsubscription

__all__ = ["ROUTED_PAIRS", "routed_pairs_sql"]

#: The (event, target) pairs of the events ``{events}`` on the medium ``%(medium)s``, routed as
#: ``events_targets`` routes them under the default rule: the targets of every subscription of
#: the event's source (the entity of an individual one, the active members of the kind under the
#: entity of a group one), active; for an only-following subscription only those that follow an
#: active actor of the event (the actor itself, or one of its sub-entities); none that
#: unsubscribed from the source on the medium (unless the source is required). Tables and
#: columns are filled in from the models.
ROUTED_PAIRS = """
SELECT e.{event_id} AS event_id, r.target_id, e.{time} AS event_time
FROM {event_table} e
JOIN (
    SELECT s.{source}, s.{entity} AS target_id, s.{only_following} AS only_following
    FROM {subscription} s JOIN {entity_table} t ON t.{id} = s.{entity}
    WHERE s.{medium} = %(medium)s AND s.{sub_entity_kind} IS NULL AND t.{is_active} = %(true)s
    UNION ALL
    SELECT s.{source}, x.{sub_entity}, s.{only_following}
    FROM {subscription} s
    JOIN {relationship} x ON x.{super_entity} = s.{entity}
    JOIN {entity_table} t ON t.{id} = x.{sub_entity}
    WHERE s.{medium} = %(medium)s AND t.{entity_kind} = s.{sub_entity_kind} AND t.{is_active} = %(true)s
) r ON r.{source} = e.{source}
WHERE e.{event_id} IN ({events})
AND (
    r.only_following = %(false)s
    OR EXISTS (
        SELECT 1 FROM {actor} a JOIN {entity_table} ae ON ae.{id} = a.{entity}
        WHERE a.{actor_event} = e.{event_id} AND ae.{is_active} = %(true)s AND (
            a.{entity} = r.target_id
            OR EXISTS (
                SELECT 1 FROM {relationship} f
                WHERE f.{super_entity} = a.{entity} AND f.{sub_entity} = r.target_id
            )
        )
    )
)
AND NOT EXISTS (
    SELECT 1 FROM {unsubscription} u JOIN {source_table} us ON us.{id} = u.{source}
    WHERE u.{medium} = %(medium)s AND u.{source} = e.{source} AND u.{entity} = r.target_id
    AND us.{required} = %(false)s
)
"""


def routed_pairs_sql(using: str, event_count: int) -> str:
    """``ROUTED_PAIRS`` for ``event_count`` event ids, with the tables and columns of the models
    quoted for the database ``using``."""
    quote = connections[using].ops.quote_name

    def column(model: type, field: str) -> str:
        return quote(model._meta.get_field(field).column)  # type: ignore[attr-defined]

    return ROUTED_PAIRS.format(
        event_table=quote(Event._meta.db_table),
        subscription=quote(Subscription._meta.db_table),
        entity_table=quote(Entity._meta.db_table),
        relationship=quote(EntityRelationship._meta.db_table),
        actor=quote(EventActor._meta.db_table),
        unsubscription=quote(Unsubscription._meta.db_table),
        source_table=quote(Source._meta.db_table),
        required=column(Source, "required"),
        event_id=column(Event, "id"),
        time=column(Event, "time"),
        source=column(Subscription, "source"),
        entity=column(Subscription, "entity"),
        only_following=column(Subscription, "only_following"),
        medium=column(Subscription, "medium"),
        sub_entity_kind=column(Subscription, "sub_entity_kind"),
        id=column(Entity, "id"),
        is_active=column(Entity, "is_active"),
        entity_kind=column(Entity, "entity_kind"),
        sub_entity=column(EntityRelationship, "sub_entity"),
        super_entity=column(EntityRelationship, "super_entity"),
        actor_event=column(EventActor, "event"),
        events=", ".join(f"%(e{n})s" for n in range(event_count)),
    )
