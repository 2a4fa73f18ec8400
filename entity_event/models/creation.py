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
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from entity.models import Entity

from entity_event.db.id_lists import in_chunks
from entity_event.models import Event, Source
from entity_event.models.bulk_rows import NewEvent, insert_events
from entity_event.models.events import UUID_MAX_LENGTH
from entity_event.models.querysets import EventArguments
from entity_event.signals import events_created
from entity_event.timestamps import never_expires
from entity_event.validation import (
    check_flag,
    check_iterable,
    check_time,
    check_uuid,
    encode_context,
    model_pk,
)

#: The keys an item of ``create_events`` may have: the keyword arguments of ``create_event``.
ARGUMENT_NAMES = frozenset(EventArguments.__annotations__)


@dataclass(slots=True)
class _PendingEvent:
    """One event of a ``create_events`` call on its way to the database."""

    values: NewEvent
    ignore_duplicates: bool
    duplicate: bool = False
    source_id_to_check: int | None = field(default=None)
    actor_ids_to_check: list[int] = field(default_factory=list)
    event: Event | None = None  # the saved event, once inserted


def create_events(
    model: type[Event], using: str, kwargs_list: Iterable[EventArguments]
) -> list[Event | None]:
    """``EventManager.create_events``: see its docstring."""
    check_iterable(kwargs_list, "create_events", "dicts of create_event arguments")
    never = never_expires()
    pending = []
    for position, kwargs in enumerate(kwargs_list):
        try:
            pending.append(_prepare(kwargs, never))
        except TypeError as error:  # each message names the argument; say which item it is in
            raise TypeError(f"create_events[{position}]: {error}") from error
        except ValueError as error:
            raise ValueError(f"create_events[{position}]: {error}") from error
    if not pending:
        return []
    _check_sources_exist(pending, using)
    _check_actors_exist(pending, using)
    _mark_duplicates_within_batch(pending)
    with transaction.atomic(using=using):
        _insert_events(model, using, pending)
    created = [item.event for item in pending if item.event is not None]
    if created:

        def announce_created_events() -> None:
            events_created.send(sender=model, events=created, using=using)

        # robust: a failing receiver is logged; the events are committed already.
        transaction.on_commit(announce_created_events, using=using, robust=True)
    return [item.event for item in pending]


def _prepare(kwargs: object, never: datetime) -> _PendingEvent:
    """Validate one event's arguments (whatever the caller passed: they are checked here) and
    gather its values (``never``: the default expiry). Errors name the argument; the caller adds
    which item of the batch it was.

    This runs for every event of a batch: the common case (a dict of valid arguments) takes the
    cheapest tests first."""
    if not isinstance(kwargs, dict) and not isinstance(kwargs, Mapping):
        raise TypeError(f"expected a dict of create_event arguments, got {type(kwargs).__name__}")
    arguments: Mapping[str, object] = kwargs
    if not ARGUMENT_NAMES.issuperset(arguments):
        raise TypeError(f"unexpected argument(s) {', '.join(sorted(set(arguments) - ARGUMENT_NAMES))}")
    source = arguments.get("source")
    if source is None:
        raise TypeError("the source argument is required")
    source_id = model_pk(source, Source, "source")
    context = arguments.get("context")
    context, context_json = encode_context({} if context is None else context, "context")
    time = check_time(arguments.get("time"), "time")
    time_expires = check_time(arguments.get("time_expires"), "time_expires")
    event_uuid = arguments.get("uuid")
    if event_uuid is None:
        event_uuid = uuid_module.uuid4().hex
    else:
        event_uuid = check_uuid(event_uuid, "uuid", UUID_MAX_LENGTH)
    actor_ids, actor_ids_to_check = _actor_ids(arguments.get("actors"))
    values = NewEvent(
        source_id,
        source if isinstance(source, Source) else None,
        context,
        context_json,
        timezone.now() if time is None else time,
        never if time_expires is None else time_expires,
        event_uuid,
        actor_ids,
    )
    ignore_duplicates = arguments.get("ignore_duplicates", False)
    if ignore_duplicates is not False:
        check_flag(ignore_duplicates, "ignore_duplicates")

    return _PendingEvent(
        values=values,
        ignore_duplicates=ignore_duplicates is True,
        source_id_to_check=None if isinstance(source, Source) else source_id,
        actor_ids_to_check=actor_ids_to_check,
    )


def _actor_ids(actors: object) -> tuple[list[int], list[int]]:
    """The ids of an event's actors (each once, in the order given), and those of them given as
    ids, whose rows are looked up (``_check_actors_exist``)."""
    if actors is None:
        return [], []
    if not isinstance(actors, list):  # any other iterable, once (a generator is read once)
        actors = list(check_iterable(actors, "actors", "Entity objects or ids"))
    actor_ids = []
    given_as_ids = []
    for actor in actors:
        pk = model_pk(actor, Entity, "actors")
        actor_ids.append(pk)
        if not isinstance(actor, Entity):
            given_as_ids.append(pk)
    return list(dict.fromkeys(actor_ids)), given_as_ids


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
    """Actors given as ids must be existing entities (active or not): one query for the whole
    batch, none for instances (a saved ``Entity`` deleted since fails the foreign key)."""
    wanted = sorted({actor_id for item in pending for actor_id in item.actor_ids_to_check})
    missing = set(wanted) - _existing(Entity.all_objects.using(using), "pk", wanted, using)
    if missing:
        raise ValueError(f"actors: no Entity with id(s) {sorted(missing)}")


def _mark_duplicates_within_batch(pending: list[_PendingEvent]) -> None:
    """A uuid repeated in one batch: the first wins, the others are duplicates."""
    seen: set[str] = set()
    for item in pending:
        if item.values.uuid in seen:
            if not item.ignore_duplicates:
                raise IntegrityError(f"duplicate uuid {item.values.uuid!r} in one create_events call")
            item.duplicate = True
        seen.add(item.values.uuid)


def _existing_uuids(model: type[Event], using: str, items: list[_PendingEvent]) -> set[str]:
    uuids = [item.values.uuid for item in items if item.ignore_duplicates]
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
            if item.values.uuid in existing and item.ignore_duplicates:
                item.duplicate = True
        to_insert = [item for item in pending if not item.duplicate]
        if not to_insert:
            return
        # Concurrent writers may share uuids: inserting them in one global order makes a writer
        # wait for another instead of each holding a uuid the other needs (a deadlock, which
        # PostgreSQL breaks by failing one of the writers, whether or not it ignores duplicates).
        in_order = sorted(to_insert, key=attrgetter("values.uuid"))
        if not any(item.ignore_duplicates for item in to_insert):
            _insert_in_order(model, using, in_order)
            return
        try:
            with transaction.atomic(using=using):
                _insert_in_order(model, using, in_order)
            return
        except IntegrityError:
            existing = _existing_uuids(model, using, to_insert)
            if not existing:
                raise


def _insert_in_order(model: type[Event], using: str, items: list[_PendingEvent]) -> None:
    """Insert the events of ``items`` in this order and give each item its saved event."""
    events = insert_events(model, [item.values for item in items], using)
    for item, event in zip(items, events, strict=True):
        item.event = event
