"""A private PostgreSQL cluster for the tests that must restart, stop or replicate a server.

The machine's own server (127.0.0.1:5432) is shared by the rest of the suite and by people:
a test never stops or restarts it. A test that needs a server to go away instead starts a
``PrivateCluster``: a throwaway cluster made by ``initdb`` in a temporary directory, listening on
127.0.0.1 on a free port with trust authentication for the ``postgres`` role, ``fsync`` on (so
that an immediate stop, PostgreSQL's stand-in for a crash, goes through real crash recovery).
``make_standby`` adds a streaming hot standby of it, optionally lagging behind
(``recovery_min_apply_delay``), for the tests of read replicas.

The binaries are those of PostgreSQL 15 (``PG_CLUSTER_BIN_DIR`` points elsewhere). ``initdb``
refuses to run as root, so when the suite runs as root every server binary runs as the
``postgres`` OS user (``runuser``), in a directory that user owns. Queries go through ``psql``,
not a Python driver, so that the clusters work the same on the psycopg and the psycopg2 legs.

The tests that start clusters carry the ``pg_cluster`` marker and run on the PostgreSQL legs
only (``pytest_marks``): each leg starts them once, and the SQLite and MariaDB legs, which need
no PostgreSQL binaries, skip them. Without the binaries they are skipped too, unless
``REQUIRE_PG_CLUSTER=1``, which makes them fail instead (a CI leg that must run them).
"""

from __future__ import annotations

import atexit
import os
import re
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import pytest

#: Where the PostgreSQL binaries are.
BIN_DIR = Path(os.environ.get("PG_CLUSTER_BIN_DIR", "/usr/lib/postgresql/15/bin"))
#: The binaries a cluster and its standbys use.
BINARIES = ("initdb", "pg_ctl", "pg_basebackup", "postgres", "psql")
#: The OS user the server binaries run as when the suite runs as root.
OS_USER = "postgres"
#: The database role of a cluster (the superuser ``initdb`` makes).
ROLE = "postgres"
#: Seconds ``pg_ctl`` waits for a server to start or stop.
PG_CTL_TIMEOUT = 60

StopMode = Literal["smart", "fast", "immediate"]

_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")


class ClusterError(RuntimeError):
    """A cluster could not be made, started, stopped or queried (the message says why)."""


def unavailable_reason() -> str | None:
    """Why no private cluster can run here (a missing binary, no ``postgres`` OS user for a
    root run), or ``None`` when one can."""
    missing = [name for name in BINARIES if not os.access(BIN_DIR / name, os.X_OK)]
    if missing:
        return f"PostgreSQL binaries missing in {BIN_DIR}: {', '.join(missing)} (set PG_CLUSTER_BIN_DIR)"
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            return "running as root, and there is no runuser to run initdb as another user"
        try:
            import pwd

            pwd.getpwnam(OS_USER)
        except KeyError:
            return f"running as root, and there is no {OS_USER!r} OS user to run initdb as"
    return None


def on_postgresql_leg() -> bool:
    """Whether this test run is a PostgreSQL leg (``DATABASE_URL=postgres://...``)."""
    return os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))


