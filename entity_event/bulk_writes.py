"""Writing many rows at once: new events and their actors, and seen marks. The one place where
these writes differ by database.

On PostgreSQL the events and their actors go in by ``COPY ... FROM STDIN``, the database's own
bulk loader: for a thousand events it costs about half what a multi-row ``INSERT`` does, because
the server parses no statement parameters and the client adapts no values one by one. ``COPY``
returns no ids, so the events' ids are drawn from the table's sequence first (one query). Three
statements in all, whatever the number of rows, with psycopg (3) or psycopg2; with psycopg 3 the
events go in ``COPY``'s binary format (``binary_copy_supported``).

Elsewhere (SQLite, MariaDB) the events go in by multi-row ``INSERT ... RETURNING`` statements
written here, and their actors by one ``executemany`` (``create_in_bulk``).

Either way the instances returned are built as the rows are written, without
``Model.__init__`` when nothing would notice (``quick_instances``).

Seen marks (``insert_seen``) go in on PostgreSQL by one ``INSERT ... SELECT`` from an array of
the events' ids: three parameters, whatever the number of events, where ``bulk_create`` builds an
instance and adapts four parameters per row (a claim of tens of thousands of events spent more
in that than in its reads). Elsewhere ``bulk_create`` writes them.

Each ``COPY`` goes through Django's cursor as a statement would: the connection's execute wrappers
see it (``connection.execute_wrapper``), the query log counts it (``assertNumQueries``), and its
errors are Django's (``IntegrityError`` for a duplicate uuid).
"""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import Any, NamedTuple

from django.conf import settings
from django.db import NotSupportedError, connections, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper
from django.db.models import Field
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init

from entity_event.models import Event, EventActor, EventSeen, Source
from entity_event.validation import JSONObject

#: A row that ``COPY`` writes: ids, strings, times (and, in the binary format, JSON values).
CopyRow = tuple[object, ...]

#: The event columns a ``COPY`` writes, in the order of the rows of ``insert_events``: the order
#: of ``Event``'s fields, in which it builds events from positional values (a test keeps it true).
EVENT_COLUMNS = ("id", "source_id", "context", "time", "time_expires", "uuid")

#: ``Event.source``, whose cache ``event_instance`` fills with a source given as an instance.
SOURCE_FIELD = Event._meta.get_field("source")

#: ``COPY``'s text format reads a backslash as an escape and tabs and line ends as separators.
COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
NEEDS_ESCAPE = re.compile(r"[\\\t\n\r]")


def uses_copy(using: str) -> bool:
    """Whether events are written by ``COPY`` on the database ``using`` (PostgreSQL)."""
    return connections[using].vendor == "postgresql"


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
        ids = draw_ids(cursor, len(new_events))
        binary = binary_copy_supported(cursor)
        json_text = json_text_for_binary_copy(connection) if binary else str
        quick = quick_instances(model)

        def rows() -> Iterator[CopyRow]:
            for pk, new in zip(ids, new_events, strict=True):
                events.append(event_instance(model, pk, new, using, quick))
                # Pairs of integers need no escaping: they are sent as COPY's text format in one
                # piece, which costs a tenth of formatting them row by row.
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
    the events' ids (SQLite and MariaDB), then one ``executemany`` of the actors' rows.

    The rows are Django's own: the context as the JSON text already checked, and each time
    through its field (``get_db_prep_value``), but the statements are written here: compiling
    every value of a batch through each model field, as ``bulk_create`` does, cost more than
    twice what the database spent storing them."""
    connection = connections[using]
    if not connection.features.can_return_rows_from_bulk_insert:
        raise NotSupportedError(
            "create_events needs a database that returns the ids of a multi-row INSERT: "
            "PostgreSQL, SQLite 3.35 or later, or MariaDB 10.5 or later"
        )
    ids = insert_returning_ids(model, new_events, connection)
    quick = quick_instances(model)
    events = [event_instance(model, pk, new, using, quick) for pk, new in zip(ids, new_events, strict=True)]
    actor_rows = [
        (pk, actor_id) for pk, new in zip(ids, new_events, strict=True) for actor_id in new.actor_ids
    ]
    if actor_rows:
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {quote(EventActor._meta.db_table)} "
                f"({quote('event_id')}, {quote('entity_id')}) VALUES (%s, %s)",
                actor_rows,
            )
    return events


def insert_returning_ids(
    model: type[Event], new_events: Sequence[NewEvent], connection: BaseDatabaseWrapper
) -> list[int]:
    """Insert the rows of ``new_events`` in this order, in as few ``INSERT ... RETURNING``
    statements as the database's parameter limit allows, and return their ids in this order."""
    quote = connection.ops.quote_name
    fields = model._meta.concrete_fields[1:]  # all but the id, in the order of EVENT_COLUMNS
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
    columns = ", ".join(quote(column) for column in EVENT_COLUMNS[1:])
    insert = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES "
    placeholders = f"({', '.join(['%s'] * len(fields))})"
    size = connection.ops.bulk_batch_size(fields, rows)
    ids: list[int] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), size):
            batch = rows[start : start + size]
            cursor.execute(
                f"{insert}{', '.join([placeholders] * len(batch))} RETURNING {quote(EVENT_COLUMNS[0])}",
                [value for row in batch for value in row],
            )
            ids.extend(pk for (pk,) in cursor.fetchall())
    return ids


