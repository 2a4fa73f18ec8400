"""The differences between the supported databases that the library's queries depend on, in one place.

The rest of the library writes portable ORM queries and asks this module where the databases
differ, by their features (``connection.features``) rather than by name where Django has one:

* **Row locks.** PostgreSQL locks the rows of the query's own table only (``FOR UPDATE OF``).
  MariaDB and MySQL have no ``OF``: ``FOR UPDATE`` locks a row of every table the query joins
  (the event's source, a delivery's target), so that two workers skipping locked rows would
  skip each other's events through a shared source row, and every writer of a joined row would
  wait for the lock. ``lock_own_rows`` therefore locks with a query that joins nothing, and
  ``locked_with_related`` loads the related rows with a second query after the lock. The rows
  that a locking query's subqueries read are not locked on either database.
* **Isolation.** A claim re-reads the seen records after its row locks (``claims.claim``),
  which needs each statement to see what other transactions committed before it began: READ
  COMMITTED, the default of Django on PostgreSQL and on MariaDB/MySQL. Under REPEATABLE READ
  (which a site may set in ``OPTIONS["isolation_level"]``) MariaDB keeps the snapshot of the
  transaction's first read, so the system check ``entity_event.W010`` warns about it
  (``checks``).
* **Insert, then lock.** ``INSERT IGNORE`` of a row that exists takes a shared lock there, and
  two transactions upgrading it to an exclusive one deadlock (``insert_then_lock``).
* **Upserts.** PostgreSQL and SQLite name the unique constraint an upsert conflicts on
  (``ON CONFLICT (...)``); MariaDB and MySQL take any unique key (``ON DUPLICATE KEY``) and refuse
  the name.
* **Deadlocks.** PostgreSQL and MariaDB/MySQL break one by aborting a transaction, each with an
  error of its own (``is_deadlock``).
* **Reading times (psycopg 3).** Django reads ``timestamptz`` with a loader that derives from
  psycopg's pure-Python one, so each time of each row goes through Python (Django ticket
  #36960). ``native_time_loading`` lets the cursors of the library's large reads use psycopg's
  own loader (in C with psycopg's binary package) where it gives the same values as Django's.
* **Subquery fences.** PostgreSQL turns an ``EXISTS`` into a join and picks the join order from
  its estimates, which for "the sub-entities of this actor" cannot tell a user (none) from a
  group (thousands); ``OFFSET 0`` keeps an ``EXISTS`` a subquery run in the order written
  (``subquery_fence``). The other databases need no fence.
* SQLite has no row locks at all: its database write lock serialises writers, and Django sends
  a plain ``SELECT`` for ``select_for_update()``.

The read-only scope of rendering (``read_only``) has its own switch per database, described
there, and ``chunks`` follows each database's limit of query parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC
from typing import Any, TypeVar

from django.db import DatabaseError, connections, models
from django.db.models.sql.datastructures import Join

M = TypeVar("M", bound=models.Model)
#: What a queryset yields: instances, or rows of values (``values_list``).
R = TypeVar("R")
#: The text format of psycopg's loaders (``psycopg.pq.Format.TEXT``), Django's reading format.
TEXT_FORMAT = 0


def is_deadlock(error: DatabaseError) -> bool:
    """Whether the database raised ``error`` to break a deadlock, aborting the transaction:
    MariaDB and MySQL's error 1213, PostgreSQL's SQLSTATE 40P01 (read from the driver's error,
    which Django keeps as the cause: ``sqlstate`` with psycopg, ``pgcode`` with psycopg2)."""
    cause = error.__cause__
    code = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
    return code == "40P01" or (bool(error.args) and error.args[0] == 1213)


def subquery_fence(connection: Any) -> str:
    """What ends a correlated subquery so that the database runs it as written, per outer row,
    rather than folding it into a join (see the module docstring): ``" OFFSET 0"`` on
    PostgreSQL, nothing elsewhere."""
    return " OFFSET 0" if connection.vendor == "postgresql" else ""


def locks_only_own_rows(using: str) -> bool:
    """The database can lock the rows of a query's own table without those of the tables it
    joins (``SELECT ... FOR UPDATE OF``): PostgreSQL (and SQLite, which locks no row)."""
    features = connections[using].features
    return bool(features.has_select_for_update_of) or not features.has_select_for_update


def lock_own_rows(queryset: models.QuerySet[M, R], *, skip_locked: bool = False) -> models.QuerySet[M, R]:
    """``queryset`` evaluated under a ``FOR UPDATE`` lock of its own rows only (skipping rows
    other transactions hold with ``skip_locked``). It must not join other tables: filter on the
    table's columns and through subqueries (``Exists``, ``__in``), which lock nothing. A query
    that joins raises ``ValueError`` on every database (see ``locked_with_related``)."""
    query = queryset.query
    joins = [
        alias
        for alias, table in query.alias_map.items()
        if isinstance(table, Join) and query.alias_refcount[alias]
    ]
    if query.select_related or joins:
        raise ValueError(
            f"lock_own_rows(): the query of {queryset.model.__name__} joins other tables, whose rows "
            "MariaDB and MySQL would lock too; filter through subqueries instead"
        )
    locking = queryset.select_for_update(skip_locked=skip_locked)
    if locks_only_own_rows(locking.db):
        return queryset.select_for_update(skip_locked=skip_locked, of=("self",))
    return locking


def locked_with_related(
    queryset: models.QuerySet[M], related: tuple[str, ...], *, skip_locked: bool = False
) -> list[M]:
    """The rows of ``queryset`` (without joins, as ``lock_own_rows`` asks), locked, in its order,
    with the ``related`` rows loaded (``select_related``): one query on PostgreSQL and SQLite;
    on MariaDB and MySQL, the locking query and then one that joins the related rows."""
    locking = lock_own_rows(queryset, skip_locked=skip_locked)
    if locks_only_own_rows(locking.db):
        return list(locking.select_related(*related))
    locked = list(locking.values_list("pk", flat=True))
    # On the database that took the locks (a locking query goes where the routers send writes).
    loaded = queryset.model._default_manager.using(locking.db).select_related(*related)
    by_pk = loaded.in_bulk(locked)
    return [by_pk[pk] for pk in locked]


def upsert_target(using: str, unique_fields: list[str]) -> dict[str, Any]:
    """The ``bulk_create`` arguments that name the unique constraint of an upsert where the
    database takes them (``unique_fields``), none where it updates on any unique key."""
    if connections[using].features.supports_update_conflicts_with_target:
        return {"unique_fields": unique_fields}
    return {}


def insert_then_lock(using: str, key_field: str) -> dict[str, Any]:
    """The ``bulk_create`` arguments that insert a row unless a row with its unique key exists,
    before the caller locks that row. ``ignore_conflicts`` on PostgreSQL and SQLite. On MariaDB and
    MySQL, ``INSERT IGNORE`` takes a shared lock on the row that exists, and two transactions that
    both hold it and then ask for the exclusive lock deadlock: an upsert that sets ``key_field``,
    a column of the unique key, to its own value takes the exclusive lock at once instead."""
    if connections[using].vendor == "mysql":
        return {"update_conflicts": True, "update_fields": [key_field]}
    return {"ignore_conflicts": True}


@contextmanager
def native_time_loading(using: str) -> Iterator[None]:
    """Within the block, the cursors of ``using`` read ``timestamptz`` with psycopg's own loader
    instead of Django's, when both give the same values: with psycopg (3), on a connection that
    reads in UTC (``USE_TZ`` on, no ``TIME_ZONE`` of the database's own), where psycopg's loader
    returns the times in ``datetime.UTC`` as Django's does. Each cursor's loader is set as it
    executes (``cursor.adapters``, which changes that cursor only): the connection, its other
    cursors and the other threads keep Django's loader. Elsewhere it changes nothing (psycopg2
    converts times in C already)."""
    connection = connections[using]
    # The driver's module, as Django's PostgreSQL backend names it (psycopg or psycopg2).
    database: Any = getattr(connection, "Database", None)
    if (
        connection.vendor != "postgresql"
        or connection.timezone is not UTC
        or not hasattr(database, "adapters")
    ):
        yield
        return
    oid = database.postgres.types["timestamptz"].oid
    loader = database.adapters.get_loader(oid, TEXT_FORMAT)

    def load_natively(
        execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]
    ) -> Any:
        context["cursor"].cursor.adapters.register_loader(oid, loader)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(load_natively):
        yield
