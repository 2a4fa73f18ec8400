"""Delivery under concurrency and database failure (PostgreSQL and MariaDB, real connections).

``Medium.events_targets(seen=False, mark_seen=True)`` is a claim (docs/guarantees.rst): each event
it returns is marked seen on the medium in the same transaction, under row locks that other
claimers skip. These tests check the two promises that follow from it:

* exactly once: worker processes claiming in a loop while producers create events hand out
  every (event, target) pair that the routing rules give exactly once, none lost, none twice
  (and two threads claiming with ``events`` and ``events_targets`` never get the same event);
* all or nothing: when the connection drops in the middle of a claim, the caller gets an
  exception and nothing is marked seen, so a later claim returns those events.

Processes are forked after closing the parent's connections, so each one opens its own
connection to the test database (as in tests/events/test_concurrent_creation.py).
"""

from __future__ import annotations

import multiprocessing
import random
import threading
import time
from collections import Counter
from typing import Any

import pytest
from django.db import InterfaceError, OperationalError, connection, connections
from entity.models import Entity, EntityRelationship

from entity_event.models import Event, EventSeen, Medium, Source, Subscription, Unsubscription
from tests.faults import after_statement, inserts_into, selects_for_update
from tests.worlds import delivery_world

pytestmark = [pytest.mark.reliability, pytest.mark.database_server, pytest.mark.django_db(transaction=True)]

WORKERS = 8
PRODUCERS = 2
BATCHES_PER_PRODUCER = 60
EVENTS_PER_BATCH = 10
#: A worker stops after this many consecutive empty claims once the producers are done.
EMPTY_ROUNDS_TO_STOP = 3
TIMEOUT = 60


def expected_pairs(medium: Medium) -> set[tuple[int, int]]:
    """The (event, target) pairs of the rules written out plainly, independently of routing.py:
    subscribed entities (active; for a group subscription the active sub-entities of its kind),
    restricted for only-following ones to those that are an actor or a sub-entity of an actor,
    minus the unsubscribed ones."""
    active = set(Entity.objects.values_list("pk", flat=True))
    kinds = dict(Entity.all_objects.values_list("pk", "entity_kind_id"))
    supers: dict[int, set[int]] = {pk: set() for pk in kinds}
    for sub, sup in EntityRelationship.objects.values_list("sub_entity_id", "super_entity_id"):
        supers[sub].add(sup)
    unsubscribed = set(Unsubscription.objects.filter(medium=medium).values_list("source_id", "entity_id"))
    pairs = set()
    subscriptions = list(Subscription.objects.filter(medium=medium))
    for event in Event.objects.filter(time__gte=medium.time_created).prefetch_related("eventactor_set"):
        actors = {actor.entity_id for actor in event.eventactor_set.all()}
        for s in subscriptions:
            if s.source_id != event.source_id:
                continue
            if s.sub_entity_kind_id is None:
                subscribed = {s.entity_id} & active
            else:
                subscribed = {
                    pk for pk in active if kinds[pk] == s.sub_entity_kind_id and s.entity_id in supers[pk]
                }
            if s.only_following:
                subscribed = {pk for pk in subscribed if ({pk} | supers[pk]) & actors}
            pairs |= {(event.pk, pk) for pk in subscribed if (event.source_id, pk) not in unsubscribed}
    return pairs


def _produce(start: Any, queue: Any, number: int, world: dict[str, Any]) -> None:
    try:
        rng = random.Random(number)
        start.wait(timeout=TIMEOUT)
        for _ in range(BATCHES_PER_PRODUCER):
            Event.objects.create_events(
                [
                    {
                        "source": rng.choice(world["sources"]),
                        "actors": rng.sample(world["actors"], rng.choice([0, 1, 1, 2, 3])),
                    }
                    for _ in range(EVENTS_PER_BATCH)
                ]
            )
            time.sleep(rng.uniform(0, 0.02))
        queue.put(("producer", number, "ok", None))
    except BaseException as error:  # report every failure to the parent, which asserts on it
        queue.put(("producer", number, "error", repr(error)))
    finally:
        connections.close_all()


