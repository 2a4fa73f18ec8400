"""Benchmark of delivery to many people: one event to every member of a group, beside the floor.

For each ``--members`` M it builds, in a throwaway database (``test_`` + the name in
``DATABASE_URL``, dropped at the end), the seed's own pattern: one all-users entity with M members,
a plain group subscription of an email medium to a source, one announcement. Then, round after
round (``--repeat``):

* **the floor**: the cheapest way the database does the same work, two set-based statements
  into a table shaped like ``Delivery`` (``INSERT ... SELECT`` of a row per member, then an
  ``UPDATE`` marking them all sent, with the table's indexes and foreign keys);
* **delivery**: ``deliver_batch`` in a loop with a handler that does nothing (``--batch-size``
  events claimed per batch, chunks of ``--chunk-size``), until nothing is left: the claim, the
  records, and every chunk locked, loaded, handed over and recorded;

and prints the medians, their ratio, and the peak Python memory of one delivery (tracemalloc, in
a round of its own since tracing slows Python down). With ``--workers 1 2 4`` it also times that
many worker processes sharing one announcement (PostgreSQL)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench \\
        python benchmarks/fanout.py --members 10000 100000 --repeat 3 --workers 1 2 4
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")

import django  # noqa: E402

django.setup()

from django.contrib.contenttypes.models import ContentType  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.test.utils import setup_databases, setup_test_environment, teardown_databases  # noqa: E402
from entity.models import Entity, EntityKind, EntityRelationship  # noqa: E402

from entity_event.delivery import deliver_batch  # noqa: E402
from entity_event.delivery.chunks import Sweep  # noqa: E402
from entity_event.models import Delivery, Event, EventSeen, Medium, Source, SourceGroup, Subscription  # noqa: E402

FLOOR_TABLE = "bench_delivery_floor"
#: The same without the foreign keys: cheaper still, since the database then checks nothing.
PLAIN_FLOOR_TABLE = "bench_delivery_floor_plain"


def build_world(members: int) -> Medium:
    """The all-users entity with ``members`` members, its subscription and one announcement."""
    content_type = ContentType.objects.get_by_natural_key("auth", "user")
    user_kind, _ = EntityKind.objects.get_or_create(name="user", defaults={"display_name": "User"})
    all_kind, _ = EntityKind.objects.get_or_create(name="all", defaults={"display_name": "All"})
    everyone = Entity.objects.create(
        display_name="All users", entity_type=content_type, entity_id=0, entity_kind=all_kind
    )
    for start in range(0, members, 20_000):
        batch = Entity.all_objects.bulk_create(
            Entity(
                display_name=f"User {n}",
                entity_type=content_type,
                entity_id=n + 1,
                entity_kind=user_kind,
                entity_meta={"email": f"user{n}@example.com"},
            )
            for n in range(start, min(members, start + 20_000))
        )
        EntityRelationship.objects.bulk_create(
            EntityRelationship(sub_entity=member, super_entity=everyone) for member in batch
        )
    group = SourceGroup.objects.create(name="site", display_name="Site")
    source = Source.objects.create(group=group, name="announcement", display_name="Announcement")
    medium = Medium.objects.create(name="email", display_name="Email")
    Subscription.objects.create(
        medium=medium, source=source, entity=everyone, sub_entity_kind=user_kind, only_following=False
    )
    Event.objects.create_event(source=source, uuid="announcement", context={"text": "Hello"})
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return medium


def reset() -> None:
    """Forget the delivery: no record, no seen mark (and a fresh floor table)."""
    Delivery.objects.all()._raw_delete(connection.alias)
    EventSeen.objects.all()._raw_delete(connection.alias)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {FLOOR_TABLE}, {PLAIN_FLOOR_TABLE}")
        cursor.execute(f"CREATE TABLE {PLAIN_FLOOR_TABLE} (LIKE entity_event_delivery INCLUDING ALL)")
        # The same columns, defaults, indexes and foreign keys as the records' table: the same
        # work for the database, in two statements instead of a claim and chunks.
        cursor.execute(f"CREATE TABLE {FLOOR_TABLE} (LIKE entity_event_delivery INCLUDING ALL)")
        for column, table in (("event_id", "entity_event_event"), ("medium_id", "entity_event_medium"),
                              ("target_id", "entity_entity")):  # fmt: skip
            cursor.execute(
                f"ALTER TABLE {FLOOR_TABLE} ADD FOREIGN KEY ({column}) REFERENCES {table} (id) "
                "DEFERRABLE INITIALLY DEFERRED"
            )
        cursor.execute("VACUUM ANALYZE entity_event_delivery")


def floor(medium: Medium, table: str = FLOOR_TABLE) -> float:
    """Seconds of the two set-based statements: a row per member, then all marked sent."""
    event = Event.objects.get()
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (event_id, medium_id, target_id, status, attempts, last_error, "
            "time_created, time_next_attempt, digest_key) "
            "SELECT %s, %s, r.sub_entity_id, 'pending', 0, '', now(), now(), '' "
            "FROM entity_entityrelationship r",
            [event.pk, medium.pk],
        )
        cursor.execute(f"UPDATE {table} SET status = 'sent', attempts = 1, time_sent = now()")
    return time.perf_counter() - started


def no_op(batch: Any) -> None:
    """A handler that sends nothing and fails nothing."""


def deliver_all(medium: Medium, batch_size: int, chunk_size: int) -> tuple[float, int]:
    """Seconds to deliver everything with the no-op handler, and the records this process sent.
    A batch that finds nothing ends the run once the announcement is claimed and none of its
    records is left pending (another worker may still be writing them, or sending some)."""
    sweep = Sweep(medium, digest=False)
    sent = 0
    started = time.perf_counter()
    number = 0
    while True:
        number += 1
        report = deliver_batch(
            medium, no_op, number=number, batch_size=batch_size, chunk_size=chunk_size, sweep=sweep
        )
        sent += report.sent
        if report.idle:
            claimed = EventSeen.objects.exists()
            if claimed and not Delivery.objects.filter(status=Delivery.Status.PENDING).exists():
                break
            time.sleep(0.01)
    return time.perf_counter() - started, sent


def worker(batch_size: int, chunk_size: int, queue: Any) -> None:
    connections.close_all()
    queue.put(deliver_all(Medium.objects.get(name="email"), batch_size, chunk_size)[1])
    connections.close_all()


def with_workers(count: int, batch_size: int, chunk_size: int) -> tuple[float, list[int]]:
    """Seconds for ``count`` worker processes to deliver the announcement, and what each sent."""
    connections.close_all()
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    started = time.perf_counter()
    processes = [context.Process(target=worker, args=(batch_size, chunk_size, queue)) for _ in range(count)]
    for process in processes:
        process.start()
    sent = [queue.get() for _ in processes]
    for process in processes:
        process.join()
    return time.perf_counter() - started, sent


def measure(members: int, args: argparse.Namespace) -> None:
    for model in (Delivery, EventSeen, Event, Subscription, Medium, Source, SourceGroup, EntityRelationship):
        model.objects.all()._raw_delete(connection.alias)
    Entity.all_objects.all()._raw_delete(connection.alias)
    started = time.perf_counter()
    medium = build_world(members)
    print(f"\n{members:,} members (built in {time.perf_counter() - started:.1f} s)")
    floors, plain_floors, deliveries = [], [], []
    for _ in range(args.repeat):
        reset()
        floors.append(floor(medium))
        plain_floors.append(floor(medium, PLAIN_FLOOR_TABLE))
        seconds, sent = deliver_all(medium, args.batch_size, args.chunk_size)
        assert sent == members, (sent, members)
        deliveries.append(seconds)
    if args.profile:
        import cProfile
        import pstats

        reset()
        profiler = cProfile.Profile()
        profiler.runcall(deliver_all, medium, args.batch_size, args.chunk_size)
        pstats.Stats(profiler).sort_stats(os.environ.get("SORT", "cumulative")).print_stats(40)
    reset()
    tracemalloc.start()
    deliver_all(medium, args.batch_size, args.chunk_size)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    low, high = statistics.median(floors), statistics.median(deliveries)
    plain = statistics.median(plain_floors)

    def rounds(values: list[float]) -> str:
        return ", ".join(f"{value:.2f}" for value in values)

    print(f"| floor (2 set-based statements)   | {low:6.2f} s | rounds: {rounds(floors)}")
    print(f"| floor without foreign keys       | {plain:6.2f} s | rounds: {rounds(plain_floors)}")
    print(f"| delivery (no-op handler)         | {high:6.2f} s | rounds: {rounds(deliveries)}")
    print(f"| ratio to the floor               | {high / low:6.2f}   | {members / high:,.0f} deliveries/s")
    print(f"| ratio to the floor without keys  | {high / plain:6.2f}")
    print(f"| peak Python memory (tracemalloc) | {peak / 2**20:.1f} MB")
    for count in args.workers:
        reset()
        seconds, sent = with_workers(count, args.batch_size, args.chunk_size)
        assert sum(sent) == members, sent
        print(f"| {count} worker(s) | {seconds:.2f} s | each sent {sent}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--chunk-size", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, nargs="*", default=[])
    parser.add_argument("--profile", action="store_true", help="print where one delivery spends its time")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("DATABASE_URL: this benchmark needs PostgreSQL (postgres://USER@HOST:PORT/NAME)")
    setup_test_environment(debug=False)  # as a site runs its workers: no query log
    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        for members in args.members:
            measure(members, args)
    finally:
        connections.close_all()
        teardown_databases(old_config, verbosity=0)


if __name__ == "__main__":
    main()
