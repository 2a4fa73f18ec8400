"""Benchmark of delivery through faults: messages lost and sent twice when workers die or the
database server restarts.

On a private PostgreSQL cluster of its own (tests/pg_cluster.py: never the machine's server,
which it does not touch, so no ``DATABASE_URL`` is needed), it migrates a database once, then for
each scenario copies it, adds one announcement to ``--members`` members of a subscribed group,
starts ``--workers`` processes of ``manage.py deliver_entity_events --medium email --loop
--chunk-size N`` and an SMTP server on 127.0.0.1 that records the ``Message-ID`` of every message
(``--delay`` seconds each), and makes faults evenly spread over the delivery:

* **kills** (``--kills N``): a worker (each in turn) is SIGKILLed N times in the middle of the
  delivery and a new one started in its place; each kill may send again the one chunk the
  victim had in flight, so the bound on duplicates is N x chunk size;
* **restarts** (``--restarts N``): the cluster is restarted N times with ``immediate`` stops
  (every connection cut, crash recovery); each restart may send again the chunk each worker
  had in flight: N x workers x chunk size.

For each scenario it prints the messages expected, arrived, lost, duplicated, the bound and the
wall time (workers started to every delivery sent), and exits with an error when a message was
lost or the duplicates exceed the bound. ``--kills 0`` or ``--restarts 0`` leaves a scenario
out. As root, the cluster's binaries run as the ``postgres`` OS user::

    python benchmarks/faults.py --members 2000 --workers 2 --chunk-size 10 --kills 3 --restarts 3
"""

from __future__ import annotations

import argparse
import functools
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.delivery.fault_runs import (  # noqa: E402
    Tally,
    Worker,
    migrate,
    prepare_database,
    smtp_server,
    tally,
    wait_until,
    wait_until_sent,
    worker_arguments,
)
from tests.pg_cluster import PrivateCluster  # noqa: E402

TEMPLATE = "faults_template"


@dataclass(frozen=True)
class Scenario:
    """A kind of fault: its name, how many, the bound on what it sends again, what makes one."""

    name: str
    faults: int
    bound: int
    #: Makes fault number ``n`` (from 0) in a run: the cluster and the list of running workers,
    #: which it may change (a killed worker replaced), and a way to start a worker.
    make_fault: Callable[[int, PrivateCluster, list[Worker], Callable[[str], Worker]], None]


def kill_a_worker(
    number: int, cluster: PrivateCluster, workers: list[Worker], start: Callable[[str], Worker]
) -> None:
    """SIGKILL the workers in turn, each replaced at once by a new one."""
    index = number % len(workers)
    workers[index].kill()
    workers[index] = start(f"{workers[index].name}-after-kill-{number + 1}")


def restart_the_cluster(
    number: int, cluster: PrivateCluster, workers: list[Worker], start: Callable[[str], Worker]
) -> None:
    """Restart the cluster as a crash would: an immediate stop, then a start (crash recovery)."""
    cluster.restart(mode="immediate")


def run_scenario(
    cluster: PrivateCluster, scenario: Scenario, options: argparse.Namespace, log_directory: Path
) -> tuple[Tally, float]:
    """One run of ``scenario`` on a fresh copy of the migrated database: its tally and seconds."""
    dbname = f"faults_{scenario.name}"
    expected = prepare_database(cluster, dbname, options.members, template=TEMPLATE)
    arguments = worker_arguments(options.chunk_size, interval=0.2)
    with smtp_server(delay=options.delay) as (port, handler):

        def start(name: str) -> Worker:
            return Worker(cluster.url(dbname), port, arguments, log_directory, f"{scenario.name}-{name}")

        started = time.monotonic()
        workers = [start(f"worker-{number}") for number in range(options.workers)]
        everyone: list[Worker] = list(workers)
        try:
            for number in range(scenario.faults):
                target = len(expected) * (number + 1) // (scenario.faults + 1)
                wait_until(
                    functools.partial(handler.has_accepted, target),
                    options.timeout,
                    f"{target} messages accepted before {scenario.name} {number + 1}",
                    workers,
                )
                scenario.make_fault(number, cluster, workers, start)
                everyone.extend(worker for worker in workers if worker not in everyone)
            wait_until_sent(cluster, dbname, len(expected), options.timeout, workers)
            seconds = time.monotonic() - started
        finally:
            for worker in everyone:
                worker.stop()
        return tally(expected, handler.message_ids), seconds


def main() -> None:
    """Run the scenarios the options ask for; print a line each; exit 1 when one broke its bound."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=2000, help="recipients of the announcement")
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--chunk-size", type=int, default=10, help="deliveries per chunk")
    parser.add_argument("--kills", type=int, default=3, help="workers SIGKILLed (0: no such scenario)")
    parser.add_argument("--restarts", type=int, default=3, help="cluster restarts (0: no such scenario)")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds the SMTP server takes per message")
    parser.add_argument("--timeout", type=float, default=300, help="seconds any one wait may take")
    options = parser.parse_args()
    scenarios = [
        Scenario("kills", options.kills, options.kills * options.chunk_size, kill_a_worker),
        Scenario(
            "restarts",
            options.restarts,
            options.restarts * options.workers * options.chunk_size,
            restart_the_cluster,
        ),
    ]
    scenarios = [scenario for scenario in scenarios if scenario.faults > 0]
    broken = False
    with PrivateCluster() as cluster, tempfile.TemporaryDirectory(prefix="faults-") as logs:
        migrate(cluster, TEMPLATE)
        print(
            f"{options.members} members, {options.workers} workers, chunks of {options.chunk_size}, "
            f"SMTP delay {options.delay} s, PostgreSQL on port {cluster.port}"
        )
        print(
            f"{'scenario':<14} {'expected':>8} {'arrived':>8} {'lost':>5} {'dupes':>6} {'bound':>6} "
            f"{'seconds':>8}"
        )
        for scenario in scenarios:
            outcome, seconds = run_scenario(cluster, scenario, options, Path(logs))
            print(
                f"{scenario.faults} {scenario.name:<12} {outcome.expected:>8} {outcome.arrived:>8} "
                f"{outcome.lost:>5} {outcome.duplicated:>6} {scenario.bound:>6} {seconds:>8.1f}"
            )
            broken |= outcome.lost > 0 or outcome.unexpected > 0 or outcome.duplicated > scenario.bound
    sys.exit(1 if broken else 0)


if __name__ == "__main__":
    main()