def pytest_marks() -> list[pytest.MarkDecorator]:
    """The marks of a test module that starts private clusters (its ``pytestmark``): the
    ``pg_cluster`` marker, skipped off the PostgreSQL legs, and where the binaries are missing
    unless ``REQUIRE_PG_CLUSTER=1`` (then ``PrivateCluster.start`` fails, saying what is missing)."""
    import pytest

    marks = [pytest.mark.pg_cluster]
    if not on_postgresql_leg():
        marks.append(
            pytest.mark.skip(
                reason="private PostgreSQL clusters start on the PostgreSQL legs only (DATABASE_URL=postgres://...)"
            )
        )
    elif (reason := unavailable_reason()) is not None and os.environ.get("REQUIRE_PG_CLUSTER") != "1":
        marks.append(pytest.mark.skip(reason=f"{reason}; REQUIRE_PG_CLUSTER=1 makes this a failure"))
    return marks


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (the kernel's pick)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def as_server_user(command: Sequence[str]) -> list[str]:
    """``command`` run as the ``postgres`` OS user when we are root (``initdb`` and ``postgres``
    refuse root), else as ourselves."""
    if os.geteuid() == 0:
        return ["runuser", "-u", OS_USER, "--", *command]
    return list(command)


class PrivateCluster:
    """A throwaway PostgreSQL cluster on 127.0.0.1, on a port of its own.

    Use it as a context manager (``with PrivateCluster() as cluster:``), which starts it and, on
    the way out, failure or not, stops it and its standbys and removes its directory; or call
    ``start()`` and ``close()``. ``settings`` are extra ``postgresql.conf`` settings
    (``{"max_connections": "50"}``). ``close`` also runs at interpreter exit, so that a test
    process that forgets leaves no server behind.
    """

    def __init__(self, settings: Mapping[str, str] | None = None, *, _primary: PrivateCluster | None = None):
        self.settings = dict(settings or {})
        self.port = 0
        self.directory: Path | None = None
        self.standbys: list[PrivateCluster] = []
        self._primary = _primary
        self._closed = False

    # -- where it is ------------------------------------------------------------------------

    @property
    def data_directory(self) -> Path:
        """The cluster's data directory (``PGDATA``)."""
        if self.directory is None:
            raise ClusterError("the cluster was not started")
        return self.directory / "data"

    @property
    def log_file(self) -> Path:
        """The server's log (what ``pg_ctl -l`` writes), quoted in the errors."""
        return self.data_directory.parent / "server.log"

    def url(self, dbname: str = "postgres") -> str:
        """A ``postgres://`` URL of database ``dbname`` on this cluster, for ``DATABASE_URL``."""
        if not self.port:
            raise ClusterError("the cluster was not started")
        return f"postgres://{ROLE}@127.0.0.1:{self.port}/{dbname}"

    # -- life cycle -------------------------------------------------------------------------

    def start(self) -> PrivateCluster:
        """Make the cluster the first time (``initdb``, or a base backup for a standby), then
        start its server and wait until it accepts connections. Returns the cluster."""
        if self._closed:
            raise ClusterError("the cluster was closed")
        first_start = self.directory is None
        if first_start:
            reason = unavailable_reason()
            if reason is not None:
                raise ClusterError(reason)
            self._make()
            atexit.register(self.close)
        if self.is_running():
            return self
        # The port was free when chosen, but something may have taken it since: on the first
        # start, try another (later, clients hold URLs with this port).
        for attempt in range(3 if first_start else 1):
            if attempt:
                self.port = free_port()
                self._write_settings()
            result = self._pg_ctl(
                "start", "-w", "-t", str(PG_CTL_TIMEOUT), "-l", str(self.log_file), check=False
            )
            if result.returncode == 0:
                return self
            if "could not bind" not in self._log_tail():
                break
        raise ClusterError(
            f"the server on port {self.port} did not start: {result.stderr}\n{self._log_tail()}"
        )

    def stop(self, mode: StopMode = "fast") -> None:
        """Stop the server (nothing when it is not running). ``fast`` rolls back the sessions and
        shuts down cleanly; ``immediate`` kills every process at once, as a crash would, and the
        next start runs crash recovery."""
        if self.directory is None or not self.is_running():
            return
        self._pg_ctl("stop", "-w", "-t", str(PG_CTL_TIMEOUT), "-m", mode)

    def restart(self, mode: StopMode = "fast") -> None:
        """Stop the server with ``mode`` (see ``stop``), then start it again on the same port.
        Every session is cut; clients see their connection fail and must connect again."""
        self.stop(mode)
        self.start()

    def is_running(self) -> bool:
        """Whether the cluster's server is running (``pg_ctl status``)."""
        if self.directory is None or not self.data_directory.exists():
            return False
        return self._pg_ctl("status", check=False).returncode == 0

    def close(self) -> None:
        """Stop the standbys and the server and remove the directory (safe to call twice)."""
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self.close)
        try:
            for standby in self.standbys:
                standby.close()
            # The cluster is thrown away: no need for a clean shutdown.
            self.stop("immediate")
        finally:
            if self.directory is not None:
                shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> PrivateCluster:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- standbys ---------------------------------------------------------------------------

    def make_standby(self, apply_delay_seconds: float = 0) -> PrivateCluster:
        """A started hot standby of this (running) cluster, streaming its WAL: a base backup
        (``pg_basebackup -R -X stream``) on a port of its own, with ``hot_standby = on`` and
        ``recovery_min_apply_delay`` of ``apply_delay_seconds`` (a replica that lags behind by
        that much). It is closed with this cluster, or earlier by its own ``close()``."""
        if not self.is_running():
            raise ClusterError("a standby needs its primary running")
        standby = PrivateCluster(
            {
                **self.settings,
                "hot_standby": "on",
                "recovery_min_apply_delay": f"{round(apply_delay_seconds * 1000)}ms",
            },
            _primary=self,
        )
        self.standbys.append(standby)
        try:
            return standby.start()
        except BaseException:
            standby.close()
            raise

    # -- queries ----------------------------------------------------------------------------

    def psql(self, sql: str, dbname: str = "postgres", timeout: float = 30) -> str:
        """Run ``sql`` with ``psql`` on database ``dbname`` and return its output, unaligned
        and without headers (one line per row, columns separated by ``|``). ``ClusterError``
        when psql fails: the server is down, or the statement failed."""
        command = [
            str(BIN_DIR / "psql"),
            "-X",
            "-A",
            "-t",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            ROLE,
            "-d",
            dbname,
            "-c",
            sql,
        ]
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as error:
            raise ClusterError(f"psql on port {self.port} took more than {timeout} s: {sql}") from error
        if result.returncode != 0:
            raise ClusterError(f"psql on port {self.port} failed: {result.stderr.strip()}")
        return result.stdout.strip()

    def create_database(self, name: str, template: str | None = None) -> str:
        """Create the database ``name`` (a lower-case identifier), from ``template`` when given
        (a copy of it, much faster than migrating again); return its URL."""
        for identifier in (name, template):
            if identifier is not None and not _IDENTIFIER.fullmatch(identifier):
                raise ValueError(f"not a plain identifier: {identifier!r}")
        self.psql(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
        return self.url(name)

    # -- making it --------------------------------------------------------------------------

    def _make(self) -> None:
        """Create the directory, owned by the server's OS user, and the data directory in it."""
        self.directory = Path(tempfile.mkdtemp(prefix="pg-cluster-"))
        if os.geteuid() == 0:
            shutil.chown(self.directory, OS_USER, OS_USER)
        self.port = free_port()
        if self._primary is None:
            # --no-sync only spares initdb's own flushing of the files it writes; the server
            # runs with fsync on.
            self._run(
                "initdb",
                "-D",
                str(self.data_directory),
                "-U",
                ROLE,
                "--auth-local=trust",
                "--auth-host=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            )
            with (self.data_directory / "postgresql.conf").open("a") as conf:
                conf.write("\n# The settings of the private cluster (tests/pg_cluster.py).\n")
                conf.write("include 'private_cluster.conf'\n")
        else:
            # The copy brings the primary's postgresql.conf and its include line; -R writes
            # standby.signal and the primary_conninfo that points back at the primary.
            self._run(
                "pg_basebackup",
                "-h",
                "127.0.0.1",
                "-p",
                str(self._primary.port),
                "-U",
                ROLE,
                "-D",
                str(self.data_directory),
                "-R",
                "-X",
                "stream",
                "-c",
                "fast",
            )
        self._write_settings()

    def _write_settings(self) -> None:
        """Write ``private_cluster.conf``: where the server listens, fsync on, ``settings``."""
        settings = {
            "port": str(self.port),
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.data_directory.parent}'",
            "fsync": "on",
            "synchronous_commit": "on",
            **{name: _conf_value(value) for name, value in self.settings.items()},
        }
        path = self.data_directory / "private_cluster.conf"
        path.write_text("".join(f"{name} = {value}\n" for name, value in settings.items()))
        if os.geteuid() == 0:
            shutil.chown(path, OS_USER, OS_USER)

    def _pg_ctl(self, *arguments: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self._run("pg_ctl", "-D", str(self.data_directory), *arguments, check=check)

    def _run(self, binary: str, *arguments: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run one of the binaries as the server's OS user, in the cluster's directory (the
        current one may be closed to that user)."""
        command = as_server_user([str(BIN_DIR / binary), *arguments])
        result = subprocess.run(
            command,
            cwd=self.directory,
            capture_output=True,
            text=True,
            timeout=PG_CTL_TIMEOUT + 30,
            check=False,
        )
        if check and result.returncode != 0:
            raise ClusterError(
                f"{shlex.join(command)} failed ({result.returncode}): {result.stderr.strip()}\n"
                + self._log_tail()
            )
        return result

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except (OSError, ClusterError):
            return ""


def _conf_value(value: str) -> str:
    """A ``postgresql.conf`` value: numbers and words as they are, anything else quoted."""
    if re.fullmatch(r"[A-Za-z0-9_.\-]+", value):
        return value
    return "'" + value.replace("'", "''") + "'"


def wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    """Poll ``predicate()`` until it is true or ``timeout`` seconds passed; whether it became
    true."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
