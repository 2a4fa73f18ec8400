"""Delivery runs on a private PostgreSQL cluster, for the fault tests and the fault benchmark.

A run: a database of a ``PrivateCluster`` (tests/pg_cluster.py), migrated and given one
announcement to a group of members subscribed on an email medium; worker processes running
``manage.py deliver_entity_events`` on it; an SMTP server in the calling process that records
the ``Message-ID`` of every message it accepts. Faults are then made from outside (a worker
killed, the cluster restarted), and ``tally`` says what arrived: expected, lost, duplicated.

Everything that touches the run's database runs in a process of its own, with ``DATABASE_URL``
pointing at the cluster and ``DJANGO_SETTINGS_MODULE=tests.smtp_settings``: the process that
runs the tests has its Django connections on the machine's own server, which is never
restarted. The caller reads the database with ``psql`` (``PrivateCluster.psql``), which works
whatever driver the leg installs. Used by tests/delivery/test_database_restart.py and
benchmarks/faults.py; ``python -m tests.delivery.fault_runs --members N --output FILE`` is the
world-building step (run by ``prepare_database``).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import message_from_bytes
from pathlib import Path
from typing import IO, Any

from tests.pg_cluster import ClusterError, PrivateCluster

#: The project root, where manage.py is.
ROOT = Path(__file__).resolve().parent.parent.parent
#: The settings module of the processes of a run.
SETTINGS = "tests.smtp_settings"


class RunFailed(AssertionError):
    """A step of a run failed (a process exited badly, a wait timed out): the message says which,
    with the output of the processes concerned."""


# -- the mail server -------------------------------------------------------------------------


class RecordingSMTPHandler:
    """An aiosmtpd handler that accepts every message and keeps its ``Message-ID``; ``delay``
    seconds per message, so that faults land in the middle of a delivery."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.message_ids: list[str] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        if self.delay:
            time.sleep(self.delay)  # holds the server's loop: the workers wait in turn, as on a slow server
        with self.lock:
            self.message_ids.append(str(message_from_bytes(envelope.content)["Message-ID"]))
        return "250 OK"

    @property
    def accepted(self) -> int:
        """How many messages the server accepted so far."""
        with self.lock:
            return len(self.message_ids)

    def has_accepted(self, count: int) -> bool:
        """Whether the server accepted ``count`` messages or more (a condition to wait for)."""
        return self.accepted >= count


@contextmanager
def smtp_server(delay: float = 0.0) -> Iterator[tuple[int, RecordingSMTPHandler]]:
    """An SMTP server on 127.0.0.1 for the block: yields its port and its handler."""
    import aiosmtpd.controller

    from tests.pg_cluster import free_port

    handler = RecordingSMTPHandler(delay)
    controller = aiosmtpd.controller.Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller.port, handler
    finally:
        controller.stop()


# -- the database ----------------------------------------------------------------------------


def project_environment(url: str, smtp_port: int = 25) -> dict[str, str]:
    """The environment of a process of the run: its database, its settings, the SMTP port."""
    return {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": SETTINGS,
        "ENTITY_EVENT_TEST_SMTP_PORT": str(smtp_port),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }


def run_step(arguments: list[str], url: str, what: str, timeout: float = 300) -> None:
    """Run ``python ARGUMENTS`` in the project root on the run's database; ``RunFailed`` with its
    output when it fails."""
    try:
        result = subprocess.run(
            [sys.executable, *arguments],
            cwd=ROOT,
            env=project_environment(url),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise RunFailed(f"{what} took more than {timeout} s") from error
    if result.returncode != 0:
        raise RunFailed(f"{what} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")


def migrate(cluster: PrivateCluster, dbname: str) -> None:
    """Create the database ``dbname`` on the cluster and migrate it (``manage.py migrate``)."""
    url = cluster.create_database(dbname)
    run_step(["manage.py", "migrate", "--noinput", "-v", "0"], url, f"migrate {dbname}")


def prepare_database(
    cluster: PrivateCluster, dbname: str, members: int, template: str | None = None
) -> set[str]:
    """Create ``dbname`` (migrated, or a copy of the migrated ``template``) with one announcement
    to ``members`` members; return the ``Message-ID`` of every message the run must deliver."""
    if template is None:
        migrate(cluster, dbname)
    else:
        cluster.create_database(dbname, template=template)
    with tempfile.TemporaryDirectory() as directory:
        output = Path(directory) / "message_ids.json"
        run_step(
            ["-m", "tests.delivery.fault_runs", "--members", str(members), "--output", str(output)],
            cluster.url(dbname),
            f"the world of {dbname}",
        )
        return set(json.loads(output.read_text()))


def statuses(cluster: PrivateCluster, dbname: str) -> Counter[str] | None:
    """``{status: records}`` of the run's deliveries, or ``None`` when the cluster does not
    answer (it is restarting)."""
    try:
        rows = cluster.psql("SELECT status, count(*) FROM entity_event_delivery GROUP BY status", dbname)
    except ClusterError:
        return None
    return Counter({status: int(count) for status, count in (row.split("|") for row in rows.splitlines())})


# -- the workers -----------------------------------------------------------------------------


class Worker:
    """A ``manage.py deliver_entity_events --medium email`` process on the run's database, its
    output in files of ``log_directory`` (read back by ``output``)."""

    def __init__(
        self, url: str, smtp_port: int, arguments: list[str], log_directory: Path, name: str
    ) -> None:
        self.name = name
        self.log = log_directory / f"{name}.log"
        self._log_file: IO[str] = self.log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "deliver_entity_events", "--medium", "email", *arguments],
            cwd=ROOT,
            env=project_environment(url, smtp_port),
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )

    def kill(self) -> None:
        """SIGKILL: the process dies at once, its transaction and locks with its connection."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=60)

    def stop(self, timeout: float = 60) -> int | None:
        """SIGTERM (the command finishes its batch, then exits); its exit code, or ``None`` if it
        was still running after ``timeout`` seconds (then killed)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None
        finally:
            self._log_file.close()

    def output(self, lines: int = 40) -> str:
        """The last ``lines`` lines of the worker's output, for the failure messages."""
        text = self.log.read_text(errors="replace").splitlines()[-lines:]
        return f"--- {self.name} (exit {self.process.poll()}) ---\n" + "\n".join(text)


