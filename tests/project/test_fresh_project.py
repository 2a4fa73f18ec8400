"""A fresh Django project that installs the app, as ``django-admin startproject`` makes one.

``startproject`` sets ``DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"``. django-entity
declares no ``default_auto_field`` and its migrations create ``AutoField`` keys, so under that
setting ``makemigrations --check`` reports a migration pending for django-entity, which the
site cannot add (it would live in an installed package). docs/installation.rst gives the fix,
an ``AppConfig`` for django-entity (``docs/examples/entity_apps.py``); these tests run
``makemigrations --check`` in a project of their own, in a subprocess.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: The fix the installation page shows (literalinclude), an AppConfig for django-entity.
FIX = ROOT / "docs" / "examples" / "entity_apps.py"


def makemigrations_check(tmp_path: Path, entity_app: str) -> subprocess.CompletedProcess[str]:
    """``manage.py makemigrations --check --dry-run`` in a fresh project whose settings install
    django-entity as ``entity_app`` (``"entity"``, or the dotted path of an ``AppConfig``)."""
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
            DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
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


def test_the_app_config_of_the_installation_page_fixes_it(tmp_path):
    result = makemigrations_check(tmp_path, f"{FIX.stem}.EntityWithAutoFieldConfig")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No changes detected" in result.stdout
