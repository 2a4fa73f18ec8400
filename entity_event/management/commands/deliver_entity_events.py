"""``manage.py deliver_entity_events``: deliver a medium's events with a handler, batch by batch.

Each batch claims up to ``--batch-size`` unseen events of the medium, records a pending delivery
per (event, target), then sends up to ``--batch-size`` due deliveries with the handler
(``entity_event.delivery``): ``(event, targets)`` pairs, or with ``--digest`` one
``(target, events)`` entry per target. Failed recipients are tried again later, ``--retry-delay``
seconds after a first failure and twice as long after each next one, until ``--max-attempts``.

The command stops when a batch finds nothing to do, after ``--max-batches`` batches, or, with
``--loop``, runs until it is stopped, sleeping ``--interval`` seconds when idle. ``SIGTERM`` and
``SIGINT`` let the current batch finish, then stop. A handler exception rolls its batch's sending
back (nothing is marked sent; a later run sends it) and the command exits with an error after
logging which batch failed. Each batch prints a line: events claimed, records, sent, put off,
failed, targets, seconds.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from entity_event.delivery.batches import DEFAULT_CHUNK_SIZE, BatchReport
from entity_event.delivery.loop import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_HANDLER,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_RETRY_DELAY,
    BatchFailed,
    delivery_run,
    run_batches,
)


def option_name(name: str) -> str:
    """``batch_size`` as the command spells it: ``--batch-size``."""
    return f"--{name.replace('_', '-')}"


class Command(BaseCommand):
    """``manage.py deliver_entity_events`` (see the module docstring and docs/delivery.rst)."""

    help = "Deliver a medium's events with a handler (email by default), batch by batch, losing nothing."

    def add_arguments(self, parser: CommandParser) -> None:
        """The options of the module docstring."""
        parser.add_argument("--medium", required=True, help="the name of the medium to deliver")
        parser.add_argument(
            "--handler",
            default=DEFAULT_HANDLER,
            help=f"the dotted path of the handler (default: {DEFAULT_HANDLER})",
        )
        parser.add_argument(
            "--batch-size", type=int, default=DEFAULT_BATCH_SIZE, metavar="N", help="events claimed per batch"
        )
        parser.add_argument(
            "--chunk-size",
            type=int,
            default=DEFAULT_CHUNK_SIZE,
            metavar="N",
            help="deliveries sent per chunk, each chunk's outcome committed before the next",
        )
        parser.add_argument("--digest", action="store_true", help="one entry (message) per target")
        parser.add_argument("--loop", action="store_true", help="keep running, waiting when idle")
        parser.add_argument(
            "--interval", type=float, default=5.0, metavar="S", help="seconds to wait when idle"
        )
        parser.add_argument("--max-batches", type=int, default=None, metavar="K", help="stop after K batches")
        parser.add_argument(
            "--max-attempts",
            type=int,
            default=DEFAULT_MAX_ATTEMPTS,
            metavar="N",
            help="attempts per recipient",
        )
        parser.add_argument(
            "--retry-delay",
            type=float,
            default=DEFAULT_RETRY_DELAY,
            metavar="S",
            help="first retry after S seconds",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Check the options, then deliver batches until done or stopped."""
        if options["interval"] < 0:
            raise CommandError(f"--interval must be 0 or more, got {options['interval']!r}")
        try:
            run = delivery_run(
                options["medium"],
                options["handler"],
                batch_size=options["batch_size"],
                chunk_size=options["chunk_size"],
                digest=options["digest"],
                max_batches=options["max_batches"],
                max_attempts=options["max_attempts"],
                retry_delay=options["retry_delay"],
                option=option_name,
            )
        except ValueError as error:
            raise CommandError(str(error)) from error
        self.stopping = False
        with self._stop_on_signals():
            try:
                run_batches(
                    run,
                    idle_wait=options["interval"] if options["loop"] else None,
                    stopping=lambda: self.stopping,
                    on_batch=self._report,
                )
            except BatchFailed as error:
                raise CommandError(str(error)) from error

    def _report(self, report: BatchReport, seconds: float) -> None:
        self.stdout.write(
            f"batch {report.number}: {report.claimed} events claimed, {report.recorded} deliveries recorded, "
            f"{report.sent} sent, {report.retried} to retry, {report.failed} failed, "
            f"{report.skipped} skipped, {report.recipients} recipients in {report.chunks} chunks, "
            f"{seconds:.2f} s"
        )

    @contextmanager
    def _stop_on_signals(self) -> Iterator[None]:
        """SIGTERM and SIGINT finish the current batch, then stop (only in the main thread, where
        Python lets a handler be installed; elsewhere the signals keep their handlers)."""

        def stop(signum: int, frame: FrameType | None) -> None:
            self.stderr.write(f"{signal.Signals(signum).name}: stopping after the current batch")
            self.stopping = True

        try:
            previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGTERM, signal.SIGINT)}
        except ValueError:  # not the main thread
            yield
            return
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
