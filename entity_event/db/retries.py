"""Transactions tried again when the database aborts them, by one rule with two named policies.

A database aborts a transaction to resolve a conflict with another (PostgreSQL and MariaDB
break a deadlock by aborting one of its transactions; SQLite gives up waiting for its write
lock); the work is then run again in a new transaction. The policies differ by who waits, and by
what the caller's own transaction can lose:

* ``MARKING``: a marking call (``mark_seen=True``, a claim) is tried again at once, on a
  deadlock only, up to three attempts in all: someone waits for its answer, and MariaDB's locks
  can deadlock a claim with a prune. Only when the transaction is the call's own: a marking
  call inside the caller's transaction lets the error reach the caller, since MariaDB aborts the
  whole transaction on a deadlock, the caller's work with it.
* ``PRUNING``: a batch of ``prune_entity_events`` is tried again on any operational error (a
  deadlock, a serialization failure, a lock timeout), after a pause that grows with each
  attempt, up to five in all: maintenance that can wait for the writers it met. The command
  runs its batches in transactions of its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from django.db import OperationalError, connections, transaction

from entity_event.db.backends import is_deadlock

ResultT = TypeVar("ResultT")


def any_operational_error(error: OperationalError) -> bool:
    """Every operational error is worth another attempt (``PRUNING``)."""
    return True


@dataclass(frozen=True)
class RetryPolicy:
    """When an aborted transaction is tried again: up to ``attempts`` tries in all, for the
    errors ``retries`` accepts, pausing ``pause`` seconds times the attempt's number; with
    ``own_only``, only when the transaction is not part of the caller's."""

    attempts: int
    pause: float
    retries: Callable[[OperationalError], bool]
    own_only: bool


MARKING = RetryPolicy(attempts=3, pause=0.0, retries=is_deadlock, own_only=True)
PRUNING = RetryPolicy(attempts=5, pause=0.2, retries=any_operational_error, own_only=False)


def in_transaction_retried(using: str, work: Callable[[], ResultT], policy: RetryPolicy) -> ResultT:
    """Run ``work`` in a transaction on ``using`` (a savepoint inside the caller's) and return
    what it returns; when the database aborts it with an error the ``policy`` retries, run it
    again (see the module docstring)."""
    attempt = 1
    while True:
        try:
            with transaction.atomic(using=using):
                return work()
        except OperationalError as error:
            allowed = not (policy.own_only and connections[using].in_atomic_block)
            if not (allowed and attempt < policy.attempts and policy.retries(error)):
                raise
            time.sleep(policy.pause * attempt)
            attempt += 1
