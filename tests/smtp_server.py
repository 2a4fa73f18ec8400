"""A real SMTP server on 127.0.0.1 for the tests and benchmarks whose workers run in processes of
their own (tests/delivery/test_task_queues.py, benchmarks/task_queues.py).

The server is ``aiosmtpd``'s, run by its ``Controller`` in a thread of the calling process, as in
tests/delivery/test_processes.py: the workers send to it over TCP with Django's SMTP backend (the
mailer of tests/smtp_settings.py). It accepts every message and keeps, for each recipient of
each message, the pair ``(Message-ID, recipient)``, so that a test can count what arrived per
(event, target): ``entity_event.delivery.message_id`` is the same for an event and a target
whichever worker sends it, and each message goes to one recipient.

``hold_after(count)`` makes a fault land in the middle of a delivery without racing it: the
message after the first ``count`` is held (its sender waits for the server's answer) until
``release()``; ``holding`` is set meanwhile. (If its sender's connection is lost meanwhile,
aiosmtpd cancels the handler: the held message is dropped.)
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes
from typing import Any

#: Seconds a held message waits at most for ``release()``, so that a failed test never hangs.
HOLD_TIMEOUT = 300


class RecordingSMTPHandler:
    """An aiosmtpd handler that accepts every message and keeps its ``(Message-ID, recipient)``
    pairs; see the module docstring for ``hold_after``."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.holding = threading.Event()
        self._released = threading.Event()
        self._hold_after: int | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        if self._hold_after is not None and self.accepted >= self._hold_after and not self._released.is_set():
            self.holding.set()
            # In a thread of the executor: the server's loop goes on serving the other senders.
            await asyncio.get_running_loop().run_in_executor(None, self._released.wait, HOLD_TIMEOUT)
        message_id = str(message_from_bytes(envelope.content)["Message-ID"])
        with self.lock:
            self.arrivals.extend((message_id, recipient) for recipient in envelope.rcpt_tos)
        return "250 OK"

    def hold_after(self, count: int) -> None:
        """Hold the message that arrives once ``count`` pairs were accepted, until ``release()``."""
        self._hold_after = count

    def release(self) -> None:
        """Let the held message (and every later one) through."""
        self._released.set()

    @property
    def accepted(self) -> int:
        """How many (message, recipient) pairs the server accepted so far."""
        with self.lock:
            return len(self.arrivals)

    def counts(self) -> Counter[tuple[str, str]]:
        """``{(Message-ID, recipient): times it arrived}``."""
        with self.lock:
            return Counter(self.arrivals)

    def clear(self) -> None:
        """Forget what arrived (between the rounds of a benchmark)."""
        with self.lock:
            self.arrivals.clear()


@contextmanager
def smtp_server() -> Iterator[tuple[int, RecordingSMTPHandler]]:
    """An SMTP server on 127.0.0.1, on a free port, for the block: yields its port and handler."""
    import aiosmtpd.controller

    from tests.pg_cluster import free_port

    handler = RecordingSMTPHandler()
    controller = aiosmtpd.controller.Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller.port, handler
    finally:
        handler.release()  # a message still held would keep the server from stopping
        controller.stop()
