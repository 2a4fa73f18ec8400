"""Retention at scale on PostgreSQL: the batched ``prune_entity_events`` beside dropping partitions.

Loads the world of ``benchmarks/scale.py`` (10,000 users, ids following time, a million events a
year) twice in one throwaway database: once in the tables the migrations create, once after
turning the event table and the four tables that point at it (actors, seen records, deliveries,
read marks) into tables partitioned by ranges of event ids (``--partition-size`` ids each: ids
follow creation, so a partition holds a stretch of time). Each time it removes the events older
than ``--older-than-days`` days:

* plain tables: ``prune_entity_events --older-than-days N`` (its batches of 1,000);
* partitioned tables: ``DETACH`` and ``DROP`` of every partition whose events are all older than
  the cutoff (each dependent table's partition first), then ``prune_entity_events`` for the rest
  (the events of the partition that straddles the cutoff).

Meanwhile another thread keeps working through the public API, as a site would: it creates ten
events (``create_events``) and reads a user's first newsfeed page, again and again; the script
prints how long those iterations took (median, 99th percentile, longest), which shows the locks
each way of pruning holds. It also checks that the API works on the partitioned tables (creation,
feeds, a claim). Nothing of this is a test; the partitioned layout is the design that
docs/retention.rst describes::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench \\
        python benchmarks/partitioning.py --events 1000000 --older-than-days 182
"""

from __future__ import annotations

import argparse
import io
import re
import statistics
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import scale  # noqa: E402  (sets Django up)
from django.core.management import call_command  # noqa: E402
from django.db import connection, connections, transaction  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402
from django.utils import timezone  # noqa: E402

from entity_event.models import Delivery, Event, EventActor, EventSeen, ReadMark  # noqa: E402

#: The partitioned tables and their partition keys; the dependents first, the events last.
PARTITIONED = [(EventActor, "event_id"), (EventSeen, "event_id"), (Delivery, "event_id"),
               (ReadMark, "event_id"), (Event, "id")]  # fmt: skip


def table_definitions(cursor, table: str) -> tuple[list[tuple[str, str]], list[str]]:
    """The constraints (name, definition) and the other indexes (definitions) of ``table``."""
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass "
        "ORDER BY contype DESC",  # u, p, f, c: keys before the foreign keys that need them
        [table],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        "SELECT indexdef FROM pg_indexes WHERE tablename = %s AND indexname NOT IN "
        "(SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
        [table, table],
    )
    return constraints, [row[0] for row in cursor.fetchall()]


def with_key(definition: str, key: str) -> str:
    """A primary key or unique constraint with the partition key added (PostgreSQL requires it)."""
    match = re.match(r"(PRIMARY KEY|UNIQUE) \((.*)\)", definition)
    if not match or key in [column.strip() for column in match.group(2).split(",")]:
        return definition
    return f"{match.group(1)} ({match.group(2)}, {key})"


def partition_tables(last_id: int, size: int) -> None:
    """Turn the (empty) event tables into tables partitioned by ranges of ``size`` event ids,
    covering ids 1 to ``last_id`` and as many again for new events: same columns, identities,
    constraints (the partition key added to the primary and unique keys, as PostgreSQL requires)
    and indexes."""
    quote = connection.ops.quote_name
    with transaction.atomic(), connection.cursor() as cursor:
        definitions = {model: table_definitions(cursor, model._meta.db_table) for model, _ in PARTITIONED}
        for model, key in PARTITIONED:
            table = model._meta.db_table
            cursor.execute(f"ALTER TABLE {quote(table)} RENAME TO {quote(table + '_plain')}")
            cursor.execute(
                f"CREATE TABLE {quote(table)} (LIKE {quote(table + '_plain')} INCLUDING DEFAULTS "
                f"INCLUDING IDENTITY) PARTITION BY RANGE ({key})"
            )
            for start in range(1, 2 * last_id + 1, size):
                cursor.execute(
                    f"CREATE TABLE {quote(f'{table}_p{start // size:04}')} PARTITION OF {quote(table)} "
                    f"FOR VALUES FROM ({start}) TO ({start + size})"
                )
        for model, _ in PARTITIONED:
            cursor.execute(f"DROP TABLE {quote(model._meta.db_table + '_plain')} CASCADE")
        for model, key in reversed(PARTITIONED):  # the events first: the others point at them
            table = quote(model._meta.db_table)
            constraints, indexes = definitions[model]
            for name, definition in constraints:
                cursor.execute(
                    f"ALTER TABLE {table} ADD CONSTRAINT {quote(name)} {with_key(definition, key)}"
                )
            for definition in indexes:
                cursor.execute(definition.replace(" ON public.", " ON ", 1))


