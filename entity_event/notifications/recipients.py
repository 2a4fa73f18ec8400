"""Who a batch of new events reaches on a medium: each target entity with its number of them.

The live updates of the notification center (``entity_event.notifications.live``) tell each
person of the events that reach them, and only them, so they need the targets of a batch of
just-created events: a few people for a comment, every member of a group for an announcement.
The cost must not grow with the targets: under the default following rule the database routes
the events with the SQL delivery writes its records by (``entity_event.routing.pairs``),
grouped by target: one statement per batch of ids that fits
the database's parameter limit (one for any batch but a huge one on SQLite), whatever the number
of targets, and no ``Entity`` built. A medium that overrides the following rule is routed by the
code of ``events_targets`` for ids (``claimed_target_ids``).

Only events of the medium's feeds count: those not older than the medium and not expired (as
``entity_events`` shows them).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from django.db import connections
from django.utils import timezone

from entity_event.db.id_lists import in_chunks
from entity_event.models import Event, Medium
from entity_event.routing.batches import claimed_target_ids
from entity_event.routing.following import uses_default_following
from entity_event.routing.pairs import routed_pairs_sql

__all__ = ["notified_counts"]


def notified_counts(medium: Medium, events: Sequence[Event], using: str) -> dict[int, int]:
    """``{entity id: how many of events it receives on medium}``, for the entities that receive
    at least one, read on the database ``using``: one query per batch of ids under the default
    following rule (none when no event is in the medium's feeds)."""
    now = timezone.now()
    ids = [event.pk for event in events if event.time >= medium.time_created and event.time_expires > now]
    if not ids:
        return {}
    if not uses_default_following(medium):
        return dict(
            Counter(target for _, targets in claimed_target_ids(medium, ids, using) for target in targets)
        )
    counts: Counter[int] = Counter()
    for chunk in in_chunks(ids, using):
        counts.update(routed_counts(medium, chunk, using))
    return dict(counts)


def routed_counts(medium: Medium, event_ids: Sequence[int], using: str) -> dict[int, int]:
    """``{target id: number of the events event_ids it receives}`` under the default following
    rule, counted by the database from the routed (event, target) pairs (a target reached by two
    subscriptions of one event counts it once)."""
    params = {"medium": medium.pk, "true": True, "false": False}
    params.update({f"e{n}": pk for n, pk in enumerate(event_ids)})
    sql = (
        f"SELECT pairs.target_id, COUNT(DISTINCT pairs.event_id) "
        f"FROM ({routed_pairs_sql(using, len(event_ids))}) pairs GROUP BY pairs.target_id"
    )
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        return {int(target): int(count) for target, count in cursor.fetchall()}
