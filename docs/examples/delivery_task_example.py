"""Deliver the email medium's events as soon as they are created, through django-tasks
(yoursite/apps.py). Settings: ``"django_tasks"`` in ``INSTALLED_APPS`` and a ``TASKS``
backend whose workers run the task."""

from django.apps import AppConfig


class YourSiteConfig(AppConfig):
    name = "yoursite"

    def ready(self):
        from entity_event.tasks import deliver_on_creation

        deliver_on_creation("email", batch_size=200)
