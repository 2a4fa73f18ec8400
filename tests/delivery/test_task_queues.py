"""Delivery as tasks of real task queues: django-tasks-db's database worker and Celery on
RabbitMQ, each with two worker processes, sending to a real SMTP server.

``run_delivery`` first (any database): the body of a delivery task, for any queue, with the
options, defaults and refusals of the task ``deliver_events``, which calls it.

Then the queues (PostgreSQL or MariaDB: the workers are processes of their own, on the test
database). The SMTP server (tests/smtp_server.py) runs in the test process and keeps the
``(Message-ID, recipient)`` of each message it accepts; the workers (tests/queue_workers.py) run
with tests/task_queue_settings.py, the test settings with django-tasks-db's backend and mail sent
to that server. The test process creates the events and enqueues the delivery as a site does:
``deliver_on_creation`` enqueues ``deliver_events`` through django-tasks-db's backend (the
settings of the test process are overridden to it); a receiver of ``events_created`` enqueues
the Celery task (tests/celery_app.py). The promises checked:

* two workers of each queue deliver every (event, target) pair exactly once (each message once
  per recipient), and a creation rolled back enqueues nothing;
* a worker killed (``SIGKILL``) in the middle of a task, while the server holds one of its
  messages, loses nothing: its claimed events stay pending, the next run sends them, and only
  its chunk in flight arrives twice (docs/guarantees.rst). With django-tasks-db the killed
  task's row stays ``RUNNING`` for ever: no worker claims it again. With Celery the task is not
  run again either (its message was acknowledged when it started).

And, on any database, that the table of django-tasks-db stays on the primary under
``ReplicaRouter``.

The Celery tests are skipped when RabbitMQ does not answer at ``ENTITY_EVENT_TEST_BROKER_URL``
(by default the machine's, amqp://guest:guest@127.0.0.1:5672//), unless ``REQUIRE_RABBITMQ=1``.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test import override_settings

from entity_event.delivery import run_delivery
from entity_event.delivery.loop import DEFAULT_TASK_MAX_BATCHES
from entity_event.delivery.tasks import deliver_events, deliver_on_creation
from entity_event.models import Delivery, Event, EventSeen
from entity_event.signals import events_created
from tests.queue_workers import (
    ROOT,
    Worker,
    build_world,
    celery_worker,
    db_worker,
    expected_arrivals,
    senders,
    stop_all,
    wait_until,
    worker_environment,
)
from tests.smtp_server import RecordingSMTPHandler, smtp_server

#: Seconds any one wait may take before a test fails (a noisy machine of two cores).
TIMEOUT = 120
#: The world of the queue tests: this many events, each to this many members.
EVENTS = 20
MEMBERS = 100
#: The tests that kill a worker: this many events (to the MEMBERS), sent in chunks of
#: CHUNK_SIZE, the worker killed while the server holds the message after the first KILL_AFTER
#: (in the middle of a chunk: the chunk's messages accepted before it arrive twice, at most
#: CHUNK_SIZE of them).
KILLED_EVENTS = 10
CHUNK_SIZE = 10
KILL_AFTER = 105
#: The handler that notes which worker sends each chunk (tests/queue_workers.py).
SENDING_WORKER_HANDLER = "tests.queue_workers.sending_worker_handler"


# -- run_delivery ------------------------------------------------------------------------------


@pytest.mark.django_db
class TestRunDelivery:
    def test_runs_batches_until_one_is_idle_and_returns_the_totals(self, world):
        # 10 events for 3 users: batches of 4 events that send 4 records each, until a batch
        # finds nothing (the task's figures: tests/delivery/test_tasks.py). The user without an
        # address is skipped 10 times.
        assert run_delivery("email", batch_size=4) == {
            "claimed": 10, "recorded": 30, "sent": 20, "retried": 0, "failed": 0, "skipped": 10,
            "batches": 9,
        }  # fmt: skip
        assert EventSeen.objects.count() == 10
        assert Delivery.objects.filter(status="sent").count() == 20

    def test_the_defaults_of_the_task(self, world, recorder):
        """One batch of up to 100 events, every record of it in one chunk of up to 100, through
        the handler given; then an idle batch. The task's own default of ``max_batches``."""
        totals = run_delivery("email", handler="tests.delivery.test_deliver_command.recording_handler")
        assert (totals["claimed"], totals["recorded"], totals["batches"]) == (10, 30, 2)
        assert [len(batch.pairs) for batch in recorder.batches] == [30]
        assert DEFAULT_TASK_MAX_BATCHES == 100

    def test_max_batches_bounds_the_run_and_none_runs_until_idle(self, world):
        first = run_delivery("email", batch_size=2, max_batches=1)
        assert (first["batches"], first["claimed"], first["recorded"], first["sent"]) == (1, 2, 6, 2)
        # Without a bound: the rest, until a batch finds nothing (each batch sends 2 records).
        rest = run_delivery("email", batch_size=2, max_batches=None)
        assert (rest["claimed"], rest["recorded"], rest["sent"], rest["skipped"]) == (8, 24, 18, 10)
        assert not Delivery.objects.filter(status="pending").exists()

    def test_the_task_and_run_delivery_give_the_same_totals(self, world):
        """The task runs ``run_delivery``: the same totals for the same world."""
        first = deliver_events.enqueue("email", batch_size=3, chunk_size=2).return_value
        Delivery.objects.all().delete()
        EventSeen.objects.all().delete()
        assert run_delivery("email", batch_size=3, chunk_size=2) == first

    def test_a_handler_that_raises_fails_its_chunk_and_the_run_goes_on(self, world, recorder):
        recorder.raising = True
        totals = run_delivery(
            "email", handler="tests.delivery.test_deliver_command.recording_handler", chunk_size=5
        )
        # Every record of the claimed events had an attempt; none was sent, all are retried.
        assert (totals["claimed"], totals["sent"], totals["retried"]) == (10, 0, 30)
        assert Delivery.objects.filter(status="pending", attempts=1).count() == 30

    @pytest.mark.parametrize(
        ("arguments", "message"),
        [
            # The task's checks and messages (tests/delivery/test_tasks.py), named after the
            # function that refuses.
            ({"medium": "fax"}, "run_delivery(): medium: no medium named 'fax'"),
            ({"medium": "email", "batch_size": 0}, "run_delivery(): batch_size must be 1 or more, got 0"),
            (
                {"medium": "email", "batch_size": 100_001},
                "run_delivery(): batch_size must be at most 100,000",
            ),
            ({"medium": "email", "chunk_size": 0}, "run_delivery(): chunk_size must be 1 or more, got 0"),
            ({"medium": "email", "chunk_size": 10_001}, "run_delivery(): chunk_size must be at most 10,000"),
            ({"medium": "email", "max_batches": 0}, "run_delivery(): max_batches must be 1 or more, got 0"),
            ({"medium": "email", "max_attempts": 0}, "run_delivery(): max_attempts must be 1 or more"),
            ({"medium": "email", "retry_delay": -1}, "run_delivery(): retry_delay must be 0 or more"),
            ({"medium": "email", "handler": "no.such.handler"}, "run_delivery(): handler: cannot import"),
            ({"medium": "email", "handler": "entity_event.delivery.loop.DEFAULT_HANDLER"}, "is not callable"),
        ],
    )
    def test_bad_options_are_refused_with_the_messages_of_the_task(self, world, arguments, message):
        with pytest.raises(ValueError) as error:
            run_delivery(**arguments)
        assert message in str(error.value)
        assert not EventSeen.objects.exists()
        # The task refuses the same, with its own name.
        task_message = message.replace("run_delivery()", "deliver_events()")
        assert task_message in deliver_events.enqueue(**arguments).errors[0].traceback

    def test_the_options_are_keywords(self, world):
        with pytest.raises(TypeError):
            run_delivery("email", "entity_event.delivery.send_email")  # type: ignore[misc]


