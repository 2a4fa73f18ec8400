"""Context hints: which keys of an event context hold primary keys of which model, checked.

A context renderer's ``context_hints`` map context keys to hints::

    {"account": {"app_name": "testapp", "model_name": "Account",
                 "select_related": ["team"], "prefetch_related": ["photos"]}}

``context_hints_problems`` says what is wrong with such a value before anything is loaded with
it: ``ContextRenderer.clean`` reports the problems as form errors, and rendering refuses hints
that have any. Hints are code (they decide which rows a template starts from); the
``ENTITY_EVENT_CONTEXT_HINT_MODELS`` setting may restrict the models they name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NotRequired, TypeAlias, TypedDict

from django.apps import apps
from django.core.exceptions import FieldError
from django.db import models
from django.db.models.constants import LOOKUP_SEP
from django.utils.translation import gettext

from entity_event.conf import SETTINGS, app_settings

if TYPE_CHECKING:
    from django.contrib.contenttypes.fields import GenericForeignKey

    #: What ``Options.get_fields()`` returns: fields, reverse relations and generic foreign keys.
    ModelField: TypeAlias = models.Field[Any, Any] | models.ForeignObjectRel | GenericForeignKey

#: The keys a hint must have, and the ones it may have.
REQUIRED_HINT_KEYS = ("app_name", "model_name")
OPTIONAL_HINT_KEYS = ("select_related", "prefetch_related")


class ContextHint(TypedDict):
    """One hint of a valid ``context_hints`` value (see ``context_hints_problems``)."""

    app_name: str
    model_name: str
    select_related: NotRequired[list[str]]
    prefetch_related: NotRequired[list[str]]


#: A valid ``context_hints`` value: context key -> hint.
ContextHints: TypeAlias = Mapping[str, ContextHint]


def context_hints_problems(hints: object) -> list[str]:
    """Return what is wrong with a ``context_hints`` value, as readable messages (empty: valid).

    A valid value is a dict mapping non-empty string keys to hints; a hint is a dict with the
    string keys ``app_name`` and ``model_name`` naming an installed model, and optionally
    ``select_related`` and ``prefetch_related``, each a list of strings. Nothing else is allowed,
    so that a typo (``"selected_related"``) is reported instead of silently ignored. When the
    ``ENTITY_EVENT_CONTEXT_HINT_MODELS`` setting lists models, a hint must name one of them.
    """
    if not isinstance(hints, Mapping):
        return [
            gettext("context hints must be a dict of context key to hint, got %(type)s")
            % {"type": type(hints).__name__}
        ]
    problems = []
    for key, hint in hints.items():
        if not isinstance(key, str) or not key:
            problems.append(
                gettext("context hint key %(key)s must be a non-empty string") % {"key": repr(key)}
            )
        elif not isinstance(hint, Mapping):
            problems.append(
                gettext("context hint %(key)s must be a dict, got %(type)s")
                % {"key": repr(key), "type": type(hint).__name__}
            )
        else:
            problems.extend(_hint_problems(key, hint))
    return problems


def _hint_problems(key: str, hint: Mapping[Any, Any]) -> list[str]:
    """What is wrong with the hint of ``key`` (a dict): its keys, the types of its values, and
    then, when it names a model, the model and the relations it names."""
    problems = []
    unknown = sorted(str(name) for name in set(hint) - {*REQUIRED_HINT_KEYS, *OPTIONAL_HINT_KEYS})
    if unknown:
        problems.append(
            gettext("context hint %(key)s has unknown key(s) %(unknown)s")
            % {"key": repr(key), "unknown": ", ".join(unknown)}
        )
    names_ok = True
    for name in REQUIRED_HINT_KEYS:
        if not isinstance(hint.get(name), str) or not hint.get(name):
            problems.append(
                gettext("context hint %(key)s needs %(name)s as a non-empty string")
                % {"key": repr(key), "name": name}
            )
            names_ok = False
    for name in OPTIONAL_HINT_KEYS:
        value = hint.get(name, [])
        if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
            problems.append(
                gettext("context hint %(key)s: %(name)s must be a list of strings")
                % {"key": repr(key), "name": name}
            )
    if names_ok:
        problems.extend(_hint_model_problems(key, hint))
    return problems


def _hint_model_problems(key: str, hint: Mapping[Any, Any]) -> list[str]:
    """What is wrong with the model that the hint of ``key`` names (its ``app_name`` and
    ``model_name`` are non-empty strings), and with the relations it names on it."""
    app_name, model_name = hint["app_name"], hint["model_name"]
    try:
        model = apps.get_model(app_name, model_name)
    except LookupError:
        return [
            gettext("context hint %(key)s names the model %(model)s, which is not installed")
            % {"key": repr(key), "model": f"{app_name}.{model_name}"}
        ]
    problems = []
    allowed_models = app_settings.CONTEXT_HINT_MODELS
    if allowed_models is not None and model._meta.label_lower not in allowed_models:
        problems.append(
            gettext(
                "context hint %(key)s names the model %(model)s, which the %(setting)s setting does not allow"
            )
            % {"key": repr(key), "model": model._meta.label, "setting": SETTINGS["CONTEXT_HINT_MODELS"].name}
        )
    problems.extend(_select_related_problems(key, model, hint.get("select_related")))
    problems.extend(_prefetch_related_problems(key, model, hint.get("prefetch_related")))
    return problems


def _select_related_problems(key: str, model: type[models.Model], lookups: object) -> list[str]:
    """Compile (without running) the query that ``select_related`` would make, to report a
    relation the model does not have before rendering needs it."""
    if not isinstance(lookups, list) or not lookups or not all(isinstance(item, str) for item in lookups):
        return []
    queryset = model._default_manager.select_related(*lookups)
    try:
        queryset.query.get_compiler(using=queryset.db).as_sql()
    except FieldError as error:
        return [
            gettext("context hint %(key)s: select_related: %(error)s") % {"key": repr(key), "error": error}
        ]
    return []


def _relations_by_accessor(model: type[models.Model]) -> dict[str | None, ModelField]:
    """The model's relations under the attribute names that ``prefetch_related`` follows: the
    field name of a forward relation (foreign key, one-to-one, many-to-many, ``GenericRelation``,
    ``GenericForeignKey``) and the accessor name of a reverse one (``photos``, ``photo_set``;
    ``None`` for a reverse relation without accessor, which no lookup names)."""
    relations: dict[str | None, ModelField] = {}
    for relation in model._meta.get_fields():
        if not relation.is_relation:
            continue
        # A reverse relation (the ForeignObjectRel that Django creates) is reached by its accessor.
        name = (
            relation.get_accessor_name() if isinstance(relation, models.ForeignObjectRel) else relation.name
        )
        relations[name] = relation
    return relations


def _prefetch_related_problems(key: str, model: type[models.Model], lookups: object) -> list[str]:
    """Check each ``prefetch_related`` lookup without running a query: every ``__``-separated
    part must name a relation of the model reached so far (``prefetch_related`` itself only
    notices a wrong name when it has rows to prefetch for, in the middle of rendering).

    A ``GenericForeignKey`` can lead to any model, so what follows it is not checked.
    """
    if not isinstance(lookups, list) or not all(isinstance(item, str) for item in lookups):
        return []
    problems = []
    for lookup in lookups:
        current: type[models.Model] | None = model
        for part in lookup.split(LOOKUP_SEP):
            if current is None:
                break
            relation = _relations_by_accessor(current).get(part)
            if relation is None:
                problems.append(
                    gettext(
                        "context hint %(key)s: prefetch_related: %(lookup)s: %(model)s has no "
                        "relation %(part)s"
                    )
                    % {
                        "key": repr(key),
                        "lookup": repr(lookup),
                        "model": current._meta.label,
                        "part": repr(part),
                    }
                )
                break
            related = relation.related_model
            # Django resolves lazy references ("self", "app.Model") when the apps are loaded;
            # django-stubs keeps the string in the type.
            assert not isinstance(related, str)
            current = related
    return problems


def hinted_model(hint: ContextHint) -> type[models.Model]:
    """The model class a (valid) hint names."""
    return apps.get_model(hint["app_name"], hint["model_name"])
