"""The recipients of a chunk, as handlers receive them: what a handler needs of each target
entity (its id, name and ``entity_meta``), loaded per chunk, without an ``Entity`` per target."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from entity.models import Entity

from entity_event.db.id_lists import id_filters
from entity_event.models import Event


@dataclass(frozen=True, eq=False)
class Recipient:
    """A target of a delivery: ``pk`` (its ``Entity``'s), ``display_name``, ``entity_meta`` (as
    stored: a handler must not assume it is a dict) and ``entity_kind_id``. Equal, and hashed,
    by ``pk``, so that ``(event, recipient)`` keys a dict."""

    pk: int
    display_name: str
    entity_meta: Any
    entity_kind_id: int

    @property
    def id(self) -> int:
        return self.pk

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Recipient) and other.pk == self.pk

    def __hash__(self) -> int:
        return hash(self.pk)

    def __str__(self) -> str:
        return self.display_name


@dataclass(frozen=True)
class Skip:
    """What a handler answers for a delivery there is nothing to send to (a recipient without an
    address): the record is ``skipped`` with ``reason``, and not tried again."""

    reason: str


#: What a handler could not deliver: ``{(event, recipient): reason}``, a ``str`` for a failed
#: attempt (tried again later), a ``Skip`` for nothing to send to.
Failures = dict[tuple[Event, Recipient], "str | Skip"]


def load_recipients(target_ids: Sequence[int], using: str) -> dict[int, Recipient]:
    """``{id: Recipient}`` of the entities ``target_ids``, active or not (one deactivated since
    its record was written still receives what was routed to it), in one query."""
    rows = Entity.all_objects.using(using).values_list("id", "display_name", "entity_meta", "entity_kind_id")
    return {
        pk: Recipient(pk, display_name, meta, kind)
        for condition in id_filters("id", list(target_ids), using)
        for pk, display_name, meta, kind in rows.filter(condition)
    }
