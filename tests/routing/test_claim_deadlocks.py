"""A marking call whose transaction the database aborts to break a deadlock is tried again when
that transaction was its own (outside the caller's), as ``prune_entity_events`` retries its
batches; any other error, or a deadlock inside the caller's transaction, reaches the caller."""

from __future__ import annotations

import pytest
from django.db import OperationalError, transaction

from entity_event.models import Event, EventSeen, Subscription
from entity_event.targets import DEADLOCK_ATTEMPTS
from tests.faults import inserts_into, on_statement

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]


class DriverError(Exception):
    """A driver's error, as Django keeps it for the cause of its own (``sqlstate``/``pgcode``)."""

    def __init__(self, sqlstate: str | None = None, pgcode: str | None = None) -> None:
        super().__init__("deadlock detected")
        self.sqlstate = sqlstate
        self.pgcode = pgcode


def deadlock(form: str) -> OperationalError:
    """The error a database raises when it aborts a transaction to break a deadlock."""
    if form == "mariadb":
        return OperationalError(1213, "Deadlock found when trying to get lock; try restarting transaction")
    error = OperationalError("deadlock detected")
    error.__cause__ = DriverError(sqlstate="40P01") if form == "psycopg" else DriverError(pgcode="40P01")
    return error


@pytest.fixture
def claimable(photo_source, email, alice):
    Subscription.objects.create(medium=email, source=photo_source, entity=alice, only_following=False)
    Event.objects.create_events([{"source": photo_source, "uuid": f"e{n}"} for n in range(3)])
    return email


def failing_seen_inserts(error: OperationalError, times: int):
    def fail() -> None:
        raise error

    return on_statement(inserts_into("entity_event_eventseen"), before=fail, times=times)


@pytest.mark.parametrize("form", ["mariadb", "psycopg", "psycopg2"])
def test_a_claim_aborted_by_a_deadlock_is_tried_again(claimable, form):
    with failing_seen_inserts(deadlock(form), times=1) as inserts:
        claimed = claimable.events_targets(seen=False, mark_seen=True)
    assert len(inserts) == 2
    assert sorted(event.uuid for event, _ in claimed) == ["e0", "e1", "e2"]
    assert EventSeen.objects.count() == 3


def test_it_gives_up_after_a_few_attempts(claimable):
    with (
        failing_seen_inserts(deadlock("mariadb"), times=DEADLOCK_ATTEMPTS) as inserts,
        pytest.raises(OperationalError, match="Deadlock found"),
    ):
        claimable.events_targets(seen=False, mark_seen=True)
    assert len(inserts) == DEADLOCK_ATTEMPTS
    assert not EventSeen.objects.exists()


def test_other_errors_are_not_tried_again(claimable):
    with (
        failing_seen_inserts(OperationalError("disk full"), times=1) as inserts,
        pytest.raises(OperationalError, match="disk full"),
    ):
        claimable.events_targets(seen=False, mark_seen=True)
    assert len(inserts) == 1
    assert not EventSeen.objects.exists()


def test_inside_the_callers_transaction_the_deadlock_reaches_the_caller(claimable):
    # The database aborted the caller's transaction (MariaDB rolls all of it back): only the
    # caller can start it again.
    with (
        failing_seen_inserts(deadlock("mariadb"), times=1) as inserts,
        pytest.raises(OperationalError, match="Deadlock found"),
        transaction.atomic(),
    ):
        claimable.events_targets(seen=False, mark_seen=True)
    assert len(inserts) == 1
    assert not EventSeen.objects.exists()
