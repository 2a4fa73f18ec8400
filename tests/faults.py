"""Fault injection through Django's public seam: ``connection.execute_wrapper``.

The tests make things go wrong at a chosen statement (a lost connection, a competing writer) by
watching the SQL that goes out, not by patching the library's private functions, so that the
library can be reorganised without breaking them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection


@contextmanager
def after_statement(
    matches: Callable[[str], bool], action: Callable[[], Any], times: int = 1
) -> Iterator[list[str]]:
    """Run ``action`` right after each of the first ``times`` statements whose SQL ``matches``
    accepts has run on the default connection; yield the list of those statements."""
    seen: list[str] = []

    def wrapper(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        result = execute(sql, params, many, context)
        if len(seen) < times and matches(sql):
            seen.append(sql)
            action()
        return result

    with connection.execute_wrapper(wrapper):
        yield seen


def selects_for_update(sql: str) -> bool:
    """A claim's ``SELECT ... FOR UPDATE``."""
    return sql.lstrip().upper().startswith("SELECT") and "FOR UPDATE" in sql.upper()


def inserts_into(table: str) -> Callable[[str], bool]:
    """An INSERT into ``table``."""
    return lambda sql: sql.lstrip().upper().startswith("INSERT") and table in sql
