"""Benchmark of the routing queries: ``events()``, ``entity_events()`` and ``events_targets()``.

Builds, with a fixed random seed, a world of users in groups under one all-users entity, ten
sources, one medium with only-following group subscriptions and a few non-following ones,
unsubscriptions, and events with one to three actors (10 % expired, 30 % seen), then prints the
number of SQL queries and the median time of a few runs of each query, results materialised.

It works on a throwaway database created with Django's test database machinery (``test_`` +
the name in ``DATABASE_URL``) and drops it at the end, so it never touches real data::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench \\
        python benchmarks/routing.py --users 2000 --groups 50 --events 10000
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")

import django  # noqa: E402

django.setup()

from django.contrib.contenttypes.models import ContentType  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_databases, teardown_databases  # noqa: E402
from django.utils import timezone  # noqa: E402
from entity.models import Entity, EntityKind, EntityRelationship  # noqa: E402

from entity_event.models import (  # noqa: E402
    Event,
    EventSeen,
    Medium,
    Source,
    SourceGroup,
    Subscription,
    Unsubscription,
)

SEED = 20260101
SOURCES = 10
FOLLOWING_SOURCES_PER_GROUP = 5
INDIVIDUAL_SUBSCRIPTIONS = 20
UNSUBSCRIPTIONS = 20


def build_world(users: int, groups: int, events: int) -> tuple[Medium, Entity, dict[str, int]]:
    """Create the world; return the medium, one user to query for, and what was created."""
    rng = random.Random(SEED)
    now = timezone.now()
    content_type = ContentType.objects.get_by_natural_key("auth", "user")
    user_kind = EntityKind.objects.create(name="user", display_name="User")
    group_kind = EntityKind.objects.create(name="group", display_name="Group")
    all_kind = EntityKind.objects.create(name="all", display_name="All users")
    next_id = iter(range(1, 10**9))

    def entities(kind: EntityKind, count: int, label: str) -> list[Entity]:
        return Entity.all_objects.bulk_create(
            Entity(
                display_name=f"{label} {n}",
                entity_type=content_type,
                entity_id=next(next_id),
                entity_kind=kind,
                entity_meta={"email": f"{label}{n}@example.com"},
            )
            for n in range(count)
        )

    (all_users,) = entities(all_kind, 1, "all")
    group_rows = entities(group_kind, groups, "group")
    user_rows = entities(user_kind, users, "user")
    relationships = [EntityRelationship(sub_entity=group, super_entity=all_users) for group in group_rows]
    for user in user_rows:
        relationships.append(EntityRelationship(sub_entity=user, super_entity=all_users))
        for group in rng.sample(group_rows, rng.randint(1, 3)):
            relationships.append(EntityRelationship(sub_entity=user, super_entity=group))
    EntityRelationship.objects.bulk_create(relationships, batch_size=5000)

    source_group = SourceGroup.objects.create(name="site", display_name="Site")
    sources = Source.objects.bulk_create(
        Source(group=source_group, name=f"source-{n}", display_name=f"Source {n}") for n in range(SOURCES)
    )
    medium = Medium.objects.create(name="email", display_name="Email")
    Medium.objects.filter(pk=medium.pk).update(time_created=now - timedelta(days=365))
    medium.refresh_from_db()

    subscriptions = [
        Subscription(
            medium=medium, source=source, entity=group, sub_entity_kind=user_kind, only_following=True
        )
        for group in group_rows
        for source in rng.sample(sources, FOLLOWING_SOURCES_PER_GROUP)
    ]
    subscriptions += [
        Subscription(
            medium=medium, source=source, entity=all_users, sub_entity_kind=user_kind, only_following=False
        )
        for source in sources[:2]
    ]
    subscriptions += [
        Subscription(medium=medium, source=sources[2], entity=user, only_following=True)
        for user in rng.sample(user_rows, INDIVIDUAL_SUBSCRIPTIONS)
    ]
    Subscription.objects.bulk_create(subscriptions)
    Unsubscription.objects.bulk_create(
        Unsubscription(medium=medium, source=sources[0], entity=user)
        for user in rng.sample(user_rows, UNSUBSCRIPTIONS)
    )

    created: list[Event | None] = []
    batch = 5000
    for start in range(0, events, batch):
        created += Event.objects.create_events(
            {
                "source": rng.choice(sources),
                "actors": rng.sample(user_rows, rng.randint(1, 3)),
                "time": now - timedelta(minutes=rng.randint(1, 60 * 24 * 60)),
                **({"time_expires": now - timedelta(minutes=1)} if rng.random() < 0.1 else {}),
                "context": {"n": start + n},
            }
            for n in range(min(batch, events - start))
        )
    EventSeen.objects.bulk_create(
        (EventSeen(event=event, medium=medium) for event in created if event and rng.random() < 0.3),
        batch_size=5000,
    )
    # The user in the most subscriptions: a realistic, busy feed.
    user = max(user_rows[:50], key=lambda u: EntityRelationship.objects.filter(sub_entity=u).count())
    counts = {
        "subscriptions": len(subscriptions),
        "only-following group subscriptions": groups * FOLLOWING_SOURCES_PER_GROUP,
        "relationships": len(relationships),
    }
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE")
    return medium, user, counts


def measure(run: Callable[[], Any], repeat: int) -> tuple[int, float, int]:
    """(queries, median seconds, result size) of ``run`` over ``repeat`` runs."""
    timings = []
    size = 0
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            size = len(run())
            timings.append(time.perf_counter() - started)
    return len(queries.captured_queries), statistics.median(timings), size


def rolled_back(run: Callable[[], Any]) -> Callable[[], Any]:
    """Run a marking query in a transaction that is rolled back, so every run sees the same data."""

    def wrapper() -> Any:
        with transaction.atomic():
            result = run()
            transaction.set_rollback(True)
        return result

    return wrapper


def first_page_beside_floor(medium: Medium, repeat: int) -> None:
    """The site-wide first page, ``events()[:50]``, beside its floor (the 50 newest rows of the
    event table, which no routing can beat), called in turn in each of ``repeat * 4`` rounds so
    that the machine's load falls on both alike; prints the medians and their ratio."""
    cases = {
        "events()[:50]": lambda: list(medium.events()[:50]),
        "floor: 50 newest rows of the event table": lambda: list(Event.objects.order_by("-time", "-id")[:50]),
    }
    timings: dict[str, list[float]] = {name: [] for name in cases}
    for run in cases.values():
        run()
    for number in range(repeat * 4):
        for name in list(cases)[number % 2 :] + list(cases)[: number % 2]:
            started = time.perf_counter()
            cases[name]()
            timings[name].append(time.perf_counter() - started)
    medians = {name: statistics.median(values) * 1000 for name, values in timings.items()}
    for name, milliseconds in medians.items():
        print(f"{name:<44} {milliseconds:8.2f} ms")
    page, floor = medians.values()
    print(f"events()[:50] / floor: {page / floor:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--groups", type=int, default=50)
    parser.add_argument("--events", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--explain", action="store_true", help="print the PostgreSQL plans (EXPLAIN ANALYZE)")
    args = parser.parse_args()

    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        started = time.perf_counter()
        medium, user, counts = build_world(args.users, args.groups, args.events)
        print(
            f"{connection.vendor}: {args.users} users, {args.groups} groups, {args.events} events, "
            + ", ".join(f"{value} {name}" for name, value in counts.items())
            + f" (built in {time.perf_counter() - started:.1f} s)"
        )
        if args.explain:
            for name, query in [
                ("events()", medium.events()),
                ("entity_events(user)", medium.entity_events(user)),
                ("events_targets(seen=False): events", medium.events().model.objects.none()),
            ][:2]:
                print(f"--- {name}\n{query.explain(analyze=True)}")
        cases = [
            ("events()", lambda: list(medium.events())),
            ("entity_events(user)", lambda: list(medium.entity_events(user))),
            ("events_targets()", lambda: medium.events_targets()),
            ("events_targets(seen=False)", lambda: medium.events_targets(seen=False)),
            (
                "events_targets(seen=False, mark_seen=True)*",
                rolled_back(lambda: medium.events_targets(seen=False, mark_seen=True)),
            ),
        ]
        print(f"| {'query':<44} | {'queries':>7} | {'median s':>8} | {'results':>7} |")
        print(f"|{'-' * 46}|{'-' * 9}|{'-' * 10}|{'-' * 9}|")
        for name, run in cases:
            queries, seconds, size = measure(run, args.repeat)
            print(f"| {name:<44} | {queries:>7} | {seconds:>8.3f} | {size:>7} |")
        print("* in a transaction rolled back after each run (queries include SAVEPOINT/RELEASE or BEGIN)")
        first_page_beside_floor(medium, args.repeat)
    finally:
        teardown_databases(old_config, verbosity=0)


if __name__ == "__main__":
    main()