def _work(start: Any, queue: Any, number: int, world: dict[str, Any], producing: Any) -> None:
    try:
        medium = Medium.objects.get(pk=world["medium"])
        pairs: list[tuple[int, int]] = []
        claims = empty = 0
        start.wait(timeout=TIMEOUT)
        while True:
            done = not producing.is_set()  # read before the claim: events created later are seen next round
            got = medium.events_targets(seen=False, mark_seen=True)
            claims += 1
            pairs.extend((event.pk, target.pk) for event, targets in got for target in targets)
            empty = 0 if got else empty + 1
            if done and empty >= EMPTY_ROUNDS_TO_STOP:
                break
            if not got:
                time.sleep(0.005)
        queue.put(("worker", number, "ok", (pairs, claims)))
    except BaseException as error:
        queue.put(("worker", number, "error", repr(error)))
    finally:
        connections.close_all()


def test_8_workers_claiming_while_2_producers_write_deliver_every_pair_exactly_once(source_group):
    world = delivery_world(source_group)
    medium = Medium.objects.get(pk=world["medium"])
    context = multiprocessing.get_context("fork")
    start = context.Barrier(WORKERS + PRODUCERS)
    producing = context.Event()
    producing.set()
    queue = context.Queue()
    connections.close_all()  # never share the parent's socket across a fork
    began = time.perf_counter()
    producers = [context.Process(target=_produce, args=(start, queue, n, world)) for n in range(PRODUCERS)]
    workers = [
        context.Process(target=_work, args=(start, queue, n, world, producing)) for n in range(WORKERS)
    ]
    for process in producers + workers:
        process.start()
    results = []
    for _ in producers:
        results.append(queue.get(timeout=TIMEOUT))
    producing.clear()
    for _ in workers:
        results.append(queue.get(timeout=TIMEOUT))
    for process in producers + workers:
        process.join(timeout=TIMEOUT)
        assert process.exitcode == 0
    elapsed = time.perf_counter() - began

    errors = [result for result in results if result[2] != "ok"]
    assert errors == []
    handed_out = Counter(pair for role, _, _, payload in results if role == "worker" for pair in payload[0])
    claims = sum(payload[1] for role, _, _, payload in results if role == "worker")
    busy_workers = sum(1 for role, _, _, payload in results if role == "worker" and payload[0])

    events = PRODUCERS * BATCHES_PER_PRODUCER * EVENTS_PER_BATCH
    assert Event.objects.count() == events
    expected = expected_pairs(medium)
    # None twice, none lost, nothing that the rules do not give.
    assert [pair for pair, times in handed_out.items() if times > 1] == []
    assert set(handed_out) == expected
    # The routing code agrees with the plain rules, and nothing is left unclaimed.
    assert medium.events_targets(seen=False) == []
    routed = {
        (event.pk, target.pk) for event, targets in medium.events_targets(seen=True) for target in targets
    }
    assert routed == expected
    events_with_targets = {event_id for event_id, _ in expected}
    # The claims consumed every event of the subscribed sources, those nobody receives too.
    of_subscribed_sources = set(
        Event.objects.filter(source__subscriptions__medium=medium).values_list("pk", flat=True)
    )
    assert (
        set(EventSeen.objects.filter(medium=medium).values_list("event_id", flat=True))
        == of_subscribed_sources
    )
    assert events_with_targets < of_subscribed_sources
    print(
        f"\nexactly once: {WORKERS} workers, {PRODUCERS} producers, {events} events "
        f"({len(events_with_targets)} with targets), {len(expected)} (event, target) pairs handed out "
        f"once each in {claims} claims ({busy_workers} workers received some), {elapsed:.2f} s"
    )
    assert 0 < len(events_with_targets) < events  # the world routes some events and not others


# --- connection loss during a claim --------------------------------------------------------------


#: Per database: the id of our server process or thread, how another connection kills it, and
#: how it counts the ones still there.
BACKENDS = {
    "postgresql": (
        "SELECT pg_backend_pid()",
        "SELECT pg_terminate_backend(%s)",
        "SELECT count(*) FROM pg_stat_activity WHERE pid = %s",
    ),
    "mysql": (
        "SELECT CONNECTION_ID()",
        "KILL CONNECTION %s",
        "SELECT count(*) FROM information_schema.PROCESSLIST WHERE ID = %s",
    ),
}


def _terminate(pid: int) -> None:
    """From another connection (a thread has its own), kill backend ``pid`` and wait until it is gone."""
    _, kill, count = BACKENDS[connection.vendor]
    try:
        with connection.cursor() as cursor:
            cursor.execute(kill, [pid])
            deadline = time.monotonic() + TIMEOUT
            while time.monotonic() < deadline:
                cursor.execute(count, [pid])
                if cursor.fetchone() == (0,):
                    return
                time.sleep(0.01)
            raise AssertionError(f"backend {pid} still alive")  # pragma: no cover
    finally:
        connection.close()


