"""Benchmark of claims: how many events per second 1, 4 and 8 worker processes claim together.

Builds, in a throwaway database (``test_`` + the name in ``DATABASE_URL``, dropped at the end), a
medium with a group subscription of a few users and ``--events`` events, then for each number of
workers: forgets the seen marks, starts the workers (processes, each with its own connection),
each claiming ``events_targets(seen=False, mark_seen=True, limit=--batch-size)`` in a loop until
a claim comes back empty, and prints the wall time and the events claimed per second. The claim
is exactly-once, so the workers' counts add up to ``--events``; the script checks it.
With ``--memory`` it also prints how much memory one claim of the whole backlog takes, with
``limit=--batch-size`` and without a limit (peak resident memory of a fresh process, Linux).
Meant for PostgreSQL (SQLite serialises writers: more workers only wait)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench \\
        python benchmarks/delivery.py --events 20000 --repeat 3
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")

import django  # noqa: E402

django.setup()

from django.contrib.contenttypes.models import ContentType  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402
from entity.models import Entity, EntityKind, EntityRelationship  # noqa: E402

from entity_event.models import Event, EventSeen, Medium, Source, SourceGroup, Subscription  # noqa: E402


def build_world(events: int, users: int) -> None:
    """A medium ``email``, ``users`` users in a group subscribed to a source, ``events`` events."""
    content_type = ContentType.objects.get_by_natural_key("auth", "user")
    user_kind = EntityKind.objects.create(name="user", display_name="User")
    group_kind = EntityKind.objects.create(name="group", display_name="Group")
    group = Entity.objects.create(
        display_name="Group", entity_type=content_type, entity_id=0, entity_kind=group_kind
    )
    members = Entity.all_objects.bulk_create(
        Entity(display_name=f"User {n}", entity_type=content_type, entity_id=n + 1, entity_kind=user_kind)
        for n in range(users)
    )
    EntityRelationship.objects.bulk_create(
        EntityRelationship(sub_entity=member, super_entity=group) for member in members
    )
    source = Source.objects.create(
        name="news", display_name="News", group=SourceGroup.objects.create(name="site", display_name="Site")
    )
    medium = Medium.objects.create(name="email", display_name="Email")
    Subscription.objects.create(
        medium=medium, source=source, entity=group, sub_entity_kind=user_kind, only_following=False
    )
    for start in range(0, events, 5000):
        Event.objects.create_events(
            [{"source": source, "context": {"n": n}} for n in range(start, min(events, start + 5000))]
        )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE")


def claim_until_empty(batch_size: int, start: Any, queue: Any) -> None:
    """A worker: claim batches until one comes back empty; report how many events it claimed."""
    connections.close_all()
    medium = Medium.objects.get(name="email")
    start.wait()
    claimed = 0
    while batch := medium.events_targets(seen=False, mark_seen=True, limit=batch_size):
        claimed += len(batch)
    queue.put(claimed)
    connections.close_all()


def run(workers: int, batch_size: int) -> tuple[float, int]:
    """Seconds the workers took to claim every event, and the events they claimed."""
    EventSeen.objects.all().delete()
    connections.close_all()
    context = multiprocessing.get_context("fork")
    start, queue = context.Barrier(workers + 1), context.Queue()
    processes = [
        context.Process(target=claim_until_empty, args=(batch_size, start, queue)) for _ in range(workers)
    ]
    for process in processes:
        process.start()
    start.wait()
    began = time.perf_counter()
    claimed = sum(queue.get() for _ in processes)
    seconds = time.perf_counter() - began
    for process in processes:
        process.join()
    return seconds, claimed


def peak_memory_of_claim(limit: int | None, queue: Any) -> None:
    """A process: claim once (``limit`` events at most) and report the growth of its peak
    resident memory, in bytes, read from ``/proc/self/status`` (reset first by ``clear_refs``)."""
    connections.close_all()
    medium = Medium.objects.get(name="email")
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")  # resets the peak to the current resident memory
    before = resident_memory("VmHWM")
    claimed = len(medium.events_targets(seen=False, mark_seen=True, limit=limit))
    queue.put((claimed, resident_memory("VmHWM") - before))
    connections.close_all()


def resident_memory(field: str) -> int:
    """A memory field (``VmRSS``, ``VmHWM``) of this process's ``/proc/self/status``, in bytes."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise LookupError(field)


def memory(limit: int | None) -> tuple[int, int]:
    """Events claimed and peak memory growth of one claim with ``limit``, seen marks forgotten."""
    EventSeen.objects.all().delete()
    connections.close_all()
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    process = context.Process(target=peak_memory_of_claim, args=(limit, queue))
    process.start()
    claimed, growth = queue.get()
    process.join()
    return claimed, growth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--users", type=int, default=3, help="targets of each event")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--memory", action="store_true", help="also measure one claim's memory")
    args = parser.parse_args()

    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        started = time.perf_counter()
        build_world(args.events, args.users)
        print(
            f"{connection.vendor}: {args.events} events x {args.users} targets, batches of {args.batch_size} "
            f"(built in {time.perf_counter() - started:.1f} s); medians of {args.repeat} runs"
        )
        print(f"| {'workers':>7} | {'seconds':>8} | {'events/s':>9} |")
        print(f"|{'-' * 9}|{'-' * 10}|{'-' * 11}|")
        for workers in args.workers:
            timings = []
            for _ in range(args.repeat):
                seconds, claimed = run(workers, args.batch_size)
                assert claimed == args.events, f"{claimed} claimed of {args.events}"
                timings.append(seconds)
            median = statistics.median(timings)
            print(f"| {workers:>7} | {median:>8.2f} | {args.events / median:>9,.0f} |")
        if args.memory:
            print(f"\n| {'one claim':>20} | {'events':>9} | {'peak memory growth':>18} |")
            print(f"|{'-' * 22}|{'-' * 11}|{'-' * 20}|")
            for label, limit in ((f"limit={args.batch_size}", args.batch_size), ("no limit", None)):
                claimed, growth = memory(limit)
                print(f"| {label:>20} | {claimed:>9,} | {growth / 2**20:>15.1f} MB |")
    finally:
        teardown_databases(old_config, verbosity=0)


if __name__ == "__main__":
    main()
