"""Settings of the task workers that tests/delivery/test_task_queues.py and
benchmarks/task_queues.py start: the test settings with mail sent by SMTP (tests/smtp_settings.py,
to the server of the test process at ``ENTITY_EVENT_TEST_SMTP_PORT``), the database named
``ENTITY_EVENT_TEST_DATABASE_NAME`` (the test run's own, made by pytest-django or the
benchmark), and the tasks framework's database backend, django-tasks-db.

django-tasks-db is one package for both frameworks: on Django 6.0 and later it is a backend of
Django's own ``django.tasks``; on 5.2 one of django-tasks, the backport (``"django_tasks"``, which
tests/settings.py installs there, must be in ``INSTALLED_APPS`` too). Its app (label
``django_tasks_database``) holds the table of the tasks, ``DBTaskResult``, and the ``db_worker``
command. docs/deployment.rst shows the same settings (a test checks that they agree).
"""

from __future__ import annotations

import os

from tests.smtp_settings import *  # noqa: F403 (these settings, the database and the tasks backend changed)
from tests.smtp_settings import DATABASES, INSTALLED_APPS

_DATABASE_NAME = os.environ.get("ENTITY_EVENT_TEST_DATABASE_NAME")
if _DATABASE_NAME:
    DATABASES = {alias: {**database, "NAME": _DATABASE_NAME} for alias, database in DATABASES.items()}

INSTALLED_APPS = [*INSTALLED_APPS, "django_tasks_db"]
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
