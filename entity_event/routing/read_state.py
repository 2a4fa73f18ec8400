"""Read state as queries: the ``read`` filter of ``entity_events()``, and the read flags of a page.

An event of an entity's feed is read when a ``ReadMark`` of the entity says so, otherwise when
its id is at most the entity's watermark (``ReadState.read_up_to``; 0 when it never marked
everything read). So the unread events are the events after the watermark, plus those marked
unread under it, minus those marked read above it. The filter names the watermark as a number
and the few marked-unread ids as a list, so the database reads the events since the watermark
from the primary key index: the cost of an unread count follows the unread events, not the size
of the event table. (``entity_event.models.reads`` describes the rows.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.db.models import Expression, Q, Value

from entity_event.models import Medium, ReadMark, ReadState
from entity_event.models.querysets import EventQuerySet

#: Up to this many read marks of an entity are named by id in the filter; with more, the filter
#: reads them from subqueries (correct, but the database can then no longer keep to the events
#: after the watermark). "Mark all read" clears the marks under the watermark.
LISTED_MARKS = 1000


@dataclass(frozen=True)
class EntityReadState:
    """The read state of one entity on one medium, as the filters use it."""

    medium_id: int
    entity_id: int
    read_up_to: int  # the watermark
    # The marks that override the watermark, or None for both when there are too many to list.
    marked_unread: Sequence[int] | None  # ids under the watermark marked unread
    marked_read: Sequence[int] | None  # ids above the watermark marked read

    @classmethod
    def load(cls, medium_id: int, entity_id: int, using: str) -> EntityReadState:
        """The state, in one query: the watermark and the marks, as the rows of a ``UNION ALL``
        (the watermark's first), at most ``LISTED_MARKS`` marks."""
        watermarks = ReadState.objects.using(using).filter(medium_id=medium_id, entity_id=entity_id)
        marks = ReadMark.objects.using(using).filter(medium_id=medium_id, entity_id=entity_id)
        is_watermark: models.BooleanField[bool, bool] = models.BooleanField()
        rows = list(
            watermarks.annotate(is_watermark=Value(True, output_field=is_watermark), read=Value(True))
            .values_list("read_up_to", "is_watermark", "read")
            .union(
                marks.annotate(is_watermark=Value(False, output_field=is_watermark)).values_list(
                    "event_id", "is_watermark", "read"
                ),
                all=True,
            )
            .order_by("-is_watermark")[: LISTED_MARKS + 2]
        )
        read_up_to = rows[0][0] if rows and rows[0][1] else 0
        if len(rows) == LISTED_MARKS + 2:
            return cls(medium_id, entity_id, read_up_to, None, None)
        mark_rows = [(pk, read) for pk, row_is_watermark, read in rows if not row_is_watermark]
        return cls(
            medium_id,
            entity_id,
            read_up_to,
            marked_unread=[pk for pk, read in mark_rows if not read and pk <= read_up_to],
            marked_read=[pk for pk, read in mark_rows if read and pk > read_up_to],
        )

    def unread_condition(self) -> Q:
        """The condition an unread event of the feed meets."""
        unread = Q(pk__gt=self.read_up_to)
        if self.marked_unread is None or self.marked_read is None:
            marks = ReadMark.objects.filter(medium_id=self.medium_id, entity_id=self.entity_id)
            unread |= Q(pk__in=marks.filter(read=False).values("event_id"))
            marked_read = marks.filter(read=True, event_id__gt=self.read_up_to)
            return unread & ~Q(pk__in=marked_read.values("event_id"))
        if self.marked_unread:
            unread |= Q(pk__in=self.marked_unread)
        return unread & ~Q(pk__in=self.marked_read) if self.marked_read else unread


def watermark(medium: Medium, entity_id: int, using: str) -> int:
    """The id up to which the entity has read everything on ``medium`` (0: never), one query."""
    watermarks = ReadState.objects.using(using).filter(medium_id=medium.pk, entity_id=entity_id)
    return next(iter(watermarks.values_list("read_up_to", flat=True)), 0)


class Unread(Expression):
    """The condition an unread event of an entity's feed meets, as a filter: worked out when the
    query is compiled, from the read state of the database the query runs on (one query then),
    so that the filter names the watermark as a number and a ``using()`` applied to the feed
    after it applies to its read state too."""

    conditional = True

    def __init__(self, medium_id: int, entity_id: int) -> None:
        super().__init__(output_field=models.BooleanField())
        self.medium_id, self.entity_id = medium_id, entity_id

    def as_sql(self, compiler: Any, connection: Any, **extra_context: Any) -> tuple[str, Any]:
        state = EntityReadState.load(self.medium_id, self.entity_id, connection.alias)
        sql, params = compiler.compile(compiler.query.build_where(state.unread_condition()))
        return str(sql), params


def with_read_state(events: EventQuerySet, medium: Medium, entity_id: int, read: bool) -> EventQuerySet:
    """``events`` (an entity's feed) restricted to the ones it has read, or not read."""
    unread = Unread(medium.pk, entity_id)
    return events.exclude(unread) if read else events.filter(unread)


def read_flags(medium: Medium, entity_id: int, event_ids: Sequence[int], using: str) -> dict[int, bool]:
    """``{event id: read}`` for some events of an entity's feed (a page), in two queries."""
    read_up_to = watermark(medium, entity_id, using)
    marks = dict(
        ReadMark.objects.using(using)
        .filter(medium_id=medium.pk, entity_id=entity_id, event_id__in=event_ids)
        .values_list("event_id", "read")
    )
    return {pk: marks.get(pk, pk <= read_up_to) for pk in event_ids}
