"""Long lists of values to look rows up by, as each database takes them best.

PostgreSQL takes any number of parameters in a statement (the driver binds them on the client);
SQLite has a limit (``SQLITE_MAX_VARIABLE_NUMBER``: 32,766 by default, 250,000 in Debian's build,
999 in the builds Django assumes), beyond which every query raises "too many SQL variables". The
queries that look values up by a list the library built (claimed events, actors, hinted rows,
uuids) go through ``in_chunks``: one query while the list fits, a few more beyond.

The largest lists, of ids the library has just read (the claimed events, the actors and
target entities of ``events_targets``, thousands to tens of thousands), go through ``id_filters``
instead: on PostgreSQL they are one array parameter (``column = ANY(%s)``, the condition that
PostgreSQL makes of an ``IN`` list anyway), because an ``IN`` list costs Django and the driver
time per value (preparing, placing and quoting each one) that grows past the query's own for
thousands of ids (docs/performance.rst).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import F, Lookup, Q
from django.db.models.sql.compiler import SQLCompiler

T = TypeVar("T")

#: Parameters left for the rest of a statement besides its ``IN`` list.
OTHER_PARAMETERS = 100


def chunk_size(using: str) -> int | None:
    """How many values one ``IN`` list may hold on the database ``using``; ``None``: any number."""
    limit = connections[using].features.max_query_params
    if limit is None:
        return None
    return max(1, limit - OTHER_PARAMETERS)


def in_chunks(values: Sequence[T], using: str, occurrences: int = 1) -> Iterator[Sequence[T]]:
    """``values`` in as few pieces as the database ``using`` accepts in one ``IN`` list (the whole
    sequence when it fits; nothing for an empty one), or in ``occurrences`` ``IN`` lists of one
    statement."""
    size = chunk_size(using)
    if size is not None:
        size = max(1, size // occurrences)
    if size is None or len(values) <= size:
        if values:
            yield values
        return
    for start in range(0, len(values), size):
        yield values[start : start + size]


class AnyOfIds(Lookup):
    """``column = ANY(%s::bigint[])`` on PostgreSQL: the column is one of a list of integer ids,
    bound as one array parameter (used as ``filter(AnyOfIds(F(column), ids))``, unregistered)."""

    lookup_name = "any_of_ids"
    prepare_rhs = False

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> tuple[str, tuple[Any, ...]]:
        """The condition, with the ids as one list parameter (an array to the driver)."""
        column, params = compiler.compile(self.lhs)
        return f"{column} = ANY(%s::bigint[])", (*params, list(self.rhs))


def id_filters(field: str, ids: Sequence[int], using: str) -> Iterator[Q | AnyOfIds]:
    """The conditions that, one query each, find the rows whose ``field`` is one of the integer
    ``ids`` on the database ``using``: one array parameter on PostgreSQL (``AnyOfIds``), an
    ``IN`` list per piece of ``in_chunks`` elsewhere; none for no ids."""
    if not ids:
        return
    if connections[using].vendor == "postgresql":
        yield AnyOfIds(F(field), ids)
        return
    for chunk in in_chunks(ids, using):
        yield Q(**{f"{field}__in": chunk})


def id_conditions_sql(column: str, ids: Sequence[int], using: str) -> Iterator[tuple[str, list[Any]]]:
    """``id_filters`` for a statement written by hand: ``(sql, params)`` of each condition that
    finds the rows whose ``column`` (quoted SQL) is one of ``ids``."""
    if not ids:
        return
    if connections[using].vendor == "postgresql":
        yield f"{column} = ANY(%s::bigint[])", [list(ids)]
        return
    for chunk in in_chunks(ids, using):
        yield f"{column} IN ({', '.join(['%s'] * len(chunk))})", list(chunk)
