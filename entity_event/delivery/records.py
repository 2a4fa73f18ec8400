"""Writing the delivery records of claimed events: one pending ``Delivery`` per (event, target).

A claim takes up to a batch of unseen events of the medium (``claim_event_ids``: exactly-once
among workers, every event it takes marked seen, those nobody receives included). Their records
are written in the claim's transaction, so that from its commit on they hold what is left to
send.

Under the default following rule the records are written by one ``INSERT ... SELECT`` whose
``SELECT`` is the routing itself (``ROUTED_PAIRS``): the database joins the claimed events with
the subscriptions, the members of the subscribed groups, the actors an only-following
subscription asks for and the unsubscriptions, and inserts the pairs, so that an announcement to
a million members costs one statement and no Python object per record. It gives the pairs that
``Medium.events_targets()`` gives (the tests compare them on random worlds). A medium that
overrides the following rule is routed by ``events_targets``' own code, ids only, and its
records are inserted in chunks.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import connections, router, transaction
from django.utils import timezone
from entity.models import Entity, EntityRelationship

from entity_event.db.id_lists import in_chunks
from entity_event.models import Delivery, Event, EventActor, Medium, Source, Subscription, Unsubscription
from entity_event.routing.batches import claim_event_ids, claimed_target_ids
from entity_event.routing.following import uses_default_following

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


def records_database() -> str:
    """The database of the records, and of the claims they are written with: where the routers
    send writes of ``Delivery``."""
    return router.db_for_write(Delivery)


def claim_and_record(medium: Medium, batch_size: int) -> tuple[int, int]:
    """Claim up to ``batch_size`` unseen events of ``medium`` and write a pending delivery for
    each of their targets, in one transaction; return (events claimed, records written)."""
    using = records_database()
    now = timezone.now()
    with transaction.atomic(using=using):
        event_ids = claim_event_ids(medium, batch_size, using)
        if not event_ids:
            return 0, 0
        if uses_default_following(medium):
            recorded = sum(insert_routed(medium, chunk, now, using) for chunk in in_chunks(event_ids, using))
        else:
            recorded = insert_pairs(medium, claimed_target_ids(medium, event_ids, using), now, using)
    return len(event_ids), recorded


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


def insert_routed(medium: Medium, event_ids: Sequence[int], now: datetime, using: str) -> int:
    """Insert the pending records of the events ``event_ids`` on ``medium``, routed by the
    database (``ROUTED_PAIRS``), skipping those that exist; return how many were written. They
    are written in the order of the events, then of the targets, so that their ids, which the
    chunks follow, are the order in which the events happened."""
    connection = connections[using]
    quote = connection.ops.quote_name
    columns = ("event_id", "medium_id", "target_id", "status", "attempts", "last_error")
    times = ("time_created", "time_next_attempt", "digest_key")
    time_value = Delivery._meta.get_field("time_created").get_db_prep_value(now, connection)
    params: dict[str, Any] = {
        "medium": medium.pk,
        "true": True,
        "false": False,
        "pending": Delivery.Status.PENDING,
        "now": time_value,
        "empty": "",
        **{f"e{n}": pk for n, pk in enumerate(event_ids)},
    }
    insert, conflict = insert_ignoring(connection.vendor)
    sql = (
        f"{insert} {quote(Delivery._meta.db_table)} ({', '.join(quote(c) for c in (*columns, *times))}) "
        f"SELECT pairs.event_id, %(medium)s, pairs.target_id, %(pending)s, 0, %(empty)s, "
        f"%(now)s, %(now)s, %(empty)s "
        f"FROM ({routed_pairs_sql(using, len(event_ids))}) pairs WHERE 1 = 1 "
        f"ORDER BY pairs.event_time, pairs.event_id, pairs.target_id{conflict}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        written: int = cursor.rowcount
    return max(written, 0)


def insert_ignoring(vendor: str) -> tuple[str, str]:
    """The words of an ``INSERT`` that skips the rows a unique constraint already holds: before
    the table, and after the rows. (The ``SELECT`` of the rows ends with a ``WHERE``, without
    which SQLite would read the ``ON`` of ``ON CONFLICT`` as a join's.)"""
    if vendor == "mysql":
        return "INSERT IGNORE INTO", ""
    return "INSERT INTO", " ON CONFLICT DO NOTHING"


def insert_pairs(medium: Medium, pairs: list[tuple[int, tuple[int, ...]]], now: datetime, using: str) -> int:
    """Insert the pending records of ``[(event id, target ids)]`` (a medium with its own
    following rule), in chunks of the database's parameter limit; return how many pairs there
    were (the events were just claimed: none has records yet)."""
    rows = [(event_id, target_id) for event_id, targets in pairs for target_id in targets]
    for chunk in in_chunks(rows, using):
        Delivery.objects.using(using).bulk_create(
            [
                Delivery(event_id=event_id, medium_id=medium.pk, target_id=target_id, time_created=now,
                         time_next_attempt=now)
                for event_id, target_id in chunk
            ],
            ignore_conflicts=True,
        )  # fmt: skip
    return len(rows)
