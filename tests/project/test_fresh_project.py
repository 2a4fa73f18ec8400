"""A fresh Django project that installs the app, as ``django-admin startproject`` makes one.

``startproject`` sets ``DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"``, which is also
Django's own default from 6.0 on (a project without the setting). django-entity declares no
``default_auto_field`` and its migrations create ``AutoField`` keys, so under that setting
``makemigrations --check`` reports a migration pending for django-entity, which the site cannot
add (it would live in an installed package). docs/installation.rst gives the fix,
an ``AppConfig`` for django-entity (``docs/examples/entity_apps.py``); these tests run
``makemigrations --check`` in a project of their own, in a subprocess.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import django
import pytest

ROOT = Path(__file__).resolve().parents[2]
#: The fix the installation page shows (literalinclude), an AppConfig for django-entity.
FIX = ROOT / "docs" / "examples" / "entity_apps.py"


BIG_AUTO_FIELD = 'DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"'


def makemigrations_check(
    tmp_path: Path, entity_app: str, auto_field: str = BIG_AUTO_FIELD
) -> subprocess.CompletedProcess[str]:
    """``manage.py makemigrations --check --dry-run`` in a fresh project whose settings install
    django-entity as ``entity_app`` (``"entity"``, or the dotted path of an ``AppConfig``), with
    the line ``auto_field`` (``""``: no ``DEFAULT_AUTO_FIELD``)."""
    (tmp_path / "fresh_settings.py").write_text(
        textwrap.dedent(
            f"""
            SECRET_KEY = "fresh"
            DATABASES = {{"default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}}}
            INSTALLED_APPS = [
                "django.contrib.auth",
                "django.contrib.contenttypes",
                {entity_app!r},
                "entity_event",
            ]
            {auto_field}
            USE_TZ = True
            """
        )
    )
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "fresh_settings",
        # The project's settings module, then the docs' example of the fix (entity_apps.py).
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(FIX.parent)]),
    }
    return subprocess.run(
        [sys.executable, "-m", "django", "makemigrations", "--check", "--dry-run"],
        capture_output=True,
        text=True,
        env=environment,
        cwd=tmp_path,
        timeout=120,
    )


def test_with_big_auto_field_django_entity_has_a_pending_migration(tmp_path):
    """The problem the installation page describes, reproduced: the check fails on ``entity``."""
    result = makemigrations_check(tmp_path, "entity")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Migrations for 'entity':" in result.stdout
    # entity_event sets its own default_auto_field: nothing is pending for it.
    assert "Migrations for 'entity_event':" not in result.stdout


@pytest.mark.parametrize("auto_field", [BIG_AUTO_FIELD, ""], ids=["BigAutoField", "no setting"])
def test_the_app_config_of_the_installation_page_fixes_it(tmp_path, auto_field):
    result = makemigrations_check(tmp_path, f"{FIX.stem}.EntityWithAutoFieldConfig", auto_field)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No changes detected" in result.stdout


def test_without_the_setting_django_entity_needs_the_fix_from_django_6_on(tmp_path):
    """Django 6.0 made ``BigAutoField`` the default of ``DEFAULT_AUTO_FIELD``: a project without
    the setting has the problem from then on, and not on 5.2, where the default was
    ``AutoField`` (the behaviour differs by version, so the expectation does)."""
    result = makemigrations_check(tmp_path, "entity", auto_field="")
    if django.VERSION >= (6, 0):
        assert result.returncode == 1, result.stdout + result.stderr
        assert "Migrations for 'entity':" in result.stdout
    else:
        assert result.returncode == 0, result.stdout + result.stderr
