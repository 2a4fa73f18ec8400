"""JSON-safe versions of loaded event contexts, for clients that render events themselves."""

from __future__ import annotations

import base64
import json
import math
from typing import Any, NoReturn

from django.db import models
from django.db.models.fields.files import FieldFile

from entity_event.validation import JSONValue

__all__ = ["DefaultContextSerializer", "serialized_context"]


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):  # 1e999
        raise ValueError(f"{text} does not fit a float")
    return number


class DefaultContextSerializer:
    """Turns a loaded context into data that ``json.dumps(data, cls=DjangoJSONEncoder)`` accepts.

    * a model instance becomes a dict of its concrete fields' values (a foreign key gives the
      related row's primary key under the field's name, as ``model_to_dict`` does), and every
      relation that was loaded with it (``select_related``, or a ``prefetch_related`` whose rows
      are in the instance's cache) is serialised in place: a dict for a single related row, a
      list of dicts for a prefetched many-valued relation. Relations that were not loaded are
      left out rather than fetched, so serialising costs no query;
    * dicts, lists and tuples are serialised item by item (tuples become lists);
    * a field's value that JSON cannot hold becomes a string: a file field's (``FileField``,
      ``ImageField``) gives the file's name, a ``BinaryField``'s gives its bytes in base64.
      Deferred fields are left out (reading them would cost a query per row);
    * a string holding a JSON object or array (``'{"a": 1}'``, ``'[1, 2]'``) is decoded and
      serialised; other strings stay strings, and so do strings that are not strict JSON
      (``NaN``, ``Infinity``, a number too large for a float) or nest too deeply to decode;
    * anything else (numbers, ``None``, dates, UUIDs, decimals) is left for ``DjangoJSONEncoder``.

    A relation that leads back to an instance being serialised (a prefetched child pointing at
    its parent) gives that instance's primary key, so cycles end.

    Subclass and override one method to change one case: ``serialize_value`` (every value),
    ``serialize_model``, ``serialize_dict``, ``serialize_list``, ``serialize_json_string``,
    ``serialize_field_value``. ``serialize_value`` calls the one hook that matches the value's
    type, and the hooks call ``serialize_value`` for the values they hold, so an override applies
    at any depth. ``serialize_dict``, ``serialize_list`` and ``serialize_json_string`` are the
    names of the published 3.x, so a subclass written for it keeps working (docs/upgrading.rst).
    """

    def __init__(self, context: JSONValue) -> None:
        self.context = context
        self._in_progress: set[int] = set()

    @property
    def data(self) -> JSONValue:
        """The serialised context."""
        return self.serialize_value(self.context)

    def serialize_value(self, value: object) -> JSONValue:
        """Serialise any value of a context: dispatch on its type (see the class)."""
        if isinstance(value, models.Model):
            return self.serialize_model(value)
        if isinstance(value, dict):
            return self.serialize_dict(value)
        if isinstance(value, (list, tuple)):
            return self.serialize_list(value)
        if isinstance(value, str):
            return self.serialize_json_string(value)
        return value

    def serialize_dict(self, value: dict[Any, Any]) -> JSONValue:
        """A dict with each of its values serialised (the keys are kept)."""
        return {key: self.serialize_value(item) for key, item in value.items()}

    def serialize_list(self, value: list[Any] | tuple[Any, ...]) -> JSONValue:
        """A list or tuple as a list of its items, each serialised."""
        return [self.serialize_value(item) for item in value]

    def serialize_json_string(self, value: str) -> JSONValue:
        """Decode a string that holds a JSON object or array and serialise what it holds; keep
        any other string."""
        if value.lstrip()[:1] in ("{", "["):
            try:
                return self.serialize_value(
                    json.loads(value, parse_constant=_reject_constant, parse_float=_finite_float)
                )
            except (ValueError, RecursionError):
                return value
        return value

    def serialize_model(self, instance: models.Model) -> JSONValue:
        """A model row as a dict of its concrete fields and its loaded relations."""
        if id(instance) in self._in_progress:
            return instance.pk
        self._in_progress.add(id(instance))
        try:
            deferred = instance.get_deferred_fields()
            data: dict[str, JSONValue] = {
                field.name: self.serialize_field_value(field.value_from_object(instance))
                for field in instance._meta.concrete_fields
                if field.attname not in deferred
            }
            for name, related in instance._state.fields_cache.items():
                data[name] = None if related is None else self.serialize_model(related)
            for name, rows in getattr(instance, "_prefetched_objects_cache", {}).items():
                data[name] = [self.serialize_model(row) for row in rows]
            return data
        finally:
            self._in_progress.discard(id(instance))

    def serialize_field_value(self, value: object) -> JSONValue:
        """A model field's value: a file's name for a file field, base64 text for binary data,
        anything else unchanged."""
        if isinstance(value, FieldFile):
            return value.name
        if isinstance(value, (bytes, bytearray, memoryview)):
            return base64.b64encode(value).decode("ascii")
        return value


def serialized_context(context: object) -> JSONValue:
    """``ContextRenderer.get_serialized_context``: a dict context serialised by
    ``DefaultContextSerializer``; a ``TypeError`` naming the type of anything else."""
    if not isinstance(context, dict):
        raise TypeError(f"get_serialized_context(): context must be a dict, got {type(context).__name__}")
    return DefaultContextSerializer(context).data
