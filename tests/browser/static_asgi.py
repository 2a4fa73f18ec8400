"""The test project's ASGI application with its static files (the pages' script), for the
uvicorn processes of ``tests/browser/live_servers.py``, as the in-process ``asgi_server`` of
``tests/browser/conftest.py`` serves it."""

from __future__ import annotations

import os

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

application = ASGIStaticFilesHandler(get_asgi_application())
