"""System checks of entity_event's settings (``manage.py check``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connections
from django.db.migrations.recorder import MigrationRecorder
from django.db.models import Q

from entity_event.conf import SETTINGS, app_settings
from entity_event.db.upgrade import UPGRADE_MIGRATION, never_expires_latest, storable_range
from entity_event.validation import MAX_TIME, MIN_TIME

#: How many ids a warning about events names at most.
LISTED_IDS = 10


def check_settings(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """The settings' values, each reported with the id ``entity_event.conf.SETTINGS`` gives it
    (``entity_event.E002`` to ``E010``; docs/installation.rst lists them)."""
    errors: list[CheckMessage] = []
    for setting in SETTINGS.values():
        try:
            setting.read()
        except ImproperlyConfigured as error:
            errors.append(Error(str(error), id=setting.check_id))
    return errors


def check_base_url(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """``entity_event.W011``: ``ENTITY_EVENT_BASE_URL`` is not set, so the email handler
    (``entity_event.delivery.send_email``) cannot put the one-click unsubscribe link in its
    messages, and refuses to send them. A site that sends no email silences it."""
    if getattr(settings, SETTINGS["BASE_URL"].name, None) is not None:
        return []
    return [
        Warning(
            "ENTITY_EVENT_BASE_URL is not set: the email handler of entity_event cannot link its "
            "messages to their one-click unsubscribe page, and sends none.",
            hint='Set it to the absolute URL of the site, such as "https://www.example.com", or, if '
            'the site sends no email through entity_event, add "entity_event.W011" to '
            "SILENCED_SYSTEM_CHECKS.",
            id="entity_event.W011",
        )
    ]


#: The dotted path of the router the replica settings configure.
REPLICA_ROUTER = "entity_event.db.replicas.ReplicaRouter"


def check_replica_router(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """``entity_event.E014`` and ``E015``: with ``ReplicaRouter`` in ``DATABASE_ROUTERS``, the
    aliases ``ENTITY_EVENT_PRIMARY_DATABASE`` and ``ENTITY_EVENT_REPLICA_DATABASE`` name
    databases of ``DATABASES``, two different ones."""
    if REPLICA_ROUTER not in getattr(settings, "DATABASE_ROUTERS", []):
        return []
    errors: list[CheckMessage] = []
    aliases = {}
    for key in ("PRIMARY_DATABASE", "REPLICA_DATABASE"):
        setting = SETTINGS[key]
        try:
            aliases[key] = alias = setting.read()
        except ImproperlyConfigured:
            continue  # check_settings reports it
        if alias not in settings.DATABASES:
            errors.append(
                Error(
                    f"{setting.name} is {alias!r}, which is not a database of DATABASES "
                    f"(the router {REPLICA_ROUTER} needs it).",
                    id=setting.check_id,
                )
            )
    if len(aliases) == 2 and aliases["PRIMARY_DATABASE"] == aliases["REPLICA_DATABASE"]:
        errors.append(
            Error(
                f"ENTITY_EVENT_REPLICA_DATABASE is {aliases['REPLICA_DATABASE']!r}, the primary's alias "
                "too: the replica must be another database of DATABASES.",
                id=SETTINGS["REPLICA_DATABASE"].check_id,
            )
        )
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
        name = app_settings.DEFAULT_RENDERING_STYLE
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
                    f"{SETTINGS['DEFAULT_RENDERING_STYLE'].name} names the rendering style {name!r}, "
                    f"which does not exist in the database {alias!r}.",
                    hint=f"Create a RenderingStyle named {name!r}, or change the setting.",
                    id="entity_event.E001",
                )
            )
    return errors


def check_upgraded_values(
    app_configs: Sequence[AppConfig] | None = None, databases: Iterable[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """``entity_event.W001``, ``W002`` and ``W003``: values of a database upgraded from 3.x that
    the upgrade migration (docs/upgrading.rst) did not convert. ``W001``: events that expire
    later than "never expires" (the first of the year 9000), which the upgrade did not recognise
    as 3.x's "never expires" (from 9999-12-30 on, in any time zone) or which were written after
    it; from the year 10000 on (UTC) they cannot be read with ``USE_TZ = True``, and PostgreSQL's
    ``infinity`` not at all. ``W002``: events with an empty uuid (3.x stored ``''`` when none was
    given). ``W003``: events whose time lies outside what this project stores (``MIN_TIME`` to
    ``MAX_TIME``), or whose expiry lies before it, such as PostgreSQL's ``infinity`` and
    ``-infinity``: the feeds, the admin and the event's page fail reading them. (A later expiry
    is ``W001``'s, so that no event is reported twice.)

    A database check, for the databases on which the upgrade migration is applied (before it,
    on a 3.x database, ``migrate`` converts these values); databases without the tables are
    skipped. Only ids are read, so that values a ``datetime`` cannot hold are reported too.
    """
    warnings: list[CheckMessage] = []
    for alias in databases or ():
        try:
            found = _unconverted(alias)
        except DatabaseError:
            continue
        if found is None:
            continue
        warnings += [
            Warning(
                f"{count} events of the database {alias!r} {problem}: ids {_listed(events, count)}.",
                hint=hint,
                id=check_id,
            )
            for (check_id, problem, hint), (events, count) in zip(UPGRADE_WARNINGS, found, strict=True)
            if count
        ]
    return warnings


#: The warnings of ``check_upgraded_values``: their id, what the events they report do or have,
#: and the hint; in the order of the querysets ``_unconverted`` returns.
UPGRADE_WARNINGS = (
    (
        "entity_event.W001",
        'expire later than "never expires" (the first of the year 9000)',
        'The upgrade from 3.x converted 3.x\'s "never expires" values only. If these events never '
        "expire, set their time_expires to entity_event.timestamps.never_expires(); otherwise to "
        "their real expiry.",
    ),
    (
        "entity_event.W002",
        "have an empty uuid",
        "Give each a unique uuid (uuid.uuid4().hex, as create_event does), so that creating another "
        "event without a uuid cannot collide with it.",
    ),
    (
        "entity_event.W003",
        f"have a time or an expiry outside what entity_event stores ({MIN_TIME.date()} to "
        f"{MAX_TIME.date()} in UTC), such as PostgreSQL's infinity",
        "Reading these events fails (the feeds, the admin, their pages). Set each time to a real "
        "instant, and each earlier expiry to entity_event.validation.MIN_TIME (already expired), as "
        "the upgrade from 3.x did with those it found.",
    ),
)


def _unconverted(alias: str) -> list[tuple[Any, int]] | None:
    """The events of ``alias`` that expire later than "never expires", those with an empty
    uuid, and those with a time outside the stored range or an expiry before it, each with its
    count; ``None`` before the upgrade migration is applied."""
    from entity_event.models import Event

    recorded = MigrationRecorder(connections[alias]).migration_qs
    if not recorded.filter(app="entity_event", name=UPGRADE_MIGRATION).exists():
        return None
    events = Event.objects.using(alias).order_by("pk")
    late = events.filter(time_expires__gt=never_expires_latest())
    empty = events.filter(uuid="")
    earliest, latest = storable_range()
    unstorable = events.filter(Q(time__lt=earliest) | Q(time__gt=latest) | Q(time_expires__lt=earliest))
    return [(late, late.count()), (empty, empty.count()), (unstorable, unstorable.count())]


def _listed(events: Any, count: int) -> str:
    ids = ", ".join(str(pk) for pk in events.values_list("pk", flat=True)[:LISTED_IDS])
    return ids if count <= LISTED_IDS else f"{ids} and {count - LISTED_IDS} more"


#: The isolation level claims need on MariaDB and MySQL, Django's default there.
CLAIM_ISOLATION_LEVEL = "read committed"


def check_claim_isolation(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """``entity_event.W010``: a MariaDB or MySQL database set to another isolation level than READ
    COMMITTED (``OPTIONS["isolation_level"]``). A claim re-reads the seen records after taking its
    row locks; under REPEATABLE READ that read keeps the snapshot of the transaction's first read
    and misses a claim committed meanwhile, so two workers could receive the same event
    (``entity_event.db.backends``)."""
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