def test_run_delivery_imports_no_tasks_framework():
    """A Celery site on Django 5.2 has no django-tasks: ``run_delivery`` runs without it (and on
    6.x without ``django.tasks``). A process where neither can be imported uses it."""
    script = """
import importlib.abc, sys

class NoTasksFramework(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name in ("django_tasks", "django.tasks") or name.startswith(("django_tasks.", "django.tasks.")):
            raise ImportError(f"no {name} here")
        return None

sys.meta_path.insert(0, NoTasksFramework())
import django
from django.conf import settings
settings.configure(
    INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes", "entity", "entity_event"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
)
django.setup()
from entity_event.delivery import run_delivery
try:
    run_delivery("email", batch_size=0)
except ValueError as error:
    print(error)
"""
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "run_delivery(): batch_size must be 1 or more, got 0"


# -- the queues: shared fixtures ---------------------------------------------------------------

queue_marks = [pytest.mark.django_db(transaction=True), pytest.mark.database_server, pytest.mark.reliability]


@pytest.fixture
def smtp() -> Iterator[tuple[int, RecordingSMTPHandler]]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def environment(smtp, tmp_path) -> dict[str, str]:
    """The workers' environment: the test database (pytest-django's), the SMTP server, the file
    where the sending worker is noted."""
    return worker_environment(connection.settings_dict["NAME"], smtp[0], tmp_path / "senders")


