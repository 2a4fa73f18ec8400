"""Creating events: ``Event.objects.create_event`` and ``create_events``.

Every argument is checked before the first query (``entity_event.validation``); the sources and
actors given as ids are checked to exist with one query each for the whole batch; then the events
and their actors are written in one transaction, with one INSERT per table when nothing races.
Events created with ``ignore_duplicates`` skip the uuids that exist already, also when a
concurrent writer inserts one of them first (see ``_insert_events``).
"""

from __future__ import annotations

import uuid as uuid_module
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from typing import Any, TypedDict

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from entity.models import Entity

from entity_event.chunks import in_chunks
from entity_event.models import Event, EventActor, Source
from entity_event.models.events import UUID_MAX_LENGTH
from entity_event.querysets import EventArguments
from entity_event.signals import events_created
from entity_event.validation import (
    JSONObject,
    check_context,
    check_flag,
    check_iterable,
    check_time,
    check_uuid,
    model_pk,
)

#: The keys an item of ``create_events`` may have: the keyword arguments of ``create_event``.
ARGUMENT_NAMES = frozenset(EventArguments.__annotations__)


class _EventFields(TypedDict, total=False):
    """The keyword arguments of the ``Event`` that one item of ``create_events`` builds."""

    source: Source
    source_id: int
    context: JSONObject
    uuid: str
    time: datetime
    time_expires: datetime


@dataclass
class _PendingEvent:
    """One event of a ``create_events`` call on its way to the database."""

    event: Event
    actor_ids: list[int]
    ignore_duplicates: bool
    duplicate: bool = False
    source_id_to_check: int | None = field(default=None)


def create_events(
    model: type[Event], using: str, kwargs_list: Iterable[EventArguments]
) -> list[Event | None]:
    """``EventManager.create_events``: see its docstring."""
    check_iterable(kwargs_list, "create_events", "dicts of create_event arguments")
    pending = [_prepare(model, position, kwargs) for position, kwargs in enumerate(kwargs_list)]
    if not pending:
        return []
    _check_sources_exist(pending, using)
    _check_actors_exist(pending, using)
    _mark_duplicates_within_batch(pending)
    with transaction.atomic(using=using):
        _insert_events(model, using, pending)
        EventActor.objects.using(using).bulk_create(
            EventActor(event=item.event, entity_id=actor_id)
            for item in pending
            if not item.duplicate
            for actor_id in item.actor_ids
        )
    created = [item.event for item in pending if not item.duplicate]
    if created:

        def announce_created_events() -> None:
            events_created.send(sender=model, events=created, using=using)

        # robust: a failing receiver is logged; the events are committed already.
        transaction.on_commit(announce_created_events, using=using, robust=True)
    return [None if item.duplicate else item.event for item in pending]


def _prepare(model: type[Event], position: int, kwargs: object) -> _PendingEvent:
    """Validate one event's arguments (whatever the caller passed: they are checked here) and
    build its unsaved ``Event``."""
    where = f"create_events[{position}]"
    if not isinstance(kwargs, Mapping):
        raise TypeError(f"{where}: expected a dict of create_event arguments, got {type(kwargs).__name__}")
    arguments: Mapping[str, object] = kwargs
    unknown = sorted(set(arguments) - ARGUMENT_NAMES)
    if unknown:
        raise TypeError(f"{where}: unexpected argument(s) {', '.join(unknown)}")
    if arguments.get("source") is None:
        raise TypeError(f"{where}: the source argument is required")

    source = arguments["source"]
    source_id = model_pk(source, Source, f"{where}: source")
    fields = _event_fields(arguments, where)
    if isinstance(source, Source):
        fields["source"] = source
    else:
        fields["source_id"] = source_id

    actors = arguments.get("actors")
    actors = [] if actors is None else check_iterable(actors, f"{where}: actors", "Entity objects or ids")
    actor_ids = list(dict.fromkeys(model_pk(actor, Entity, f"{where}: actors") for actor in actors))
    ignore_duplicates = check_flag(arguments.get("ignore_duplicates", False), f"{where}: ignore_duplicates")

    return _PendingEvent(
        event=model(**fields),
        actor_ids=actor_ids,
        ignore_duplicates=ignore_duplicates,
        source_id_to_check=None if isinstance(source, Source) else source_id,
    )


