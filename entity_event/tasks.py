"""Delivery as a task of the site's task workers, right after events are created.

On Django 6.0 and later the task is one of Django's own tasks framework (``django.tasks``); on
Django 5.2 it is one of django-tasks, the framework's backport (the ``tasks`` extra). Either way
the site configures a ``TASKS`` backend in its settings, and its workers run the task.

``deliver_events`` is the task form of ``manage.py deliver_entity_events``: delivery batches of
one medium until one finds nothing to do. ``deliver_on_creation`` enqueues it whenever a call of
``create_event`` / ``create_events`` has committed (the ``events_created`` signal, sent after the
commit: a task never runs for events that were rolled back). Claims are exactly-once, so tasks
running side by side, or beside the command, share the work instead of sending twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.utils.module_loading import import_string

from entity_event.delivery import deliver_batch
from entity_event.models import Medium
from entity_event.signals import events_created

if TYPE_CHECKING:  # mypy runs with the stubs of the newest Django
    from django.tasks import task
else:
    try:
        from django.tasks import task
    except ImportError:  # Django 5.2: the backport
        from django_tasks import task

#: The handler of ``deliver_events`` unless told otherwise: one email per recipient.
DEFAULT_HANDLER = "entity_event.delivery.send_email"


@task()
def deliver_events(
    medium: str,
    handler: str = DEFAULT_HANDLER,
    batch_size: int = 100,
    digest: bool = False,
    max_batches: int = 100,
) -> dict[str, int]:
    """Run delivery batches of the medium named ``medium`` with ``handler`` (the dotted path of a
    handler, see ``entity_event.delivery``) until a batch is idle or ``max_batches`` ran; return
    the totals (``claimed``, ``recorded``, ``sent``, ``retried``, ``failed``, ``batches``).

    The arguments are plain values, as task arguments must be. A handler that raises fails the
    task after rolling back its batch's sending step; the claimed events keep their pending
    delivery records, which the next run (task or command) sends.
    """
    if batch_size < 1 or max_batches < 1:
        raise ValueError("deliver_events(): batch_size and max_batches must be at least 1")
    target = Medium.objects.filter(name=medium).first()
    if target is None:
        raise ValueError(f"deliver_events(): no medium is named {medium!r}")
    send = import_string(handler)
    totals = dict.fromkeys(("claimed", "recorded", "sent", "retried", "failed", "batches"), 0)
    for number in range(1, max_batches + 1):
        report = deliver_batch(target, send, number=number, batch_size=batch_size, digest=digest)
        totals["batches"] = number
        for name in ("claimed", "recorded", "sent", "retried", "failed"):
            totals[name] += getattr(report, name)
        if report.idle:
            break
    return totals


def deliver_on_creation(medium: str, **options: Any) -> None:
    """Enqueue ``deliver_events(medium, **options)`` after every committed call that created
    events. Call it once, from an ``AppConfig.ready()``; calling it again for the same medium
    replaces the earlier options."""
    if not isinstance(medium, str) or not medium:
        raise TypeError("deliver_on_creation(): medium must be the name of a medium")
    unknown = set(options) - {"handler", "batch_size", "digest", "max_batches"}
    if unknown:
        raise TypeError(f"deliver_on_creation(): unexpected options {sorted(unknown)}")

    def enqueue_delivery(**kwargs: Any) -> None:
        deliver_events.enqueue(medium, **options)

    events_created.connect(enqueue_delivery, weak=False, dispatch_uid=f"entity_event.tasks:{medium}")
