"""The filters of the query methods (``events``, ``entity_events``, ``events_targets``), checked.

The methods take them as keyword-only arguments with the names and defaults of the 0.7 API;
``EventFilters.checked`` validates them once, before any query, with errors that name the method
and the argument.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from entity.models import Entity

from entity_event.validation import check_flag, check_limit, check_optional_flag, check_time, model_pk


@dataclass(frozen=True)
class EventFilters:
    """The validated filters of one query method call."""

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
    def checked(
        cls,
        method: str,
        *,
        start_time: datetime | None,
        end_time: datetime | None,
        seen: bool | None,
        include_expired: bool,
        actor: Entity | int | None,
        mark_seen: bool,
        limit: int | None = None,
    ) -> EventFilters:
        """The filters of a ``method`` call; a bad one raises ``TypeError`` or ``ValueError``
        naming the method and the argument (``events(): seen must be True, False or None``)."""
        for name, moment in (("start_time", start_time), ("end_time", end_time)):
            check_time(moment, f"{method}(): {name}")
        check_optional_flag(seen, f"{method}(): seen")
        check_flag(include_expired, f"{method}(): include_expired")
        check_flag(mark_seen, f"{method}(): mark_seen")
        actor_id = None if actor is None else model_pk(actor, Entity, f"{method}(): actor")
        if limit is not None:
            check_limit(limit, f"{method}(): limit")
        return cls(start_time, end_time, seen, include_expired, actor_id, mark_seen, limit)