@pytest.fixture
def workers() -> Iterator[list[Worker]]:
    """The workers a test starts (append them): stopped at the end, killed if they hang."""
    started: list[Worker] = []
    yield started
    stop_all(started)


@pytest.fixture
def members(transactional_db) -> dict[str, Any]:
    """``MEMBERS`` members subscribed to the email medium's source; no event yet."""
    return build_world(MEMBERS)


def all_sent(expected: int) -> Callable[[], bool]:
    """Whether ``expected`` deliveries are recorded, every one sent."""

    def condition() -> bool:
        statuses = Counter(Delivery.objects.values_list("status", flat=True))
        return statuses["sent"] == expected == sum(statuses.values())

    return condition


def statuses() -> str:
    return f"deliveries: {dict(Counter(Delivery.objects.values_list('status', flat=True)))}"


def assert_arrived(
    handler: RecordingSMTPHandler, expected: set[tuple[str, str]], duplicates_at_most: int
) -> int:
    """Every expected (Message-ID, recipient) arrived, nothing else did, and at most
    ``duplicates_at_most`` arrivals were a second copy; the number of second copies."""
    arrivals = handler.counts()
    assert set(arrivals) == expected, (
        f"{len(expected - set(arrivals))} lost, {len(set(arrivals) - expected)} unexpected"
    )
    duplicates = sum(count - 1 for count in arrivals.values())
    assert duplicates <= duplicates_at_most, duplicates
    return duplicates


def sending_worker(workers: list[Worker], environment: dict[str, str]) -> Worker:
    """The worker that sent the last chunk (tests.queue_workers.sending_worker_handler)."""
    [worker] = [
        worker
        for worker in workers
        if worker.pid == senders(Path(environment["ENTITY_EVENT_TEST_SENDERS"]))[-1]
    ]
    return worker


def kill_while_sending(
    handler: RecordingSMTPHandler, workers: list[Worker], environment: dict[str, str]
) -> tuple[Worker, int]:
    """Kill the worker that sends while the server holds the message after the first
    ``KILL_AFTER`` (``handler.hold_after``, called before the events are created), then let the
    server go on; return the worker and what had arrived then. (aiosmtpd drops the held message
    when its sender's connection is lost; a server that accepted it would send it twice too.)"""
    wait_until(handler.holding.is_set, TIMEOUT, f"the message after {KILL_AFTER} held", workers)
    victim = sending_worker(workers, environment)
    victim.kill()
    arrived = handler.accepted
    handler.release()
    assert arrived == KILL_AFTER
    return victim, arrived