def drop_old_partitions(cutoff: datetime) -> int:
    """Detach and drop every partition whose events are all older than ``cutoff``, in one short
    transaction; return how many events went.

    It first locks the five parent tables, the events first, as writers take them (a writer
    inserts events, then their actors, then checks its foreign keys at commit): it waits for the
    transactions at work to end and new ones wait for it, for as long as the detaching and
    dropping take, a few milliseconds per partition. Without that lock, a plain ``DETACH`` (and
    ``DETACH ... CONCURRENTLY`` too, when the detached table is dropped) deadlocked with a
    writer's foreign key check, and PostgreSQL aborted the writer's transaction.
    """
    quote = connection.ops.quote_name
    dropped = 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT child.relname FROM pg_inherits JOIN pg_class child ON child.oid = inhrelid "
            "WHERE inhparent = %s::regclass ORDER BY child.relname",
            [Event._meta.db_table],
        )
        old = []
        for (partition,) in cursor.fetchall():
            cursor.execute(f"SELECT count(*), max(time) FROM {quote(partition)}")
            count, newest = cursor.fetchone()
            if newest is not None and newest < cutoff:
                old.append(partition[len(Event._meta.db_table) :])
                dropped += count
        if not old:
            return 0
        parents = [quote(model._meta.db_table) for model, _ in reversed(PARTITIONED)]
        cursor.execute(f"LOCK TABLE {', '.join(parents)} IN ACCESS EXCLUSIVE MODE")
        for suffix in old:
            for model, _ in PARTITIONED:  # the dependents first: they point at the events
                table = model._meta.db_table
                cursor.execute(f"ALTER TABLE {quote(table)} DETACH PARTITION {quote(table + suffix)}")
                cursor.execute(f"DROP TABLE {quote(table + suffix)}")
    return dropped


class Traffic(threading.Thread):
    """A site at work: create ten events, read a first newsfeed page, again and again."""

    def __init__(self, world: scale.World) -> None:
        super().__init__()
        self.world = world
        self.stop = threading.Event()
        self.latencies: list[float] = []

    def run(self) -> None:
        user = self.world.actors[0]
        number = 0
        try:
            while not self.stop.is_set():
                started = time.perf_counter()
                Event.objects.create_events(
                    {"source": self.world.sources[0], "actors": [user], "context": {"n": number + n}}
                    for n in range(10)
                )
                list(self.world.newsfeed.entity_events(user)[:20])
                self.latencies.append(time.perf_counter() - started)
                number += 10
        finally:
            connections.close_all()

    def report(self) -> str:
        ordered = sorted(self.latencies)
        p99 = ordered[int(len(ordered) * 0.99)] if ordered else 0
        return (
            f"{len(ordered)} iterations of the site's work: "
            f"median {statistics.median(ordered) * 1000:.1f} ms, "
            f"99th percentile {p99 * 1000:.1f} ms, longest {ordered[-1] * 1000:.1f} ms"
        )


def remove_old_events(world: scale.World, days: int, partitioned: bool) -> None:
    """Remove the events older than ``days`` days, the site's traffic running beside; print what
    it cost."""
    cutoff = timezone.now() - timedelta(days=days)
    before = Event.objects.count()
    traffic = Traffic(world)
    traffic.start()
    try:
        time.sleep(1)
        started = time.perf_counter()
        by_partitions = drop_old_partitions(cutoff) if partitioned else 0
        dropped_in = time.perf_counter() - started
        call_command("prune_entity_events", "--older-than-days", str(days), stdout=io.StringIO())
        seconds = time.perf_counter() - started
        time.sleep(1)
    finally:
        traffic.stop.set()
        traffic.join()
    removed = before + len(traffic.latencies) * 10 - Event.objects.count()
    print(f"  removed {removed:,} events in {seconds:.2f} s ({removed / seconds:,.0f}/s)")
    if partitioned:
        print(f"  of which {by_partitions:,} by dropping partitions, in {dropped_in:.2f} s")
    print(f"  {traffic.report()}")


def check_the_api(world: scale.World) -> None:
    """Creation, a feed, the newest events and a claim on the tables as they are."""
    Event.objects.create_events([{"source": world.sources[5], "actors": [world.actors[1]]}] * 3)
    assert list(world.newsfeed.entity_events(world.actors[1])[:20])
    assert list(world.newsfeed.events()[:50])
    with transaction.atomic():
        claimed = world.email.events_targets(
            seen=False, mark_seen=True, start_time=timezone.now() - timedelta(hours=1)
        )
        assert claimed and not world.email.events_targets(
            seen=False, start_time=timezone.now() - timedelta(hours=1)
        )
        transaction.set_rollback(True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--older-than-days", type=int, default=182)
    parser.add_argument("--partition-size", type=int, default=1_000_000 // 12, help="event ids per partition")
    args = parser.parse_args()

    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        if connection.vendor != "postgresql":
            sys.exit("This benchmark needs PostgreSQL: set DATABASE_URL=postgres://...")
        world = scale.World(last_id=args.events, newest_time=timezone.now() - timedelta(minutes=1))
        for partitioned in (False, True):
            if partitioned:
                with connection.cursor() as cursor:
                    cursor.execute(
                        "TRUNCATE "
                        + ", ".join(connection.ops.quote_name(m._meta.db_table) for m, _ in PARTITIONED)
                    )
                partition_tables(args.events, args.partition_size)
                world.first_id = world.last_id + 1
            started = time.perf_counter()
            world.grow_to(args.events, vacuum=True)
            layout = f"partitioned by {args.partition_size:,} ids" if partitioned else "plain tables"
            print(f"--- {layout}: {args.events:,} events loaded in {time.perf_counter() - started:.0f} s")
            check_the_api(world)
            remove_old_events(world, args.older_than_days, partitioned)
    finally:
        teardown_databases(old_config, verbosity=0)


if __name__ == "__main__":
    main()
