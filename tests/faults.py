"""Fault injection through public seams: Django's ``connection.execute_wrapper``, and other
connections to the same database.

The tests make things go wrong at a chosen statement (a statement the database refuses, a lost
connection, a competing writer, a writer that waits for the others) by watching the SQL that goes
out, not by patching the library's functions, so that the library can be reorganised without
breaking them. A statement is chosen by what it does to which table (``inserts_into``,
``selects_from``...): the SQL that Django writes for the library's queries, quoted the same way on
every backend.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import DEFAULT_DB_ALIAS, Error, connection, connections

Action = Callable[[], Any]


@contextmanager
def on_statement(
    matches: Callable[[str], bool],
    *,
    before: Action | None = None,
    after: Action | None = None,
    skip: int = 0,
    times: int = 1,
) -> Iterator[list[str]]:
    """Run ``before`` right before and ``after`` right after the matching statements number
    ``skip + 1`` to ``skip + times`` on the default connection; yield the list of every statement
    that ``matches`` accepts (one that ``before`` made fail included).

    The statements that the actions run themselves go through untouched and are not listed.
    """
    seen: list[str] = []
    acting = False

    def act(action: Action | None) -> None:
        nonlocal acting
        if action is None:
            return
        acting = True
        try:
            action()
        finally:
            acting = False

    def wrapper(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        if acting or not matches(sql):
            return execute(sql, params, many, context)
        seen.append(sql)
        chosen = skip < len(seen) <= skip + times
        if chosen:
            act(before)
        result = execute(sql, params, many, context)
        if chosen:
            act(after)
        return result

    with connection.execute_wrapper(wrapper):
        yield seen


def after_statement(matches: Callable[[str], bool], action: Action, times: int = 1) -> Any:
    """Run ``action`` right after each of the first ``times`` statements that ``matches``
    accepts; yield the list of the matching statements (see ``on_statement``)."""
    return on_statement(matches, after=action, times=times)


def before_statement(matches: Callable[[str], bool], action: Action, times: int = 1) -> Any:
    """Run ``action`` right before each of the first ``times`` statements that ``matches``
    accepts; yield the list of the matching statements (see ``on_statement``)."""
    return on_statement(matches, before=action, times=times)


def failing_statement(matches: Callable[[str], bool], error: Error, skip: int = 0) -> Any:
    """Make the matching statement number ``skip + 1`` raise ``error`` instead of running, as the
    database raises it; yield the list of the matching statements (see ``on_statement``)."""

    def fail() -> None:
        raise error

    return on_statement(matches, before=fail, skip=skip)


def on_another_connection(sql: str, params: list[Any] | tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run ``sql`` as another process would: on a new connection to the test database, in
    autocommit (what it writes is committed at once); return the rows it selects."""
    other = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with other.cursor() as cursor:
            cursor.execute(sql, params)
            return list(cursor.fetchall()) if cursor.description else []
    finally:
        other.close()


def selects_for_update(sql: str) -> bool:
    """A claim's ``SELECT ... FOR UPDATE``."""
    return sql.lstrip().upper().startswith("SELECT") and "FOR UPDATE" in sql.upper()


def quoted(name: str) -> str:
    """``name`` quoted as the database quotes table and column names (``"x"``; MariaDB: `` `x` ``)."""
    return connection.ops.quote_name(name)


def inserts_into(table: str) -> Callable[[str], bool]:
    """An INSERT into ``table`` (``ignore_conflicts`` included: ``INSERT IGNORE`` on MariaDB,
    ``INSERT OR IGNORE`` on SQLite), or a ``COPY`` into it (how PostgreSQL receives new events)."""
    pattern = rf"(?:INSERT (?:OR IGNORE |IGNORE )?INTO|COPY) {re.escape(quoted(table))}"
    return lambda sql: re.match(pattern, sql) is not None


def deletes_from(table: str) -> Callable[[str], bool]:
    """A DELETE from ``table``."""
    return lambda sql: sql.startswith(f"DELETE FROM {quoted(table)}")


def selects_from(table: str, column: str | None = None) -> Callable[[str], bool]:
    """A SELECT from ``table`` (its first FROM, not a subquery's); with ``column``, a SELECT of
    that column only (``values_list``)."""
    if column is not None:
        return lambda sql: (
            re.match(
                rf"SELECT {re.escape(quoted(table))}\.{re.escape(quoted(column))}"
                rf"( AS \S+)? FROM {re.escape(quoted(table))} ",
                sql,
            )
            is not None
        )
    return lambda sql: sql.startswith("SELECT ") and sql.partition(" FROM ")[2].startswith(quoted(table))
