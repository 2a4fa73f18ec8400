"""Writing the delivery records of claimed events: one pending ``Delivery`` per (event, target).

A claim takes up to a batch of unseen events of the medium (``claim_event_ids``: exactly-once
among workers, every event it takes marked seen, those nobody receives included). Their records
are written in the claim's transaction, so that from its commit on they hold what is left to
send.

Under the default following rule the records are written by one ``INSERT ... SELECT`` whose
``SELECT`` is the routing itself (``entity_event.routing.pairs``): the database joins the claimed events with
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

from entity_event.db.id_lists import in_chunks
from entity_event.models import Delivery, Medium
from entity_event.routing.batches import claim_event_ids, claimed_target_ids
from entity_event.routing.following import uses_default_following
from entity_event.routing.pairs import routed_pairs_sql


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