def worker_arguments(chunk_size: int, interval: float) -> list[str]:
    """The options of a run's workers: chunks of ``chunk_size``, looping, ``interval`` s idle."""
    return ["--chunk-size", str(chunk_size), "--loop", "--interval", str(interval), "--retry-delay", "0"]


def wait_until(
    condition: Callable[[], bool], timeout: float, what: str, workers: list[Worker], interval: float = 0.02
) -> None:
    """Wait until ``condition()``; ``RunFailed`` naming ``what``, with the workers' output, when
    ``timeout`` seconds pass first or a worker exits (a looping worker never should)."""
    deadline = time.monotonic() + timeout
    while not condition():
        exited = [worker for worker in workers if worker.process.poll() is not None]
        if exited or time.monotonic() > deadline:
            reason = "a worker exited" if exited else f"not within {timeout} s"
            raise RunFailed(f"{what}: {reason}\n" + "\n".join(worker.output() for worker in workers))
        time.sleep(interval)


def wait_until_sent(
    cluster: PrivateCluster, dbname: str, expected: int, timeout: float, workers: list[Worker]
) -> None:
    """Wait until the run's database has ``expected`` deliveries, all sent."""
    last: list[Counter[str] | None] = [None]

    def all_sent() -> bool:
        last[0] = statuses(cluster, dbname)
        return last[0] is not None and last[0]["sent"] == expected == sum(last[0].values())

    try:
        wait_until(all_sent, timeout, f"every delivery sent ({expected})", workers, interval=0.2)
    except RunFailed as error:
        raise RunFailed(f"{error}\nlast statuses: {last[0]}") from None


# -- the outcome -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Tally:
    """What a run delivered: messages expected, that arrived (distinct), lost (expected, never
    arrived), duplicated (arrivals beyond the first), unexpected (arrived, never expected)."""

    expected: int
    arrived: int
    lost: int
    duplicated: int
    unexpected: int

    def __str__(self) -> str:
        return (
            f"{self.expected} expected, {self.arrived} arrived, {self.lost} lost, "
            f"{self.duplicated} duplicated, {self.unexpected} unexpected"
        )


def tally(expected: set[str], message_ids: list[str]) -> Tally:
    """The ``Tally`` of a run that had to deliver ``expected`` and whose server accepted
    ``message_ids``."""
    arrivals = Counter(message_ids)
    return Tally(
        expected=len(expected),
        arrived=len(expected & set(arrivals)),
        lost=len(expected - set(arrivals)),
        duplicated=sum(count - 1 for count in arrivals.values()),
        unexpected=len(set(arrivals) - expected),
    )


# -- the world (run in a process of the run: python -m tests.delivery.fault_runs) -------------


def build_world(members: int) -> list[str]:
    """One announcement to ``members`` members (``one_announcement`` of the process tests), in
    the database of ``DATABASE_URL``; the ``Message-ID`` of every message it makes."""
    import django

    django.setup()
    from entity_event.models import SourceGroup
    from tests.delivery.test_processes import expected_message_ids, one_announcement

    group = SourceGroup.objects.create(name="site", display_name="Site", description="Faults")
    one_announcement(group, members=members)
    return sorted(expected_message_ids())


def main() -> None:
    """Build the world in the database of ``DATABASE_URL``; write its Message-IDs to a file."""
    parser = argparse.ArgumentParser(description=build_world.__doc__)
    parser.add_argument("--members", type=int, required=True)
    parser.add_argument("--output", type=Path, required=True, help="a JSON list of the Message-IDs")
    options = parser.parse_args()
    options.output.write_text(json.dumps(build_world(options.members)))


if __name__ == "__main__":
    main()