def assert_sent_again_at_most_the_chunk_in_flight(handler: RecordingSMTPHandler, expected: set[Any]) -> int:
    """Every pair arrived; the second copies are the messages of the chunk in flight at the
    kill: those accepted before the held one, and maybe the held one."""
    duplicates = assert_arrived(handler, expected, duplicates_at_most=CHUNK_SIZE)
    assert KILL_AFTER % CHUNK_SIZE <= duplicates <= KILL_AFTER % CHUNK_SIZE + 1, duplicates
    return duplicates


# -- django-tasks-db -------------------------------------------------------------------------


@contextmanager
def tasks_app_installed(**settings: Any) -> Iterator[None]:
    """django-tasks-db's app installed (tests/task_queue_settings.py), with ``settings``. Installing
    it runs the admin's autodiscovery, which registers its model with the admin site for good:
    it is unregistered afterwards, or every admin page after this test would list an app that
    is no longer installed."""
    from django.contrib import admin

    from tests import task_queue_settings

    try:
        with override_settings(INSTALLED_APPS=task_queue_settings.INSTALLED_APPS, **settings):
            yield
    finally:
        from django_tasks_db.models import DBTaskResult

        if admin.site.is_registered(DBTaskResult):
            admin.site.unregister(DBTaskResult)


@pytest.fixture
def task_database(transactional_db) -> Iterator[Any]:
    """django-tasks-db in the test process too, as in the workers (tests/task_queue_settings.py):
    its app installed, its table migrated in the test database, ``TASKS`` its backend. Yields its
    model, ``DBTaskResult``; its rows are deleted at the end."""
    from tests import task_queue_settings

    with tasks_app_installed(TASKS=task_queue_settings.TASKS):
        call_command("migrate", "django_tasks_database", verbosity=0)
        from django_tasks_db.models import DBTaskResult

        try:
            yield DBTaskResult
        finally:
            DBTaskResult.objects.all().delete()


@pytest.fixture
def on_creation() -> Iterator[Callable[..., None]]:
    """``deliver_on_creation("email", ...)``, undone after the test."""
    yield deliver_on_creation
    events_created.disconnect(dispatch_uid="entity_event.delivery.tasks:email")


def start_db_workers(environment: dict[str, str], tmp_path: Path, workers: list[Worker]) -> None:
    workers += [db_worker(f"db-worker-{number}", environment, tmp_path) for number in (1, 2)]
    wait_until(lambda: all(worker.is_ready() for worker in workers), TIMEOUT, "the db_workers start", workers)


def tasks_finished(results: Any, count: int) -> Callable[[], bool]:
    """Whether ``count`` tasks are recorded and none is waiting or running."""
    return lambda: (
        results.objects.count() == count
        and not results.objects.filter(status__in=["READY", "RUNNING"]).exists()
    )


def test_the_table_of_tasks_stays_on_the_primary_under_the_replica_router():
    """docs/deployment.rst: with ``ReplicaRouter`` a worker reads and locks its task's row on
    the primary, never on a lagging standby, and the table is never migrated there."""
    with tasks_app_installed():
        from django_tasks_db.models import DBTaskResult

        from entity_event.db.replicas import ReplicaRouter

        router = ReplicaRouter()
        assert DBTaskResult._meta.app_label == "django_tasks_database"
        assert (router.db_for_read(DBTaskResult), router.db_for_write(DBTaskResult)) == ("default", "default")
        assert router.allow_migrate("replica", "django_tasks_database") is False


