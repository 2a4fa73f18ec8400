"""Benchmark of a site with a real streaming hot standby and entity_event's replica router.

Starts a private PostgreSQL cluster and a hot standby of it (tests/pg_cluster.py; the machine's
server is never touched), builds the site of tests/deployment/standby_site.py on it, and prints,
for each ``--delay`` (the standby's ``recovery_min_apply_delay``), the median of ``--rounds``
runs of:

* the router's cost per decision (``db_for_read``), in microseconds;
* a notification page (``api/``) through the router, its reads on the standby, beside the same
  page with no router, every read on the primary (the floor);
* of 10 "mark all read" answers followed at once by a fetch of the unread count, how many see
  a stale count: with the read-your-writes middleware's pin (5 s), and without it;
* with the standby stopped: the first read (one refused connection, then the primary) and the
  next one (the standby left alone for ``ENTITY_EVENT_REPLICA_RETRY_SECONDS``).

::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench python benchmarks/replicas.py --rounds 3

(``DATABASE_URL`` only says this is a PostgreSQL run: the clusters are private.) About a
minute per round.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.deployment.test_standby import ROOT, environment, run, step  # noqa: E402
from tests.pg_cluster import PrivateCluster  # noqa: E402


def outage(url: str, standby: PrivateCluster) -> dict[str, float]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.deployment.standby_site", "outage"],
        cwd=ROOT,
        env=environment(url, standby.url("site")),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdin is not None
    assert process.stdout.readline().strip() == "ready"
    standby.stop("immediate")
    output, _ = process.communicate("stopped\n", timeout=300)
    seen = json.loads(output.splitlines()[-1])
    return {
        "first_read_down_ms": seen["first_read_seconds"] * 1000,
        "next_read_down_ms": seen["next_read_seconds"] * 1000,
    }


def one_round(delay: float) -> dict[str, float]:
    with PrivateCluster() as cluster:
        url = cluster.create_database("site")
        run(["manage.py", "migrate", "--noinput", "-v", "0"], url, url)
        step("world", url, url)
        standby = cluster.make_standby(apply_delay_seconds=delay)
        figures = step("measure", url, standby.url("site"))
        figures.update(outage(url, standby))
        return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--delay", type=float, nargs="+", default=[0.0, 1.0])
    arguments = parser.parse_args()
    for delay in arguments.delay:
        rounds = [one_round(delay) for _ in range(arguments.rounds)]
        print(f"standby {delay:g} s behind, median of {arguments.rounds} rounds:")
        for name in rounds[0]:
            print(f"  {name:32} {statistics.median(r[name] for r in rounds):10.3f}")


if __name__ == "__main__":
    main()
