"""The in-place upgrade of a database left by the published django-entity-event 3.x
(docs/upgrading.rst), run by the migration ``0007_upgrade_from_3x``.

3.x used the same app label, the same tables and the migration name ``0001_initial``, so on a
3.x database Django takes this project's ``0001_initial`` for applied and runs only the later
migrations. What 0001 would have made differently is repaired here: the tables are compared with
the models' state and altered with Django's schema editor, exactly as a fresh install's
migrations make them (64-bit keys and the foreign keys to them, the shorter names, JSON columns
that are never NULL, the constraints and indexes of 0001 in place of 3.x's ``unique_together``).
Then the values 3.x wrote that this project does not use are converted: its "never expires"
(``datetime.max`` written in the site's time zone, which overflows as soon as ``USE_TZ = True``
reads it) becomes this project's, its empty uuid a generated one, and PostgreSQL's ``infinity``
and ``-infinity`` (which psycopg2, and so 3.x, read as ``datetime.max`` and ``datetime.min``, and
psycopg 3 cannot read at all) the nearest instant this project stores.

Rows that the new constraints would refuse are not guessed at: the upgrade stops before it
changes anything and names them (:class:`LegacyDataError`).
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from django.conf import settings
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.base.introspection import FieldInfo
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.models.functions import Length
from django.utils import timezone

from entity_event.timestamps import NEVER_EXPIRES_UTC, never_expires
from entity_event.validation import MAX_TIME, MIN_TIME

#: The migration that runs the upgrade; the system check reports what it left.
UPGRADE_MIGRATION = "0007_upgrade_from_3x"

#: 3.x's "never expires" was ``datetime.max`` (9999-12-31 23:59:59.999999) in the site's time
#: zone: between 9999-12-31 09:59:59.999999 UTC (UTC+14) and 10000-01-01 11:59:59.999999 UTC
#: (UTC-12). Every expiry from this instant on is such a value, whatever the zone was.
LEGACY_NEVER_EXPIRES_FROM = datetime(9999, 12, 30, tzinfo=UTC)

#: This project writes its "never expires" in the site's time zone when ``USE_TZ`` is off, so an
#: expiry is taken for "later than never expires" only beyond the widest zone offset.
NEVER_EXPIRES_LATEST = NEVER_EXPIRES_UTC + timedelta(days=1)

Repair = Callable[[BaseDatabaseSchemaEditor], None]


class LegacyDataError(Exception):
    """The 3.x database holds rows that this project's constraints refuse; nothing was changed."""


def _site_time(value: datetime) -> datetime:
    """``value`` as the ORM takes it under the current ``USE_TZ``: aware, or naive (then the
    database reads it in the site's time zone)."""
    return value if settings.USE_TZ else value.replace(tzinfo=None)


def legacy_never_expires_from() -> datetime:
    """The first expiry that is a 3.x "never expires" value, for a query under ``USE_TZ``."""
    return _site_time(LEGACY_NEVER_EXPIRES_FROM)


def never_expires_latest() -> datetime:
    """The last expiry that still means "never expires" here, for a query under ``USE_TZ``."""
    return _site_time(NEVER_EXPIRES_LATEST)


def storable_range() -> tuple[datetime, datetime]:
    """``MIN_TIME`` and ``MAX_TIME``, the earliest and latest instants this project stores, for a
    query under ``USE_TZ``: aware, or naive in the site's time zone, where the database then
    reads naive values (the same instants, so that ``check_time`` takes them either way)."""
    if settings.USE_TZ:
        return MIN_TIME, MAX_TIME
    zone = timezone.get_default_timezone()
    return timezone.make_naive(MIN_TIME, zone), timezone.make_naive(MAX_TIME, zone)


def upgrade_3x_database(apps: Any, schema_editor: BaseDatabaseSchemaEditor) -> None:
    """Bring a 3.x database to this project's schema and values (the ``RunPython`` of
    ``0007_upgrade_from_3x``). On a fresh install it changes nothing: there is nothing to repair
    and no 3.x value to convert."""
    connection = schema_editor.connection
    app_models = [
        model
        for model in apps.get_app_config("entity_event").get_models()
        if model._meta.managed and not model._meta.proxy
    ]
    # 3.x ran on PostgreSQL only (it was built on django.contrib.postgres): there is no 3.x
    # schema to find on another database.
    if connection.vendor == "postgresql":
        repairs = [repair for model in app_models for repair in pending_repairs(model, connection)]
        if repairs:
            refuse_conflicts(app_models, connection.alias)
        for repair in repairs:
            repair(schema_editor)
    convert_3x_values(apps.get_model("entity_event", "Event"), connection.alias)