class TestDatabaseWorker:
    pytestmark = queue_marks

    def test_two_db_workers_deliver_every_pair_exactly_once(
        self, members, task_database, on_creation, smtp, environment, workers, tmp_path
    ):
        results = task_database
        on_creation("email")
        start_db_workers(environment, tmp_path, workers)
        # Each creation commits, then enqueues a task: EVENTS tasks for the two workers.
        started = time.monotonic()
        events = [
            Event.objects.create_event(source=members["source"], uuid=f"news-{n}", context={"n": n})
            for n in range(EVENTS)
        ]
        expected = expected_arrivals(events, members["targets"])
        wait_until(all_sent(len(expected)), TIMEOUT, "every delivery sent", workers, details=statuses)
        wait_until(tasks_finished(results, EVENTS), TIMEOUT, "every task finished", workers)
        seconds = time.monotonic() - started
        assert stop_all(workers) == [0, 0]
        assert_arrived(smtp[1], expected, duplicates_at_most=0)
        tasks = list(results.objects.all())
        assert {task.status for task in tasks} == {"SUCCESSFUL"}
        # The totals of the tasks add up to the world: each event claimed once, each pair sent once.
        totals = Counter()
        for task in tasks:
            totals.update(task.return_value)
        assert (totals["claimed"], totals["recorded"], totals["sent"]) == (
            EVENTS,
            len(expected),
            len(expected),
        )
        # Both workers ran tasks (each task's row names its worker).
        assert {worker_id for task in tasks for worker_id in task.worker_ids} == {
            "db-worker-1",
            "db-worker-2",
        }
        print(f"\ndjango-tasks-db, 2 workers: {len(expected)} pairs in {seconds:.1f} s, {EVENTS} tasks")

    def test_a_creation_rolled_back_enqueues_nothing(self, members, task_database, on_creation):
        on_creation("email")
        with pytest.raises(RuntimeError), transaction.atomic():
            Event.objects.create_event(source=members["source"], uuid="gone")
            raise RuntimeError("rolled back")
        assert not task_database.objects.exists()
        Event.objects.create_event(source=members["source"], uuid="kept")
        [task] = task_database.objects.all()
        assert (task.status, task.task_path) == ("READY", "entity_event.delivery.tasks.deliver_events")

    def test_a_worker_killed_mid_task_leaves_it_running_for_ever_and_the_next_run_delivers(
        self, members, task_database, on_creation, smtp, environment, workers, tmp_path
    ):
        results = task_database
        port, handler = smtp
        on_creation("email", chunk_size=CHUNK_SIZE, handler=SENDING_WORKER_HANDLER)
        start_db_workers(environment, tmp_path, workers)
        handler.hold_after(KILL_AFTER)
        # One creation, one task: one worker runs it, the other waits for more.
        events = Event.objects.create_events(
            [
                {"source": members["source"], "uuid": f"news-{n}", "context": {"n": n}}
                for n in range(KILLED_EVENTS)
            ]
        )
        [task] = results.objects.all()
        victim, arrived = kill_while_sending(handler, workers, environment)
        task.refresh_from_db()
        assert (task.status, task.worker_ids) == ("RUNNING", [victim.name])
        # The killed task's claimed events keep their deliveries: those of the chunks it
        # finished sent, the rest pending.
        assert EventSeen.objects.count() == KILLED_EVENTS
        assert Counter(Delivery.objects.values_list("status", flat=True)) == {
            "sent": KILL_AFTER - KILL_AFTER % CHUNK_SIZE,
            "pending": KILLED_EVENTS * MEMBERS - (KILL_AFTER - KILL_AFTER % CHUNK_SIZE),
        }

        # The next run: the next creation enqueues a task, which the other worker runs.
        late = Event.objects.create_event(source=members["source"], uuid="late", context={"n": KILLED_EVENTS})
        expected = expected_arrivals([*events, late], members["targets"])
        wait_until(all_sent(len(expected)), TIMEOUT, "every delivery sent", workers, details=statuses)
        wait_until(
            lambda: results.objects.filter(status="SUCCESSFUL").count() == 1,
            TIMEOUT,
            "the next run finished",
            workers,
        )
        survivor = next(worker for worker in workers if worker is not victim)
        assert survivor.stop() == 0
        task.refresh_from_db()
        next_run = results.objects.exclude(pk=task.pk).get()
        # RUNNING for ever: the other worker polled past it, ran the later task and stopped,
        # and never claimed the killed one (a claim adds the worker to the row's workers).
        assert (task.status, task.worker_ids) == ("RUNNING", [victim.name])
        assert (next_run.status, next_run.worker_ids) == ("SUCCESSFUL", [survivor.name])
        duplicates = assert_sent_again_at_most_the_chunk_in_flight(handler, expected)
        print(
            f"\ndjango-tasks-db: killed after {arrived} messages; {duplicates} sent twice "
            f"(bound {CHUNK_SIZE})"
        )


