"""The troubleshooting page's example: why the entities that should receive an event miss it."""

from __future__ import annotations

from collections.abc import Iterable

from entity.models import Entity

from entity_event.models import Event, Medium
from entity_event.routing.explain import Explanation


def missing_recipients(medium: Medium, event: Event, expected: Iterable[Entity]) -> dict[Entity, Explanation]:
    """The entities of ``expected`` that do not receive ``event`` on ``medium``, each with why."""
    missing = {}
    for entity in expected:
        why = medium.explain(event, entity)
        if not why.delivered:
            missing[entity] = why
    return missing
