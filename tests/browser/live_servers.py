"""Processes for the tests of live updates across processes: the test project served by uvicorn
in a process of its own, a shell creating events in another, and a reader of server-sent events
streams (``tests/browser/test_live_streams.py``).

The processes share the test run's database, which is why they need a database server: an
SQLite test database is in memory, seen by this process only. They reach it with
``DATABASE_URL`` set to the test database (``database_url``) and ``tests.settings``; Redis, for
the live messages, with ``EVENTSTREAM_REDIS_URL`` (the settings set ``EVENTSTREAM_REDIS`` from
it, which this process runs without).
"""

from __future__ import annotations

import http.client
import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.db import connection
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]
#: The Redis of the tests: a database number of their own (the messages go by Pub/Sub, which
#: knows no database numbers; nothing is stored).
REDIS_URL = os.environ.get("ENTITY_EVENT_TEST_REDIS_URL", "redis://127.0.0.1:6379/7")
#: The channel django-eventstream publishes every message on, whatever its own channel.
REDIS_CHANNEL = "events_channel"


def database_url() -> str:
    """The ``DATABASE_URL`` of the test database, for a process of its own."""
    options = connection.settings_dict
    scheme = {"postgresql": "postgres", "mysql": "mysql"}[connection.vendor]
    password = f":{quote(options['PASSWORD'], safe='')}" if options["PASSWORD"] else ""
    port = f":{options['PORT']}" if options["PORT"] else ""
    host = options["HOST"] or "127.0.0.1"
    return f"{scheme}://{quote(options['USER'], safe='')}{password}@{host}{port}/{quote(options['NAME'])}"


def environment(redis: bool) -> dict[str, str]:
    """The environment of the project's processes: the test settings on the test database, with
    Redis or without."""
    variables = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "DATABASE_URL": database_url()}
    variables.pop("EVENTSTREAM_REDIS_URL", None)
    if redis:
        variables["EVENTSTREAM_REDIS_URL"] = REDIS_URL
    return variables


def redis_subscribers() -> int:
    """How many connections listen to django-eventstream's Redis channel (each server process
    subscribes once it serves its first stream)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        return int(dict(client.pubsub_numsub(REDIS_CHANNEL)).get(REDIS_CHANNEL.encode(), 0))
    finally:
        client.close()


def redis_missing() -> str | None:
    """Why Redis cannot be used here, or ``None``."""
    try:
        import redis
    except ImportError:
        return "the redis package is not installed"
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as error:
        return f"no Redis at {REDIS_URL} ({error})"
    finally:
        client.close()
    return None


@contextmanager
def server_process(redis: bool) -> Iterator[str]:
    """The test project served by uvicorn in a process of its own, on a socket this process
    opened (no race for the port), static files included; yields its URL."""
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    listening.listen()
    listening.set_inheritable(True)
    url = f"http://127.0.0.1:{listening.getsockname()[1]}"
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "tests.browser.static_asgi:application",
         "--fd", str(listening.fileno()), "--log-level", "warning", "--lifespan", "off",
         "--timeout-graceful-shutdown", "1"],
        cwd=ROOT, env=environment(redis), pass_fds=(listening.fileno(),),
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not answers(url):
            assert process.poll() is None, f"uvicorn exited with {process.returncode}"
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        listening.close()


def answers(url: str) -> bool:
    parts = urlsplit(url)
    try:
        http_connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=2)
        http_connection.request("GET", "/accounts/login/")
        return http_connection.getresponse().status == 200
    except OSError:
        return False


def create_in_another_process(source_name: str, text: str, redis: bool) -> float:
    """Create an event of the source ``source_name`` in a shell of its own (``manage.py shell``),
    as a worker or an administrator would; return when it was committed (``time.time()``)."""
    code = (
        "import time\n"
        "from entity_event.models import Event, Source\n"
        f"source = Source.objects.get(name={source_name!r})\n"
        f"Event.objects.create_event(source=source, context={{'text': {text!r}}})\n"
        "print(time.time())\n"
    )
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT, env=environment(redis), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return float(done.stdout.split()[-1])


@dataclass(frozen=True)
class Message:
    """One message of a stream: its type, its data, when it arrived (``time.time()``)."""

    type: str
    data: str
    arrived: float

    def json(self) -> object:
        return json.loads(self.data)


class Stream:
    """The live stream of a logged-in user, read in a thread as a browser's ``EventSource``
    would, message by message."""

    def __init__(self, server: str, user: object) -> None:
        client = Client()
        client.force_login(user)
        session = client.cookies[settings.SESSION_COOKIE_NAME].value
        parts = urlsplit(server)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        self.connection.request(
            "GET",
            "/notifications/live/",
            headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={session}", "Accept": "text/event-stream"},
        )
        response = self.connection.getresponse()
        assert response.status == 200, response.status
        self.messages: queue.Queue[Message] = queue.Queue()
        self.thread = threading.Thread(target=self.read, args=(response,), daemon=True)
        self.thread.start()
        assert self.next(10).type == "stream-open"

    def read(self, response: http.client.HTTPResponse) -> None:
        kind, data = "message", []
        try:
            for raw in response:
                line = raw.decode().rstrip("\r\n")
                if not line:
                    if data:
                        self.messages.put(Message(kind, "\n".join(data), time.time()))
                    kind, data = "message", []
                elif not line.startswith(":"):
                    field, _, value = line.partition(":")
                    value = value.removeprefix(" ")
                    if field == "event":
                        kind = value
                    elif field == "data":
                        data.append(value)
        except (OSError, ValueError, http.client.HTTPException):  # the socket shut by close()
            pass

    def next(self, timeout: float, skip: tuple[str, ...] = ("keep-alive",)) -> Message:
        """The next message not of a type in ``skip``, waiting up to ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            message = self.messages.get(timeout=max(0.0, deadline - time.monotonic()))
            if message.type not in skip:
                return message

    def nothing_within(self, seconds: float) -> bool:
        """Whether no message (but keep-alives) arrives within ``seconds``."""
        try:
            self.next(seconds)
        except queue.Empty:
            return True
        return False

    def close(self) -> None:
        """Shut the socket, which ends the reading thread, then close the connection."""
        sock = self.connection.sock
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)
        self.thread.join(timeout=5)
        self.connection.close()
