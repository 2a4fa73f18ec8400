"""Task queue workers in processes of their own, for tests/delivery/test_task_queues.py and
benchmarks/task_queues.py: django-tasks-db's ``manage.py db_worker`` and ``celery worker`` (and,
for the benchmark's floor, ``deliver_entity_events --loop``, the same delivery with no queue).

Each worker is a process group of its own (``start_new_session``): ``kill`` sends ``SIGKILL`` to
all of it at once (a Celery worker is a main process and its pool's child, which runs the task),
as a machine that dies would; ``stop`` asks the main process to finish (``SIGTERM``: both
workers finish their task first) and kills what is left after a while, so that a failed test
leaves no process behind. The workers run with ``tests.task_queue_settings`` on the database the
caller names, and send to the caller's SMTP server (tests/smtp_server.py).

``sending_worker_handler`` is ``send_email`` noting, before each chunk, which worker's process
group sends it (in the file ``ENTITY_EVENT_TEST_SENDERS``): a test knows whom to kill in the
middle of a delivery. ``build_world`` makes what the workers deliver: a group of members
subscribed to the email medium, each event to each member one message.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

#: The project root, where manage.py is.
ROOT = Path(__file__).resolve().parent.parent
#: The settings module of the workers.
SETTINGS = "tests.task_queue_settings"


class WorkerFailed(AssertionError):
    """A wait for the workers failed (a timeout, a worker that exited): the message says which,
    with the end of each worker's output."""


def worker_environment(database_name: str, smtp_port: int, senders: Path | None = None) -> dict[str, str]:
    """The environment of a worker: its settings, database, SMTP port, where it notes senders."""
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": SETTINGS,
        "ENTITY_EVENT_TEST_DATABASE_NAME": database_name,
        "ENTITY_EVENT_TEST_SMTP_PORT": str(smtp_port),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "PYTHONUNBUFFERED": "1",
    }
    if senders is not None:
        environment["ENTITY_EVENT_TEST_SENDERS"] = str(senders)
    return environment


class Worker:
    """A worker process (and its children), its output in ``log_directory/NAME.log``; ``ready``
    is a line its output has once it takes tasks."""

    def __init__(
        self, name: str, command: list[str], environment: dict[str, str], log_directory: Path, ready: str
    ) -> None:
        self.name = name
        self.ready_line = ready
        self.log = log_directory / f"{name}.log"
        self._terminated = False
        self._log_file: IO[str] = self.log.open("w")
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        """The main process's id, which is also the id of the worker's process group."""
        return self.process.pid

    def is_ready(self) -> bool:
        return self.ready_line in self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL to the whole worker at once: no cleanup, its connections cut by the kernel."""
        self._signal_group(signal.SIGKILL)
        self.process.wait(timeout=60)

    def terminate(self) -> None:
        """SIGTERM to the main process, once (a second one makes either worker stop at once)."""
        if not self._terminated and self.process.poll() is None:
            self._terminated = True
            self.process.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = 60) -> int | None:
        """SIGTERM to the main process (it finishes its task, then exits), then SIGKILL to whatever
        is left of the group; the exit code, or ``None`` if it had to be killed."""
        code: int | None
        self.terminate()
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            code = None
        self._signal_group(signal.SIGKILL)  # a pool child left behind, or a worker that hung
        if code is None:
            self.process.wait(timeout=60)
        self._log_file.close()
        return code

    def _signal_group(self, number: int) -> None:
        with contextlib.suppress(ProcessLookupError):  # the whole group has exited
            os.killpg(self.process.pid, number)

    def output(self, lines: int = 30) -> str:
        """The last ``lines`` lines of the worker's output, for the failure messages."""
        text = self.log.read_text(errors="replace").splitlines()[-lines:]
        return f"--- {self.name} (exit {self.process.poll()}) ---\n" + "\n".join(text)


def db_worker(name: str, environment: dict[str, str], log_directory: Path) -> Worker:
    """``manage.py db_worker`` (django-tasks-db) named ``name``, polling every 0.1 s."""
    command = [sys.executable, "manage.py", "db_worker", "--worker-id", name]
    command += ["--interval", "0.1", "--no-startup-delay", "--no-reload", "--verbosity", "1"]
    return Worker(name, command, environment, log_directory, ready=f"Starting worker worker_id={name}")


