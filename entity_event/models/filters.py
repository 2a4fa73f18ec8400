"""The filters of the query methods (``events``, ``entity_events``, ``events_targets``,
``get_filtered_events``), declared once and checked once.

The methods take them as keyword arguments with the names and defaults of the 0.7 API
(``EventFilterArguments``); ``EventFilters.checked`` validates them before any query, with
errors that name the method and the argument.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TypedDict

from entity.models import Entity

from entity_event.validation import check_flag, check_limit, check_optional_flag, check_time, model_pk


class EventFilterArguments(TypedDict, total=False):
    """The keyword arguments every query method of ``Medium`` takes, all optional.

    * ``start_time``, ``end_time``: bound the event time (inclusive); ``None`` (the default) for
      no bound.
    * ``seen``: keep the events seen (``True``) or not seen (``False``) on the medium; ``None``
      (the default) for both.
    * ``include_expired``: keep the events whose ``time_expires`` has passed (default ``False``).
    * ``actor``: keep the events this entity (an ``Entity`` or its id) took part in.
    * ``mark_seen``: evaluate the query and mark exactly the returned events seen on the medium
      (default ``False``); with ``seen=False`` too it is a claim: concurrent callers never receive
      the same event (docs/guarantees.rst).
    * ``limit``: at most that many events: the newest, or for a claim the oldest, oldest first,
      so that a backlog drains in order and a call holds at most ``limit`` events in memory.
    """

    start_time: datetime | None
    end_time: datetime | None
    seen: bool | None
    include_expired: bool
    actor: Entity | int | None
    mark_seen: bool
    limit: int | None


class EntityEventFilterArguments(EventFilterArguments, total=False):
    """The filters of ``entity_events``: those of every query method, and ``read``, which keeps
    the events the entity has read (``True``) or not (``False``) on the medium."""

    read: bool | None


#: The names of the filters, for the check of unknown ones.
FILTER_NAMES = frozenset(EventFilterArguments.__annotations__)


@dataclass(frozen=True)
class EventFilters:
    """The validated filters of one query method call (``actor`` as its id)."""

    start_time: datetime | None = None
    end_time: datetime | None = None
    seen: bool | None = None
    include_expired: bool = False
    actor_id: int | None = None
    mark_seen: bool = False
    limit: int | None = None

    @property
    def claims(self) -> bool:
        """``seen=False, mark_seen=True``: the caller claims unseen events, which concurrent
        callers then never receive (docs/guarantees.rst)."""
        return self.seen is False and self.mark_seen

    @classmethod
    def checked(cls, method: str, arguments: Mapping[str, object]) -> EventFilters:
        """The filters of a ``method`` call from its keyword ``arguments``; an unknown one is the
        ``TypeError`` Python gives for an unexpected keyword, a bad value a ``TypeError`` or
        ``ValueError`` naming the method and the argument (``events(): seen must be True, False
        or None``)."""
        for name in arguments:
            if name not in FILTER_NAMES:
                raise TypeError(f"{method}() got an unexpected keyword argument {name!r}")
        start_time = check_time(arguments.get("start_time"), f"{method}(): start_time")
        end_time = check_time(arguments.get("end_time"), f"{method}(): end_time")
        seen = check_optional_flag(arguments.get("seen"), f"{method}(): seen")
        include_expired = check_flag(arguments.get("include_expired", False), f"{method}(): include_expired")
        mark_seen = check_flag(arguments.get("mark_seen", False), f"{method}(): mark_seen")
        actor = arguments.get("actor")
        actor_id = None if actor is None else model_pk(actor, Entity, f"{method}(): actor")
        limit = arguments.get("limit")
        return cls(
            start_time=start_time,
            end_time=end_time,
            seen=seen,
            include_expired=include_expired,
            actor_id=actor_id,
            mark_seen=mark_seen,
            limit=None if limit is None else check_limit(limit, f"{method}(): limit"),
        )
