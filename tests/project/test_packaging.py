"""The wheel holds the app and nothing else of the repository (not the example project, the
tests, the benchmarks or the runnable project's settings)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import entity_event

ROOT = Path(__file__).resolve().parents[2]


def built_wheel(tmp_path: Path) -> Path:
    """The wheel tox built and installed for this run (``TOX_PACKAGE``), or one built here."""
    built = os.environ.get("TOX_PACKAGE", "")
    if built.endswith(".whl"):
        return Path(built)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--wheel-dir",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
    )
    [wheel] = tmp_path.glob("*.whl")
    return wheel


def test_the_wheel_holds_only_the_app(tmp_path):
    names = zipfile.ZipFile(built_wheel(tmp_path)).namelist()
    top_level = {name.split("/")[0] for name in names}
    assert {name for name in top_level if not name.endswith(".dist-info")} == {"entity_event"}
    packaged = {name for name in names if name.startswith("entity_event/")}
    assert "entity_event/py.typed" in packaged
    assert "entity_event/templates/admin/entity_event/contextrenderer/change_form.html" in packaged
    assert "entity_event/migrations/0001_initial.py" in packaged
    assert not any("entity_event_demo" in name for name in names)
    # Every module of the source tree is in the wheel.
    sources = {
        str(path.relative_to(ROOT))
        for path in (ROOT / "entity_event").rglob("*.py")
        if "__pycache__" not in path.parts
    }
    assert sources <= packaged


def test_the_wheel_has_the_name_and_version_the_docs_give(tmp_path):
    # docs/versions.rst: a distribution name of its own, and 4.x, the successor of the published 3.x.
    name, version, *_ = built_wheel(tmp_path).name.split("-")
    assert name == "django_entity_event_next"
    assert version == entity_event.__version__
    assert version.split(".")[0] == "4"
