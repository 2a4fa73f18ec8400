"""Deliver the email medium's events with Celery as soon as they are created (yoursite/tasks.py).
Celery's workers import it (``app.autodiscover_tasks()``); the site's processes too, from the
``ready()`` of its app config (``from . import tasks``), so that the receiver is connected where
events are created."""

from celery import shared_task
from django.dispatch import receiver

from entity_event.delivery import run_delivery
from entity_event.signals import events_created


@shared_task(ignore_result=True)
def deliver_email(**options):
    """Delivery batches of the email medium until one finds nothing to do (the options of
    ``deliver_entity_events``, as keywords: ``batch_size``, ``chunk_size``...)."""
    return run_delivery("email", **options)


@receiver(events_created, dispatch_uid="yoursite.deliver_email")
def deliver_new_events(sender, events, using, **kwargs):
    """Sent after the commit that created ``events``: a creation rolled back enqueues nothing."""
    deliver_email.delay()
