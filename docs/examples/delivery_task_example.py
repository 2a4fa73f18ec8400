"""Deliver the email medium's events as soon as they are created, as a task (yoursite/apps.py).
Settings: a ``TASKS`` backend whose workers run the task; on Django 5.2 also ``"django_tasks"``
(the backport of the tasks framework) in ``INSTALLED_APPS``."""

from django.apps import AppConfig


class YourSiteConfig(AppConfig):
    name = "yoursite"

    def ready(self):
        from entity_event.delivery.tasks import deliver_on_creation

        deliver_on_creation("email", batch_size=200)
