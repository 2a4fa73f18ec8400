"""The ASGI application of the runnable project (``ASGI_APPLICATION``): what ``manage.py
runserver`` (with daphne installed), ``daphne`` or ``uvicorn`` serve, so that the notification
center's live updates can stream."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")

application = get_asgi_application()
