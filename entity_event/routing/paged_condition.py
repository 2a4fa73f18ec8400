"""A WHERE condition with two equivalent SQL forms, the one to use chosen when the query runs.

Which form of a routing condition is fast depends on how many rows the query asks for, which is
known only when the queryset is evaluated (``[:50]``, ``exists()``, ``count()``, ``list()``):

* a **page** (a ``LIMIT`` of at most ``PAGE_ROWS``): a condition checked row by row (correlated
  ``EXISTS``), so that the database walks the ``time`` index from the newest event and stops as
  soon as it has the page, whatever the size of the table;
* **everything** (no ``LIMIT``, or a large one, and ``count()``): a set-based condition (an
  ``IN`` over a ``UNION``), which the database runs as hash joins over the whole table, far
  cheaper than a check per row when every row is read anyway.

``PagedCondition`` holds both and compiles the right one; the queryset stays an ordinary one
(filter it, slice it, count it, use it in another query).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import BooleanField, Expression, F, QuerySet
from django.db.models.sql.compiler import SQLCompiler

#: The largest ``LIMIT`` that counts as a page.
PAGE_ROWS = 1000


class PagedCondition(Expression):
    """``per_row`` when the query asks for at most ``PAGE_ROWS`` rows, else "the primary key is
    one of ``whole()``": two conditions that must select the same rows. ``whole`` returns an
    uncorrelated queryset of ids (it names no column of the outer query), built and compiled
    only when that form is chosen: a page never pays for it."""

    conditional = True

    def __init__(self, per_row: Any, whole: Callable[[], QuerySet[Any, Any]]) -> None:
        super().__init__(output_field=BooleanField())
        self.per_row: Any = per_row
        self.whole = whole
        self.pk: Any = F("pk")

    def get_source_expressions(self) -> list[Any]:
        return [self.per_row, self.pk]

    def set_source_expressions(self, expressions: Sequence[Any]) -> None:
        self.per_row, self.pk = expressions

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> tuple[str, Any]:
        """The SQL of the form that suits the ``LIMIT`` of the query being compiled."""
        high_mark = compiler.query.high_mark
        if high_mark is not None and high_mark <= PAGE_ROWS:
            return compiler.compile(self.per_row)
        pk_sql, pk_params = compiler.compile(self.pk)
        ids_sql, ids_params = self.whole().query.get_compiler(connection=connection).as_sql()
        return f"{pk_sql} IN ({ids_sql})", (*pk_params, *ids_params)
