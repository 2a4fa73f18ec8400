"""Reading: ``Medium.mark_read``, ``Medium.mark_unread`` and ``Medium.unread_count``.

Per-person read state, apart from ``seen`` (see ``entity_event.routing.read_state`` for what is read).
Marking everything read moves the entity's watermark to the newest event and drops its marks
under it; marking some events writes one mark per event of the entity's feed, in one upsert, so
concurrent calls never fail on the unique constraint and the last one wins. Each call runs a
constant number of queries, whatever the number of events.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import models, router, transaction
from django.db.models import Subquery
from django.utils import timezone
from entity.models import Entity

from entity_event.db.backends import insert_then_lock, upsert_target
from entity_event.db.id_lists import in_chunks
from entity_event.models import Event, Medium, ReadMark, ReadState
from entity_event.models.filters import EventFilters
from entity_event.routing.feeds import check_saved_medium, entity_events_query, entity_medium_events
from entity_event.routing.following import entity_id_of
from entity_event.validation import check_iterable, model_pk

#: Every event of a feed, expired ones included: an expired event can still be marked.
WHOLE_FEED = EventFilters(include_expired=True)


def unread_count(medium: Medium, entity: Entity | int, using: str | None = None) -> int:
    """``Medium.unread_count``: the unread events of the entity's feed (two queries), read where
    the routers send reads of events, or from the database ``using``."""
    unread = entity_medium_events(medium, entity, EventFilters(), read=False)
    return (unread if using is None else unread.using(using)).count()


def unread_count_after_marking(medium: Medium, entity: Entity | int) -> int:
    """The unread count that a marking call just changed, read where it wrote (a replica may
    not have it yet)."""
    return unread_count(medium, entity, using=read_state_database())


def mark_read(medium: Medium, entity: Entity | int, events: object = None) -> None:
    """``Medium.mark_read``: everything up to now (``events=None``), or the given events."""
    check_saved_medium(medium, "mark_read")
    entity_id = entity_id_of(entity, "mark_read(): entity")
    if events is None:
        mark_everything_read(medium, entity_id)
    else:
        mark(medium, entity_id, event_ids(events, "mark_read(): events"), read=True)


def mark_unread(medium: Medium, entity: Entity | int, events: object) -> None:
    """``Medium.mark_unread``: the given events."""
    check_saved_medium(medium, "mark_unread")
    entity_id = entity_id_of(entity, "mark_unread(): entity")
    mark(medium, entity_id, event_ids(events, "mark_unread(): events"), read=False)


def event_ids(events: object, argument: str) -> list[int]:
    """The ids of ``events``: an ``Event`` queryset, or a list of events or event ids. A queryset
    is evaluated where read state is written, never on a lagging replica: an event created a
    moment ago must be found to be marked."""
    if isinstance(events, models.QuerySet):
        if events.model is not Event:
            raise TypeError(f"{argument}: expected events, got a queryset of {events.model.__name__}")
        return list(events.using(read_state_database()).values_list("pk", flat=True))
    return [model_pk(event, Event, argument) for event in check_iterable(events, argument, "events")]


def read_state_database() -> str:
    """The database of read state: the one the routers send writes of ``ReadMark`` to
    (``db_for_write``; ``default`` without routers). Marking reads there too, never a lagging
    read replica (an event just created must be found to be marked)."""
    return router.db_for_write(ReadMark)


def mark_everything_read(medium: Medium, entity_id: int) -> None:
    """Move the watermark to the newest event (never backwards: a slower concurrent call that
    saw an older newest event leaves it) and drop the marks under it, in five queries."""
    using = read_state_database()
    # One query: the entity exists (else a ValueError rather than a foreign key error at the
    # commit) and the id of the newest event.
    newest_event = Event.objects.order_by("-pk").values("pk")[:1]
    entity = Entity.all_objects.using(using).filter(pk=entity_id)
    found = list(entity.values_list(Subquery(newest_event), flat=True))
    if not found:
        raise unknown_entity(entity_id, "mark_read")
    newest = found[0]
    if newest is None:  # no event at all: nothing to read
        return
    with transaction.atomic(using=using):
        watermark = locked_watermark(medium, entity_id, using)
        watermark.filter(read_up_to__lt=newest).update(read_up_to=newest, time_updated=timezone.now())
        marks = ReadMark.objects.using(using).filter(medium=medium, entity_id=entity_id, event_id__lte=newest)
        marks.delete()


def mark(medium: Medium, entity_id: int, ids: Iterable[int], *, read: bool) -> None:
    """Mark the events ``ids`` of the entity's feed read or unread (others are ignored): one
    query finds them (per chunk the database's parameter limit allows), one upsert marks them,
    under the lock of the entity's watermark row (two queries)."""
    using = read_state_database()
    feed = entity_events_query(medium, entity_id, WHOLE_FEED).using(using)
    in_feed = sorted(
        pk
        for chunk in in_chunks(sorted(set(ids)), feed.db)
        for pk in feed.filter(pk__in=chunk).values_list("pk", flat=True)
    )
    if not in_feed:
        check_entity_exists(entity_id, "mark_read" if read else "mark_unread", using)
        return
    now = timezone.now()
    with transaction.atomic(using=using):
        locked_watermark(medium, entity_id, using).get()
        ReadMark.objects.using(using).bulk_create(
            [
                ReadMark(medium=medium, entity_id=entity_id, event_id=pk, read=read, time_marked=now)
                for pk in in_feed
            ],
            update_conflicts=True,
            update_fields=["read", "time_marked"],
            **upsert_target(using, ["medium", "entity", "event"]),
        )


def locked_watermark(medium: Medium, entity_id: int, using: str) -> models.QuerySet[ReadState]:
    """The entity's watermark row, created if missing and locked until the transaction ends.

    Every write to an entity's read state takes this lock first, so concurrent calls for one
    entity run one after the other (the last one wins) instead of locking marks in different
    orders and deadlocking; calls for different entities do not wait for each other."""
    watermarks = ReadState.objects.using(using)
    watermarks.bulk_create(
        [ReadState(medium=medium, entity_id=entity_id)], **insert_then_lock(using, key_field="medium")
    )
    return watermarks.select_for_update().filter(medium=medium, entity_id=entity_id)


def check_entity_exists(entity_id: int, method: str, using: str) -> None:
    """A ``ValueError`` when no entity has the id: marks name an entity that exists."""
    if not Entity.all_objects.using(using).filter(pk=entity_id).exists():
        raise unknown_entity(entity_id, method)


def unknown_entity(entity_id: int, method: str) -> ValueError:
    return ValueError(f"{method}(): no entity has the id {entity_id}")