def convert_3x_values(event_model: type[models.Model], using: str) -> None:
    """Give 3.x's "never expires" values this project's, its empty uuid (3.x stored ``''`` for an
    event created without one, so there is at most one) a generated unique one, and the times
    beyond what this project stores (PostgreSQL's ``infinity`` and ``-infinity``, the year
    10000, the years before 1) the nearest instant it stores.

    An expiry of ``infinity`` is a "never expires" like 3.x's ``datetime.max`` (the first rule);
    one of ``-infinity``, or before ``MIN_TIME``, has always passed: it becomes ``MIN_TIME``, which
    keeps the event expired. A time beyond either end becomes that end (``MAX_TIME`` or
    ``MIN_TIME``), where psycopg2 put it for 3.x (``datetime.max``, ``datetime.min``), so feeds
    keep their order. The filters compare in the database, so values Python cannot read are
    found too."""
    events = event_model._default_manager.using(using)
    events.filter(time_expires__gte=legacy_never_expires_from()).update(time_expires=never_expires())
    earliest, latest = storable_range()
    events.filter(time_expires__lt=earliest).update(time_expires=earliest)
    events.filter(time__gt=latest).update(time=latest)
    events.filter(time__lt=earliest).update(time=earliest)
    events.filter(uuid="").update(uuid=uuid.uuid4().hex)


def pending_repairs(model: type[models.Model], connection: BaseDatabaseWrapper) -> list[Repair]:
    """What ``model``'s table lacks against the migrations' state, in the order to repair it:
    the columns, 3.x's leftover unique constraints, the missing constraints and indexes. Empty
    for a table a fresh install made, or a repaired one: the upgrade is idempotent."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        columns = {row.name: row for row in connection.introspection.get_table_description(cursor, table)}
        existing = connection.introspection.get_constraints(cursor, table)
    repairs = [
        repair
        for field in model._meta.local_concrete_fields
        for repair in _column_repairs(model, field, columns[field.column], connection)
    ]
    repairs += _leftover_unique_repairs(model, existing)
    repairs += [
        _adding(model, item)
        for item in [*model._meta.constraints, *model._meta.indexes]
        if item.name not in existing
    ]
    return repairs


def _column_repairs(
    model: type[models.Model],
    field: models.Field[Any, Any],
    column: FieldInfo,
    connection: BaseDatabaseWrapper,
) -> Iterator[Repair]:
    """The alteration from the column 3.x made to ``field``'s, if it differs: a 32-bit key
    (its foreign keys follow), a longer ``varchar``, a nullable column."""
    name, path, args, kwargs = field.deconstruct()
    field_class: type[models.Field[Any, Any]] = type(field)
    found = {}
    if field_class is models.BigAutoField:
        if connection.introspection.get_field_type(cast(str, column.type_code), column) == "AutoField":
            field_class = models.AutoField
    # The length of a varchar: Django's introspection gives it as the display size with either
    # driver (psycopg2 also gives it as the internal size, psycopg 3 does not).
    elif isinstance(field, models.CharField) and column.display_size != field.max_length:
        found["max_length"] = column.display_size
    if column.null_ok and not field.null:
        found["null"] = True
    if found or field_class is not type(field):
        yield _altering(model, field_class(*args, **{**kwargs, **found}), field)


def _altering(model: type[models.Model], old: models.Field[Any, Any], new: models.Field[Any, Any]) -> Repair:
    old.set_attributes_from_name(new.name)
    old.model = model

    def alter(schema_editor: BaseDatabaseSchemaEditor) -> None:
        # A NULL becomes the field's default (``{}`` for the JSON columns) before NOT NULL.
        schema_editor.alter_field(model, old, new, strict=True)
        if new.primary_key and old.get_internal_type() != new.get_internal_type():
            for relation in _constrained_keys_to(model):
                _renaming_foreign_key(relation.field.model, relation.field, schema_editor)

    return alter


def _constrained_keys_to(model: type[models.Model]) -> list[models.ForeignObjectRel]:
    """The relations of every foreign key to ``model`` that has a constraint in the database,
    also of those without a reverse accessor (``related_name="+"``); a key declared with
    ``db_constraint=False`` keeps having none."""
    return [
        relation
        for relation in model._meta.get_fields(include_hidden=True)
        if isinstance(relation, models.ForeignObjectRel)
        and not relation.many_to_many
        and getattr(relation.field, "db_constraint", False)
    ]


def _renaming_foreign_key(
    model: type[models.Model], field: models.Field[Any, Any], schema_editor: BaseDatabaseSchemaEditor
) -> None:
    """Give the foreign key constraint of ``field`` the name a fresh install gives it: the
    schema editor re-creates the constraints of the keys to a primary key whose type it changes
    under another name (``..._fk``) than it creates them with (``..._fk_<table>_<column>``)."""
    without = copy.copy(field)
    without.db_constraint = False  # type: ignore[attr-defined]
    schema_editor.alter_field(model, field, without, strict=True)
    schema_editor.alter_field(model, without, field, strict=True)


def _leftover_unique_repairs(model: type[models.Model], existing: Mapping[str, Any]) -> list[Repair]:
    """Dropping the unique constraints over several columns that the models do not declare:
    3.x's ``unique_together``, which 0001 replaced by named constraints."""
    declared = {constraint.name for constraint in model._meta.constraints}
    fields = {field.column: field.name for field in model._meta.local_concrete_fields}
    return [
        _removing(model, models.UniqueConstraint(fields=[fields[col] for col in found["columns"]], name=name))
        for name, found in existing.items()
        if found["unique"] and not found["primary_key"] and len(found["columns"]) > 1 and name not in declared
    ]


