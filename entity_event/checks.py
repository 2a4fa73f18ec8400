"""System checks of entity_event's settings (``manage.py check``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.checks import CheckMessage, Error
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError

from entity_event.conf import DEFAULT_RENDERING_STYLE_SETTING, default_rendering_style_name


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``entity_event.E002``: ``DEFAULT_ENTITY_EVENT_RENDERING_STYLE`` is not a string or None."""
    try:
        default_rendering_style_name()
    except ImproperlyConfigured as error:
        return [Error(str(error), id="entity_event.E002")]
    return []


def check_default_rendering_style(
    app_configs: Any = None, databases: Iterable[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """``entity_event.E001``: ``DEFAULT_ENTITY_EVENT_RENDERING_STYLE`` names no rendering style.

    A database check: it runs when checks are given databases (``check --database default``,
    ``migrate``, the test runner). Databases whose tables do not exist yet are skipped.
    """
    from entity_event.models import RenderingStyle

    try:
        name = default_rendering_style_name()
    except ImproperlyConfigured:
        return []  # reported by check_settings
    if name is None:
        return []
    errors: list[CheckMessage] = []
    for alias in databases or ():
        try:
            exists = RenderingStyle.objects.using(alias).filter(name=name).exists()
        except DatabaseError:
            continue
        if not exists:
            errors.append(
                Error(
                    f"{DEFAULT_RENDERING_STYLE_SETTING} names the rendering style {name!r}, which does "
                    f"not exist in the database {alias!r}.",
                    hint=f"Create a RenderingStyle named {name!r}, or change the setting.",
                    id="entity_event.E001",
                )
            )
    return errors
