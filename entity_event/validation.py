"""Checks of the values entity_event stores or queries with, shared by every way in.

``create_event(s)``, the query methods, the admin forms and the management commands accept and
refuse the same values with the same messages, identically on every supported database: a value
that one database would store and another refuse (a NUL character, a lone surrogate, NaN), or
that a database or Python's ``datetime`` cannot read back (a time beyond the year 9999 in UTC),
is refused here, before any query.

Each ``check_*`` function raises ``TypeError`` for a value of the wrong kind and ``ValueError``
for a value of the right kind that cannot be stored; the message starts with the name of the
argument. The ``validate_*`` functions are the same checks as Django validators (they raise
``ValidationError``) for model fields and forms. The messages that the admin's forms can show
are marked for translation (in the active language, English by default). This module imports
nothing of the app.
"""

from __future__ import annotations

import math
import re
import uuid as uuid_module
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypeAlias, TypeVar

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

#: The range of a 64-bit database id; beyond it SQLite raises ``OverflowError`` on any query.
MIN_ID, MAX_ID = -(2**63), 2**63 - 1

#: The earliest and latest instants entity_event stores or queries with, in UTC: one day away from
#: the ends of Python's calendar (years 1 and 9999), so that converting them to any time zone (to
#: display them, or to store them under ``USE_TZ = False``) cannot overflow, on every database.
MIN_TIME = datetime(1, 1, 2, tzinfo=UTC)
MAX_TIME = datetime(9999, 12, 31, tzinfo=UTC) - timedelta(microseconds=1)
#: The bounds, as messages show them.
_TIME_RANGE = {"min": MIN_TIME.isoformat(), "max": MAX_TIME.isoformat()}

#: The widest UTC offset of a time, either way. Python allows offsets under 24 hours, in
#: seconds and microseconds too; PostgreSQL reads an offset from the text Django's drivers send
#: only if it is less than 16 hours and a whole number of seconds, and refuses any other with a
#: ``DataError`` ("time zone displacement out of range") that aborts the transaction.
MAX_UTC_OFFSET = timedelta(hours=15, minutes=59, seconds=59)

#: How deeply dicts and lists may nest in an event context (the context itself is level 1): far
#: more than real contexts need, and within what every supported database's JSON accepts
#: (MariaDB's JSON functions stop at 32 levels) and what the recursive code that reads contexts
#: (templates, the context loader, the serializer) handles.
MAX_CONTEXT_DEPTH = 20

ModelT = TypeVar("ModelT", bound=models.Model)
#: The value that ``_raise_validation_error`` hands to a ``check_*`` function.
CheckedT = TypeVar("CheckedT")

#: A value of an event context: whatever ``DjangoJSONEncoder`` encodes (numbers, strings, lists,
#: dicts, dates, UUIDs, lazy strings...), which no narrower type describes.
JSONValue: TypeAlias = Any
#: An event's ``context`` or a medium's ``additional_context``.
JSONObject: TypeAlias = dict[str, JSONValue]

#: How contexts are encoded to be checked and stored (one encoder, which keeps no state between
#: calls, rather than a new one per context).
CONTEXT_ENCODER = DjangoJSONEncoder(allow_nan=False, ensure_ascii=False)

#: A NUL character escaped in JSON text (an even number of backslashes before ``\u0000``, so that
#: an escaped backslash followed by the text ``u0000`` does not count).
_JSON_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")

#: A UTF-16 surrogate code point: valid in a Python string, not in Unicode text (UTF-8 cannot
#: encode it; PostgreSQL refuses it, SQLite stored it).
_SURROGATE = re.compile("[\ud800-\udfff]")

#: The messages (untranslated) of a NUL character and of a lone surrogate, which they name, in a
#: string and in the JSON text of a context.
_TEXT_MESSAGES = (
    gettext_noop("%(argument)s cannot contain a NUL character (\\x00)"),
    gettext_noop(
        "%(argument)s cannot contain the lone surrogate %(character)s, which is not valid Unicode text"
    ),
)
_JSON_MESSAGES = (
    gettext_noop("%(argument)s cannot be stored as JSON: it contains a NUL character (\\x00)"),
    gettext_noop(
        "%(argument)s cannot be stored as JSON: it contains the lone surrogate %(character)s, "
        "which is not valid Unicode text"
    ),
)


