"""The settings of docs/notification_center.rst, checked by tests/project/test_docs_examples.py."""

INSTALLED_APPS = [
    "daphne",  # first: `manage.py runserver` serves over ASGI (live updates stream)
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "entity",
    "entity_event",
    "django_eventstream",  # optional: live updates
]
ASGI_APPLICATION = "mysite.asgi.application"

# The medium the notification center shows (the default name).
ENTITY_EVENT_NOTIFICATION_MEDIUM = "notifications"
# Each person reads only their own channel, and its messages are not stored.
EVENTSTREAM_CHANNELMANAGER_CLASS = "entity_event.notifications.live_channels.NotificationChannelManager"
# After logging in (accounts/login/ of the URLs below), show the notifications.
LOGIN_REDIRECT_URL = "entity_event:notifications"
# When events are created in another process than the one serving the pages (several server
# processes, workers, management commands), the processes share the live messages through Redis:
# install the redis package (pip install redis), then uncomment this line. Without it the pages
# also poll every ENTITY_EVENT_POLL_SECONDS.
# EVENTSTREAM_REDIS = {"host": "127.0.0.1", "port": 6379, "db": 0}
