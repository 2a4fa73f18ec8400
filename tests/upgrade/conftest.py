"""Databases loaded from the pg_dump of a database left by the published 3.1.2 (legacy/, see
docs/upgrading.rst), each under a connection alias of its own, dropped after the test.

The dump is loaded with ``psql`` (it holds ``COPY ... FROM stdin`` blocks, which only psql reads
as they are), into databases named after the test database, so that runs of the suite on other
test databases do not collide.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from django.core.management import call_command
from django.db import connections

LEGACY = Path(__file__).resolve().parent / "legacy"
DUMP = LEGACY / "original-3.1.2-postgres.sql"
EXPECTED = LEGACY / "original-3.1.2-expected.json"

numbers = itertools.count(1)

#: The alias of the upgraded dump that the tests of a module share (``upgraded``).
UPGRADED = "legacy_3x_upgraded"


class LegacyDatabases:
    """Makes databases from the 3.x dump and drops them again."""

    def __init__(self) -> None:
        self.made: list[tuple[str, str]] = []

    def psql(self, database: str, *arguments: str) -> None:
        """Run ``psql`` on ``database`` of the test database's server, stopping at the first error."""
        settings = connections["default"].settings_dict
        command = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", database]
        for option, key in (("-h", "HOST"), ("-p", "PORT"), ("-U", "USER")):
            if settings[key]:
                command += [option, str(settings[key])]
        environment = {**os.environ, "PGPASSWORD": settings["PASSWORD"] or ""}
        subprocess.run([*command, *arguments], env=environment, check=True, stdout=subprocess.DEVNULL)

    def load(self, *statements: str, alias: str | None = None) -> str:
        """A new database holding the dump (then ``statements``, as a 3.x site may have written
        them), not migrated, under ``alias`` (or a new one); returns the alias."""
        number = next(numbers)
        alias = alias or f"legacy_3x_{number}"
        name = f"{connections['default'].settings_dict['NAME']}_3x_{number}"
        self.psql("postgres", "-c", f'DROP DATABASE IF EXISTS "{name}"', "-c", f'CREATE DATABASE "{name}"')
        self.made.append((alias, name))
        # The dump empties the search path for its session; the statements run with the default.
        statements = ("RESET search_path", *statements)
        self.psql(name, "-f", str(DUMP), *(argument for sql in statements for argument in ("-c", sql)))
        connections.databases[alias] = {**connections["default"].settings_dict, "NAME": name}
        return alias

    def migrate(self, alias: str, to: str | None = None) -> None:
        """``manage.py migrate`` on ``alias`` (entity_event ``to`` a migration, if given), in this
        process: its code counts for coverage."""
        targets = ("entity_event", to) if to else ()
        call_command("migrate", *targets, database=alias, interactive=False, verbosity=0)

    def url(self, alias: str) -> str:
        """The ``DATABASE_URL`` of ``alias``, for a process of its own."""
        settings = connections[alias].settings_dict
        password = f":{quote(settings['PASSWORD'], safe='')}" if settings["PASSWORD"] else ""
        host = settings["HOST"] or "localhost"
        port = f":{settings['PORT']}" if settings["PORT"] else ""
        return f"postgres://{quote(settings['USER'], safe='')}{password}@{host}{port}/{settings['NAME']}"

    def read_back(self, alias: str, *, use_tz: bool) -> str:
        """What ``tests/upgrade/read_back.py`` reads from ``alias`` in a site's process (JSON)."""
        environment = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.upgrade.settings",
            "DATABASE_URL": self.url(alias),
            "ENTITY_EVENT_TEST_USE_TZ": "1" if use_tz else "0",
        }
        done = subprocess.run(
            [sys.executable, "-m", "tests.upgrade.read_back"],
            env=environment,
            cwd=Path(__file__).resolve().parents[2],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def drop_all(self) -> None:
        for alias, name in self.made:
            if alias in connections.databases:
                connections[alias].close()
                del connections[alias]
                del connections.databases[alias]
            self.psql("postgres", "-c", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.made.clear()


@pytest.fixture
def legacy(django_db_setup, django_db_blocker) -> Iterator[LegacyDatabases]:
    """Databases from the 3.x dump for one test, with database access for the test (to the
    test database too, which this project's migrations made: a fresh install)."""
    databases = LegacyDatabases()
    with django_db_blocker.unblock():
        try:
            yield databases
        finally:
            databases.drop_all()


@pytest.fixture(scope="module")
def upgraded(django_db_setup, django_db_blocker) -> Iterator[tuple[LegacyDatabases, str]]:
    """The 3.x dump, migrated, shared by the tests of a module that only read it."""
    databases = LegacyDatabases()
    with django_db_blocker.unblock():
        try:
            alias = databases.load(alias=UPGRADED)
            databases.migrate(alias)
            yield databases, alias
        finally:
            databases.drop_all()
