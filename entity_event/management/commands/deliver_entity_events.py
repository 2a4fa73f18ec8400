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

import logging
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.module_loading import import_string

from entity_event.delivery import BatchReport, Handler, deliver_batch
from entity_event.models import Medium

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 100
MAX_BATCH_SIZE = 100_000


class Command(BaseCommand):
    """``manage.py deliver_entity_events`` (see the module docstring and docs/delivery.rst)."""

    help = "Deliver a medium's events with a handler (email by default), batch by batch, losing nothing."

    def add_arguments(self, parser: CommandParser) -> None:
        """The options of the module docstring."""
        parser.add_argument("--medium", required=True, help="the name of the medium to deliver")
        parser.add_argument(
            "--handler",
            default="entity_event.delivery.send_email",
            help="the dotted path of the handler (default: entity_event.delivery.send_email)",
        )
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, metavar="N")
        parser.add_argument("--digest", action="store_true", help="one entry (message) per target")
        parser.add_argument("--loop", action="store_true", help="keep running, waiting when idle")
        parser.add_argument(
            "--interval", type=float, default=5.0, metavar="S", help="seconds to wait when idle"
        )
        parser.add_argument("--max-batches", type=int, default=None, metavar="K", help="stop after K batches")
        parser.add_argument("--max-attempts", type=int, default=5, metavar="N", help="attempts per recipient")
        parser.add_argument(
            "--retry-delay", type=float, default=60.0, metavar="S", help="first retry after S seconds"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Check the options, then deliver batches until done or stopped."""
        medium, handler = self._checked(options)
        self.stopping = False
        with self._stop_on_signals():
            number = 0
            while not self.stopping and (options["max_batches"] is None or number < options["max_batches"]):
                number += 1
                report = self._run_batch(medium, handler, number, options)
                if report.idle:
                    if not options["loop"]:
                        break
                    time.sleep(options["interval"])

    def _checked(self, options: dict[str, Any]) -> tuple[Medium, Handler]:
        medium = Medium.objects.filter(name=options["medium"]).first()
        if medium is None:
            raise CommandError(f"--medium: no medium named {options['medium']!r}")
        try:
            handler = import_string(options["handler"])
        except ImportError as error:
            raise CommandError(f"--handler: cannot import {options['handler']!r}: {error}") from error
        if not callable(handler):
            raise CommandError(f"--handler: {options['handler']!r} is not callable")
        for option, minimum in (("batch_size", 1), ("max_attempts", 1), ("max_batches", 1)):
            value = options[option]
            if value is not None and not (isinstance(value, int) and minimum <= value):
                raise CommandError(f"--{option.replace('_', '-')} must be {minimum} or more, got {value!r}")
        if options["batch_size"] > MAX_BATCH_SIZE:
            raise CommandError(
                f"--batch-size must be at most {MAX_BATCH_SIZE:,}, got {options['batch_size']:,}"
            )
        for option in ("interval", "retry_delay"):
            if not isinstance(options[option], (int, float)) or options[option] < 0:
                raise CommandError(f"--{option.replace('_', '-')} must be 0 or more, got {options[option]!r}")
        return medium, handler

    def _run_batch(
        self, medium: Medium, handler: Handler, number: int, options: dict[str, Any]
    ) -> BatchReport:
        started = time.monotonic()
        try:
            report = deliver_batch(
                medium, handler, number=number, batch_size=options["batch_size"], digest=options["digest"],
                max_attempts=options["max_attempts"], retry_delay=options["retry_delay"],
            )  # fmt: skip
        except Exception as error:
            logger.exception(
                "batch %s on the medium %r failed; its deliveries stay pending", number, medium.name
            )
            raise CommandError(f"batch {number} failed: {type(error).__name__}: {error}") from error
        if not report.idle:
            self.stdout.write(
                f"batch {number}: {report.claimed} events claimed, {report.recorded} deliveries recorded, "
                f"{report.sent} sent, {report.retried} to retry, {report.failed} failed, "
                f"{len(report.targets)} targets, {time.monotonic() - started:.2f} s"
            )
        return report

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