def quick_instances(model: type[Event]) -> bool:
    """Whether ``event_instance`` may build instances of ``model`` without ``Model.__init__``:
    when nothing would notice, that is when the model keeps Django's ``__init__`` and no receiver
    listens to its ``pre_init`` or ``post_init`` signals (those are then sent as usual).

    For the thousands of events of a batch this is what Django does when it unpickles an
    instance (``Model.__reduce__``): the fields' values go straight into the instance's
    ``__dict__``. ``Model.__init__`` spends 4 µs an event on setting each field through its
    descriptor, about as much as all the checks of the event's arguments."""
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
        # Model.__init__, a fifth faster than keywords. django-stubs maps positional arguments to
        # the wrong fields (the second to "event"), hence the ignore.
        EventSeen.objects.using(using).bulk_create(
            [EventSeen(None, pk, medium_id, time_seen) for pk in event_ids],  # type: ignore[misc]
            ignore_conflicts=True,
        )
        return
    connection = connections[using]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(column) for column in ("event_id", "medium_id", "time_seen"))
    time_seen_field = EventSeen._meta.get_field("time_seen")
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(EventSeen._meta.db_table)} ({columns}) "
            "SELECT unnest(%s::bigint[]), %s, %s ON CONFLICT DO NOTHING",
            [list(event_ids), medium_id, time_seen_field.get_db_prep_value(time_seen, connection)],
        )


def draw_ids(cursor: CursorWrapper, count: int) -> list[int]:
    """``count`` new ids of the event table, in increasing order, from its sequence."""
    table = cursor.db.ops.quote_name(Event._meta.db_table)
    # The sequence's name in a subquery, looked up once: as an argument of nextval() it would
    # be looked up again for every id (a third of the statement's time for a thousand ids).
    cursor.execute(
        "SELECT nextval((SELECT pg_get_serial_sequence(%s, 'id'))) FROM generate_series(1, %s) ORDER BY 1",
        [table, count],
    )
    return [pk for (pk,) in cursor.fetchall()]


def stored_time(value: datetime) -> datetime:
    """A time as Django stores it. Aware times are the instants they are; a naive one means what
    it means to Django: under ``USE_TZ`` a time in the default time zone (made aware here, with
    Django's warning), otherwise a time in the connection's time zone (the database's reading
    of a naive ``COPY`` value too)."""
    if value.tzinfo is None and settings.USE_TZ:
        aware: datetime = Event._meta.get_field("time").get_prep_value(value)
        return aware
    return value


def binary_copy_supported(cursor: CursorWrapper) -> bool:
    """Whether ``copy_rows`` can send the rows of the event table in ``COPY``'s binary format on
    this cursor: with psycopg (3), which formats binary rows itself, and aware times
    (``USE_TZ``), which its binary ``timestamptz`` needs. The server then parses no text: it
    stores a thousand events in about a fifth less time."""
    return settings.USE_TZ and not hasattr(cursor.cursor, "copy_expert")


def json_text_for_binary_copy(connection: BaseDatabaseWrapper) -> Callable[[str], object]:
    """A function that makes JSON text a value of a ``jsonb`` column in a binary ``COPY``:
    psycopg's ``Jsonb`` wrapper, told that the value is JSON already (``dumps=str`` sends it as
    it is, where its default would encode the string once more)."""
    driver: Any = connection.Database  # type: ignore[attr-defined]  # set by each backend
    return functools.partial(driver.types.json.Jsonb, dumps=str)


