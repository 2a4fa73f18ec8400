"""Fixtures shared by the test modules."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import translation

from entity_event.models import Medium, RenderingStyle, Source, SourceGroup
from tests.entities import make_entity


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip the tests marked ``postgresql`` unless the tests run on PostgreSQL, and those marked
    ``database_server`` on SQLite (they run on PostgreSQL and MariaDB)."""
    skips = {
        "postgresql": None
        if connection.vendor == "postgresql"
        else pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL=postgres://...)"),
        "database_server": None
        if connection.vendor != "sqlite"
        else pytest.mark.skip(reason="needs a database server (DATABASE_URL=postgres://... or mysql://...)"),
    }
    for item in items:
        for marker, skip in skips.items():
            if skip is not None and marker in item.keywords:
                item.add_marker(skip)


@pytest.fixture(autouse=True)
def site_language():
    """Each test ends in the site's language: a request through ``LocaleMiddleware`` leaves the
    language it activated on the thread (a server activates one for each request; nothing
    deactivates it), which would carry over into the next test."""
    yield
    translation.deactivate()


@pytest.fixture
def source_group(db) -> SourceGroup:
    return SourceGroup.objects.create(name="yoursite", display_name="Yoursite", description="Events")


@pytest.fixture
def photo_source(source_group) -> Source:
    return Source.objects.create(group=source_group, name="photo-tag", display_name="Photo Tag")


@pytest.fixture
def product_source(source_group) -> Source:
    return Source.objects.create(group=source_group, name="new-product", display_name="New Product")


@pytest.fixture
def email(db) -> Medium:
    return Medium.objects.create(name="email", display_name="Email", description="Email notifications")


@pytest.fixture
def newsfeed(db) -> Medium:
    return Medium.objects.create(name="newsfeed", display_name="NewsFeed", description="Your feed")


@pytest.fixture
def style(db) -> RenderingStyle:
    return RenderingStyle.objects.create(name="short", display_name="Short")


@pytest.fixture
def alice(db):
    return make_entity("Alice")


@pytest.fixture
def bob(db):
    return make_entity("Bob")


@pytest.fixture
def read_only_statements(db) -> int:
    """The statements ``Medium.render`` and the admin preview add to a batch for their read-only
    scope (rendering never writes): ``PRAGMA query_only`` on and off on SQLite; on PostgreSQL,
    inside the test's transaction, a savepoint made read-only and rolled back (SAVEPOINT,
    SET TRANSACTION READ ONLY, ROLLBACK TO SAVEPOINT, RELEASE SAVEPOINT); none on MariaDB, which
    has no read-only switch inside a transaction (entity_event.db.read_only)."""
    return {"sqlite": 2, "postgresql": 4, "mysql": 0}[connection.vendor]


@pytest.fixture
def recipients_queries(db) -> int:
    """The query that loads a chunk's recipients apart from the chunk's locked records: on
    MariaDB, which would lock the target rows of a join too (entity_event.delivery.chunks)."""
    return 1 if connection.vendor == "mysql" else 0
