"""Idempotent event creation under real concurrency: several processes, each with its own
PostgreSQL connection, create the same uuids at the same instant.

The processes are forked after closing the parent's connections, so that each child opens its own
connection to the test database. A barrier makes them start together; a second barrier, placed
right after each writer's lookup of the existing uuids (the statement, seen through
``connection.execute_wrapper``: tests/faults.py), forces the worst interleaving: every writer has
seen that the uuids do not exist yet, and then they all INSERT at once. This is the race that
``create_events`` resolves with a savepoint and a retry.
"""

from __future__ import annotations

import multiprocessing
import random
import time
from collections import Counter
from typing import Any

import pytest
from django.db import connections

from entity_event.models import Event, EventActor
from tests.entities import make_entity
from tests.faults import after_statement, selects_from

pytestmark = [pytest.mark.reliability, pytest.mark.database_server, pytest.mark.django_db(transaction=True)]

PROCESSES = 8
NEW_EVENTS = 40
#: Seconds a process waits at a barrier before the test gives up (a hung writer fails the test).
BARRIER_TIMEOUT = 60


def _run_in_processes(target: Any, args_per_process: list[tuple[Any, ...]]) -> list[tuple[str, Any]]:
    """Run ``target(start, looked_up, queue, *args)`` in one forked process per argument tuple and
    return what each one put in the queue, in process order."""
    context = multiprocessing.get_context("fork")
    start = context.Barrier(len(args_per_process))
    looked_up = context.Barrier(len(args_per_process))
    queue = context.Queue()
    # Each child must open its own connection: never share the parent's socket across a fork.
    connections.close_all()
    processes = [
        context.Process(target=target, args=(start, looked_up, queue, number, *args))
        for number, args in enumerate(args_per_process)
    ]
    for process in processes:
        process.start()
    results = dict(queue.get(timeout=BARRIER_TIMEOUT * 2) for _ in processes)
    for process in processes:
        process.join(timeout=BARRIER_TIMEOUT)
        assert process.exitcode == 0
    return [results[number] for number in range(len(processes))]


def _lookups_meet_at(looked_up: Any) -> Any:
    """Make this writer wait after its first lookup of existing uuids until every writer has
    looked; yield the list of its lookups."""
    return after_statement(
        selects_from("entity_event_event", "uuid"), lambda: looked_up.wait(timeout=BARRIER_TIMEOUT)
    )


def _create_one(start: Any, looked_up: Any, queue: Any, number: int, source_id: int, actor_ids: list[int]):
    try:
        with _lookups_meet_at(looked_up) as lookups:
            start.wait(timeout=BARRIER_TIMEOUT)
            event = Event.objects.create_event(
                source=source_id, uuid="the-same-uuid", ignore_duplicates=True, actors=actor_ids
            )
        queue.put((number, ("ok", (None if event is None else event.pk, len(lookups)))))
    except BaseException as error:  # report every failure to the parent, which asserts on it
        queue.put((number, ("error", repr(error))))
    finally:
        connections.close_all()


def _create_batch(start: Any, looked_up: Any, queue: Any, number: int, batch: list[dict[str, Any]]):
    try:
        with _lookups_meet_at(looked_up) as lookups:
            start.wait(timeout=BARRIER_TIMEOUT)
            events = Event.objects.create_events(batch)
        created = [None if event is None else (event.uuid, event.pk) for event in events]
        queue.put((number, ("ok", (created, len(lookups)))))
    except BaseException as error:
        queue.put((number, ("error", repr(error))))
    finally:
        connections.close_all()


def test_create_event_with_the_same_uuid_from_8_processes(photo_source):
    alice, bob = make_entity("Alice"), make_entity("Bob")
    began = time.perf_counter()
    results = _run_in_processes(
        _create_one, [(photo_source.id, [alice.id, bob.id]) for _ in range(PROCESSES)]
    )
    elapsed = time.perf_counter() - began
    assert [status for status, _ in results] == ["ok"] * PROCESSES, results
    retried = sum(lookups > 1 for _, (_, lookups) in results)
    print(
        f"\ncreate_event race: {PROCESSES} processes, 1 uuid, {retried} writers lost the INSERT "
        f"race and retried, {elapsed:.2f} s"
    )
    # The second barrier makes every writer INSERT after every lookup: all but one lose the race.
    assert retried == PROCESSES - 1
    winners = [pk for _, (pk, _) in results if pk is not None]
    assert len(winners) == 1
    event = Event.objects.get()
    assert event.pk == winners[0] and event.uuid == "the-same-uuid"
    assert set(EventActor.objects.values_list("event_id", "entity_id")) == {
        (event.pk, alice.id),
        (event.pk, bob.id),
    }


