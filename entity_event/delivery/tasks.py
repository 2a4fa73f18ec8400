"""Delivery as a task of the site's task workers, right after events are created.

On Django 6.0 and later the task is one of Django's own tasks framework (``django.tasks``); on
Django 5.2 it is one of django-tasks, the framework's backport (the ``tasks`` extra). Either way
the site configures a ``TASKS`` backend in its settings, and its workers run the task.

``deliver_events`` is the task form of ``manage.py deliver_entity_events``: delivery batches of
one medium until one finds nothing to do (``entity_event.delivery.run_delivery``, which a task of
another queue, Celery's say, calls itself). ``deliver_on_creation`` enqueues it whenever a call of
``create_event`` / ``create_events`` has committed (the ``events_created`` signal, sent after the
commit: a task never runs for events that were rolled back). Claims are exactly-once, so tasks
running side by side, or beside the command, share the work instead of sending twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Unpack

from entity_event.delivery.loop import RUN_OPTIONS, RunOptions, run_delivery
from entity_event.signals import events_created

__all__ = ["deliver_events", "deliver_on_creation"]

if TYPE_CHECKING:  # mypy runs with the stubs of the newest Django
    from django.tasks import task
else:
    try:
        from django.tasks import task
    except ImportError:  # Django 5.2: the backport
        from django_tasks import task


@task()
def deliver_events(medium: str, **options: Unpack[RunOptions]) -> dict[str, int]:
    """Run delivery batches of the medium named ``medium`` until a batch is idle or
    ``max_batches`` ran, as ``manage.py deliver_entity_events`` does with the same options, given
    as keywords with ``run_delivery``'s defaults (``handler``, the dotted path of a handler, see
    ``entity_event.delivery``; ``batch_size``, ``chunk_size``, ``digest``, ``max_batches``,
    ``max_attempts``, ``retry_delay``); return the totals (``claimed``, ``recorded``, ``sent``,
    ``retried``, ``failed``, ``skipped``, ``batches``).

    The task form of ``entity_event.delivery.run_delivery``, which a task of another queue
    (Celery) calls instead. The arguments are plain values, as task arguments must be; a bad one
    fails the task before any batch. A handler that raises fails the deliveries of its chunk,
    retried later; a task that fails (the database gone) or whose worker is killed leaves the
    claimed events recorded as pending deliveries, which the next run (task or command) sends.
    """
    return run_delivery(medium, caller="deliver_events", **options)


def deliver_on_creation(medium: str, **options: Any) -> None:
    """Enqueue ``deliver_events(medium, **options)`` after every committed call that created
    events. Call it once, from an ``AppConfig.ready()``; calling it again for the same medium
    replaces the earlier options."""
    if not isinstance(medium, str) or not medium:
        raise TypeError("deliver_on_creation(): medium must be the name of a medium")
    unknown = set(options) - RUN_OPTIONS
    if unknown:
        raise TypeError(f"deliver_on_creation(): unexpected options {sorted(unknown)}")

    def enqueue_delivery(**kwargs: Any) -> None:
        deliver_events.enqueue(medium, **options)

    events_created.connect(enqueue_delivery, weak=False, dispatch_uid=f"entity_event.delivery.tasks:{medium}")
