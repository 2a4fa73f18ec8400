"""A database router for a primary and a read replica (yoursite/routers.py).

Reads go to the replica, writes to the primary; entity_event sends its own writes, and the
reads that belong to them (claims, seen marks, read marks), where ``db_for_write`` says.
"""


class PrimaryReplicaRouter:
    def db_for_read(self, model, **hints):
        return "replica"

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, first, second, **hints):
        return True  # one database, two connections

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == "default"  # the replica follows the primary