def model_pk(value: object, model: type[models.Model], argument: str) -> int:
    """The primary key of a saved ``model`` instance, or an integer id (range-checked).

    For the models with integer keys (``Source``, ``Entity``, ``EntityKind``)."""
    if isinstance(value, model):
        pk: int | None = value.pk
        if pk is None:
            raise ValueError(
                f"{argument}: the {model.__name__} {value!r} is not saved (it has no primary key)"
            )
        return pk
    if isinstance(value, int) and not isinstance(value, bool):
        if not MIN_ID <= value <= MAX_ID:
            raise ValueError(f"{argument}: the id {value} is out of range for a database id")
        return value
    article = "an" if model.__name__[:1].lower() in "aeiou" else "a"
    raise TypeError(
        f"{argument}: expected {article} {model.__name__} or an integer id, got {type(value).__name__}"
    )


def check_saved(value: object, model: type[ModelT], argument: str) -> ModelT:
    """A saved instance of ``model``: a ``TypeError`` for anything else, a ``ValueError`` for an
    unsaved one (the right kind, but nothing in the database is its), as ``model_pk`` says of
    entities and the query methods of mediums."""
    if not isinstance(value, model):
        raise TypeError(f"{argument}: expected a saved {model.__name__}, got {value!r}")
    if value.pk is None:
        raise ValueError(f"{argument}: the {model.__name__} {value!r} is not saved (it has no primary key)")
    return value


