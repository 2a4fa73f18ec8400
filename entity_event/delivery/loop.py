"""The delivery loop: batches of one medium until a batch finds nothing to do, shared by
``manage.py deliver_entity_events``, ``run_delivery`` (what a task of any task queue calls) and
the task ``entity_event.delivery.tasks.deliver_events`` (which calls ``run_delivery``).

``delivery_run`` checks the options of a run (every way in takes the same ones, with the same
defaults and refusals); ``run_batches`` runs it. The command adds what only a process does:
``--loop`` (wait and go on when idle), stopping on a signal, a line per batch.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypedDict, Unpack

from django.db import InterfaceError, OperationalError, connections
from django.utils.module_loading import import_string

from entity_event.delivery.batches import DEFAULT_CHUNK_SIZE, BatchReport, Handler, deliver_batch
from entity_event.delivery.chunks import Sweep
from entity_event.delivery.records import records_database
from entity_event.models import Medium

logger = logging.getLogger(__name__)

#: The defaults and limits of a run, for the command and the task alike.
DEFAULT_HANDLER = "entity_event.delivery.send_email"
DEFAULT_BATCH_SIZE = 100
MAX_BATCH_SIZE = 100_000
MAX_CHUNK_SIZE = 10_000
DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_RETRY_DELAY = 60.0
#: A task ends: unless told otherwise it runs at most this many batches (the command, none).
DEFAULT_TASK_MAX_BATCHES = 100


class RunOptions(TypedDict, total=False):
    """The options of a run, besides the medium, as keywords (their defaults: ``run_delivery``)."""

    handler: str
    batch_size: int
    chunk_size: int
    digest: bool
    max_batches: int | None
    max_attempts: int
    retry_delay: float


#: The options of a run, besides the medium: what ``deliver_on_creation`` may pass on.
RUN_OPTIONS = RunOptions.__optional_keys__

#: The options of a run that each of its batches takes (``deliver_batch``'s keywords).
BATCH_OPTIONS = ("batch_size", "chunk_size", "digest", "max_attempts", "retry_delay")

#: The totals a run returns.
TOTALS = ("claimed", "recorded", "sent", "retried", "failed", "skipped")


@dataclass(frozen=True)
class DeliveryRun:
    """A checked run: the medium, the handler, and the options of its batches."""

    medium: Medium
    handler: Handler
    batch_size: int = DEFAULT_BATCH_SIZE
    chunk_size: int = DEFAULT_CHUNK_SIZE
    digest: bool = False
    max_batches: int | None = None
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    retry_delay: float = DEFAULT_RETRY_DELAY


class BatchFailed(Exception):
    """A batch's handler (or database) failed: its deliveries stay pending, for a later run."""


def delivery_run(
    medium: str,
    handler: str = DEFAULT_HANDLER,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    digest: bool = False,
    max_batches: int | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    retry_delay: float = DEFAULT_RETRY_DELAY,
    option: Callable[[str], str] = str,
) -> DeliveryRun:
    """The run these options describe; ``ValueError`` for a bad one, named by ``option`` (the
    command says ``--batch-size``, the task ``batch_size``). One query: the medium."""
    for name, value, minimum in (
        ("batch_size", batch_size, 1),
        ("chunk_size", chunk_size, 1),
        ("max_attempts", max_attempts, 1),
        ("max_batches", max_batches, 1),
    ):
        if value is not None and not (
            isinstance(value, int) and not isinstance(value, bool) and minimum <= value
        ):
            raise ValueError(f"{option(name)} must be {minimum} or more, got {value!r}")
    for name, value, maximum in (
        ("batch_size", batch_size, MAX_BATCH_SIZE),
        ("chunk_size", chunk_size, MAX_CHUNK_SIZE),
    ):
        if value > maximum:
            raise ValueError(f"{option(name)} must be at most {maximum:,}, got {value:,}")
    if not isinstance(retry_delay, (int, float)) or isinstance(retry_delay, bool) or retry_delay < 0:
        raise ValueError(f"{option('retry_delay')} must be 0 or more, got {retry_delay!r}")
    try:
        send = import_string(handler)
    except ImportError as error:
        raise ValueError(f"{option('handler')}: cannot import {handler!r}: {error}") from error
    if not callable(send):
        raise ValueError(f"{option('handler')}: {handler!r} is not callable")
    # From the primary, as everything delivery reads: a run needs no replica, up or down.
    target = Medium.objects.using(records_database()).filter(name=medium).first()
    if target is None:
        raise ValueError(f"{option('medium')}: no medium named {medium!r}")
    return DeliveryRun(
        target, send, batch_size, chunk_size, digest is True, max_batches, max_attempts, float(retry_delay)
    )


