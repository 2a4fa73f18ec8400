"""Delivery through restarts of the database server: nothing lost, at most the chunks in flight
sent again.

The server is a private cluster (tests/pg_cluster.py), never the machine's own. Two worker
processes deliver one announcement to 300 members in chunks of 10 (``--loop``), through an SMTP
server that takes a little time per message, and the cluster is restarted twice in the middle,
with ``immediate`` stops (every connection cut, crash recovery on start). A looping worker
outlives the database going away (``run_batches``): the chunk it had in flight was sent but its
outcome never committed, so it stays pending and is sent again. The promise: every message
arrives, and at most restarts x workers x chunk size arrive twice.

The run's processes have their own Django settings and database (tests/delivery/fault_runs.py);
this test uses no Django database of the test run.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.delivery.fault_runs import (
    Worker,
    prepare_database,
    smtp_server,
    tally,
    wait_until,
    wait_until_sent,
    worker_arguments,
)
from tests.pg_cluster import PrivateCluster, pytest_marks

pytestmark = [pytest.mark.reliability, pytest.mark.postgresql, *pytest_marks()]

#: Seconds any one wait may take before the test fails.
TIMEOUT = 120
MEMBERS = 300
WORKERS = 2
CHUNK_SIZE = 10
RESTARTS = 2


@pytest.fixture
def cluster() -> Iterator[PrivateCluster]:
    with PrivateCluster() as cluster:
        yield cluster


def test_restarts_of_the_database_lose_nothing_and_send_again_at_most_the_chunks_in_flight(
    cluster: PrivateCluster, tmp_path: Path
) -> None:
    expected = prepare_database(cluster, "restarts", members=MEMBERS)
    assert len(expected) == MEMBERS
    # A slow server (for this many messages, several seconds in all) makes the restarts land in
    # the middle of the delivery, while both workers hold a chunk.
    with smtp_server(delay=0.01) as (port, handler):
        started = time.monotonic()
        workers = [
            Worker(
                cluster.url("restarts"),
                port,
                worker_arguments(CHUNK_SIZE, interval=0.2),
                tmp_path,
                f"worker-{number}",
            )
            for number in range(WORKERS)
        ]
        try:
            for restart in range(RESTARTS):
                # Evenly spread over the delivery: after a third and two thirds of the messages.
                target = MEMBERS * (restart + 1) // (RESTARTS + 1)
                wait_until(
                    functools.partial(handler.has_accepted, target),
                    TIMEOUT,
                    f"{target} messages accepted before restart {restart + 1}",
                    workers,
                )
                cluster.restart(mode="immediate")
            wait_until_sent(cluster, "restarts", len(expected), TIMEOUT, workers)
        finally:
            exit_codes = [worker.stop() for worker in workers]
        seconds = time.monotonic() - started
        outcome = tally(expected, handler.message_ids)
    output = "\n".join(worker.output() for worker in workers)
    bound = RESTARTS * WORKERS * CHUNK_SIZE
    print(
        f"\n{RESTARTS} restarts, {WORKERS} workers, chunks of {CHUNK_SIZE}: {outcome} "
        f"(bound {bound}), {seconds:.1f} s"
    )
    assert exit_codes == [0] * WORKERS, output
    # The workers noticed: each restart cut their connections (the log of run_batches).
    assert output.count("the database is unreachable") >= RESTARTS, output
    assert outcome.lost == 0 and outcome.unexpected == 0, f"{outcome}\n{output}"
    assert outcome.duplicated <= bound, f"{outcome}\n{output}"