def _kill_our_backend() -> None:
    with connection.cursor() as cursor:
        cursor.execute(BACKENDS[connection.vendor][0])
        (pid,) = cursor.fetchone()
    failures: list[BaseException] = []

    def run() -> None:
        try:
            _terminate(pid)
        except BaseException as error:  # pragma: no cover - reported below
            failures.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=TIMEOUT)
    assert failures == []


CLAIMS = {
    "events": lambda medium: list(medium.events(seen=False, mark_seen=True)),
    "entity_events": lambda medium: list(
        medium.entity_events(Entity.objects.get(display_name="A0"), seen=False, mark_seen=True)
    ),
    "events_targets": lambda medium: medium.events_targets(seen=False, mark_seen=True),
}


@pytest.mark.parametrize("method", sorted(CLAIMS))
@pytest.mark.parametrize("when", ["after the rows are locked", "after the EventSeen rows are written"])
def test_a_connection_lost_during_a_claim_raises_and_marks_nothing(source_group, method, when):
    world = delivery_world(source_group)
    medium = Medium.objects.get(pk=world["medium"])
    a0 = Entity.objects.get(display_name="A0")
    photo, product = world["sources"][:2]
    Event.objects.create_events(
        [
            {"source": product, "actors": []},
            {"source": photo, "actors": [a0]},
            {"source": photo, "actors": [a0]},
        ]
    )
    claim = CLAIMS[method]

    # Through the public seam: the backend dies right after the claim's row locks are taken, or
    # right after the EventSeen rows are inserted, before anything is committed.
    matches = (
        selects_for_update if when == "after the rows are locked" else inserts_into("entity_event_eventseen")
    )
    with (
        after_statement(matches, _kill_our_backend) as seen,
        pytest.raises((OperationalError, InterfaceError)),
    ):
        claim(medium)
    assert seen
    connection.close()  # the broken connection; the next query opens a fresh one

    assert not EventSeen.objects.filter(medium=medium).exists()
    expected = {event_id for event_id, _ in expected_pairs(medium)}
    if method == "entity_events":
        expected = set(medium.entity_events(a0).values_list("pk", flat=True))
    assert len(expected) == 3
    again = claim(medium)
    got = {event.pk for event in again} if method != "events_targets" else {e.pk for e, _ in again}
    assert got == expected
    assert set(EventSeen.objects.filter(medium=medium).values_list("event_id", flat=True)) == expected


# --- two threads claiming while a producer writes ------------------------------------------------


class TestConcurrentClaims:
    """``seen=False, mark_seen=True`` is a claim: two workers with their own connections, claiming
    while a producer adds events, never receive the same event and lose none."""

    def test_two_workers_never_get_the_same_event(self, source_group, alice):
        photo = Source.objects.create(group=source_group, name="photo-tag", display_name="Photo")
        medium = Medium.objects.create(name="email", display_name="Email")
        Subscription.objects.create(medium=medium, source=photo, entity=alice, only_following=False)
        batches, batch_size = 25, 8
        producing = threading.Event()
        producing.set()
        claimed: dict[str, list[int]] = {"events": [], "events_targets": []}
        errors: list[BaseException] = []
        start = threading.Barrier(3)

        def produce() -> None:
            try:
                start.wait()
                for _ in range(batches):
                    Event.objects.create_events([{"source": photo, "actors": [alice]}] * batch_size)
            except BaseException as error:  # pragma: no cover - reported by the assertion below
                errors.append(error)
            finally:
                producing.clear()
                connection.close()

        def consume(method: str) -> None:
            try:
                start.wait()
                while True:
                    more = producing.is_set()
                    if method == "events":
                        got = [event.pk for event in medium.events(seen=False, mark_seen=True)]
                    else:
                        got = [event.pk for event, _ in medium.events_targets(seen=False, mark_seen=True)]
                    claimed[method].extend(got)
                    if not more and not got:
                        return
            except BaseException as error:  # pragma: no cover - reported by the assertion below
                errors.append(error)
            finally:
                connection.close()

        threads = [
            threading.Thread(target=produce),
            threading.Thread(target=consume, args=("events",)),
            threading.Thread(target=consume, args=("events_targets",)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert errors == []
        everything = claimed["events"] + claimed["events_targets"]
        assert len(everything) == len(set(everything)) == batches * batch_size
        assert set(everything) == set(Event.objects.values_list("pk", flat=True))
        assert EventSeen.objects.filter(medium=medium).count() == batches * batch_size