def _event_fields(arguments: Mapping[str, object], where: str) -> _EventFields:
    """The checked context, uuid (generated when not given) and times of one event; the times
    only when given, so that the model's defaults apply otherwise."""
    context = arguments.get("context")
    event_uuid = arguments.get("uuid")
    fields: _EventFields = {
        "context": {} if context is None else check_context(context, f"{where}: context"),
        "uuid": (
            uuid_module.uuid4().hex
            if event_uuid is None
            else check_uuid(event_uuid, f"{where}: uuid", UUID_MAX_LENGTH)
        ),
    }
    time = check_time(arguments.get("time"), f"{where}: time")
    if time is not None:
        fields["time"] = time
    time_expires = check_time(arguments.get("time_expires"), f"{where}: time_expires")
    if time_expires is not None:
        fields["time_expires"] = time_expires
    return fields


def _existing(queryset: QuerySet[Any], field: str, wanted: list[Any], using: str) -> set[Any]:
    """The values of ``wanted`` that ``queryset`` has in ``field``: one query, or one per chunk
    of the database's parameter limit (``in_chunks``)."""
    found: set[Any] = set()
    for values in in_chunks(wanted, using):
        found.update(queryset.filter(**{f"{field}__in": values}).values_list(field, flat=True))
    return found


def _check_sources_exist(pending: list[_PendingEvent], using: str) -> None:
    """Sources given as ids must exist: one query for the whole batch, none for instances."""
    wanted = sorted({item.source_id_to_check for item in pending if item.source_id_to_check is not None})
    missing = set(wanted) - _existing(Source.objects.using(using), "pk", wanted, using)
    if missing:
        raise ValueError(f"source: no Source with id(s) {sorted(missing)}")


def _check_actors_exist(pending: list[_PendingEvent], using: str) -> None:
    """Every actor must be an existing entity (active or not): one query for the whole batch."""
    wanted = sorted({actor_id for item in pending for actor_id in item.actor_ids})
    missing = set(wanted) - _existing(Entity.all_objects.using(using), "pk", wanted, using)
    if missing:
        raise ValueError(f"actors: no Entity with id(s) {sorted(missing)}")


def _mark_duplicates_within_batch(pending: list[_PendingEvent]) -> None:
    """A uuid repeated in one batch: the first wins, the others are duplicates."""
    seen: set[str] = set()
    for item in pending:
        if item.event.uuid in seen:
            if not item.ignore_duplicates:
                raise IntegrityError(f"duplicate uuid {item.event.uuid!r} in one create_events call")
            item.duplicate = True
        seen.add(item.event.uuid)


def _existing_uuids(model: type[Event], using: str, items: list[_PendingEvent]) -> set[str]:
    uuids = [item.event.uuid for item in items if item.ignore_duplicates]
    return _existing(model.objects.using(using), "uuid", uuids, using)


def _insert_events(model: type[Event], using: str, pending: list[_PendingEvent]) -> None:
    """Insert the events that are not duplicates, with one INSERT when nothing races.

    Events created with ``ignore_duplicates`` first skip the uuids that exist already. A
    concurrent writer may still insert one of them before our INSERT: the INSERT then fails
    inside a savepoint, and we look again and retry without the uuids that now exist. Each
    retry removes at least one event, so the loop ends. An error that is not such a race
    (a duplicate without ``ignore_duplicates``) propagates and the transaction writes nothing.
    """
    existing = _existing_uuids(model, using, [item for item in pending if not item.duplicate])
    while True:
        for item in pending:
            if item.event.uuid in existing and item.ignore_duplicates:
                item.duplicate = True
        to_insert = [item for item in pending if not item.duplicate]
        if not to_insert:
            return
        # Concurrent writers may share uuids: inserting them in one global order makes a writer
        # wait for another instead of each holding a uuid the other needs (a deadlock, which
        # PostgreSQL breaks by failing one of the writers, whether or not it ignores duplicates).
        in_order = sorted((item.event for item in to_insert), key=attrgetter("uuid"))
        if not any(item.ignore_duplicates for item in to_insert):
            model.objects.using(using).bulk_create(in_order)
            return
        try:
            with transaction.atomic(using=using):
                model.objects.using(using).bulk_create(in_order)
            return
        except IntegrityError:
            existing = _existing_uuids(model, using, to_insert)
            if not existing:
                raise