def celery_worker(name: str, environment: dict[str, str], log_directory: Path, queue: str) -> Worker:
    """``celery -A tests.celery_app worker`` named ``name@...``: one pool process (prefork), on
    ``queue`` only."""
    command = [sys.executable, "-m", "celery", "-A", "tests.celery_app", "worker", "--hostname", f"{name}@%h"]
    command += ["--queues", queue, "--concurrency", "1", "--pool", "prefork", "--loglevel", "INFO"]
    command += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    return Worker(
        name, command, {**environment, "ENTITY_EVENT_TEST_CELERY_QUEUE": queue}, log_directory, "ready."
    )


def delivery_loop_worker(name: str, environment: dict[str, str], log_directory: Path) -> Worker:
    """``manage.py deliver_entity_events --medium email --loop``, polling every 0.1 s as the
    db_workers do: the same delivery with no task queue (the floor of the benchmark). It prints
    nothing until it delivers: it counts as ready at once."""
    command = [sys.executable, "manage.py", "deliver_entity_events", "--medium", "email"]
    command += ["--loop", "--interval", "0.1"]
    return Worker(name, command, environment, log_directory, ready="")


def wait_until(
    condition: Callable[[], bool],
    timeout: float,
    what: str,
    workers: Iterable[Worker],
    interval: float = 0.05,
    details: Callable[[], str] = str,
) -> None:
    """Wait until ``condition()``; ``WorkerFailed`` naming ``what``, with the workers' output
    (and ``details()``), when ``timeout`` seconds pass first or a worker that was running exits."""
    workers = [worker for worker in workers if worker.process.poll() is None]
    deadline = time.monotonic() + timeout
    while not condition():
        exited = [worker.name for worker in workers if worker.process.poll() is not None]
        if exited or time.monotonic() > deadline:
            reason = f"{', '.join(exited)} exited" if exited else f"not within {timeout} s"
            outputs = "\n".join(worker.output() for worker in workers)
            raise WorkerFailed(f"{what}: {reason}; {details()}\n{outputs}")
        time.sleep(interval)


def stop_all(workers: Iterable[Worker]) -> list[int | None]:
    """Stop every worker (SIGTERM to all first, so that they wind down together)."""
    workers = list(workers)
    for worker in workers:
        worker.terminate()
    return [worker.stop() for worker in workers]


# -- what the workers send --------------------------------------------------------------------


def sending_worker_handler(batch: Any) -> Any:
    """``send_email``, noting first, in the file ``ENTITY_EVENT_TEST_SENDERS``, the process group
    that sends the chunk (the worker's id) and its size."""
    from entity_event.delivery import send_email

    with open(os.environ["ENTITY_EVENT_TEST_SENDERS"], "a") as senders:
        senders.write(f"{os.getpgrp()} {len(batch.pairs)}\n")
    return send_email(batch)


def senders(path: Path) -> list[int]:
    """The process group of each chunk sent so far, in order (``sending_worker_handler``)."""
    if not path.exists():
        return []
    return [int(line.split()[0]) for line in path.read_text().splitlines() if line.strip()]


def build_world(members: int) -> dict[str, Any]:
    """An email medium with a renderer and a group of ``members`` members (with an address each)
    subscribed to every event of a source; no event yet."""
    from entity_event.models import ContextRenderer, Medium, RenderingStyle, Source, SourceGroup, Subscription
    from tests.entities import entity_kind, make_entity

    style = RenderingStyle.objects.create(name="mail")
    email = Medium.objects.create(name="email", display_name="Email", rendering_style=style)
    group = SourceGroup.objects.create(name="site", display_name="Site")
    source = Source.objects.create(group=group, name="news", display_name="News")
    ContextRenderer.objects.create(
        name="news", rendering_style=style, source=source, text_template="News {{ n }}"
    )
    everyone = make_entity("Members", kind="group")
    targets = [make_entity(f"Member {n}", supers=(everyone,)) for n in range(members)]
    Subscription.objects.create(
        medium=email,
        source=source,
        entity=everyone,
        sub_entity_kind=entity_kind("user"),
        only_following=False,
    )
    return {"medium": email, "source": source, "targets": targets}


def expected_arrivals(events: Iterable[Any], targets: Iterable[Any]) -> set[tuple[str, str]]:
    """``(Message-ID, recipient)`` of every message that ``events`` make for ``targets``."""
    from entity_event.delivery import message_id

    targets = list(targets)
    return {
        (message_id([event], target), target.entity_meta["email"]) for event in events for target in targets
    }