def check_limit(value: object, argument: str) -> int:
    """A positive count that fits a 64-bit integer (a ``LIMIT``, a batch size)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{argument} must be a positive integer or None, got {value!r}")
    if not 1 <= value <= MAX_ID:
        raise ValueError(f"{argument} must be between 1 and {MAX_ID}, got {value}")
    return value


def check_flag(value: object, argument: str) -> bool:
    """``True`` or ``False``, nothing that merely looks like one (``1``, ``"no"``, ``None``)."""
    if not isinstance(value, bool):
        raise TypeError(f"{argument} must be True or False, got {value!r}")
    return value


def check_optional_flag(value: object, argument: str) -> bool | None:
    """``True``, ``False`` or ``None`` (a three-way filter such as ``seen`` or ``read``)."""
    if value is not None and not isinstance(value, bool):
        raise TypeError(f"{argument} must be True, False or None, got {value!r}")
    return value


def check_time(value: object, argument: str) -> datetime | None:
    """``None`` or a ``datetime`` that every supported database and Python can round-trip.

    An aware datetime is taken as the instant it is; a naive one in the default time zone, as
    Django stores it. In UTC it must fall between ``MIN_TIME`` and ``MAX_TIME``: a value such as
    ``datetime.max`` with a negative offset is the year 10000 in UTC, which PostgreSQL stores and
    then cannot return to Python (every later query that reads it fails), and SQLite refuses with
    a bare ``OverflowError``.

    An aware datetime's UTC offset must be a whole number of seconds from -15:59:59 to
    +15:59:59 (``MAX_UTC_OFFSET``): PostgreSQL refuses an offset of 16 hours or more, or with a
    fraction of a second, which Python allows. SQLite and MariaDB would take it (Django converts
    to UTC for them), but a value must mean the same on every database. Every real time zone's
    offsets are within the rule (the widest, local mean times before 1900 included, are under
    16 hours and in whole seconds), so only a hand-made ``timezone(timedelta(...))`` breaks it.
    """
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise TypeError(
            gettext("%(argument)s must be a datetime or None, got %(type)s")
            % {"argument": argument, "type": type(value).__name__}
        )
    offset = value.utcoffset()
    if offset is not None and (abs(offset) > MAX_UTC_OFFSET or offset.microseconds):
        raise ValueError(
            gettext(
                "%(argument)s %(value)s has an unsupported UTC offset: an offset must be less than 16 "
                "hours either way and a whole number of seconds, so that every database can store it"
            )
            % {"argument": argument, "value": value.isoformat()}
        )
    try:
        aware = value if timezone.is_aware(value) else value.replace(tzinfo=timezone.get_default_timezone())
        in_utc = aware.astimezone(UTC)
    except OverflowError:
        in_utc = None
    if in_utc is None or not MIN_TIME <= in_utc <= MAX_TIME:
        raise ValueError(
            gettext(
                "%(argument)s %(value)s is out of range: in UTC it must fall between %(min)s and "
                "%(max)s, so that every database can store it and read it back"
            )
            % {"argument": argument, "value": value.isoformat(), **_TIME_RANGE}
        )
    return value


def check_text(value: str, argument: str) -> str:
    """A string every database stores as it is: no NUL character, no lone surrogate."""
    _refuse_unstorable("\x00" in value, _SURROGATE.search(value), argument, _TEXT_MESSAGES)
    return value


def _refuse_unstorable(
    nul: bool, surrogate: re.Match[str] | None, argument: str, messages: tuple[str, str]
) -> None:
    """Raise ``ValueError`` with the first of ``messages`` when a NUL character was found, else
    with the second, naming the character, when a lone ``surrogate`` was."""
    if nul:
        raise ValueError(gettext(messages[0]) % {"argument": argument})
    if surrogate:
        raise ValueError(gettext(messages[1]) % {"argument": argument, "character": repr(surrogate.group())})


def check_uuid(value: object, argument: str, max_length: int) -> str:
    """An event uuid: a non-empty string of at most ``max_length`` characters, or a ``UUID``
    (stored as its hex). ``None`` is for the caller to replace with a fresh one."""
    if isinstance(value, uuid_module.UUID):
        return value.hex
    if not isinstance(value, str) or not value:
        raise TypeError(f"{argument} must be a non-empty string or a UUID, got {value!r}")
    if len(value) > max_length:
        raise ValueError(f"{argument} is {len(value)} characters long, the limit is {max_length}")
    return check_text(value, argument)


def _check_nesting_and_numbers(value: dict[object, object], argument: str) -> None:
    """Walk the context without recursion: refuse nesting deeper than ``MAX_CONTEXT_DEPTH`` (a
    context nested thousands of levels deep made ``json.dumps`` raise ``RecursionError``) and
    NaN or infinite numbers (not JSON; SQLite and PostgreSQL refused them differently)."""
    containers: list[tuple[dict[object, object] | list[object] | tuple[object, ...], int]] = [(value, 1)]
    while containers:
        container, depth = containers.pop()
        if depth > MAX_CONTEXT_DEPTH:
            raise ValueError(
                gettext(
                    "%(argument)s cannot be stored as JSON: it nests dicts and lists more than "
                    "%(depth)s levels deep"
                )
                % {"argument": argument, "depth": MAX_CONTEXT_DEPTH}
            )
        children = [*container.keys(), *container.values()] if isinstance(container, dict) else container
        for child in children:
            if isinstance(child, float):
                if not math.isfinite(child):
                    raise ValueError(
                        gettext(
                            "%(argument)s cannot be stored as JSON: it contains %(value)s, which is not JSON"
                        )
                        % {"argument": argument, "value": repr(child)}
                    )
            elif isinstance(child, (dict, list, tuple)):
                containers.append((child, depth + 1))


def check_context(value: object, argument: str) -> JSONObject:
    """A dict that every database stores as the same JSON and reads back whole.

    Refused: anything but a dict (``TypeError``); values ``DjangoJSONEncoder`` cannot encode
    (``TypeError``); NaN and infinities, NUL characters, lone surrogates, and nesting deeper
    than ``MAX_CONTEXT_DEPTH`` levels (``ValueError``), in keys and values alike.
    """
    context, _ = encode_context(value, argument)
    return context


def encode_context(value: object, argument: str) -> tuple[JSONObject, str]:
    """``check_context``, which also returns the context's JSON text: encoded once, for the check
    and for the database (``create_events`` writes it as it is)."""
    if not isinstance(value, dict):
        raise TypeError(
            gettext("%(argument)s must be a dict, got %(type)s")
            % {"argument": argument, "type": type(value).__name__}
        )
    try:
        encoded = CONTEXT_ENCODER.encode(value)
    except TypeError as error:
        raise TypeError(
            gettext("%(argument)s cannot be stored as JSON: %(error)s")
            % {"argument": argument, "error": error}
        ) from error
    except (ValueError, RecursionError) as error:
        # NaN, infinities and deep nesting get the walk's own message; other values the
        # encoder's (DjangoJSONEncoder refuses, say, an aware time of day).
        _check_nesting_and_numbers(value, argument)
        raise ValueError(
            gettext("%(argument)s cannot be stored as JSON: %(error)s")
            % {"argument": argument, "error": error}
        ) from error
    # Each dict or list opens one bracket in the text: with no more brackets than the depth
    # allowed, strings included, no walk is needed to know the nesting is within it.
    if encoded.count("{") + encoded.count("[") > MAX_CONTEXT_DEPTH:
        _check_nesting_and_numbers(value, argument)
    # Checked on the encoded text, so that what the encoder made of dates, UUIDs or lazy strings
    # is checked too. With ensure_ascii=False a NUL is escaped and a surrogate stays as it is.
    # (Each regular expression only when a cheap test finds what it looks for may be there.)
    nul = "\\u0000" in encoded and _JSON_NUL.search(encoded) is not None
    _refuse_unstorable(
        nul, None if encoded.isascii() else _SURROGATE.search(encoded), argument, _JSON_MESSAGES
    )
    return value, encoded


def check_iterable(value: object, argument: str, items: str) -> Iterable[object]:
    """A list, tuple, set, generator or queryset of ``items``; not a string, bytes or a mapping
    (whose keys would silently be taken for the items), nor a number or a bool."""
    if isinstance(value, (str, bytes, bytearray, Mapping)) or not isinstance(value, Iterable):
        raise TypeError(f"{argument} must be a list of {items}, got {type(value).__name__}")
    return value


def _raise_validation_error(check: Callable[[CheckedT, str], object], value: CheckedT, argument: str) -> None:
    """Run ``check`` and raise what it refuses as a ``ValidationError`` with the same message, so
    that forms refuse exactly what the API refuses, in the same words."""
    try:
        check(value, argument)
    except (TypeError, ValueError) as error:
        # Not the code "invalid": Django would replace the message with the field's own.
        raise ValidationError(str(error), code="unstorable") from error


def validate_context(value: object) -> None:
    """Validator of ``Event.context`` (see ``check_context``)."""
    _raise_validation_error(check_context, value, "context")


def validate_additional_context(value: object) -> None:
    """Validator of ``Medium.additional_context`` (see ``check_context``)."""
    _raise_validation_error(check_context, value, "additional_context")


def validate_time(value: object) -> None:
    """Validator of ``Event.time`` (see ``check_time``)."""
    _raise_validation_error(check_time, value, "time")


def validate_time_expires(value: object) -> None:
    """Validator of ``Event.time_expires`` (see ``check_time``)."""
    _raise_validation_error(check_time, value, "time_expires")


def validate_uuid(value: str) -> None:
    """Validator of ``Event.uuid`` (a ``CharField``, whose validators receive strings): no NUL
    character or lone surrogate (its form field checks the length; see ``check_uuid``)."""
    _raise_validation_error(check_text, value, "uuid")


#: What stands for a character that a database cannot store in a text made storable.
REPLACEMENT = "\ufffd"


def storable_text(value: str, limit: int) -> str:
    """``value`` made a text every database stores as it is, for what the library writes that a
    caller did not choose (an error a handler reported): NUL characters and lone surrogates
    replaced by U+FFFD, and a text longer than ``limit`` characters cut, saying so and how long
    it was, so that the cut is visible."""
    text = _SURROGATE.sub(REPLACEMENT, value.replace("\x00", REPLACEMENT))
    if len(text) <= limit:
        return text
    note = f"... [cut: {len(text):,} characters]"
    return text[: max(limit - len(note), 0)] + note
