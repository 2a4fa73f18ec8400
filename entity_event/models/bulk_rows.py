"""The rows the library writes in bulk: new events with their actors, and seen marks, each as
``entity_event.db.bulk_writes`` writes rows fastest on its database (``COPY`` on PostgreSQL,
``INSERT ... RETURNING`` and ``executemany`` elsewhere).

The events returned are built as their rows are written, without ``Model.__init__`` when nothing
would notice (``quick_instances``). Seen marks go in on PostgreSQL by one ``INSERT ... SELECT``
from an array of the events' ids; elsewhere ``bulk_create`` writes them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import NamedTuple

from django.conf import settings
from django.db import connections, models
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init

from entity_event.db.bulk_writes import (
    CopyRow,
    binary_copy_supported,
    column_type,
    copy_lines,
    copy_rows,
    draw_ids,
    insert_from_id_array,
    insert_many,
    insert_returning_ids,
    json_text_for_binary_copy,
    uses_copy,
)
from entity_event.models.events import Event, EventActor, EventSeen
from entity_event.models.sources import Source
from entity_event.validation import JSONObject

#: The event columns a ``COPY`` writes, in the order of the rows of ``insert_events``: the order
#: of ``Event``'s fields, in which it builds events from positional values (a test keeps it true).
EVENT_COLUMNS = ("id", "source_id", "context", "time", "time_expires", "uuid")


#: ``Event.source``, whose cache ``event_instance`` fills with a source given as an instance.
SOURCE_FIELD = Event._meta.get_field("source")


class NewEvent(NamedTuple):
    """The checked values of an event to insert, and the ids of its actors (``create_events``
    checks them)."""

    source_id: int
    source: Source | None  # the source, when it was given as an instance: event.source's cache
    context: JSONObject
    context_json: str  # the context as the JSON text to store
    time: datetime
    time_expires: datetime
    uuid: str
    actor_ids: list[int]


def insert_events(model: type[Event], new_events: Sequence[NewEvent], using: str) -> list[Event]:
    """Insert ``new_events`` in this order, and their actors; return the events as saved
    ``model`` instances, in the same order, with their ids.

    On PostgreSQL each instance, and the lines of its actors, are made as its row is sent:
    Python makes them while the server is already storing the rows it has received."""
    if not uses_copy(using):
        return create_in_bulk(model, new_events, using)
    connection = connections[using]
    events = []
    actor_lines: list[str] = []
    with connection.cursor() as cursor:
        ids = draw_ids(cursor, model._meta.db_table, len(new_events))
        binary = binary_copy_supported(cursor)
        json_text = json_text_for_binary_copy(connection) if binary else str
        quick = quick_instances(model)

        def rows() -> Iterator[CopyRow]:
            for pk, new in zip(ids, new_events, strict=True):
                events.append(event_instance(model, pk, new, using, quick))
                # Pairs of integers need no escaping: they are sent as COPY's text format in one
                # piece, rather than formatted row by row.
                actor_lines.extend([f"{pk:d}\t{actor_id:d}\n" for actor_id in new.actor_ids])
                time, time_expires = stored_time(new.time), stored_time(new.time_expires)
                yield (pk, new.source_id, json_text(new.context_json), time, time_expires, new.uuid)

        fields = model._meta.concrete_fields  # in the order of EVENT_COLUMNS
        types = [column_type(field, connection) for field in fields] if binary else None
        copy_rows(cursor, model._meta.db_table, EVENT_COLUMNS, rows(), types)
        if actor_lines:
            copy_lines(cursor, EventActor._meta.db_table, ("event_id", "entity_id"), "".join(actor_lines))
    return events


def create_in_bulk(model: type[Event], new_events: Sequence[NewEvent], using: str) -> list[Event]:
    """``insert_events`` where there is no ``COPY``: multi-row ``INSERT`` statements that return
    the events' ids (SQLite and MariaDB), then one ``executemany`` of the actors' rows. The rows
    are Django's own: the context as the JSON text already checked, and each time through its
    field (``get_db_prep_value``)."""
    connection = connections[using]
    time_field = model._meta.get_field("time")
    rows = [
        (
            new.source_id,
            new.context_json,
            time_field.get_db_prep_value(new.time, connection),
            time_field.get_db_prep_value(new.time_expires, connection),
            new.uuid,
        )
        for new in new_events
    ]
    fields = model._meta.concrete_fields[1:]  # all but the id, in the order of EVENT_COLUMNS
    ids = insert_returning_ids(connection, model._meta.db_table, EVENT_COLUMNS[1:], rows, fields)
    quick = quick_instances(model)
    events = [event_instance(model, pk, new, using, quick) for pk, new in zip(ids, new_events, strict=True)]
    actor_rows = [
        (pk, actor_id) for pk, new in zip(ids, new_events, strict=True) for actor_id in new.actor_ids
    ]
    if actor_rows:
        insert_many(connection, EventActor._meta.db_table, ("event_id", "entity_id"), actor_rows)
    return events


def quick_instances(model: type[Event]) -> bool:
    """Whether ``event_instance`` may build instances of ``model`` without ``Model.__init__``:
    when nothing would notice, that is when the model keeps Django's ``__init__`` and no receiver
    listens to its ``pre_init`` or ``post_init`` signals (those are then sent as usual).

    For the thousands of events of a batch this is what Django does when it unpickles an
    instance (``Model.__reduce__``): the fields' values go straight into the instance's
    ``__dict__``, where ``Model.__init__`` sets each field through its descriptor, which costs
    about as much as all the checks of the event's arguments (docs/performance.rst)."""
    return (
        model.__init__ is models.Model.__init__
        and not pre_init.has_listeners(model)
        and not post_init.has_listeners(model)
    )


