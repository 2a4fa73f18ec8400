"""A site with a real streaming hot standby, one second behind its primary (a private cluster:
tests/pg_cluster.py), and entity_event's replica router: a person who writes reads what they
wrote, the library's own writes and the reads they depend on use the primary whatever the
router, and the site goes on when the standby goes down.

The site runs in processes of its own (tests/deployment/standby_site.py, with
``tests.standby_settings``), since the test process's connections are on the machine's server.
The fast tests of the router, on a second connection to the test database, are in
tests/routing/test_replica_router.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.pg_cluster import PrivateCluster, pytest_marks

pytestmark = [pytest.mark.reliability, pytest.mark.postgresql, *pytest_marks()]

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 180
#: How far the standby is behind the primary.
APPLY_DELAY_SECONDS = 1


def environment(primary_url: str, replica_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.standby_settings",
        "PRIMARY_URL": primary_url,
        "REPLICA_URL": replica_url,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }


def run(arguments: list[str], primary_url: str, replica_url: str) -> str:
    result = subprocess.run(
        [sys.executable, *arguments],
        cwd=ROOT,
        env=environment(primary_url, replica_url),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, f"{arguments} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def step(name: str, primary_url: str, replica_url: str) -> dict[str, Any]:
    output = run(["-m", "tests.deployment.standby_site", name], primary_url, replica_url)
    return json.loads(output.splitlines()[-1])


@pytest.fixture(scope="module")
def primary() -> Iterator[tuple[PrivateCluster, str]]:
    """A primary with the site's database, migrated and with its data (each test adds a
    standby of its own: one stops it)."""
    with PrivateCluster() as cluster:
        url = cluster.create_database("site")
        run(["manage.py", "migrate", "--noinput", "-v", "0"], url, url)
        step("world", url, url)
        yield cluster, url


def test_a_person_who_writes_reads_what_they_wrote_from_a_standby_a_second_behind(primary):
    cluster, url = primary
    standby = cluster.make_standby(apply_delay_seconds=APPLY_DELAY_SECONDS)
    seen = step("lagging", url, standby.url("site"))
    assert seen["in_recovery"] is True
    assert seen["standby_refuses_writes"] is True
    # An event created a moment ago, marked by queryset with a router that sends every read to
    # the standby: the queryset is evaluated on the primary, so the event is marked.
    assert seen["fresh_event_on_standby"] is False
    assert seen["marked_by_queryset"] is True
    # Database sessions are read from the primary: logging in and asking at once is not a 403.
    assert seen["request_after_login"] == 200
    for pin in ("pin_5", "pin_0"):
        # The answer of "mark all read" comes from the primary, with or without the router's pin.
        assert seen[pin]["answer"] == 0, pin
        assert seen[pin]["primary_right_after"] == 0, pin
    # The person's next request, with the middleware's cookie, reads from the primary too.
    assert seen["pin_5"]["next_request"] == 0
    # Reads of anyone who did not write go to the standby.
    assert seen["reads_without_a_write_on_standby"] > 0
    # Delivery runs on the primary while the standby lags: every event of Ann's is sent.
    assert seen["delivered"] == seen["events"] > 0


def test_the_site_goes_on_when_its_standby_goes_down(primary):
    cluster, url = primary
    standby = cluster.make_standby(apply_delay_seconds=APPLY_DELAY_SECONDS)
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.deployment.standby_site", "outage"],
        cwd=ROOT,
        env=environment(url, standby.url("site")),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None and process.stdin is not None
        assert process.stdout.readline().strip() == "ready", process.stderr.read() if process.stderr else ""
        standby.stop("immediate")
        process.stdin.write("stopped\n")
        process.stdin.flush()
        output, errors = process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, errors
    seen = json.loads(output.splitlines()[-1])
    # A read on the connection open when the standby went down fails: the failure mode of the
    # requests in flight at that moment.
    assert seen["open_connection_fails"] == "OperationalError"
    # The next ones read from the primary: the first pays one refused connection, the others
    # nothing, until the standby is tried again.
    assert seen["after"] == seen["before"] > 0
    assert seen["first_read_seconds"] < 2.5 and seen["next_read_seconds"] < 0.5
    assert seen["page"] == 200
    # Delivery needs no standby.
    assert seen["delivered"] >= 1
