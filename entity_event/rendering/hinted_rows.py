"""Batch loading of the model rows that event contexts point at, driven by context hints.

A context renderer's ``context_hints`` say which context keys hold primary keys of which model::

    {"account": {"app_name": "testapp", "model_name": "Account",
                 "select_related": ["team"], "prefetch_related": ["photos"]}}

A hinted key is looked for at any depth of the context, in dicts and in lists; its value is one
primary key or a list of them, of whatever type the model's primary key has (int, UUID, str).
``HintedRowLoader`` collects the keys of a whole batch of events first, then fetches each hinted
model with ONE query (plus the queries of its ``prefetch_related``), the ``select_related`` and
``prefetch_related`` of every hint of the same model unioned, and finally builds each event's
loaded context: a copy of its context where the primary keys are replaced by the rows (``None``
for a row that does not exist). The stored ``Event.context`` is never modified.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import FieldError, ImproperlyConfigured, ValidationError
from django.db import DEFAULT_DB_ALIAS, models
from django.db.models.fields.related import RelatedField

from entity_event.db.id_lists import in_chunks
from entity_event.models.hints import ContextHint, ContextHints, hinted_model
from entity_event.validation import JSONValue

#: Marks a hinted value that cannot be a primary key of the model (it loads as ``None``).
_NOT_A_PK = object()


@dataclass
class _ModelBatch:
    """What to fetch of one hinted model for the whole batch, and what was fetched."""

    model: type[models.Model]
    pks: set[Hashable] = field(default_factory=set)
    select_related: set[str] = field(default_factory=set)
    prefetch_related: set[str] = field(default_factory=set)
    owners: set[str] = field(default_factory=set)
    rows: dict[Hashable, models.Model] = field(default_factory=dict)

    def normalize(self, value: JSONValue) -> Hashable:
        """The value as the model's primary key type (``"7"`` -> 7, a UUID string -> ``UUID``),
        or ``_NOT_A_PK`` when it cannot be one.

        A value cannot be a key when the key field does not accept it: it does not convert
        (``"abc"`` for an integer key), fails the field's validators (a string longer than a
        ``CharField`` key's ``max_length``), is outside the database's range for an integer key
        (``10**20``, which SQLite would refuse with ``OverflowError``), or is a number with a
        fractional part (``1.9`` does not load the row 1; ``2.0`` loads the row 2).
        """
        if value is None or isinstance(value, (bool, dict, list)):
            return _NOT_A_PK
        key_field = _key_field(self.model)
        try:
            key: Hashable = key_field.to_python(value)
            if isinstance(value, numbers.Number) and not isinstance(value, int) and key != value:
                return _NOT_A_PK
            # An integer field's validators hold the database's range for it.
            key_field.run_validators(key)
        except (ValidationError, TypeError, ValueError, OverflowError):
            return _NOT_A_PK
        return key


def _key_field(model: type[models.Model]) -> models.Field[Any, Any]:
    """The field that holds the model's key values: its primary key, or for a multi-table
    inheritance child (whose primary key is a one-to-one link) the parent's key field."""
    key_field = model._meta.pk
    while isinstance(key_field, RelatedField):
        key_field = key_field.target_field
    return key_field


def _walk(value: JSONValue, hints: ContextHints, visit: Callable[[str, JSONValue], object]) -> JSONValue:
    """Return a copy of ``value`` where the value of every hinted key, at any depth, is replaced
    by ``visit(key, value)``. Dicts and lists are copied; other values are shared."""
    if isinstance(value, dict):
        return {
            key: visit(key, item) if key in hints else _walk(item, hints, visit)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_walk(item, hints, visit) for item in value]
    return value


class HintedRowLoader:
    """Loads the hinted rows of many events' contexts with one query per hinted model.

    Use it in three steps: ``add(context, hints)`` for every event, ``load()`` once, then
    ``loaded_context(context, hints)`` for every event.
    """

    def __init__(self, using: str | None = None) -> None:
        self.using = using
        self._batches: dict[type[models.Model], _ModelBatch] = {}

    def _batch(self, hint: ContextHint) -> _ModelBatch:
        model = hinted_model(hint)
        batch = self._batches.get(model)
        if batch is None:
            batch = self._batches[model] = _ModelBatch(model)
        return batch

    def add(self, context: JSONValue, hints: ContextHints, owner: str = "") -> None:
        """Record the primary keys that ``context`` holds under the hinted keys, and the hints'
        ``select_related`` / ``prefetch_related`` (unioned per model). ``owner`` names where the
        hints come from (a context renderer), for the error ``load`` may raise."""
        for hint in hints.values():
            batch = self._batch(hint)
            if owner:
                batch.owners.add(owner)
            batch.select_related.update(hint.get("select_related", []))
            batch.prefetch_related.update(hint.get("prefetch_related", []))

        def collect(key: str, value: JSONValue) -> None:
            batch = self._batch(hints[key])
            for item in value if isinstance(value, list) else [value]:
                pk = batch.normalize(item)
                if pk is not _NOT_A_PK:
                    batch.pks.add(pk)

        _walk(context, hints, collect)

    def load(self) -> None:
        """Fetch every hinted model's rows: one query per model (plus its prefetch queries), or
        one per chunk of the database's parameter limit for more keys than it takes at once.

        A ``select_related`` or ``prefetch_related`` lookup that Django rejects while loading
        (hints are validated beforehand, so only hints that slipped past validation get here)
        raises ``ImproperlyConfigured`` naming the model and the owners of its hints: the hints
        concern every event of the batch, so the batch fails loudly rather than rendering none.
        """
        for batch in self._batches.values():
            if not batch.pks:
                continue
            rows = batch.model._default_manager.using(self.using)
            if batch.select_related:
                rows = rows.select_related(*sorted(batch.select_related))
            if batch.prefetch_related:
                rows = rows.prefetch_related(*sorted(batch.prefetch_related))
            try:
                for pks in in_chunks(list(batch.pks), self.using or DEFAULT_DB_ALIAS):
                    batch.rows.update((row.pk, row) for row in rows.filter(pk__in=pks))
            except (AttributeError, ValueError, FieldError) as error:
                owners = (
                    f" for the context hints of {', '.join(sorted(batch.owners))}" if batch.owners else ""
                )
                raise ImproperlyConfigured(
                    f"loading {batch.model._meta.label}{owners} failed: {type(error).__name__}: {error}"
                ) from error

    def loaded_context(self, context: JSONValue, hints: ContextHints) -> JSONValue:
        """A copy of ``context`` with the hinted primary keys replaced by the loaded rows
        (``None`` where no row has that key; a list of keys becomes a list of rows)."""

        def substitute(key: str, value: JSONValue) -> models.Model | list[models.Model | None] | None:
            batch = self._batch(hints[key])
            if isinstance(value, list):
                return [batch.rows.get(batch.normalize(item)) for item in value]
            return batch.rows.get(batch.normalize(value))

        return _walk(context, hints, substitute)
