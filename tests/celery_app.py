"""The Celery app of the task queue tests (tests/delivery/test_task_queues.py) and benchmark
(benchmarks/task_queues.py): a site's Celery setup, on RabbitMQ.

The workers run ``celery -A tests.celery_app worker`` with ``DJANGO_SETTINGS_MODULE`` set
(tests/task_queue_settings.py): Celery's Django fix-up sets Django up in each worker, and closes
the database connections of a forked child. The task is what a site writes, a few lines around
``entity_event.delivery.run_delivery``; the test process enqueues it from a receiver of
``events_created`` (sent after the commit that created the events).

Every run uses a queue of its own, ``QUEUE`` (``ENTITY_EVENT_TEST_CELERY_QUEUE``, which the
workers inherit, or a new name), so that runs side by side, on the same shared broker, never take
each other's messages; ``delete_queue`` removes it, and its exchange, at the end.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.task_queue_settings")

#: The broker (RabbitMQ), ``ENTITY_EVENT_TEST_BROKER_URL`` or the machine's own.
BROKER_URL = os.environ.get("ENTITY_EVENT_TEST_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
#: This run's queue.
QUEUE = os.environ.setdefault("ENTITY_EVENT_TEST_CELERY_QUEUE", f"entity-event-tests-{uuid.uuid4().hex[:12]}")

app = Celery("entity_event_tests")
app.conf.update(
    broker_url=BROKER_URL,
    broker_connection_retry_on_startup=True,
    broker_connection_timeout=10,
    task_default_queue=QUEUE,
    # No result backend: the totals are logged by the worker; the tests read the database.
    task_ignore_result=True,
    # One message reserved per worker at a time: the others stay in the queue for the other worker.
    worker_prefetch_multiplier=1,
    # No broadcast queues of remote control on the shared broker.
    worker_enable_remote_control=False,
)


@app.task(name="tests.celery_app.deliver_email")
def deliver_email(**options: Any) -> dict[str, int]:
    """Deliver the email medium's events until a batch finds nothing to do."""
    from entity_event.delivery import run_delivery  # once Django is set up (the fix-up does it)

    return run_delivery("email", **options)


def delete_queue() -> None:
    """Purge and delete this run's queue and its exchange on the broker, then close the app's
    connections (the pool that ``delay()`` publishes through)."""
    with app.connection_for_write() as connection:
        queue = app.amqp.queues[QUEUE].bind(connection.default_channel)
        queue.declare()  # so that what follows finds them, whether a message was sent or not
        queue.purge()
        queue.delete()
        queue.exchange.delete()
    app.close()
