"""The app configuration, the package's lazy model imports, and the migrations being current."""

from __future__ import annotations

from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection

import entity_event
from entity_event import models


def test_app_config():
    config = apps.get_app_config("entity_event")
    assert config.verbose_name == "Entity events"
    assert config.default_auto_field == "django.db.models.BigAutoField"


def test_models_import_from_the_package_as_in_the_0_7_docs():
    from entity_event import Event, Medium, Source

    assert (Event, Medium, Source) == (models.Event, models.Medium, models.Source)
    assert set(entity_event.__all__) == {
        model.__name__ for model in apps.get_app_config("entity_event").get_models()
    }


def test_unknown_attribute():
    with pytest.raises(AttributeError, match="has no attribute 'Nope'"):
        entity_event.Nope  # noqa: B018


@pytest.mark.django_db
def test_no_missing_migrations():
    out = StringIO()
    call_command("makemigrations", "entity_event", "testapp", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


#: The warnings Django gives on MariaDB about the app's models and django-entity's, which
#: docs/installation.rst explains and tells a site to silence.
MARIADB_EXPECTED_WARNINGS = ["models.W036", "mysql.W003", "fields.W162"]


@pytest.mark.django_db(databases=["default", "replica"])
def test_system_checks_pass(settings):
    """The checks of every database too: Django 6.1 runs them by default, earlier versions when
    named (the same checks on every version)."""
    if connection.vendor == "mysql":
        settings.SILENCED_SYSTEM_CHECKS = MARIADB_EXPECTED_WARNINGS
    call_command("check", "--fail-level", "WARNING", "--database", "default", "--database", "replica")