def event_instance(model: type[Event], pk: int, new: NewEvent, using: str, quick: bool) -> Event:
    """The instance of the event ``new`` just inserted with the id ``pk``, saved, as Django's
    ``from_db`` makes it (``quick``: see ``quick_instances``)."""
    if quick:
        event = model.__new__(model)
        event.__dict__.update(
            id=pk,
            source_id=new.source_id,
            context=new.context,
            time=new.time,
            time_expires=new.time_expires,
            uuid=new.uuid,
        )
        event._state = ModelState()
    else:
        # Positional values in the order of the fields (EVENT_COLUMNS): Django's fast path of
        # Model.__init__. django-stubs expects a Source second, hence the ignore.
        event = model(pk, new.source_id, new.context, new.time, new.time_expires, new.uuid)  # type: ignore[misc]
    if new.source is not None:  # event.source without a query, as with Event(source=source)
        SOURCE_FIELD.set_cached_value(event, new.source)
    event._state.adding = False
    event._state.db = using
    return event


def insert_seen(event_ids: Sequence[int], medium_id: int, time_seen: datetime, using: str) -> None:
    """Record the events ``event_ids`` as seen on the medium ``medium_id`` at ``time_seen``, in
    one statement (none without ids), skipping those seen there already: they keep their first
    ``time_seen``."""
    if not event_ids:
        return
    if not uses_copy(using):
        # Positional arguments (id, event_id, medium_id, time_seen): Django's fast path of
        # Model.__init__, which keywords leave. django-stubs maps positional arguments to the
        # wrong fields (the second to "event"), hence the ignore.
        EventSeen.objects.using(using).bulk_create(
            [EventSeen(None, pk, medium_id, time_seen) for pk in event_ids],  # type: ignore[misc]
            ignore_conflicts=True,
        )
        return
    connection = connections[using]
    time_seen_field = EventSeen._meta.get_field("time_seen")
    insert_from_id_array(
        connection,
        EventSeen._meta.db_table,
        ("event_id", "medium_id", "time_seen"),
        event_ids,
        [medium_id, time_seen_field.get_db_prep_value(time_seen, connection)],
    )


def stored_time(value: datetime) -> datetime:
    """A time as Django stores it. Aware times are the instants they are; a naive one means what
    it means to Django: under ``USE_TZ`` a time in the default time zone (made aware here, with
    Django's warning), otherwise a time in the connection's time zone (the database's reading
    of a naive ``COPY`` value too)."""
    if value.tzinfo is None and settings.USE_TZ:
        aware: datetime = Event._meta.get_field("time").get_prep_value(value)
        return aware
    return value
