"""A marking call whose transaction the database aborts to break a deadlock is tried again when
that transaction was its own (outside the caller's), as ``prune_entity_events`` retries its
batches; any other error, or a deadlock inside the caller's transaction, reaches the caller."""

from __future__ import annotations

import pytest
from django.db import OperationalError, transaction

from entity_event.db.retries import MARKING
from entity_event.models import Event, EventSeen, Subscription
from tests.faults import inserts_into, on_statement

DEADLOCK_ATTEMPTS = MARKING.attempts

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


#: The marking calls, each returning the uuids of the events it claimed.
CLAIMS = {
    "events_targets": lambda medium, alice: [
        event.uuid for event, _ in medium.events_targets(seen=False, mark_seen=True)
    ],
    "events": lambda medium, alice: [event.uuid for event in medium.events(seen=False, mark_seen=True)],
    "entity_events": lambda medium, alice: [
        event.uuid for event in medium.entity_events(alice, seen=False, mark_seen=True)
    ],
}


@pytest.fixture(params=sorted(CLAIMS))
def claim_all(request, photo_source, email, alice):
    """A marking call that claims the three events of a world made for it."""
    Subscription.objects.create(medium=email, source=photo_source, entity=alice, only_following=False)
    Event.objects.create_events([{"source": photo_source, "uuid": f"e{n}"} for n in range(3)])
    return lambda: CLAIMS[request.param](email, alice)


def failing_seen_inserts(error: OperationalError, times: int):
    def fail() -> None:
        raise error

    return on_statement(inserts_into("entity_event_eventseen"), before=fail, times=times)


@pytest.mark.parametrize("form", ["mariadb", "psycopg", "psycopg2"])
def test_a_claim_aborted_by_a_deadlock_is_tried_again(claim_all, form):
    with failing_seen_inserts(deadlock(form), times=1) as inserts:
        claimed = claim_all()
    assert len(inserts) == 2
    assert sorted(claimed) == ["e0", "e1", "e2"]
    assert EventSeen.objects.count() == 3


def test_it_gives_up_after_a_few_attempts(claim_all):
    with (
        failing_seen_inserts(deadlock("mariadb"), times=DEADLOCK_ATTEMPTS) as inserts,
        pytest.raises(OperationalError, match="Deadlock found"),
    ):
        claim_all()
    assert len(inserts) == DEADLOCK_ATTEMPTS
    assert not EventSeen.objects.exists()


def test_other_errors_are_not_tried_again(claim_all):
    with (
        failing_seen_inserts(OperationalError("disk full"), times=1) as inserts,
        pytest.raises(OperationalError, match="disk full"),
    ):
        claim_all()
    assert len(inserts) == 1
    assert not EventSeen.objects.exists()


def test_inside_the_callers_transaction_the_deadlock_reaches_the_caller(claim_all):
    # The database aborted the caller's transaction (MariaDB rolls all of it back): only the
    # caller can start it again.
    with (
        failing_seen_inserts(deadlock("mariadb"), times=1) as inserts,
        pytest.raises(OperationalError, match="Deadlock found"),
        transaction.atomic(),
    ):
        claim_all()
    assert len(inserts) == 1
    assert not EventSeen.objects.exists()