# -- Celery on RabbitMQ ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def rabbitmq() -> Iterator[Any]:
    """The Celery app of the tests (tests/celery_app.py) once RabbitMQ answers; skipped when it
    does not, unless ``REQUIRE_RABBITMQ=1``. This run's queue is deleted at the end."""
    from tests import celery_app

    try:
        with celery_app.app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=5)
    except Exception as error:  # noqa: BLE001 (whatever the reason, it does not answer)
        message = f"RabbitMQ does not answer at {celery_app.BROKER_URL}: {error!r}"
        if os.environ.get("REQUIRE_RABBITMQ") == "1":
            pytest.fail(message)
        pytest.skip(f"{message}; REQUIRE_RABBITMQ=1 makes this a failure")
    try:
        yield celery_app
    finally:
        celery_app.delete_queue()


@pytest.fixture
def celery_on_creation(rabbitmq) -> Iterator[Callable[..., None]]:
    """Connect a receiver of ``events_created`` that enqueues the Celery task with ``options``
    (what a site's receiver does); disconnected, and the queue purged, after the test."""

    def connect(**options: Any) -> None:
        def enqueue_delivery(**kwargs: Any) -> None:
            rabbitmq.deliver_email.delay(**options)

        events_created.connect(enqueue_delivery, weak=False, dispatch_uid="tests.celery_delivery")

    yield connect
    events_created.disconnect(dispatch_uid="tests.celery_delivery")
    with rabbitmq.app.connection_for_write() as connection:
        rabbitmq.app.amqp.queues[rabbitmq.QUEUE].bind(connection.default_channel).purge()


def queue_depth(rabbitmq: Any) -> int:
    """The messages waiting in this run's queue (declared if it was not)."""
    with rabbitmq.app.connection_for_write() as connection:
        queue = rabbitmq.app.amqp.queues[rabbitmq.QUEUE].bind(connection.default_channel)
        queue.declare()
        return int(queue.queue_declare(passive=True).message_count)


def start_celery_workers(
    rabbitmq: Any, environment: dict[str, str], tmp_path: Path, workers: list[Worker]
) -> None:
    workers += [celery_worker(f"celery-{number}", environment, tmp_path, rabbitmq.QUEUE) for number in (1, 2)]
    wait_until(
        lambda: all(worker.is_ready() for worker in workers), TIMEOUT, "the Celery workers start", workers
    )


_RECEIVED = re.compile(r"Task tests\.celery_app\.deliver_email\[[^]]+\] received")
_SUCCEEDED = re.compile(r"Task tests\.celery_app\.deliver_email\[[^]]+\] succeeded in [\d.]+s: (\{.*\})")


def celery_totals(workers: list[Worker]) -> tuple[int, Counter[str]]:
    """The tasks that succeeded, by the workers' logs, and their totals added up."""
    tasks, totals = 0, Counter()
    for worker in workers:
        for match in _SUCCEEDED.finditer(worker.log.read_text(errors="replace")):
            tasks += 1
            totals.update(ast.literal_eval(match.group(1)))
    return tasks, totals


