"""Long ``IN (...)`` lists, split by the database's parameter limit.

PostgreSQL takes any number of parameters in a statement (the driver binds them on the client);
SQLite has a limit (``SQLITE_MAX_VARIABLE_NUMBER``: 32,766 by default, 250,000 in Debian's build,
999 in the builds Django assumes), beyond which every query raises "too many SQL variables". The
queries that look values up by a list the library built (claimed events, actors, hinted rows,
uuids) go through ``in_chunks``: one query while the list fits, a few more beyond.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

from django.db import connections

T = TypeVar("T")

#: Parameters left for the rest of a statement besides its ``IN`` list.
OTHER_PARAMETERS = 100


def chunk_size(using: str) -> int | None:
    """How many values one ``IN`` list may hold on the database ``using``; ``None``: any number."""
    limit = connections[using].features.max_query_params
    if limit is None:
        return None
    return max(1, limit - OTHER_PARAMETERS)


def in_chunks(values: Sequence[T], using: str) -> Iterator[Sequence[T]]:
    """``values`` in as few pieces as the database ``using`` accepts in one ``IN`` list (the whole
    sequence when it fits; nothing for an empty one)."""
    size = chunk_size(using)
    if size is None or len(values) <= size:
        if values:
            yield values
        return
    for start in range(0, len(values), size):
        yield values[start : start + size]
