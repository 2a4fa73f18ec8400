"""Who receives one event on a medium, as ``events_targets()`` routes it, and mediums as their own
class, for the pages and the command that explain deliveries (docs/troubleshooting.rst).

``recipient_ids`` asks ``Medium.events_targets()`` itself (its public form, so that the admin
lists exactly the targets delivery would give the event, whatever its internals become), for the
events of the event's own instant: the queries of one ``events_targets`` call, whatever the
number of recipients. ``own_class`` gives each medium of a queryset as an instance of its most
derived multi-table subclass, in the one query of the queryset, so that its own following rule
applies.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.db.models.fields.reverse_related import OneToOneRel

from entity_event.models import Event, Medium
from entity_event.routing.feeds import check_saved_medium


def recipient_ids(medium: Medium, event: Event) -> list[int]:
    """The ids of the entities that receive ``event`` on ``medium``, sorted: its targets in
    ``events_targets()`` with the default filters (none for an expired event or one older than
    the medium). Only the events of the event's instant are routed (an index range of the
    ``time`` column), and the others among them are passed over."""
    check_saved_medium(medium, "recipient_ids")
    for listed, targets in medium.events_targets(start_time=event.time, end_time=event.time):
        if listed.pk == event.pk:
            return sorted(target.pk for target in targets)
    return []


def subclass_paths(model: type[models.Model], prefix: str = "") -> list[str]:
    """The ``select_related`` paths from ``model`` to each of its concrete multi-table subclasses
    (and theirs), the deepest last."""
    paths = []
    for relation in model._meta.related_objects:
        if isinstance(relation, OneToOneRel) and relation.parent_link:
            path = f"{prefix}{relation.get_accessor_name()}"
            paths += [path, *subclass_paths(relation.related_model, f"{path}__")]
    return paths


def most_derived(medium: Medium, paths: list[str]) -> Medium:
    """``medium`` as the deepest subclass row that ``paths`` (loaded with it, each subclass's
    path before its own subclasses') find for it: the last path that leads to a row."""
    found = medium
    for path in paths:
        instance: Any = medium
        try:
            for name in path.split("__"):
                instance = getattr(instance, name)
        except ObjectDoesNotExist:
            continue
        found = instance
    return found


def own_class(mediums: models.QuerySet[Medium]) -> list[Medium]:
    """The mediums of the queryset, each an instance of its most derived concrete subclass (the
    one whose following rule it routes by), in one query."""
    paths = subclass_paths(Medium)
    return [most_derived(medium, paths) for medium in mediums.select_related(*paths)]


def medium_named(name: str) -> Medium | None:
    """The medium called ``name`` as its own class, or ``None`` (one query)."""
    return next(iter(own_class(Medium.objects.filter(name=name))), None)
