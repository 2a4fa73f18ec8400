"""The runnable project's ``DATABASE_URL`` and ``EVENTSTREAM_REDIS_URL`` parsing (settings.py),
and its commands running on the installed Django."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from settings import BASE_DIR, database_from_url, redis_from_url


def test_sqlite_file_and_memory():
    # The test settings use a subclass of Django's backend (tests/dbbackends/sqlite3).
    assert database_from_url("sqlite://", sqlite_engine="tests.dbbackends.sqlite3")["ENGINE"] == (
        "tests.dbbackends.sqlite3"
    )
    assert database_from_url("sqlite:///db.sqlite3") == {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(BASE_DIR / "db.sqlite3"),
    }
    assert database_from_url("sqlite://")["NAME"] == ":memory:"
    assert database_from_url("sqlite:////tmp/demo.sqlite3")["NAME"] == "/tmp/demo.sqlite3"


def test_redis():
    assert redis_from_url("redis://127.0.0.1:6379/5") == {"host": "127.0.0.1", "port": 6379, "db": 5}
    assert redis_from_url("redis://:s%40cret@cache.local") == {
        "host": "cache.local",
        "port": 6379,
        "db": 0,
        "password": "s@cret",
    }
    with pytest.raises(ValueError, match=r"unsupported scheme 'http' \(use redis://\)"):
        redis_from_url("http://127.0.0.1:6379/0")
    with pytest.raises(ValueError, match="the database must be a number, not 'cache'"):
        redis_from_url("redis://127.0.0.1/cache")


def test_postgres():
    assert database_from_url("postgres://me:s%40cret@db.local:5433/events") == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "events",
        "USER": "me",
        "PASSWORD": "s@cret",
        "HOST": "db.local",
        "PORT": "5433",
    }
    assert database_from_url("postgresql://127.0.0.1")["NAME"] == "postgres"


def test_mariadb_and_mysql():
    assert database_from_url("mysql://me:s%40cret@db.local:3307/events") == {
        "ENGINE": "django.db.backends.mysql",
        "NAME": "events",
        "USER": "me",
        "PASSWORD": "s@cret",
        "HOST": "db.local",
        "PORT": "3307",
        "OPTIONS": {"charset": "utf8mb4"},
        "TEST": {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_nopad_bin"},
    }
    assert database_from_url("mariadb://root@127.0.0.1")["ENGINE"] == "django.db.backends.mysql"
    assert database_from_url("mariadb://root@127.0.0.1")["NAME"] == "test"


def test_unknown_scheme():
    with pytest.raises(ValueError, match="unsupported scheme 'oracle'"):
        database_from_url("oracle://x")


def test_the_project_runs_its_commands_without_a_deprecation_warning():
    """``manage.py check`` of the runnable project, as a developer runs it, with deprecation
    warnings as errors: its email settings are the ones its Django version reads (Django 6.1
    refuses ``EMAIL_BACKEND`` beside ``MAILERS`` in every command, and deprecates it alone)."""
    result = subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning", "-W", "error::PendingDeprecationWarning",
         "manage.py", "check", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env={**os.environ, "DATABASE_URL": "sqlite://", "DJANGO_SETTINGS_MODULE": "settings"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
