"""A database router for the replica tests (tests/scale/test_replicas.py): reads go to the
``replica`` alias inside ``reads_from_replica()``, everything else to ``default``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class ReplicaRouter:
    reading_from_replica = False

    def db_for_read(self, model, **hints):
        return "replica" if ReplicaRouter.reading_from_replica else None

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, first, second, **hints):
        return True

    def allow_migrate(self, db, app_label, **hints):
        return db != "replica"  # a replica follows its primary


@contextmanager
def reads_from_replica() -> Iterator[None]:
    ReplicaRouter.reading_from_replica = True
    try:
        yield
    finally:
        ReplicaRouter.reading_from_replica = False
