"""Benchmark of the notification center: unread counts and pages of unread events as history grows.

Builds, on PostgreSQL, with a fixed random seed, 10,000 users in 100 groups under one all-users
entity, ten sources and one medium ``notifications``: an announcements source subscribed for
the all-users entity and four group-news sources subscribed for the groups (``only_following=
False``), five activity sources subscribed for the groups with ``only_following=True`` (a user
receives the activity whose actors are itself or one of its groups). Then events, for each size
of ``--events`` in turn on the same database: the first size, then older history added to reach
the next. The newest events (``--newest``, 2,000 by default) are the same in every size: steady
activity, with months of history under it. Event ids follow time, as they would in production.

A sample of users (``--sample``, fixed seed) has read state: each called ``mark_read(user)``
while the newest events were arriving (before the newest 2,000, 1,500, 1,000 or 500 of them,
so a few dozen events of its feed are unread), then marked two unread events read and two older
read events unread. For each size the script prints the median of ``--repeat`` calls, spread
over the sample, of ``unread_count(user)``, the first page of unread events, the first page of
the feed and ``mark_read(user)`` (in a transaction rolled back after each call), their query
counts, the unread counts found, and the rows written by one event sent to the 10,000 members
of the all-users entity (counted from ``pg_stat_xact_user_tables``, rolled back too).

The events and their actors are written with ``bulk_create`` and explicit ids and uuids, not
``create_events``: the history added for a bigger size is older than the events already there,
so it takes the ids under them (``create_events`` would give it the next ids of the sequence);
the event of the rows-written line goes through ``create_events``. It works on a throwaway
database created with Django's test database machinery (``test_`` + the name in
``DATABASE_URL``) and drops it at the end, so it never touches real data::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench \\
        python benchmarks/notification_center.py --events 100000 1000000

About 10 s to build 100,000 events and 2 minutes for 1,000,000 on two cores. ``--explain``
prints the plans (``EXPLAIN ANALYZE``, after the measures: warm caches) of the unread count and
of the first unread page; ``--vacuum`` runs ``VACUUM ANALYZE`` rather than ``ANALYZE`` after
building, which sets the visibility map (index-only scans) as autovacuum would in time.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
# Not the project's DEBUG default: with it every bulk insert of the build would be kept in
# connection.queries (CaptureQueriesContext records the measured queries either way).
os.environ.setdefault("DJANGO_DEBUG", "0")

import django  # noqa: E402

django.setup()

from django.contrib.contenttypes.models import ContentType  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_databases, teardown_databases  # noqa: E402
from django.utils import timezone  # noqa: E402
from entity.models import Entity, EntityKind, EntityRelationship  # noqa: E402

from entity_event.models import (  # noqa: E402
    Event,
    EventActor,
    Medium,
    Source,
    SourceGroup,
    Subscription,
    Unsubscription,
)
from entity_event.timestamps import never_expires  # noqa: E402

SEED = 20260101
BATCH = 5000
GROUP_NEWS_SOURCES = 4
ACTIVITY_SOURCES = 5
ACTIVITY_SOURCES_PER_GROUP = 3
UNSUBSCRIPTIONS = 50
#: Share of the events of each kind of source (the rest is activity).
ANNOUNCEMENT_SHARE = 0.01
GROUP_NEWS_SHARE = 0.04
#: Share of the activity events that have a group among their actors (its members follow it).
GROUP_ACTOR_SHARE = 0.05
#: Share of the events that expire a week after they happened (unread counts leave them out).
EXPIRING_SHARE = 0.02
#: Seconds between two events: a million events span about eleven months.
STEP = 30
#: The sample users called mark_read() before the newest 2000, 1500, 1000 or 500 events.
MARK_READ_POINTS = 4


class World:
    """The entities, sources and medium, and the events written so far (ids ``first_id..last_id``)."""

    def __init__(self, users: int, groups: int, last_id: int) -> None:
        self.rng = random.Random(SEED)
        self.last_id = last_id
        self.first_id = last_id + 1  # no event yet
        self.newest_time = timezone.now() - timedelta(minutes=1)
        content_type = ContentType.objects.get_by_natural_key("auth", "user")
        self.user_kind = EntityKind.objects.create(name="user", display_name="User")
        group_kind = EntityKind.objects.create(name="group", display_name="Group")
        all_kind = EntityKind.objects.create(name="all", display_name="All users")
        next_id = iter(range(1, 10**9))

        def entities(kind: EntityKind, count: int, label: str) -> list[Entity]:
            return Entity.all_objects.bulk_create(
                (
                    Entity(
                        display_name=f"{label} {n}",
                        entity_type=content_type,
                        entity_id=next(next_id),
                        entity_kind=kind,
                        entity_meta={"email": f"{label}{n}@example.com"},
                    )
                    for n in range(count)
                ),
                batch_size=BATCH,
            )

        rng = self.rng
        (self.all_users,) = entities(all_kind, 1, "all")
        self.groups = entities(group_kind, groups, "group")
        self.users = entities(self.user_kind, users, "user")
        relationships = [
            EntityRelationship(sub_entity=group, super_entity=self.all_users) for group in self.groups
        ]
        for user in self.users:
            relationships.append(EntityRelationship(sub_entity=user, super_entity=self.all_users))
            for group in rng.sample(self.groups, rng.randint(1, 3)):
                relationships.append(EntityRelationship(sub_entity=user, super_entity=group))
        EntityRelationship.objects.bulk_create(relationships, batch_size=BATCH)
        self.relationships = len(relationships)

        source_group = SourceGroup.objects.create(name="site", display_name="Site")

        def sources(names: list[str]) -> list[Source]:
            return Source.objects.bulk_create(
                Source(group=source_group, name=name, display_name=name.title()) for name in names
            )

        (self.announcements,) = sources(["announcements"])
        self.group_news = sources([f"group-news-{n}" for n in range(GROUP_NEWS_SOURCES)])
        self.activity = sources(
            ["comments", "mentions", "assignments", "reviews", "likes"][:ACTIVITY_SOURCES]
        )
        self.medium = Medium.objects.create(name="notifications", display_name="Notifications")
        # The medium predates every event (events older than it are never delivered).
        Medium.objects.filter(pk=self.medium.pk).update(time_created=self.time_of(0) - timedelta(days=1))
        self.medium.refresh_from_db()

        subscriptions = [
            Subscription(
                medium=self.medium,
                source=self.announcements,
                entity=self.all_users,
                sub_entity_kind=self.user_kind,
                only_following=False,
            )
        ]
        for number, group in enumerate(self.groups):
            subscriptions.append(
                Subscription(
                    medium=self.medium,
                    source=self.group_news[number % GROUP_NEWS_SOURCES],
                    entity=group,
                    sub_entity_kind=self.user_kind,
                    only_following=False,
                )
            )
            subscriptions += [
                Subscription(
                    medium=self.medium,
                    source=source,
                    entity=group,
                    sub_entity_kind=self.user_kind,
                    only_following=True,
                )
                for source in rng.sample(self.activity, ACTIVITY_SOURCES_PER_GROUP)
            ]
        Subscription.objects.bulk_create(subscriptions)
        self.subscriptions = len(subscriptions)
        Unsubscription.objects.bulk_create(
            Unsubscription(medium=self.medium, source=rng.choice(self.group_news), entity=user)
            for user in rng.sample(self.users, UNSUBSCRIPTIONS)
        )

    def time_of(self, event_id: int) -> datetime:
        """The time of the event ``event_id``: ids follow time, ``STEP`` seconds apart."""
        return self.newest_time - timedelta(seconds=STEP * (self.last_id - event_id))

    def write_events(self, first: int, last: int) -> None:
        """Write the events ``first..last`` (ids) and their actors, in batches of ``BATCH``."""
        for start in range(first, last + 1, BATCH):
            # One generator per batch, seeded by its first id: a batch is the same whatever the
            # order the batches are written in.
            rng = random.Random(f"{SEED}-{start}")
            events, actors = [], []
            for event_id in range(start, min(start + BATCH, last + 1)):
                roll = rng.random()
                if roll < ANNOUNCEMENT_SHARE:
                    source, members = self.announcements, [rng.choice(self.users)]
                elif roll < ANNOUNCEMENT_SHARE + GROUP_NEWS_SHARE:
                    source, members = rng.choice(self.group_news), [rng.choice(self.users)]
                else:
                    source, members = rng.choice(self.activity), rng.sample(self.users, rng.randint(1, 3))
                    if rng.random() < GROUP_ACTOR_SHARE:
                        members.append(rng.choice(self.groups))
                event_time = self.time_of(event_id)
                expires = event_time + timedelta(days=7) if rng.random() < EXPIRING_SHARE else never_expires()
                events.append(
                    Event(
                        id=event_id,
                        source=source,
                        context={"n": event_id},
                        time=event_time,
                        time_expires=expires,
                        uuid=f"bench-{event_id}",
                    )
                )
                actors += [EventActor(event_id=event_id, entity_id=member.pk) for member in members]
            with transaction.atomic():
                Event.objects.bulk_create(events)
                EventActor.objects.bulk_create(actors)
        self.first_id = min(self.first_id, first)
        with connection.cursor() as cursor:
            # create_events (the rows-written line) takes the next id after the newest event.
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", [Event._meta.db_table, self.last_id]
            )

    def grow_to(self, size: int, newest: int, sample: list[Entity], vacuum: bool) -> None:
        """Add older history until there are ``size`` events; the first time, write the newest
        ``newest`` events last, the sample users calling ``mark_read`` as they arrive. Then
        ``ANALYZE`` (``VACUUM ANALYZE`` with ``vacuum``)."""
        first = self.last_id - size + 1
        if self.first_id > self.last_id:  # no event yet: the first size
            cut = self.last_id - newest
            self.write_events(first, cut)
            for point in range(MARK_READ_POINTS):
                for user in sample[point::MARK_READ_POINTS]:
                    self.medium.mark_read(user)
                step_end = cut + newest * (point + 1) // MARK_READ_POINTS
                self.write_events(cut + newest * point // MARK_READ_POINTS + 1, step_end)
            for user in sample:
                unread = self.medium.entity_events(user, read=False).values_list("pk", flat=True)
                self.medium.mark_read(user, list(unread[3:5]))
                read = self.medium.entity_events(user, read=True).values_list("pk", flat=True)
                self.medium.mark_unread(user, list(read[10:12]))
        elif first < self.first_id:
            self.write_events(first, self.first_id - 1)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE" if vacuum else "ANALYZE")


class DatabaseTimer:
    """An execute wrapper (``connection.execute_wrapper``) adding up the seconds the queries take
    in the database driver: the database's share of a call, Python's being the rest."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started