def _removing(model: type[models.Model], constraint: models.UniqueConstraint) -> Repair:
    def remove(schema_editor: BaseDatabaseSchemaEditor) -> None:
        schema_editor.remove_constraint(model, constraint)

    return remove


def _adding(model: type[models.Model], item: models.BaseConstraint | models.Index) -> Repair:
    def add(schema_editor: BaseDatabaseSchemaEditor) -> None:
        if isinstance(item, models.Index):
            schema_editor.add_index(model, item)
        else:
            schema_editor.add_constraint(model, item)

    return add


def refuse_conflicts(app_models: list[type[models.Model]], using: str) -> None:
    """Raise :class:`LegacyDataError` naming every row of the 3.x tables that this project's
    constraints or column sizes refuse, before anything is changed."""
    problems = [problem for model in app_models for problem in _conflicts(model, using)]
    if problems:
        raise LegacyDataError(
            "The 3.x database cannot be upgraded: "
            + "; ".join(problems)
            + ". Nothing was changed; correct these rows and run migrate again (docs: Upgrading from 3.x)."
        )


def _conflicts(model: type[models.Model], using: str) -> Iterator[str]:
    rows = model._default_manager.using(using)
    table = model._meta.db_table
    for field in model._meta.local_concrete_fields:
        if isinstance(field, models.CharField) and field.max_length is not None:
            longer = rows.annotate(length=Length(field.name)).filter(length__gt=field.max_length)
            if ids := sorted(longer.values_list("pk", flat=True)):
                yield f"{table}.{field.column} is longer than {field.max_length} characters in the rows {ids}"
    constraints = model._meta.constraints
    for check in [item for item in constraints if isinstance(item, models.CheckConstraint)]:
        if ids := sorted(rows.exclude(check.condition).values_list("pk", flat=True)):
            yield f"the rows {ids} of {table} break {check.name}"
    for unique in [item for item in constraints if isinstance(item, models.UniqueConstraint)]:
        candidates = rows.filter(unique.condition) if unique.condition else rows
        repeated = candidates.values(*unique.fields).annotate(rows=models.Count("pk")).filter(rows__gt=1)
        for values in repeated.order_by(*unique.fields):
            count = values.pop("rows")
            yield f"{count} rows of {table} repeat {values}, which {unique.name} forbids"
