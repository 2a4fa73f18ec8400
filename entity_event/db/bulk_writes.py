"""Writing many rows at once, the fastest way each database allows: the one place where bulk
writes differ by database. The models say what the rows are (``entity_event.models.bulk_rows``);
this module knows only tables, columns and values.

On PostgreSQL rows go in by ``COPY ... FROM STDIN``, the database's own bulk loader: the server
parses no statement parameters and the client adapts no values one by one. ``COPY`` returns no
ids, so ids are drawn from the table's sequence first (``draw_ids``). With psycopg 3 rows can go
in ``COPY``'s binary format (``binary_copy_supported``); with psycopg2, as its text format,
formatted here. Rows keyed by a list of ids go in by one ``INSERT ... SELECT`` from an array
(``insert_from_id_array``).

Elsewhere (SQLite, MariaDB) rows go in by multi-row ``INSERT ... RETURNING`` statements written
here (``insert_returning_ids``), or one ``executemany`` (``insert_many``).

Each ``COPY`` goes through Django's cursor as a statement would: the connection's execute wrappers
see it (``connection.execute_wrapper``), the query log counts it (``assertNumQueries``), and its
errors are Django's (``IntegrityError`` for a duplicate key).
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
from django.db import NotSupportedError, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper
from django.db.models import Field

#: A value a statement binds (an id, a string, a time...), as the driver adapts it.
Parameter = Any

#: A row that ``COPY`` writes: ids, strings, times (and, in the binary format, JSON values).
CopyRow = tuple[object, ...]


#: ``COPY``'s text format reads a backslash as an escape and tabs and line ends as separators.
COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


NEEDS_ESCAPE = re.compile(r"[\\\t\n\r]")


def uses_copy(using: str) -> bool:
    """Whether events are written by ``COPY`` on the database ``using`` (PostgreSQL)."""
    return connections[using].vendor == "postgresql"


def draw_ids(cursor: CursorWrapper, table: str, count: int) -> list[int]:
    """``count`` new ids of ``table``'s ``id`` column, in increasing order, from its sequence."""
    table = cursor.db.ops.quote_name(table)
    # The sequence's name in a subquery, looked up once: as an argument of nextval() it would
    # be looked up again for every id.
    cursor.execute(
        "SELECT nextval((SELECT pg_get_serial_sequence(%s, 'id'))) FROM generate_series(1, %s) ORDER BY 1",
        [table, count],
    )
    return [pk for (pk,) in cursor.fetchall()]


def binary_copy_supported(cursor: CursorWrapper) -> bool:
    """Whether ``copy_rows`` can send rows with times in ``COPY``'s binary format on this
    cursor: with psycopg (3), which formats binary rows itself, and aware times (``USE_TZ``),
    which its binary ``timestamptz`` needs. The server then parses no text."""
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


def insert_returning_ids(
    connection: BaseDatabaseWrapper,
    table: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Parameter]],
    fields: Sequence[Field[Any, Any]],
) -> list[int]:
    """Insert ``rows`` (values for ``columns``, of the model ``fields``) into ``table`` in this
    order, in as few ``INSERT ... RETURNING id`` statements as the database's parameter limit
    allows, and return their ids in this order. Where there is no ``COPY``: the statements are
    written here, since compiling every value of a batch through each model field, as
    ``bulk_create`` does, cost more than what the database spent storing them."""
    if not connection.features.can_return_rows_from_bulk_insert:
        raise NotSupportedError(
            "create_events needs a database that returns the ids of a multi-row INSERT: "
            "PostgreSQL, SQLite 3.35 or later, or MariaDB 10.5 or later"
        )
    quote = connection.ops.quote_name
    insert = f"INSERT INTO {quote(table)} ({', '.join(quote(column) for column in columns)}) VALUES "
    placeholders = f"({', '.join(['%s'] * len(columns))})"
    size = connection.ops.bulk_batch_size(list(fields), list(rows))
    ids: list[int] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), size):
            batch = rows[start : start + size]
            cursor.execute(
                f"{insert}{', '.join([placeholders] * len(batch))} RETURNING {quote('id')}",
                [value for row in batch for value in row],
            )
            ids.extend(pk for (pk,) in cursor.fetchall())
    return ids


def insert_many(
    connection: BaseDatabaseWrapper, table: str, columns: Sequence[str], rows: Sequence[Sequence[Parameter]]
) -> None:
    """Insert ``rows`` into ``columns`` of ``table`` by one ``executemany``."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {quote(table)} ({', '.join(quote(column) for column in columns)}) "
            f"VALUES ({', '.join(['%s'] * len(columns))})",
            rows,
        )


def insert_from_id_array(
    connection: BaseDatabaseWrapper,
    table: str,
    columns: Sequence[str],
    ids: Sequence[int],
    values: Sequence[Parameter],
) -> None:
    """On PostgreSQL, insert one row per id of ``ids`` into ``table``: the id in the first of
    ``columns``, ``values`` in the others, skipping rows that conflict with a unique constraint.
    One statement with ``len(values) + 1`` parameters whatever the number of ids, where
    ``bulk_create`` builds an instance and adapts every value of every row."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(table)} ({', '.join(quote(column) for column in columns)}) "
            f"SELECT unnest(%s::bigint[]), {', '.join(['%s'] * len(values))} ON CONFLICT DO NOTHING",
            [list(ids), *values],
        )
