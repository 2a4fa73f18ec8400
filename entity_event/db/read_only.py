"""Read-only scopes: rendering events never changes the database, whatever a template calls.

Templates and the code they reach (model methods, managers, properties) run with live model
instances. Django refuses to call methods marked ``alters_data`` from a template, but third-party
code does not always mark them (django-activatable-model's ``deactivate`` is not marked, so
``{{ owner.entity_kind.entity_set.deactivate }}`` deactivated every entity of a kind). Two more
layers therefore guard every rendering:

1. ``statements_refused``: every statement sent through Django's connections (the ORM,
   ``raw()``, ``connection.cursor()``), on every database alias, is inspected before it is
   executed; anything but a ``SELECT`` without a row lock (and the savepoints that nested
   ``atomic`` blocks issue) raises ``RenderingWriteError`` and never reaches the database. It
   costs no query. It guards the loading of contexts and every template rendering.
2. ``ReadOnlyDatabase``: the database itself refuses writes while templates render, so that even
   code using the DB-API connection directly (bypassing Django's cursor) cannot write:
   PostgreSQL runs the rendering in a read-only transaction (``SET TRANSACTION READ ONLY``, in a
   savepoint or transaction that is always rolled back), SQLite with ``PRAGMA query_only``,
   MariaDB and MySQL in a read-only transaction (``START TRANSACTION READ ONLY``, rolled back)
   when the caller has none open: they cannot make a running transaction read-only, so inside
   the caller's transaction they keep the first layer only. It costs a constant number of
   statements per call (none per event): ``Medium.render`` and the admin preview enter it once
   for their whole batch, ``Event.render`` once per call.

Both are local to the current thread's connections: nothing process-wide is changed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from django.db import DatabaseError, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from entity_event.exceptions import RenderingWriteError

#: Statements a rendering may send: plain reads, and the savepoint statements of nested atomic
#: blocks (``get_or_create`` opens one before it tries to write, and the write is refused).
_ALLOWED = re.compile(r"\s*\(*\s*SELECT\b|\s*(?:RELEASE\s+|ROLLBACK\s+TO\s+)?SAVEPOINT\b", re.IGNORECASE)
#: Row locks (``select_for_update``): a read that blocks other writers is refused as well.
_ROW_LOCK = re.compile(
    r"\bFOR\s+(?:NO\s+KEY\s+)?(?:UPDATE|SHARE|KEY\s+SHARE)\b|\bLOCK\s+IN\s+SHARE\s+MODE\b", re.IGNORECASE
)


class _ReadsOnly:
    """The execute wrapper of one ``statements_refused`` scope: lets reads through, refuses the
    rest, and keeps Django's transaction bookkeeping true to what reached the database.

    When an exception leaves a write (``QuerySet.update``, ``Model.save``), Django marks the
    current atomic block as needing a rollback, assuming the database failed. A refused
    statement never reached the database, so the block is as healthy as before: the mark is
    removed again before the next statement and when the scope ends, so that a template that
    swallows the refusal can go on reading and the caller's transaction goes on afterwards. Only
    on PostgreSQL, after a statement that reached the database failed (which aborts the
    transaction there), the mark stays.
    """

    def __init__(self) -> None:
        self.marked_at_entry: dict[str, bool] = {}
        self.refused: set[str] = set()
        self.failed: set[str] = set()

    def __call__(
        self,
        execute: Callable[[str, object, bool, dict[str, Any]], object],
        sql: str,
        params: object,
        many: bool,
        context: dict[str, Any],
    ) -> object:
        """Django's execute wrapper protocol; ``context`` holds the ``connection`` and ``cursor``.
        The parameters go to the driver untouched."""
        connection: BaseDatabaseWrapper = context["connection"]
        if many or not _ALLOWED.match(sql) or _ROW_LOCK.search(sql):
            self.refused.add(connection.alias)
            raise RenderingWriteError(
                "rendering must not change the database; a template (or code it called) sent this "
                f"statement, which was refused: {sql[:300]}"
            )
        self.forget_refusal(connection)
        try:
            return execute(sql, params, many, context)
        except Exception:
            self.failed.add(connection.alias)
            raise

    def forget_refusal(self, connection: BaseDatabaseWrapper) -> None:
        alias = connection.alias
        aborted = connection.vendor == "postgresql" and alias in self.failed
        if (
            alias in self.refused
            and not aborted
            and connection.needs_rollback
            and not self.marked_at_entry.get(alias, True)
        ):
            connection.needs_rollback = False
            # Set by BaseDatabaseWrapper.__init__, but missing from django-stubs' declaration.
            connection.rollback_exc = None  # type: ignore[attr-defined]


@contextmanager
def statements_refused() -> Iterator[None]:
    """Refuse every statement but reads on every database connection of this thread (a nested
    scope leaves the work to the outer one)."""
    guard = _ReadsOnly()
    with ExitStack() as stack:
        for connection in connections.all():
            if any(isinstance(wrapper, _ReadsOnly) for wrapper in connection.execute_wrappers):
                continue
            guard.marked_at_entry[connection.alias] = connection.needs_rollback
            stack.enter_context(connection.execute_wrapper(guard))
            stack.callback(guard.forget_refusal, connection)
        yield


class ReadOnlyDatabase:
    """A context manager: the block runs with the database ``using`` refusing writes, and with
    ``statements_refused`` on every connection.

    On PostgreSQL the block runs in a read-only transaction (a savepoint inside the caller's
    transaction) that is rolled back at the end: the caller's own transaction is untouched. On
    MariaDB and MySQL too, when the caller has no transaction open. A
    database error aborts a PostgreSQL transaction; ``recover_after()`` rolls the scope back and
    begins it again, so that one failing event does not fail the events rendered after it.
    """

    def __init__(self, using: str) -> None:
        self.connection = connections[using]
        self.using = using
        self._atomic: transaction.Atomic | None = None
        self._guard = ExitStack()

    def __enter__(self) -> ReadOnlyDatabase:
        self._begin()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._end()

    def recover_after(self, error: BaseException) -> None:
        """After ``error`` was raised inside the scope: if it came from the database (through
        Django, or straight from the driver), begin the scope again on PostgreSQL, where the error
        aborted the transaction and every later statement would fail."""
        # ``Database`` (the DB-API module) is declared by each backend's wrapper, not by the base
        # class that django-stubs types ``connections[alias]`` as.
        database_errors = (DatabaseError, self.connection.Database.Error)  # type: ignore[attr-defined]
        if self.connection.vendor == "postgresql" and isinstance(error, database_errors):
            self._end()
            self._begin()

    def _begin(self) -> None:
        if self.connection.vendor == "postgresql":
            self._atomic = transaction.atomic(using=self.using)
            self._atomic.__enter__()
            self._execute("SET TRANSACTION READ ONLY")
        elif self.connection.vendor == "mysql" and not self.connection.in_atomic_block:
            # Django's atomic() only turns autocommit off there: the transaction begins with
            # this statement, read-only from its start.
            self._atomic = transaction.atomic(using=self.using)
            self._atomic.__enter__()
            self._execute("START TRANSACTION READ ONLY")
        elif self.connection.vendor == "sqlite":
            self._execute("PRAGMA query_only = ON")
        self._guard.enter_context(statements_refused())

    def _end(self) -> None:
        self._guard.close()
        if self._atomic is not None:
            transaction.set_rollback(True, using=self.using)
            atomic, self._atomic = self._atomic, None
            atomic.__exit__(None, None, None)
        elif self.connection.vendor == "sqlite":
            self._execute("PRAGMA query_only = OFF")

    def _execute(self, sql: str) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(sql)
