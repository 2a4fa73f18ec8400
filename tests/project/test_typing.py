"""The package type-checks: ``mypy --strict`` with django-stubs passes on ``entity_event/`` and on
``tests/typed_usage.py``, which uses the public API as a typed project would (the configuration
is ``[tool.mypy]`` in pyproject.toml).

Skipped when mypy or django-stubs is not installed, unless ``REQUIRE_MYPY=1``, which makes the
missing tools an error (for CI). The check is made with the stubs of the newest Django
(``tox -e types``): the code uses the newer Django's API where it is present (``django.tasks``,
the mailers of 6.1), which the stubs of an older Django do not know, so with those the check is
skipped.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

MISSING = [name for name in ("mypy", "mypy_django_plugin") if importlib.util.find_spec(name) is None]
#: The Django whose stubs the check runs with (requirements/django61.txt pins them).
NEWEST_DJANGO = "6.1"


@pytest.fixture
def type_checker() -> None:
    if MISSING and os.environ.get("REQUIRE_MYPY") == "1":
        pytest.fail(f"the type check is required (REQUIRE_MYPY=1) but {', '.join(MISSING)} is missing")
    if MISSING:
        pytest.skip(f"mypy and django-stubs are not installed ({', '.join(MISSING)} missing)")
    stubs = importlib.metadata.version("django-stubs")
    if not stubs.startswith(f"{NEWEST_DJANGO}."):
        pytest.skip(f"the type check runs with the stubs of Django {NEWEST_DJANGO}, not django-stubs {stubs}")


def test_mypy_strict_passes(type_checker):
    result = subprocess.run(
        [sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("Success: no issues found"), result.stdout
