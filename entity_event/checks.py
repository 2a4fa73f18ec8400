"""System checks of entity_event's settings (``manage.py check``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError

from entity_event.conf import (
    DEFAULT_RENDERING_STYLE_SETTING,
    context_hint_models,
    default_rendering_style_name,
    email_address_key,
    entity_for_user_path,
    live_updates_enabled,
    max_rendered_length,
    message_id_domain,
    notification_medium_name,
    poll_seconds,
)


def check_settings(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """The settings' types: ``entity_event.E002`` for ``DEFAULT_ENTITY_EVENT_RENDERING_STYLE``,
    ``E003`` for ``ENTITY_EVENT_CONTEXT_HINT_MODELS``, ``E004`` for
    ``ENTITY_EVENT_MAX_RENDERED_LENGTH``, ``E005`` for the email settings of the delivery command
    (``ENTITY_EVENT_EMAIL_ADDRESS_KEY``, ``ENTITY_EVENT_MESSAGE_ID_DOMAIN``), ``E006`` for the
    notification center's (``ENTITY_EVENT_NOTIFICATION_MEDIUM``, ``ENTITY_EVENT_ENTITY_FOR_USER``,
    ``ENTITY_EVENT_LIVE_UPDATES``, ``ENTITY_EVENT_POLL_SECONDS``)."""
    errors: list[CheckMessage] = []
    for read, check_id in (
        (default_rendering_style_name, "entity_event.E002"),
        (context_hint_models, "entity_event.E003"),
        (max_rendered_length, "entity_event.E004"),
        (email_address_key, "entity_event.E005"),
        (message_id_domain, "entity_event.E005"),
        (notification_medium_name, "entity_event.E006"),
        (entity_for_user_path, "entity_event.E006"),
        (live_updates_enabled, "entity_event.E006"),
        (poll_seconds, "entity_event.E006"),
    ):
        try:
            read()
        except ImproperlyConfigured as error:
            errors.append(Error(str(error), id=check_id))
    return errors


def check_default_rendering_style(
    app_configs: Sequence[AppConfig] | None = None, databases: Iterable[str] | None = None, **kwargs: Any
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


#: The isolation level claims need on MariaDB and MySQL, Django's default there.
CLAIM_ISOLATION_LEVEL = "read committed"


def check_claim_isolation(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """``entity_event.W010``: a MariaDB or MySQL database set to another isolation level than READ
    COMMITTED (``OPTIONS["isolation_level"]``). A claim re-reads the seen records after taking its
    row locks; under REPEATABLE READ that read keeps the snapshot of the transaction's first read
    and misses a claim committed meanwhile, so two workers could receive the same event
    (``entity_event.backends``)."""
    return isolation_warnings(settings.DATABASES)


def isolation_warnings(databases: dict[str, dict[str, Any]]) -> list[CheckMessage]:
    """The warnings of ``check_claim_isolation`` for the ``DATABASES`` setting ``databases``."""
    warnings: list[CheckMessage] = []
    for alias, database in databases.items():
        if not str(database.get("ENGINE", "")).endswith("mysql"):
            continue
        level = str(database.get("OPTIONS", {}).get("isolation_level") or CLAIM_ISOLATION_LEVEL)
        if level.lower() != CLAIM_ISOLATION_LEVEL:
            warnings.append(
                Warning(
                    f"The database {alias!r} runs transactions at the isolation level {level!r}: claims "
                    "(seen=False, mark_seen=True) are exactly-once among workers only under READ COMMITTED.",
                    hint='Set OPTIONS["isolation_level"] to "read committed", or leave it out (the default).',
                    id="entity_event.W010",
                )
            )
    return warnings
