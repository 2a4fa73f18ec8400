"""The translation catalogues shipped in entity_event/locale/: up to date with the marked strings,
every message translated, and compiled (``scripts/messages --check``, which these tests also show
failing on a stale or uncompiled catalogue).

They need GNU gettext (``msgfmt``, ``xgettext``) and are skipped without it, unless
``REQUIRE_GETTEXT=1`` (CI), which makes its absence a failure."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.utils import translation

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "entity_event"
MISSING = [tool for tool in ("msgfmt", "xgettext", "msgmerge") if shutil.which(tool) is None]


@pytest.fixture(autouse=True)
def gettext_tools() -> None:
    if MISSING and os.environ.get("REQUIRE_GETTEXT") == "1":
        pytest.fail(f"GNU gettext is required (REQUIRE_GETTEXT=1) but {', '.join(MISSING)} is missing")
    if MISSING:
        pytest.skip(f"GNU gettext is not installed ({', '.join(MISSING)}); REQUIRE_GETTEXT=1 fails instead")


def check(package: Path = PACKAGE) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(ROOT / "scripts" / "messages"), "--check"],
        env={**os.environ, "PYTHON": sys.executable, "PACKAGE": str(package)},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A copy of the app whose files a test may change."""
    return Path(
        shutil.copytree(PACKAGE, tmp_path / "entity_event", ignore=shutil.ignore_patterns("__pycache__"))
    )


def test_the_shipped_catalogues_are_up_to_date_translated_and_compiled():
    result = check()
    assert result.returncode == 0, result.stderr


def test_french_and_german_are_shipped():
    languages = {path.name for path in (PACKAGE / "locale").iterdir() if path.is_dir()}
    assert {"fr", "de"} <= languages
    for language in languages:
        assert (PACKAGE / "locale" / language / "LC_MESSAGES" / "django.mo").is_file()


def test_a_string_marked_and_not_in_the_catalogues_fails_the_check(copy):
    template = copy / "templates" / "entity_event" / "notifications" / "preferences.html"
    template.write_text(template.read_text() + '{% translate "A sentence nobody has translated" %}\n')
    result = check(copy)
    assert result.returncode == 1
    assert "django.po is stale" in result.stderr
    assert "A sentence nobody has translated" in result.stderr


def test_an_untranslated_message_fails_the_check(copy):
    po = copy / "locale" / "de" / "LC_MESSAGES" / "django.po"
    text = po.read_text()
    start = text.index('msgstr "', text.index('msgid "Unsubscribe"'))
    end = text.index("\n", start)
    po.write_text(text[:start] + 'msgstr ""' + text[end:])
    result = check(copy)
    assert result.returncode == 1
    assert "untranslated" in result.stderr


def test_a_catalogue_not_compiled_fails_the_check(copy):
    po = copy / "locale" / "fr" / "LC_MESSAGES" / "django.po"
    text = po.read_text()
    start = text.index('msgstr "', text.index('msgid "Unsubscribe"'))
    end = text.index("\n", start)
    po.write_text(text[:start] + 'msgstr "Ne plus recevoir"' + text[end:])
    result = check(copy)
    assert result.returncode == 1
    assert "django.mo is not what" in result.stderr


def test_the_compiled_catalogues_are_the_ones_django_reads():
    with translation.override("fr"):
        assert translation.gettext("Unsubscribe") == "Se désabonner"
    with translation.override("de"):
        assert translation.gettext("What you receive") == "Was Sie erhalten"
