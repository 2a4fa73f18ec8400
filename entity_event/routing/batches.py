"""What delivery claims: batches of event ids, and for a medium with its own following rule the
ids of their targets, without an ``Entity`` or an ``Event`` per row.

``claim_event_ids`` is the claim of ``events_targets(seen=False, mark_seen=True, limit=...)``
reduced to ids: exactly-once among workers (row locks, skipping those another claim holds), the
oldest first, and it consumes every event of a subscribed source it takes (marked seen), those
nobody receives included, so that claims in batches move on. Delivery writes the records of the
claimed events in the same transaction (``entity_event.delivery.records``).
"""

from __future__ import annotations

from entity_event.models import Medium, Subscription
from entity_event.models.filters import EventFilters
from entity_event.routing.claims import claim, mark_ids_seen
from entity_event.routing.feeds import check_saved_medium, filtered_events
from entity_event.routing.routes import CustomFollowers, routes_by_source
from entity_event.routing.targets import PK, ROW_FIELDS, SOURCE, actors_of, targets_of

#: The filters of a delivery claim: unseen events, marked seen.
CLAIM = EventFilters(seen=False, mark_seen=True)


def claim_event_ids(medium: Medium, limit: int, using: str) -> list[int]:
    """Claim up to ``limit`` unseen events of ``medium`` whose source the medium has a
    subscription for, oldest first, and mark them seen; return their ids, oldest first. Must run
    in a transaction on ``using``, which writes what the claim is for (two queries and the
    insert of the seen marks, whatever the number of events)."""
    check_saved_medium(medium, "claim")
    subscribed = Subscription.objects.filter(medium_id=medium.pk).values("source_id")
    events = filtered_events(medium, CLAIM).filter(source_id__in=subscribed).using(using)
    ids = claim(events.values_list("pk", flat=True), medium, limit, int)
    mark_ids_seen(ids, medium, using)
    return ids


def claimed_target_ids(medium: Medium, event_ids: list[int], using: str) -> list[tuple[int, tuple[int, ...]]]:
    """``[(event id, target ids)]`` of claimed events on a medium with its own following rule, as
    ``events_targets`` routes them (the medium's ``followers_of``), events without targets
    included with an empty tuple."""
    rows = list(filtered_events(medium, EventFilters(include_expired=True)).using(using)
                .filter(pk__in=event_ids).values_list(*ROW_FIELDS))  # fmt: skip
    routes = routes_by_source(medium, None, using)
    rows = [row for row in rows if row[SOURCE] in routes]
    actors, _ = actors_of(rows, routes, medium, CLAIM, using)
    targets = targets_of(rows, routes, actors, CustomFollowers(medium))
    return [(row[PK], ids) for row, ids in zip(rows, targets, strict=True)]
