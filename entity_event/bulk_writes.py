"""Writing the rows of many new events at once: the one place where creation differs by database.

On PostgreSQL the events and their actors go in by ``COPY ... FROM STDIN``, the database's own
bulk loader: for a thousand events it costs about half what a multi-row ``INSERT`` does, because
the server parses no statement parameters and the client adapts no values one by one. ``COPY``
returns no ids, so the events' ids are drawn from the table's sequence first (one query). Three
statements in all, whatever the number of rows, with psycopg (3) or psycopg2.

Elsewhere (SQLite, MariaDB) ``bulk_create`` writes them, which returns the ids on both.

Each ``COPY`` goes through Django's cursor as a statement would: the connection's execute wrappers
see it (``connection.execute_wrapper``), the query log counts it (``assertNumQueries``), and its
errors are Django's (``IntegrityError`` for a duplicate uuid).
"""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connections
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper
from django.utils import timezone

from entity_event.models import Event, EventActor

#: The event columns a ``COPY`` writes, in the order of ``event_line``.
EVENT_COLUMNS = ("id", "source_id", "context", "time", "time_expires", "uuid")

#: ``COPY``'s text format reads a backslash as an escape and tabs and line ends as separators.
COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
NEEDS_ESCAPE = re.compile(r"[\\\t\n\r]")


def uses_copy(using: str) -> bool:
    """Whether events are written by ``COPY`` on the database ``using`` (PostgreSQL)."""
    return connections[using].vendor == "postgresql"


def insert_events(events: Sequence[Event], contexts: Sequence[str], using: str) -> None:
    """Insert ``events`` (unsaved; ``contexts``: their contexts as JSON text) in this order and
    give each its id, as ``bulk_create`` does."""
    if not uses_copy(using):
        Event.objects.using(using).bulk_create(events)
        return
    connection = connections[using]
    with connection.cursor() as cursor:
        ids = draw_ids(cursor, len(events))
        as_text = TimeTexts()
        lines = (
            f"{pk}\t{event.source_id}\t{copy_escaped(context)}\t{as_text(event.time)}\t"
            f"{as_text(event.time_expires)}\t{copy_escaped(event.uuid)}\n"
            for pk, event, context in zip(ids, events, contexts, strict=True)
        )
        copy_rows(cursor, Event._meta.db_table, EVENT_COLUMNS, lines)
    for pk, event in zip(ids, events, strict=True):
        event.pk = pk
        event._state.adding = False
        event._state.db = using


def insert_actors(pairs: Iterable[tuple[int, int]], using: str) -> None:
    """Insert the ``(event id, entity id)`` rows of the events' actors."""
    if not uses_copy(using):
        EventActor.objects.using(using).bulk_create(
            EventActor(event_id=event_id, entity_id=entity_id) for event_id, entity_id in pairs
        )
        return
    lines = [f"{event_id}\t{entity_id}\n" for event_id, entity_id in pairs]
    if lines:
        with connections[using].cursor() as cursor:
            copy_rows(cursor, EventActor._meta.db_table, ("event_id", "entity_id"), lines)


def draw_ids(cursor: CursorWrapper, count: int) -> list[int]:
    """``count`` new ids of the event table, in increasing order, from its sequence."""
    table = cursor.db.ops.quote_name(Event._meta.db_table)
    cursor.execute(
        "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s) ORDER BY 1",
        [table, count],
    )
    return [pk for (pk,) in cursor.fetchall()]


def copy_escaped(text: str) -> str:
    """``text`` as a ``COPY`` text-format value (most values need no escape: left as they are)."""
    return text.translate(COPY_ESCAPES) if NEEDS_ESCAPE.search(text) else text


class TimeTexts:
    """Times as ``COPY`` text, each distinct time formatted once (the default expiry is one).

    Aware times are the instants they are; a naive one means what it means to Django: under
    ``USE_TZ`` a time in the default time zone (made aware here, with Django's warning),
    otherwise a time in the connection's time zone (the database's reading of a naive ``COPY``
    value too)."""

    def __init__(self) -> None:
        self.texts: dict[datetime, str] = {}
        self.make_aware = settings.USE_TZ

    def __call__(self, value: datetime) -> str:
        text = self.texts.get(value)
        if text is None:
            if self.make_aware and timezone.is_naive(value):
                value = Event._meta.get_field("time").get_prep_value(value)
            text = self.texts[value] = value.isoformat()
        return text


def copy_rows(cursor: CursorWrapper, table: str, columns: Sequence[str], lines: Iterable[str]) -> None:
    """``COPY`` the text-format ``lines`` into ``columns`` of ``table``, as one statement of the
    cursor (execute wrappers, query log and error translation included)."""
    quote = cursor.db.ops.quote_name
    sql = f"COPY {quote(table)} ({', '.join(quote(column) for column in columns)}) FROM STDIN"
    text = "".join(lines)

    def write(sql: str, params: None, many: bool, context: dict[str, Any]) -> None:
        connection = context["connection"]
        connection.validate_no_broken_transaction()
        with connection.wrap_database_errors:
            copy_text(context["cursor"].cursor, sql, text)

    executor: Callable[..., None] = write
    for wrapper in reversed(cursor.db.execute_wrappers):
        executor = functools.partial(wrapper, executor)
    logged: AbstractContextManager[None] = (
        cursor.debug_sql(sql) if isinstance(cursor, CursorDebugWrapper) else nullcontext()
    )
    with logged:
        executor(sql, None, False, {"connection": cursor.db, "cursor": cursor})


def copy_text(driver_cursor: Any, sql: str, text: str) -> None:
    """Send ``text`` to the ``COPY ... FROM STDIN`` statement ``sql`` on a cursor of the driver:
    psycopg (3) streams it through ``cursor.copy()``, psycopg2 reads it from a file."""
    if hasattr(driver_cursor, "copy_expert"):
        driver_cursor.copy_expert(sql, io.StringIO(text))
    else:
        with driver_cursor.copy(sql) as copy:
            copy.write(text)