def test_create_events_with_new_and_existing_uuids_from_8_processes(photo_source):
    """Each process creates a shuffled batch of 40 new uuids shared by all, plus 10 that exist."""
    alice, bob, carol = make_entity("Alice"), make_entity("Bob"), make_entity("Carol")
    expected_actors = {
        f"new-{n}": [[alice.id], [alice.id, bob.id], [bob.id, carol.id], []][n % 4] for n in range(NEW_EVENTS)
    }
    existing = {
        Event.objects.create_event(source=photo_source, uuid=f"old-{n}", actors=[carol]).pk: f"old-{n}"
        for n in range(10)
    }
    uuids = [*expected_actors, *existing.values()]
    batches = []
    for number in range(PROCESSES):
        shuffled = random.Random(number).sample(uuids, len(uuids))
        batches.append(
            (
                [
                    {
                        "source": photo_source.id,
                        "uuid": uuid,
                        "actors": expected_actors.get(uuid, [alice.id]),
                        "context": {"writer": number},
                        "ignore_duplicates": True,
                    }
                    for uuid in shuffled
                ],
            )
        )

    began = time.perf_counter()
    results = _run_in_processes(_create_batch, batches)
    elapsed = time.perf_counter() - began
    assert [status for status, _ in results] == ["ok"] * PROCESSES, results
    retries = sum(lookups - 1 for _, (_, lookups) in results)
    print(
        f"\ncreate_events race: {PROCESSES} processes x {len(uuids)} events "
        f"({len(expected_actors)} new, {len(existing)} existing), {retries} retries, {elapsed:.2f} s"
    )
    assert retries >= PROCESSES - 1
    returned = Counter(item for _, (events, _) in results for item in events if item is not None)
    # Every new uuid was returned to exactly one caller, never an existing one.
    assert sorted(uuid for uuid, _ in returned) == sorted(expected_actors)
    assert set(returned.values()) == {1}
    # The database holds each uuid once, with the pk the caller received.
    rows = dict(Event.objects.values_list("uuid", "pk"))
    assert len(rows) == len(uuids)
    assert dict(returned.keys()) == {uuid: rows[uuid] for uuid in expected_actors}
    assert {rows[uuid]: uuid for uuid in existing.values()} == existing
    # Actors are complete for the new events and untouched for the existing ones.
    actors: dict[str, set[int]] = {uuid: set() for uuid in uuids}
    for uuid, entity_id in EventActor.objects.values_list("event__uuid", "entity_id"):
        actors[uuid].add(entity_id)
    assert actors == {
        **{uuid: set(ids) for uuid, ids in expected_actors.items()},
        **{uuid: {carol.id} for uuid in existing.values()},
    }
    # Each event's context comes from the one writer that received it.
    writer_of = {uuid: n for n, (_, (events, _)) in enumerate(results) for uuid, _ in filter(None, events)}
    contexts = dict(Event.objects.filter(uuid__in=expected_actors).values_list("uuid", "context"))
    assert contexts == {uuid: {"writer": writer} for uuid, writer in writer_of.items()}


def _create_pair(start: Any, looked_up: Any, queue: Any, number: int, batch: list[dict[str, Any]]):
    try:
        start.wait(timeout=BARRIER_TIMEOUT)
        events = Event.objects.create_events(batch)
        queue.put((number, ("ok", [None if event is None else event.uuid for event in events])))
    except BaseException as error:
        queue.put((number, ("error", repr(error))))
    finally:
        connections.close_all()


@pytest.mark.postgresql  # a trigger in PL/pgSQL holds the first writer back
def test_writers_listing_the_same_uuids_in_opposite_orders_do_not_deadlock(photo_source):
    """Two writers create the uuids ``a`` and ``b``, one in the order a, b, the other b, a.

    A trigger slows every row down, so that both INSERTs run side by side. Had each writer
    inserted in its own order, each would hold one uuid's index entry and wait for the other's:
    a deadlock, which PostgreSQL breaks by failing one of them. Writers insert in uuid order
    instead, so the second one waits for the first, then sees both uuids exist and skips them.
    """
    slow_rows = """
        CREATE FUNCTION entity_event_test_slow_row() RETURNS trigger AS $$
        BEGIN PERFORM pg_sleep(0.3); RETURN NEW; END $$ LANGUAGE plpgsql;
        CREATE TRIGGER entity_event_test_slow_row BEFORE INSERT ON entity_event_event
        FOR EACH ROW EXECUTE FUNCTION entity_event_test_slow_row();
    """
    with connections["default"].cursor() as cursor:
        cursor.execute(slow_rows)
    try:
        batches = [
            ([{"source": photo_source.id, "uuid": uuid, "ignore_duplicates": True} for uuid in order],)
            for order in (["a", "b"], ["b", "a"])
        ]
        results = _run_in_processes(_create_pair, batches)
    finally:
        with connections["default"].cursor() as cursor:
            cursor.execute(
                "DROP TRIGGER entity_event_test_slow_row ON entity_event_event;"
                "DROP FUNCTION entity_event_test_slow_row();"
            )
    assert [status for status, _ in results] == ["ok", "ok"], results
    created = sorted(uuid for _, uuids in results for uuid in uuids if uuid is not None)
    assert created == ["a", "b"]
    assert sorted(Event.objects.values_list("uuid", flat=True)) == ["a", "b"]