def column_type(field: Field[Any, Any], connection: BaseDatabaseWrapper) -> str:
    """The name of the column type of ``field``, as a binary ``COPY`` declares it: its Django
    database type without a length (``varchar(512)`` is ``varchar``)."""
    return str(field.db_type(connection)).partition("(")[0]


def copy_rows(
    cursor: CursorWrapper,
    table: str,
    columns: Sequence[str],
    rows: Iterable[CopyRow],
    types: Sequence[str] | None = None,
) -> None:
    """``COPY`` ``rows`` into ``columns`` of ``table``, as one statement of the cursor (execute
    wrappers, query log and error translation included). With the columns' ``types`` (see
    ``binary_copy_supported``) in ``COPY``'s binary format, otherwise as text."""
    send = functools.partial(copy_values, rows=rows, types=types)
    run_copy(cursor, table, columns, send, binary=types is not None)


def copy_lines(cursor: CursorWrapper, table: str, columns: Sequence[str], text: str) -> None:
    """``COPY`` ``text``, rows already in ``COPY``'s text format, into ``columns`` of ``table``,
    as ``copy_rows`` does."""
    run_copy(cursor, table, columns, functools.partial(copy_text, text=text))


def run_copy(
    cursor: CursorWrapper,
    table: str,
    columns: Sequence[str],
    send: Callable[[Any, str], None],
    binary: bool = False,
) -> None:
    """Run ``COPY table (columns) FROM STDIN`` (``binary``: in the binary format) as one statement
    of the cursor, ``send`` writing its data on the driver's cursor (``send(driver_cursor, sql)``)."""
    quote = cursor.db.ops.quote_name
    sql = f"COPY {quote(table)} ({', '.join(quote(column) for column in columns)}) FROM STDIN"
    if binary:
        sql += " (FORMAT BINARY)"

    def write(sql: str, params: None, many: bool, context: dict[str, Any]) -> None:
        connection = context["connection"]
        connection.validate_no_broken_transaction()
        with connection.wrap_database_errors:
            send(context["cursor"].cursor, sql)

    executor: Callable[..., None] = write
    for wrapper in reversed(cursor.db.execute_wrappers):
        executor = functools.partial(wrapper, executor)
    logged: AbstractContextManager[None] = (
        cursor.debug_sql(sql) if isinstance(cursor, CursorDebugWrapper) else nullcontext()
    )
    with logged:
        executor(sql, None, False, {"connection": cursor.db, "cursor": cursor})


def copy_values(
    driver_cursor: Any, sql: str, rows: Iterable[CopyRow], types: Sequence[str] | None = None
) -> None:
    """Send ``rows`` to the ``COPY ... FROM STDIN`` statement ``sql`` on a cursor of the driver:
    psycopg (3) formats each row itself (in C, with the binary package), in the binary format
    of the column ``types`` when they are given; for psycopg2 they are written as ``COPY``'s
    text format here (``copy_line``)."""
    if hasattr(driver_cursor, "copy_expert"):
        copy_text(driver_cursor, sql, "".join(map(copy_line, rows)))
    else:
        with driver_cursor.copy(sql) as copy:
            if types is not None:
                copy.set_types(types)
            for row in rows:
                copy.write_row(row)


def copy_line(row: CopyRow) -> str:
    """A row as a line of ``COPY``'s text format: numbers as they are, times in ISO 8601 with
    their offset, strings escaped where they hold a backslash, a tab or a line end."""
    values = (
        value.isoformat()
        if isinstance(value, datetime)
        else value.translate(COPY_ESCAPES)
        if isinstance(value, str) and NEEDS_ESCAPE.search(value)
        else str(value)
        for value in row
    )
    return "\t".join(values) + "\n"


def copy_text(driver_cursor: Any, sql: str, text: str) -> None:
    """Send ``text`` to the ``COPY ... FROM STDIN`` statement ``sql`` on a cursor of the driver:
    psycopg (3) streams it through ``cursor.copy()``, psycopg2 reads it from a file."""
    if hasattr(driver_cursor, "copy_expert"):
        driver_cursor.copy_expert(sql, io.StringIO(text))
    else:
        with driver_cursor.copy(sql) as copy:
            copy.write(text)
