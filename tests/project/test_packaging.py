"""The wheel holds the app and nothing else of the repository (not the example project, the
tests, the benchmarks or the runnable project's settings), and its metadata says what the test
matrix tests."""

from __future__ import annotations

import configparser
import email
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

from packaging.requirements import Requirement

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
    # The translation catalogues, compiled: Django reads the .mo files, and compiles nothing.
    assert {
        "entity_event/locale/fr/LC_MESSAGES/django.mo",
        "entity_event/locale/de/LC_MESSAGES/django.mo",
    } <= packaged
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


def wheel_metadata(tmp_path: Path) -> email.message.Message:
    wheel = zipfile.ZipFile(built_wheel(tmp_path))
    [metadata] = [name for name in wheel.namelist() if name.endswith(".dist-info/METADATA")]
    return email.message_from_bytes(wheel.read(metadata))


def versions_of_the_matrix() -> tuple[set[str], set[str]]:
    """The Django and Python versions of the test legs of tox.ini (``py313-django61-...``)."""
    config = configparser.ConfigParser()
    config.read(ROOT / "tox.ini")
    legs = [re.fullmatch(r"py3(\d+)-django(\d)(\d+)-.*", env) for env in config["tox"]["env_list"].split()]
    return (
        {f"{leg[2]}.{leg[3]}" for leg in legs if leg},
        {f"3.{leg[1]}" for leg in legs if leg},
    )


def test_the_requirement_admits_every_django_tested(tmp_path):
    """pip must keep the Django a project has when it is one the matrix tests (a cap below the
    current release made pip replace Django 6.1 by 5.2 without a word)."""
    [django] = [
        Requirement(line)
        for line in wheel_metadata(tmp_path).get_all("Requires-Dist")
        if Requirement(line).name == "Django"
    ]
    pinned = [
        line.split("==")[1]
        for path in (ROOT / "requirements").glob("django*.txt")
        for line in path.read_text().splitlines()
        if line.startswith("Django==")
    ]
    assert len(pinned) == 3
    assert all(django.specifier.contains(version) for version in pinned), (django, pinned)


def test_the_classifiers_name_what_the_matrix_tests(tmp_path):
    classifiers = wheel_metadata(tmp_path).get_all("Classifier")
    djangos, pythons = versions_of_the_matrix()
    named = {classifier.rpartition(" :: ") for classifier in classifiers}
    assert {version for kind, _, version in named if kind == "Framework :: Django"} == djangos
    assert {
        version for kind, _, version in named if kind == "Programming Language :: Python" and "." in version
    } == pythons
    assert djangos == {"5.2", "6.0", "6.1"} and pythons == {"3.11", "3.12", "3.13"}