class TestCeleryWorker:
    pytestmark = queue_marks

    def test_two_celery_workers_deliver_every_pair_exactly_once_and_nothing_is_enqueued_for_a_rollback(
        self, members, rabbitmq, celery_on_creation, smtp, environment, workers, tmp_path
    ):
        celery_on_creation()
        # Before any worker takes messages: a creation rolled back enqueues nothing, the first
        # committed one one message.
        assert queue_depth(rabbitmq) == 0
        with pytest.raises(RuntimeError), transaction.atomic():
            Event.objects.create_event(source=members["source"], uuid="gone")
            raise RuntimeError("rolled back")
        events = [Event.objects.create_event(source=members["source"], uuid="news-0", context={"n": 0})]
        wait_until(lambda: queue_depth(rabbitmq) >= 1, TIMEOUT, "the first message", [])
        assert queue_depth(rabbitmq) == 1
        start_celery_workers(rabbitmq, environment, tmp_path, workers)
        started = time.monotonic()
        events += [
            Event.objects.create_event(source=members["source"], uuid=f"news-{n}", context={"n": n})
            for n in range(1, EVENTS)
        ]
        expected = expected_arrivals(events, members["targets"])
        wait_until(all_sent(len(expected)), TIMEOUT, "every delivery sent", workers, details=statuses)
        wait_until(lambda: celery_totals(workers)[0] == EVENTS, TIMEOUT, "every task finished", workers)
        seconds = time.monotonic() - started
        assert stop_all(workers) == [0, 0]
        assert_arrived(smtp[1], expected, duplicates_at_most=0)
        assert not Event.objects.filter(uuid="gone").exists()
        # The totals of the tasks (as their workers logged them) add up to the world.
        tasks, totals = celery_totals(workers)
        assert (totals["claimed"], totals["recorded"], totals["sent"]) == (
            EVENTS,
            len(expected),
            len(expected),
        )
        # Both workers ran tasks.
        assert all(_SUCCEEDED.search(worker.log.read_text()) for worker in workers)
        print(f"\nCelery, 2 workers: {len(expected)} pairs in {seconds:.1f} s, {tasks} tasks")

    def test_a_worker_killed_mid_task_loses_nothing_and_the_next_run_delivers(
        self, members, rabbitmq, celery_on_creation, smtp, environment, workers, tmp_path
    ):
        port, handler = smtp
        celery_on_creation(chunk_size=CHUNK_SIZE, handler=SENDING_WORKER_HANDLER)
        start_celery_workers(rabbitmq, environment, tmp_path, workers)
        handler.hold_after(KILL_AFTER)
        events = Event.objects.create_events(
            [
                {"source": members["source"], "uuid": f"news-{n}", "context": {"n": n}}
                for n in range(KILLED_EVENTS)
            ]
        )
        victim, arrived = kill_while_sending(handler, workers, environment)
        assert Delivery.objects.filter(status="pending").count() == KILLED_EVENTS * MEMBERS - (
            KILL_AFTER - KILL_AFTER % CHUNK_SIZE
        )
        # The next run (here the next creation's task; or the deliver_entity_events --loop
        # worker) sends what the killed task had claimed.
        late = Event.objects.create_event(source=members["source"], uuid="late", context={"n": KILLED_EVENTS})
        expected = expected_arrivals([*events, late], members["targets"])
        wait_until(all_sent(len(expected)), TIMEOUT, "every delivery sent", workers, details=statuses)
        survivor = next(worker for worker in workers if worker is not victim)
        wait_until(lambda: celery_totals([survivor])[0] == 1, TIMEOUT, "the next run finished", workers)
        assert survivor.stop() == 0
        # The killed task's message had been acknowledged when it started: it never ran again,
        # the survivor received the next creation's task only.
        assert len(_RECEIVED.findall(survivor.log.read_text(errors="replace"))) == 1
        assert celery_totals([survivor])[0] == 1
        assert queue_depth(rabbitmq) == 0
        duplicates = assert_sent_again_at_most_the_chunk_in_flight(handler, expected)
        print(f"\nCelery: killed after {arrived} messages; {duplicates} sent twice (bound {CHUNK_SIZE})")
