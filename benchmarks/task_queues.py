"""Benchmark of delivery as tasks: how many (event, target) pairs per second two workers of each
task queue deliver to a real SMTP server, from the creation of the events to the last message.

It builds, in a throwaway database (``test_`` + the name in ``DATABASE_URL``, dropped at the
end), an email medium and a group of ``--members`` members subscribed to it, and starts an SMTP
server on 127.0.0.1 (tests/smtp_server.py) that accepts every message. Then, for each queue:

* **loop**, the floor: two ``manage.py deliver_entity_events --medium email --loop`` workers
  polling every 0.1 s, the same delivery without a task queue;
* **django-tasks-db**: two ``manage.py db_worker`` processes; ``deliver_on_creation("email")``
  enqueues ``deliver_events`` after each creation;
* **celery**: two ``celery worker --concurrency 1`` processes on RabbitMQ (the machine's, or
  ``ENTITY_EVENT_TEST_BROKER_URL``), a queue of the run's own (deleted at the end); a receiver of
  ``events_created`` enqueues the Celery task that calls ``run_delivery`` (tests/celery_app.py);

and, after an untimed round of one event (the workers warm), round after round (``--repeat``)
creates ``--events`` events one by one (each creation a task) and times until every pair
arrived, checking that each arrived once. It prints each round's seconds and the median pairs
per second. The workers run with tests/task_queue_settings.py
(tests/queue_workers.py), the options of the task at their defaults::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench \\
        python benchmarks/task_queues.py --events 50 --members 200 --repeat 3
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.task_queue_settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402

from entity_event.delivery.tasks import deliver_on_creation  # noqa: E402
from entity_event.models import Delivery, Event, EventSeen  # noqa: E402
from entity_event.signals import events_created  # noqa: E402
from tests.queue_workers import (  # noqa: E402
    Worker,
    build_world,
    celery_worker,
    db_worker,
    delivery_loop_worker,
    expected_arrivals,
    stop_all,
    wait_until,
    worker_environment,
)
from tests.smtp_server import RecordingSMTPHandler, smtp_server  # noqa: E402

TIMEOUT = 600
#: What the benchmark can measure: the floor (the same delivery by two deliver_entity_events
#: --loop workers, no task queue), then the two queues.
QUEUES = ["loop", "django-tasks-db", "celery"]


def reset(handler: RecordingSMTPHandler) -> None:
    """Forget the last round: its events, their records and seen marks, the tasks, the arrivals."""
    from django_tasks_db.models import DBTaskResult

    for model in (Delivery, EventSeen, Event, DBTaskResult):
        model.objects.all()._raw_delete(connection.alias)
    handler.clear()


def delivered(expected: int) -> Callable[[], bool]:
    return lambda: Delivery.objects.filter(status="sent").count() == expected


def one_round(
    world: dict[str, Any], events: int, label: str, handler: RecordingSMTPHandler, workers: list[Worker]
) -> float:
    """Seconds from the first creation to the last message of ``events`` events."""
    started = time.perf_counter()
    created = [
        Event.objects.create_event(source=world["source"], uuid=f"{label}-{n}", context={"n": n})
        for n in range(events)
    ]
    expected = expected_arrivals(created, world["targets"])
    wait_until(lambda: handler.accepted >= len(expected), TIMEOUT, "every message", workers, interval=0.01)
    seconds = time.perf_counter() - started
    wait_until(delivered(len(expected)), TIMEOUT, "every delivery recorded", workers)
    arrivals = handler.counts()
    assert set(arrivals) == expected and max(arrivals.values()) == 1, "not exactly once"
    return seconds


def db_tasks_done(workers: list[Worker], round_tasks: int, all_tasks: int) -> bool:
    """Whether the round's tasks all finished (django-tasks-db: their rows; each round starts
    with none)."""
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(status__in=["SUCCESSFUL", "FAILED"]).count() == round_tasks


def celery_tasks_done(workers: list[Worker], round_tasks: int, all_tasks: int) -> bool:
    """Whether every task enqueued so far finished (Celery: the workers' logs)."""
    logs = "".join(worker.log.read_text(errors="replace") for worker in workers)
    return len(re.findall(r"Task tests\.celery_app\.deliver_email\[[^]]+\] succeeded in", logs)) == all_tasks


def measure(
    queue: str,
    start: Callable[[int], Worker],
    connect: Callable[[], None],
    disconnect: Callable[[], None],
    done: Callable[[list[Worker], int, int], bool],
    world: dict[str, Any],
    handler: RecordingSMTPHandler,
    args: argparse.Namespace,
) -> None:
    workers = [start(number) for number in (1, 2)]
    try:
        wait_until(lambda: all(worker.is_ready() for worker in workers), 120, f"the {queue} workers", workers)
        connect()
        # An untimed round of one event first: every worker process has set Django up, connected
        # and run a delivery before the clock starts.
        reset(handler)
        one_round(world, 1, f"{queue}-warm-up", handler, workers)
        wait_until(lambda: done(workers, 1, 1), 120, "the warm-up task finished", workers)
        rounds = []
        for number in range(args.repeat):
            reset(handler)
            rounds.append(one_round(world, args.events, f"{queue}-{number}", handler, workers))
            # The tasks that came after the delivery find nothing to do: let them end before the
            # next round.
            tasks = 1 + (number + 1) * args.events
            wait_until(lambda: done(workers, args.events, tasks), 120, "every task finished", workers)  # noqa: B023
    finally:
        disconnect()
        stop_all(workers)
    pairs = args.events * args.members
    median = statistics.median(rounds)
    print(
        f"{queue:24} {pairs:7,} pairs  rounds {', '.join(f'{seconds:.2f}' for seconds in rounds)} s  "
        f"median {median:.2f} s = {pairs / median:,.0f} pairs/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--queues", nargs="+", choices=QUEUES, default=QUEUES)
    args = parser.parse_args()
    if "celery" in args.queues:
        from tests import celery_app
    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        world = build_world(args.members)
        print(
            f"Django {django.get_version()}, {connection.vendor}; two workers per queue, "
            f"{args.events} events x {args.members} members, {args.repeat} rounds"
        )
        with smtp_server() as (port, handler), tempfile.TemporaryDirectory() as logs:
            environment = worker_environment(connection.settings_dict["NAME"], port)
            log_directory = Path(logs)
            if "loop" in args.queues:
                measure(
                    "no queue (--loop)",
                    lambda number: delivery_loop_worker(f"loop-{number}", environment, log_directory),
                    lambda: None,
                    lambda: None,
                    lambda workers, round_tasks, all_tasks: True,
                    world,
                    handler,
                    args,
                )
            if "django-tasks-db" in args.queues:
                measure(
                    "django-tasks-db",
                    lambda number: db_worker(f"db-worker-{number}", environment, log_directory),
                    lambda: deliver_on_creation("email"),
                    lambda: events_created.disconnect(dispatch_uid="entity_event.delivery.tasks:email"),
                    db_tasks_done,
                    world,
                    handler,
                    args,
                )
            if "celery" in args.queues:

                def enqueue_delivery(**kwargs: Any) -> None:
                    celery_app.deliver_email.delay()

                try:
                    measure(
                        "celery",
                        lambda number: celery_worker(
                            f"celery-{number}", environment, log_directory, celery_app.QUEUE
                        ),
                        lambda: events_created.connect(enqueue_delivery, weak=False, dispatch_uid="bench"),
                        lambda: events_created.disconnect(dispatch_uid="bench"),
                        celery_tasks_done,
                        world,
                        handler,
                        args,
                    )
                finally:
                    celery_app.delete_queue()
    finally:
        teardown_databases(old_config, verbosity=0)


if __name__ == "__main__":
    main()
