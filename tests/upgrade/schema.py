"""The schema of entity_event's tables on PostgreSQL, read from the catalog, in a form two
databases can be compared by: every table's columns (type, length, nullability, default,
identity), constraints (with their definitions), indexes (with their definitions) and the
sequences behind the identity columns."""

from __future__ import annotations

from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

TABLES = "entity_event\\_%"


def _rows(connection: BaseDatabaseWrapper, sql: str) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, [TABLES])
        return [tuple(row) for row in cursor.fetchall()]


def entity_event_schema(connection: BaseDatabaseWrapper) -> dict[str, list[tuple[Any, ...]]]:
    """The schema of the ``entity_event_*`` tables of ``connection`` (a PostgreSQL database)."""
    return {
        "tables": _rows(
            connection,
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'public' AND table_name LIKE %s ORDER BY 1",
        ),
        "columns": _rows(
            connection,
            "SELECT table_name, column_name, data_type, character_maximum_length, is_nullable, "
            "column_default, is_identity, identity_generation FROM information_schema.columns "
            "WHERE table_schema = 'public' AND table_name LIKE %s ORDER BY 1, 2",
        ),
        "constraints": _rows(
            connection,
            "SELECT rel.relname, con.conname, con.contype, pg_get_constraintdef(con.oid), "
            "con.condeferrable, con.condeferred FROM pg_constraint con "
            "JOIN pg_class rel ON rel.oid = con.conrelid "
            "JOIN pg_namespace ns ON ns.oid = rel.relnamespace "
            "WHERE ns.nspname = 'public' AND rel.relname LIKE %s ORDER BY 1, 2",
        ),
        "indexes": _rows(
            connection,
            "SELECT tablename, indexname, indexdef FROM pg_indexes "
            "WHERE schemaname = 'public' AND tablename LIKE %s ORDER BY 1, 2",
        ),
        "sequences": _rows(
            connection,
            "SELECT sequencename, data_type, increment_by, max_value FROM pg_sequences "
            "WHERE schemaname = 'public' AND sequencename LIKE %s ORDER BY 1",
        ),
    }
