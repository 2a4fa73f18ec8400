"""The PostgreSQL driver: psycopg (3) is the default, psycopg2 still works, and no code of the
repository depends on which one Django uses.

tox's ``py311-django52-postgres`` leg installs the ``test`` dependency group, psycopg 3 and
psycopg2 (Django takes psycopg when both are there), and ``py311-django52-postgres-psycopg2``
removes psycopg, leaving psycopg2 alone; each sets ``ENTITY_EVENT_POSTGRES_DRIVER``
to the driver it installed, and ``test_the_postgresql_leg_runs_with_its_driver`` proves the suite
ran with it (without the variable: psycopg, what ``pip install -e ".[postgres]"`` installs).
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

import pytest
from django.db import connection
from packaging.requirements import Requirement

from tests.testapp.models import Team

ROOT = Path(__file__).resolve().parents[2]
#: The driver the PostgreSQL run is expected to use: "psycopg" (3) or "psycopg2".
EXPECTED_DRIVER = os.environ.get("ENTITY_EVENT_POSTGRES_DRIVER", "psycopg")


@pytest.mark.postgresql
@pytest.mark.django_db
def test_the_postgresql_leg_runs_with_its_driver():
    assert EXPECTED_DRIVER in ("psycopg", "psycopg2"), EXPECTED_DRIVER
    assert connection.Database.__name__ == EXPECTED_DRIVER
    connection.ensure_connection()
    # The connection itself comes from that driver (psycopg.Connection, psycopg2's connection).
    assert type(connection.connection).__module__.split(".")[0] == EXPECTED_DRIVER


def test_no_code_imports_a_driver():
    """The app, the benchmarks, the example site and the tests go through Django's database API;
    only this module names the drivers."""
    importing = re.compile(r"^\s*(import|from)\s+psycopg2?\b", re.MULTILINE)
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("entity_event", "benchmarks", "example", "tests")
        for path in (ROOT / folder).rglob("*.py")
        if importing.search(path.read_text())
    ]
    assert offenders == []


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_the_benchmark_s_bulk_loader_works_with_the_driver(monkeypatch):
    # benchmarks/scale.py sets Django up when imported (it is a script): keep its environment
    # default out of the rest of the run.
    monkeypatch.setenv("DJANGO_DEBUG", "0")
    from benchmarks.scale import copy

    with connection.cursor() as cursor:
        copy(cursor, Team, ("name",), "Blue\nRed\n")
    assert sorted(Team.objects.values_list("name", flat=True)) == ["Blue", "Red"]


def test_the_extras_the_test_group_and_the_constraints_name_the_drivers():
    """``postgres`` installs psycopg with its binary package, ``psycopg2`` psycopg2's; the test
    group has both (Django picks psycopg: ``test_the_postgresql_leg_runs_with_its_driver``); the
    constraints pin both drivers, psycopg and its binary alike."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    extras = {
        name: [Requirement(line) for line in lines]
        for name, lines in project["project"]["optional-dependencies"].items()
    }
    assert [(r.name, r.extras) for r in extras["postgres"]] == [("psycopg", {"binary"})]
    assert [r.name for r in extras["psycopg2"]] == ["psycopg2-binary"]
    test_group = [Requirement(line) for line in project["dependency-groups"]["test"] if isinstance(line, str)]
    assert {(r.name, frozenset(r.extras)) for r in test_group} >= {
        ("psycopg", frozenset({"binary"})),
        ("psycopg2-binary", frozenset()),
    }
    pins = dict(
        line.split("==")
        for line in (ROOT / "requirements" / "constraints.txt").read_text().splitlines()
        if "==" in line
    )
    assert pins["psycopg"] == pins["psycopg-binary"] and "psycopg2-binary" in pins
