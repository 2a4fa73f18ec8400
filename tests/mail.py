"""Email settings for a test, written the way the running Django version reads them."""

from __future__ import annotations

from typing import Any

import django
from django.test import override_settings


def email_backend(backend: str, **options: Any) -> override_settings:
    """``override_settings`` that make ``backend`` (a dotted path) the default mailer with
    ``options`` (``host``, ``port``...): ``MAILERS`` on Django 6.1 and later, which refuses the
    older settings beside it, else ``EMAIL_BACKEND`` and ``EMAIL_<OPTION>``."""
    if django.VERSION >= (6, 1):
        return override_settings(MAILERS={"default": {"BACKEND": backend, "OPTIONS": options}})
    return override_settings(
        EMAIL_BACKEND=backend, **{f"EMAIL_{name.upper()}": value for name, value in options.items()}
    )