def measure(
    run: Callable[[Entity], Any], users: list[Entity], repeat: int
) -> tuple[float, float, int, list[Any]]:
    """(median ms, median ms spent in the database, queries of one call, results) of
    ``run(user)`` over ``repeat`` calls spread over ``users``, after one untimed call per user."""
    for user in users:
        run(user)
    timings, in_database, results, queries = [], [], [], 0
    for number in range(repeat):
        user = users[number % len(users)]
        timer = DatabaseTimer()
        with CaptureQueriesContext(connection) as captured, connection.execute_wrapper(timer):
            started = time.perf_counter()
            results.append(run(user))
            timings.append(time.perf_counter() - started)
        in_database.append(timer.seconds)
        queries = len(captured.captured_queries)
    return statistics.median(timings) * 1000, statistics.median(in_database) * 1000, queries, results


def rolled_back(run: Callable[[Entity], Any]) -> Callable[[Entity], Any]:
    """Run a write in a transaction rolled back afterwards, so that every call sees the same data."""

    def wrapper(user: Entity) -> Any:
        with transaction.atomic():
            result = run(user)
            transaction.set_rollback(True)
        return result

    return wrapper


def rows_written(world: World, sample_user: Entity) -> tuple[dict[str, int], float, int]:
    """Rows inserted per table by one event sent to every user (the announcements source, one
    group subscription over the all-users entity), its time in ms, and how many more unread
    events a sample user has then (1); rolled back."""
    inserted = "SELECT relname, n_tup_ins FROM pg_stat_xact_user_tables WHERE n_tup_ins > 0"
    with transaction.atomic():
        before_unread = world.medium.unread_count(sample_user)
        with connection.cursor() as cursor:
            cursor.execute(inserted)
            before = dict(cursor.fetchall())
            started = time.perf_counter()
            Event.objects.create_events(
                [{"source": world.announcements, "actors": [world.users[0]], "context": {"n": "hello"}}]
            )
            seconds = time.perf_counter() - started
            cursor.execute(inserted)
            after = dict(cursor.fetchall())
        more_unread = world.medium.unread_count(sample_user) - before_unread
        transaction.set_rollback(True)
    rows = {table: count - before.get(table, 0) for table, count in after.items()}
    rows = {table: count for table, count in rows.items() if count}
    return rows, seconds * 1000, more_unread


