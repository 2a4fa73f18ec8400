"""The private PostgreSQL clusters of the fault tests (tests/pg_cluster.py): a server of their
own that a test may crash, stop and start, and streaming standbys that may lag.

They need no Django database; they run on the PostgreSQL legs, where the binaries are
(``tests.pg_cluster.pytest_marks``). One cluster serves the module, a few more are made where a
test must see a cluster made or thrown away.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

from tests.pg_cluster import ClusterError, PrivateCluster, pytest_marks, wait_for

pytestmark = pytest_marks()


@pytest.fixture(scope="module")
def cluster() -> Iterator[PrivateCluster]:
    with PrivateCluster() as cluster:
        cluster.psql("CREATE TABLE rows (n integer PRIMARY KEY)")
        yield cluster


def count(cluster: PrivateCluster, where: str = "true") -> int:
    return int(cluster.psql(f"SELECT count(*) FROM rows WHERE {where}"))


def test_a_cluster_listens_on_a_port_of_its_own_with_fsync_on(cluster: PrivateCluster) -> None:
    assert cluster.is_running()
    assert cluster.port != 5432
    assert cluster.url("news") == f"postgres://postgres@127.0.0.1:{cluster.port}/news"
    settings = cluster.psql(
        "SELECT inet_server_addr(), inet_server_port(), current_setting('fsync'), version()"
    ).split("|")
    assert settings[:3] == ["127.0.0.1", str(cluster.port), "on"]
    assert settings[3].startswith("PostgreSQL 15")
    url = cluster.create_database("made_here")
    assert url.endswith("/made_here")
    assert cluster.psql("SELECT current_database()", dbname="made_here") == "made_here"


def test_what_was_committed_outlives_an_immediate_restart(cluster: PrivateCluster) -> None:
    cluster.psql("INSERT INTO rows VALUES (1)")
    cluster.restart(mode="immediate")
    assert cluster.is_running()
    assert count(cluster, "n = 1") == 1
    assert "automatic recovery in progress" in cluster.log_file.read_text()


def test_a_stopped_cluster_refuses_connections_until_started(cluster: PrivateCluster) -> None:
    cluster.stop()
    try:
        assert not cluster.is_running()
        with pytest.raises(ClusterError, match="psql on port"):
            cluster.psql("SELECT 1")
    finally:
        cluster.start()
    assert cluster.psql("SELECT 1") == "1"


def test_closing_stops_the_server_and_removes_its_directory_even_after_a_failure() -> None:
    cluster = PrivateCluster()
    directory = None
    with pytest.raises(ZeroDivisionError), cluster:
        directory = cluster.directory
        assert directory is not None and directory.exists()
        1 / 0  # noqa: B018 (the failure inside the block)
    assert not cluster.is_running()
    assert directory is not None and not directory.exists()
    cluster.close()  # again: nothing to do


@pytest.mark.skipif(os.geteuid() != 0, reason="the OS user of the server differs from ours only for root")
def test_as_root_the_server_runs_as_the_postgres_user(cluster: PrivateCluster) -> None:
    assert cluster.directory is not None
    assert cluster.directory.stat().st_uid != 0
    assert cluster.psql("SELECT current_user") == "postgres"


def test_a_standby_streams_what_the_primary_writes(cluster: PrivateCluster) -> None:
    cluster.psql("INSERT INTO rows VALUES (10)")
    with cluster.make_standby() as standby:
        assert standby.port not in (cluster.port, 5432)
        assert standby.psql("SELECT pg_is_in_recovery()") == "t"
        assert count(standby, "n = 10") == 1  # in the base backup
        cluster.psql("INSERT INTO rows VALUES (11)")
        assert wait_for(lambda: count(standby, "n = 11") == 1, timeout=10)  # streamed
        with pytest.raises(ClusterError, match="read-only transaction"):
            standby.psql("INSERT INTO rows VALUES (12)")
    assert not standby.is_running()


def test_a_standby_with_an_apply_delay_shows_a_fresh_row_only_after_the_delay(
    cluster: PrivateCluster,
) -> None:
    with cluster.make_standby(apply_delay_seconds=1) as standby:
        assert standby.psql("SHOW recovery_min_apply_delay") == "1s"
        cluster.psql("INSERT INTO rows VALUES (20)")
        written = time.monotonic()
        assert count(standby, "n = 20") == 0
        assert wait_for(lambda: count(standby, "n = 20") == 1, timeout=10)
        # Applied no sooner than the delay after the commit (less the time psql took to return).
        assert time.monotonic() - written >= 0.8
