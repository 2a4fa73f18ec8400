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

from collections.abc import Sequence
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import BooleanField, Expression, Q
from django.db.models.sql.compiler import SQLCompiler

#: The largest ``LIMIT`` that counts as a page.
PAGE_ROWS = 1000


class PagedCondition(Expression):
    """``per_row`` when the query asks for at most ``PAGE_ROWS`` rows, else ``whole``: two
    conditions that must select the same rows."""

    conditional = True

    def __init__(self, per_row: Q, whole: Q) -> None:
        super().__init__(output_field=BooleanField())
        self.per_row: Any = per_row
        self.whole: Any = whole

    def get_source_expressions(self) -> list[Any]:
        return [self.per_row, self.whole]

    def set_source_expressions(self, expressions: Sequence[Any]) -> None:
        self.per_row, self.whole = expressions

    def resolve_expression(
        self,
        query: Any = None,
        allow_joins: bool = True,
        reuse: Any = None,
        summarize: bool = False,
        for_save: bool = False,
    ) -> PagedCondition:
        """Both forms resolved against ``query`` (``Q`` objects become ``WhereNode`` trees)."""
        resolved = self.copy()
        resolved.per_row = self.per_row.resolve_expression(query, allow_joins, reuse, summarize, for_save)
        resolved.whole = self.whole.resolve_expression(query, allow_joins, reuse, summarize, for_save)
        return resolved

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> tuple[str, Any]:
        """The SQL of the form that suits the ``LIMIT`` of the query being compiled."""
        high_mark = compiler.query.high_mark
        paged = high_mark is not None and high_mark <= PAGE_ROWS
        return compiler.compile(self.per_row if paged else self.whole)
