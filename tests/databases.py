"""Which database the suite runs on, for the few tests whose outcome depends on it.

The suite runs whole on SQLite, PostgreSQL and MariaDB. A test that cannot run on MariaDB is
skipped there with ``skip_on_mariadb(reason)``, the reason saying what MariaDB lacks; the list is
kept short (``grep -rn skip_on_mariadb tests``) and docs/contributing.rst explains each entry.
"""

from __future__ import annotations

import pytest
from django.db import connection

#: The suite runs on MariaDB (or MySQL): Django's ``mysql`` backend.
ON_MARIADB = connection.vendor == "mysql"


def skip_on_mariadb(reason: str) -> pytest.MarkDecorator:
    """Skip the test on MariaDB, for ``reason``."""
    return pytest.mark.skipif(ON_MARIADB, reason=f"MariaDB: {reason}")
