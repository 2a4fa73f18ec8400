"""Settings of the processes that the fault tests start: the test settings, mail sent by SMTP.

The fault tests (tests/delivery/test_database_restart.py) and the fault benchmark
(benchmarks/faults.py) run ``manage.py`` in processes of their own, on a database of a private
cluster (``DATABASE_URL``), against an SMTP server of the test process on 127.0.0.1 at
``ENTITY_EVENT_TEST_SMTP_PORT``; ``override_settings`` cannot reach another process, so the
mailer is set here, the way the running Django version reads it (as tests/mail.py does).
"""

from __future__ import annotations

import os

import django

from tests.settings import *  # noqa: F403 (these settings, the mailer changed)

_SMTP = {"host": "127.0.0.1", "port": int(os.environ.get("ENTITY_EVENT_TEST_SMTP_PORT", "25")), "timeout": 30}

if django.VERSION >= (6, 1):
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend", "OPTIONS": _SMTP}}
else:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = _SMTP["host"]
    EMAIL_PORT = _SMTP["port"]
    EMAIL_TIMEOUT = _SMTP["timeout"]