def run_delivery(
    medium: str, *, caller: str = "run_delivery", **options: Unpack[RunOptions]
) -> dict[str, int]:
    """The body of a delivery task, for any task queue: batches of one medium until one is idle.

    Runs delivery batches of the medium named ``medium`` until a batch finds nothing to do or
    ``max_batches`` ran, as ``manage.py deliver_entity_events`` does with the same options, and
    returns the totals (``claimed``, ``recorded``, ``sent``, ``retried``, ``failed``,
    ``skipped``, ``batches``). The options, as keywords: ``handler`` (the dotted path of a
    handler, see ``entity_event.delivery``; ``"entity_event.delivery.send_email"``),
    ``batch_size`` (100), ``chunk_size`` (100), ``digest`` (``False``), ``max_batches`` (100;
    ``None``: until idle), ``max_attempts`` (5) and ``retry_delay`` (60 seconds).

    ``entity_event.delivery.tasks.deliver_events`` (Django's tasks framework) is this function
    as a task; a Celery (or other) task calls it with plain values, as task arguments are. It
    imports no tasks framework. A bad option is a ``ValueError`` that names it, before any
    batch: ``"run_delivery(): batch_size must be 1 or more, got 0"`` (``caller`` is the name the
    message gives; the task passes its own).

    A handler that raises fails the deliveries of its chunk (an attempt each, retried later) and
    the run goes on; an error of the database ends the run with ``BatchFailed``, its chunk in
    flight rolled back. Either way, and when the process running it is killed, the claimed
    events keep their pending delivery records: the next run (task or command) sends them, at
    most the chunk in flight sent twice.
    """
    options.setdefault("max_batches", DEFAULT_TASK_MAX_BATCHES)
    return run_batches(delivery_run(medium, option=lambda name: f"{caller}(): {name}", **options))


def run_batches(
    run: DeliveryRun,
    *,
    idle_wait: float | None = None,
    stopping: Callable[[], bool] = lambda: False,
    on_batch: Callable[[BatchReport, float], None] | None = None,
) -> dict[str, int]:
    """Deliver batches of ``run`` until one is idle (or, with ``idle_wait``, wait that many
    seconds and go on), ``max_batches`` ran or ``stopping()`` says so; ``on_batch(report,
    seconds)`` after each batch that did something. Returns the totals (``claimed``,
    ``recorded``, ``sent``, ``retried``, ``failed``, ``skipped``, ``batches``).

    A batch that raises is logged and ends the run with ``BatchFailed``, which names it, except
    that a run that waits when idle (``idle_wait``, the command's ``--loop``) outlives the
    database going away: it logs the error, drops its connections and tries again after the
    wait, its chunk in flight left pending, to be sent again."""
    totals = dict.fromkeys((*TOTALS, "batches"), 0)
    sweep = Sweep(run.medium, run.digest)
    while not stopping() and (run.max_batches is None or totals["batches"] < run.max_batches):
        number = totals["batches"] = totals["batches"] + 1
        started = time.monotonic()
        try:
            report = run_one_batch(run, number, sweep)
        except (OperationalError, InterfaceError) as error:
            if idle_wait is None:
                raise batch_failed(run, number, error) from error
            logger.warning("batch %s: the database is unreachable (%s); trying again", number, error)
            connections.close_all()
            time.sleep(idle_wait)
            continue
        except Exception as error:
            raise batch_failed(run, number, error) from error
        for name in TOTALS:
            totals[name] += getattr(report, name)
        if not report.idle:
            if on_batch is not None:
                on_batch(report, time.monotonic() - started)
        elif idle_wait is None:
            break
        else:
            time.sleep(idle_wait)
    return totals


def run_one_batch(run: DeliveryRun, number: int, sweep: Sweep) -> BatchReport:
    """Batch ``number`` of ``run``, going on from where ``sweep`` is."""
    options = {name: getattr(run, name) for name in BATCH_OPTIONS}
    return deliver_batch(run.medium, run.handler, number=number, sweep=sweep, **options)


def batch_failed(run: DeliveryRun, number: int, error: Exception) -> BatchFailed:
    """The error that ends a run whose batch ``number`` raised ``error`` (logged here)."""
    logger.error(
        "batch %s on the medium %r failed; its deliveries stay pending",
        number,
        run.medium.name,
        exc_info=error,
    )
    return BatchFailed(f"batch {number} failed: {type(error).__name__}: {error}")