def explain(world: World, user: Entity) -> None:
    """Print the plans of the unread count and of the first unread page of ``user``."""
    unread = world.medium.entity_events(user, read=False)
    for name, query in [("unread_count", unread.order_by()), ("first unread page", unread[:20])]:
        print(f"--- {name} (user {user.pk})\n{query.query}")
        sql, params = query.query.sql_with_params()
        if name == "unread_count":
            sql = f"SELECT COUNT(*) FROM ({sql}) counted"
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
            print("\n".join(row[0] for row in cursor.fetchall()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, nargs="+", default=[100000, 1000000])
    parser.add_argument("--users", type=int, default=10000)
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--newest", type=int, default=2000, help="newest events, the same in every size")
    parser.add_argument("--sample", type=int, default=20, help="users with read state, measured")
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--explain", action="store_true", help="print the PostgreSQL plans (EXPLAIN ANALYZE)")
    parser.add_argument(
        "--vacuum",
        action="store_true",
        help="VACUUM ANALYZE after building, not ANALYZE (the visibility map autovacuum sets in time)",
    )
    args = parser.parse_args()
    sizes = sorted(args.events)
    if sizes[0] <= args.newest:
        parser.error("--events: every size must be larger than --newest")

    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        if connection.vendor != "postgresql":
            sys.exit("This benchmark needs PostgreSQL: set DATABASE_URL=postgres://...")
        started = time.perf_counter()
        world = World(args.users, args.groups, last_id=sizes[-1])
        sample = random.Random(SEED + 1).sample(world.users, args.sample)
        # A user who never marked anything read: its whole feed is unread.
        never_read = next(user for user in world.users if user not in sample)
        print(
            f"{args.users} users, {args.groups} groups, {world.relationships} relationships, "
            f"{world.subscriptions} subscriptions, {args.sample} users with read state "
            f"(built in {time.perf_counter() - started:.1f} s)"
        )
        medium = world.medium
        cases: list[tuple[str, Callable[[Entity], Any]]] = [
            ("unread_count(user)", medium.unread_count),
            ("first unread page", lambda user: list(medium.entity_events(user, read=False)[:20])),
            ("first feed page", lambda user: list(medium.entity_events(user)[:20])),
            ("mark_read(user)*", rolled_back(medium.mark_read)),
        ]
        rows: list[tuple[int, list[float]]] = []
        for size in sizes:
            started = time.perf_counter()
            world.grow_to(size, args.newest, sample, args.vacuum)
            analyze = "VACUUM ANALYZE" if args.vacuum else "ANALYZE"
            print(
                f"--- {size} events, {EventActor.objects.count()} actor rows "
                f"(built in {time.perf_counter() - started:.1f} s, {analyze} included)"
            )
            medians = []
            for name, run in cases:
                milliseconds, in_database, queries, results = measure(run, sample, args.repeat)
                medians.append(milliseconds)
                sizes_found = [result if isinstance(result, int) else len(result or []) for result in results]
                print(
                    f"  {name:<20} {milliseconds:6.2f} ms (database {in_database:5.2f} ms)  "
                    f"{queries} queries  results min/median/max "
                    f"{min(sizes_found)}/{statistics.median(sizes_found):g}/{max(sizes_found)}"
                )
            if args.explain:  # after the measures: the plans of warm caches
                explain(world, sample[0])
            worst, _, _, (count, *_) = measure(medium.unread_count, [never_read], 5)
            print(f"  unread_count of a user who never marked anything read: {worst:.2f} ms ({count} unread)")
            written, milliseconds, more_unread = rows_written(world, sample[0])
            print(
                f"  one event to the {args.users} users of one group subscription: "
                f"{sum(written.values())} rows written ({', '.join(f'{t} {n}' for t, n in written.items())}) "
                f"in {milliseconds:.1f} ms; a member's unread count +{more_unread}"
            )
            rows.append((size, medians))

        print()
        print(
            f"| {'events':>9} | {'unread_count ms':>15} | {'first unread page ms':>20} "
            f"| {'feed page ms':>12} | {'mark_read ms*':>13} |"
        )
        print(f"|{'-' * 11}|{'-' * 17}|{'-' * 22}|{'-' * 14}|{'-' * 15}|")
        for size, (count_ms, unread_ms, feed_ms, mark_ms) in rows:
            print(
                f"| {size:>9} | {count_ms:>15.2f} | {unread_ms:>20.2f} "
                f"| {feed_ms:>12.2f} | {mark_ms:>13.2f} |"
            )
        (small, first), (big, last) = rows[0], rows[-1]
        print(
            f"| {f'{big // small}x':>9} | {last[0] / first[0]:>14.2f}x | {last[1] / first[1]:>19.2f}x "
            f"| {last[2] / first[2]:>11.2f}x | {last[3] / first[3]:>12.2f}x |"
        )
        print("* in a transaction rolled back after each call (BEGIN, SAVEPOINT, RELEASE, ROLLBACK counted)")
        met = {
            name: last[column] <= 2 * first[column] and last[column] < 10
            for column, name in enumerate(["unread_count", "first unread page"])
        }
        print(
            f"Targets at {big} events (at most 2x the time at {small}, under 10 ms): "
            + ", ".join(f"{name} {'met' if ok else 'NOT met'}" for name, ok in met.items())
        )
    finally:
        teardown_databases(old_config, verbosity=0)


if __name__ == "__main__":
    main()
