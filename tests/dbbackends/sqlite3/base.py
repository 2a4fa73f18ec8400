"""Django's SQLite backend, batching bulk inserts by the connection's real parameter limit.

Django 5.2 assumes SQLite's historical compile-time limit of 999 parameters per statement and
splits ``bulk_create`` accordingly (199 five-column rows per INSERT). Every SQLite the
supported Pythons ship with allows far more (Django 6.0 reads the limit from the connection,
as this backend does). The runnable project and the test suite use it so that the query counts
pinned by the tests are the same on SQLite and PostgreSQL; with Django's stock backend the
library works the same, with one more INSERT per 199 events.
"""

from __future__ import annotations

import sqlite3

from django.db.backends.sqlite3 import base, features
from django.utils.functional import cached_property


class DatabaseFeatures(features.DatabaseFeatures):
    @cached_property
    def max_query_params(self) -> int:
        self.connection.ensure_connection()
        return self.connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)


class DatabaseWrapper(base.DatabaseWrapper):
    features_class = DatabaseFeatures
