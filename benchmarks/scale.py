"""Benchmark of scale: the first pages, the claim, rendering and ingest as the event table grows.

Builds on PostgreSQL, with a fixed random seed, 10,000 users in 200 groups (each user in one to
three) under one all-users entity, ten sources and two mediums:

* ``newsfeed``: everyone receives five sources (a group subscription of the all-users entity,
  not only following), and, through each group, five more only following (a user receives the
  events of those sources whose actors are itself or one of its groups);
* ``email``: everyone, only following, for all ten sources (a user receives the events it took
  part in: a sparse feed).

Then events, for each size of ``--events`` in turn on the same database: the first size, then
older history added under it to reach the next (the newest events are the same at every size).
Events come at a steady pace, a million a year, ids following time (ten million events are ten
years of history), with one to three actors each (users, and now and then a group); one user in
a hundred never acts, so its email feed is empty. The rows
are written by a bulk loader of this script's own (PostgreSQL ``COPY``), not through
``create_events``, so that ten million events take minutes; ``--vacuum`` runs ``VACUUM
ANALYZE`` after each size (the visibility map, as autovacuum would set it in time).

For each size it prints, through the public API (medians of ``--repeat`` calls spread over a
sample of users, and the queries of one call):

* one user's first newsfeed page, ``newsfeed.entity_events(user)[:20]``;
* a sparse feed's first page, ``email.entity_events(user)[:20]``;
* an empty feed's first page, ``email.entity_events(silent user)[:20]``;
* the newsfeed's newest 50, ``newsfeed.events()[:50]`` (a site-wide "recent activity" page);
* the email worker's claim of the last hour, ``email.events_targets(seen=False,
  mark_seen=True, start_time=now - 1 hour)``, in a transaction rolled back after each call;
* rendering a 20-event newsfeed page, ``newsfeed.render(page)``;
* ingest of 1,000 events with two actors each: ``create_events``, beside a raw ``COPY`` and a
  multi-row ``INSERT ... VALUES`` of the same rows (each in a transaction rolled back after it,
  so the commit is not counted in any of them), called in turn round after round, with the
  ratio of ``create_events`` to the raw ``COPY``;
* the sizes of the event and actor tables and of their indexes, per million events;
* with ``--explain``, the PostgreSQL plans of the first pages (``EXPLAIN ANALYZE``).

With ``--members``, the group-size axis instead: for each size, a world of one group of that
many active users, one only-following subscription of the group's users (a user receives the
events whose actors it follows: itself), and ``GROUP_EVENTS`` events with two member actors
each. It prints, each beside its floor (the cheapest query of the same rows, run in the same
rounds: ``measure_side_by_side``), a worker's batch ``events_targets(seen=False, limit=100)``
(floor: the 100 oldest events and their actors), ``events()[:50]`` (floor: the 50 newest rows
of the event table) and ``entity_events(member)[:20]`` (floor: the member's 20 newest events
through its actor rows), with their plans under ``--explain``::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench \\
        python benchmarks/scale.py --members 1000 10000 100000 --explain

At the end, ``prune_entity_events`` throughput: it deletes the oldest ``--prune`` events (in
its batches of 1,000, committed) and prints the events deleted per second.

It works on a throwaway database created with Django's test database machinery (``test_`` +
the name in ``DATABASE_URL``) and drops it at the end, so it never touches real data::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench \\
        python benchmarks/scale.py --events 100000 1000000 10000000 --vacuum
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import sys
import textwrap
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
# Not the project's DEBUG default: with it every query would be kept in connection.queries.
os.environ.setdefault("DJANGO_DEBUG", "0")

import django  # noqa: E402

django.setup()

from django.contrib.contenttypes.models import ContentType  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_databases, teardown_databases  # noqa: E402
from django.utils import timezone  # noqa: E402
from entity.models import Entity, EntityKind, EntityRelationship  # noqa: E402

from entity_event.db.bulk_writes import copy_text  # noqa: E402
from entity_event.models import (  # noqa: E402
    ContextRenderer,
    Event,
    EventActor,
    Medium,
    RenderingStyle,
    Source,
    SourceGroup,
    Subscription,
)
from entity_event.timestamps import never_expires  # noqa: E402

SEED = 20261128
USERS = 10000
GROUPS = 200
SOURCES = 10
#: Sources every user receives on the newsfeed (the others: only following, through groups).
EVERYONE_SOURCES = 5
#: Seconds between two events: a million events a year.
STEP = 365 * 24 * 3600 / 1_000_000
#: One user in SILENT_EVERY never acts: its email feed is empty.
SILENT_EVERY = 100
#: Share of the events that have a group among their actors.
GROUP_ACTOR_SHARE = 0.05
LOAD_BATCH = 100000
#: The events of the group-size axis.
GROUP_EVENTS = 20000


class World:
    """The entities, sources, mediums and renderers, and the events loaded so far."""

    def __init__(self, last_id: int, newest_time: datetime) -> None:
        rng = random.Random(SEED)
        self.last_id = last_id
        self.first_id = last_id + 1  # no event yet
        self.newest_time = newest_time
        content_type = ContentType.objects.get_by_natural_key("auth", "user")
        user_kind = EntityKind.objects.create(name="user", display_name="User")
        group_kind = EntityKind.objects.create(name="group", display_name="Group")
        all_kind = EntityKind.objects.create(name="all", display_name="All users")
        entity_ids = iter(range(1, 10**9))

        def entities(kind: EntityKind, count: int, label: str) -> list[Entity]:
            return Entity.all_objects.bulk_create(
                Entity(
                    display_name=f"{label} {n}",
                    entity_type=content_type,
                    entity_id=next(entity_ids),
                    entity_kind=kind,
                    entity_meta={"email": f"{label}{n}@example.com"},
                )
                for n in range(count)
            )

        (self.everyone,) = entities(all_kind, 1, "all")
        # The silent users are the members of a group of their own, which never acts either.
        *self.groups, quiet_group = entities(group_kind, GROUPS, "group")
        self.users = entities(user_kind, USERS, "user")
        self.silent = self.users[::SILENT_EVERY]
        silent_ids = {user.pk for user in self.silent}
        self.actors = [user for user in self.users if user.pk not in silent_ids]
        all_groups = [*self.groups, quiet_group]
        relationships = [
            EntityRelationship(sub_entity=group, super_entity=self.everyone) for group in all_groups
        ]
        for user in self.users:
            relationships.append(EntityRelationship(sub_entity=user, super_entity=self.everyone))
            user_groups = (
                [quiet_group] if user.pk in silent_ids else rng.sample(self.groups, rng.randint(1, 3))
            )
            relationships += [
                EntityRelationship(sub_entity=user, super_entity=group) for group in user_groups
            ]
        EntityRelationship.objects.bulk_create(relationships, batch_size=10000)

        source_group = SourceGroup.objects.create(name="site", display_name="Site")
        self.sources = Source.objects.bulk_create(
            Source(group=source_group, name=f"source-{n}", display_name=f"Source {n}") for n in range(SOURCES)
        )
        style = RenderingStyle.objects.create(name="feed", display_name="Feed")
        ContextRenderer.objects.bulk_create(
            ContextRenderer(
                name=f"feed-{source.name}",
                rendering_style=style,
                source=source,
                text_template="{{ n }} by {{ actor }}",
                html_template="<p>{{ n }} by <b>{{ actor }}</b></p>",
            )
            for source in self.sources
        )
        self.newsfeed = Medium.objects.create(name="newsfeed", display_name="Newsfeed", rendering_style=style)
        self.email = Medium.objects.create(name="email", display_name="Email")
        # The mediums predate every event (a medium never returns events older than itself).
        Medium.objects.update(time_created=newest_time - timedelta(days=400))
        self.newsfeed.refresh_from_db()
        self.email.refresh_from_db()
        subscriptions = [
            Subscription(
                medium=self.newsfeed, source=source, entity=self.everyone, sub_entity_kind=user_kind,
                only_following=False,
            )
            for source in self.sources[:EVERYONE_SOURCES]
        ]  # fmt: skip
        subscriptions += [
            Subscription(
                medium=self.newsfeed,
                source=source,
                entity=group,
                sub_entity_kind=user_kind,
                only_following=True,
            )
            for group in all_groups
            for source in self.sources[EVERYONE_SOURCES:]
        ]
        subscriptions += [
            Subscription(
                medium=self.email,
                source=source,
                entity=self.everyone,
                sub_entity_kind=user_kind,
                only_following=True,
            )
            for source in self.sources
        ]
        Subscription.objects.bulk_create(subscriptions)
        self.subscriptions = len(subscriptions)

    def rows(self, first: int, last: int) -> tuple[str, str]:
        """The ``COPY`` text of the events ``first..last`` and of their actors. Ids follow time,
        ``STEP`` seconds apart, up to ``newest_time``."""
        events, actors = io.StringIO(), io.StringIO()
        never = never_expires().isoformat()
        rng = random.Random(f"{SEED}-{first}")
        for event_id in range(first, last + 1):
            source = rng.choice(self.sources)
            members = rng.sample(self.actors, rng.randint(1, 3))
            if rng.random() < GROUP_ACTOR_SHARE:
                members.append(rng.choice(self.groups))
            event_time = self.newest_time - timedelta(seconds=STEP * (self.last_id - event_id))
            # COPY's text format reads a backslash as an escape: JSON's own escapes are doubled.
            context = json.dumps({"n": event_id, "actor": members[0].display_name}).replace("\\", "\\\\")
            events.write(
                f"{event_id}\t{source.pk}\t{context}\t{event_time.isoformat()}\t{never}\tscale-{event_id}\n"
            )
            for member in members:
                actors.write(f"{event_id}\t{member.pk}\n")
        return events.getvalue(), actors.getvalue()

    def grow_to(self, size: int, vacuum: bool) -> None:
        """Load older history until there are ``size`` events, then ``(VACUUM) ANALYZE``."""
        first = self.last_id - size + 1
        upper = self.first_id - 1 if self.first_id <= self.last_id else self.last_id
        for start in range(first, upper + 1, LOAD_BATCH):
            end = min(start + LOAD_BATCH - 1, upper)
            events, actors = self.rows(start, end)
            with transaction.atomic(), connection.cursor() as cursor:
                copy(cursor, Event, ("id", "source_id", "context", "time", "time_expires", "uuid"), events)
                copy(cursor, EventActor, ("event_id", "entity_id"), actors)
        self.first_id = min(self.first_id, first)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", [Event._meta.db_table, self.last_id]
            )
            cursor.execute("VACUUM ANALYZE" if vacuum else "ANALYZE")


def copy(cursor: Any, model: type, columns: tuple[str, ...], text: str) -> None:
    """``COPY`` rows (tab-separated text) into the model's table, straight through the driver
    (psycopg or psycopg2), as a bulk loader would."""
    table = connection.ops.quote_name(model._meta.db_table)
    copy_text(cursor.cursor, f"COPY {table} ({', '.join(columns)}) FROM STDIN", text)


def jsonb_binary(value: Any) -> bytes:
    """A value in the binary form of ``jsonb``: a version byte, then the JSON text."""
    return b"\x01" + json.dumps(value).encode()


def copy_binary(
    cursor: Any, model: type, columns: tuple[str, ...], rows: list[tuple], types: list[str]
) -> None:
    """``COPY`` rows in the binary format (psycopg 3 only), the column ``types`` declared: a
    ``jsonb`` value is sent as ``bytea``, its binary form being a version byte and the text."""
    table = connection.ops.quote_name(model._meta.db_table)
    with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)") as copying:
        copying.set_types(types)
        for row in rows:
            copying.write_row(row)


def measure(run: Callable[[Any], Any], arguments: list[Any], repeat: int) -> tuple[float, int, Any]:
    """(median ms, queries of one call, a result) of ``run(argument)`` over ``repeat`` calls
    spread over ``arguments``, after one untimed call per argument."""
    for argument in arguments:
        run(argument)
    timings, queries, result = [], 0, None
    for number in range(repeat):
        argument = arguments[number % len(arguments)]
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            result = run(argument)
            timings.append(time.perf_counter() - started)
        queries = len(captured.captured_queries)
    return statistics.median(timings) * 1000, queries, result


def rolled_back(run: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Run ``run`` in a transaction rolled back afterwards, so every call sees the same data."""

    def wrapper(argument: Any) -> Any:
        with transaction.atomic():
            result = run(argument)
            transaction.set_rollback(True)
        return result

    return wrapper


def measure_side_by_side(
    cases: list[tuple[str, Callable[[Any], Any]]], repeat: int
) -> tuple[list[tuple[float, int]], list[list[float]]]:
    """(median ms, queries of one call) of each case, and each case's timings by round: the cases
    are called in turn, ``repeat`` rounds of one call each (in an order that rotates from round
    to round), so that the machine's changing load falls on all of them alike."""
    for _, run in cases:
        run(None)
    timings: list[list[float]] = [[] for _ in cases]
    queries = [0] * len(cases)
    for number in range(repeat):
        order = [*range(len(cases))]
        shift = number % len(cases)
        for index in order[shift:] + order[:shift]:
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                cases[index][1](None)
                timings[index].append(time.perf_counter() - started)
            queries[index] = len(captured.captured_queries)
    medians = [(statistics.median(case) * 1000, count) for case, count in zip(timings, queries, strict=True)]
    return medians, timings


def ingest_cases(world: World) -> list[tuple[str, Callable[[Any], Any]]]:
    """``create_events`` of 1,000 events with two actors, and the same rows by ``COPY`` (in its
    text format, and in its binary format) and by one multi-row ``INSERT``, each rolled back.
    The arguments of ``create_events`` are built once, outside the timing (each call is rolled
    back, so their uuids stay free); the raw statements build their rows, which is their share
    of the work, and draw their ids as ``create_events`` does."""
    source = world.sources[0]
    counter = iter(range(10**9))
    arguments = [
        {
            "source": source,
            "actors": [world.actors[n % 500], world.actors[n % 500 + 1]],
            "context": {"n": n, "actor": "someone"},
            "uuid": f"ingest-{n}",
        }
        for n in range(1000)
    ]
    event_columns = ("id", "source_id", "context", "time", "time_expires", "uuid")

    def raw(way: str) -> Callable[[Any], Any]:
        def run(_: Any) -> None:
            number = next(counter)
            now, never = timezone.now(), never_expires()
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT nextval((SELECT pg_get_serial_sequence(%s, 'id'))) FROM generate_series(1, 1000)",
                    [Event._meta.db_table],
                )
                ids = [row[0] for row in cursor.fetchall()]
                context = jsonb_binary if way == "binary" else json.dumps
                events = [
                    (pk, source.pk, context({"n": n, "actor": "someone"}), now, never, f"raw-{number}-{n}")
                    for n, pk in enumerate(ids)
                ]
                actors = [
                    (pk, actor.pk)
                    for n, pk in enumerate(ids)
                    for actor in (world.actors[n % 500], world.actors[n % 500 + 1])
                ]
                if way == "text":
                    now_text, never_text = now.isoformat(), never.isoformat()
                    copy(cursor, Event, event_columns, "".join(
                        f"{pk}\t{source_id}\t{context}\t{now_text}\t{never_text}\t{uuid}\n"
                        for pk, source_id, context, _, _, uuid in events
                    ))  # fmt: skip
                    copy(cursor, EventActor, ("event_id", "entity_id"),
                         "".join(f"{a}\t{b}\n" for a, b in actors))  # fmt: skip
                elif way == "binary":
                    copy_binary(cursor, Event, event_columns, events,
                                ["int8", "int8", "bytea", "timestamptz", "timestamptz", "text"])  # fmt: skip
                    copy_binary(cursor, EventActor, ("event_id", "entity_id"), actors, ["int8", "int4"])
                else:
                    event_table = connection.ops.quote_name(Event._meta.db_table)
                    actor_table = connection.ops.quote_name(EventActor._meta.db_table)
                    cursor.execute(
                        f"INSERT INTO {event_table} (id, source_id, context, time, time_expires, uuid)"
                        + " VALUES "
                        + ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(events)),
                        [value for row in events for value in row],
                    )
                    cursor.execute(
                        f"INSERT INTO {actor_table} (event_id, entity_id) VALUES "
                        + ", ".join(["(%s, %s)"] * len(actors)),
                        [value for row in actors for value in row],
                    )

        return run

    return [
        (
            "create_events(1,000 events, 2 actors)",
            rolled_back(lambda _: Event.objects.create_events(arguments)),
        ),
        ("raw COPY of the same rows", rolled_back(raw("text"))),
        ("raw COPY (binary format) of the same rows", rolled_back(raw("binary"))),
        ("raw INSERT ... VALUES of the same rows", rolled_back(raw("insert"))),
    ]


def explain_first_pages(newsfeed: Medium, email: Medium, user: Entity, silent: Entity) -> None:
    """Print the PostgreSQL plans (``EXPLAIN ANALYZE``) of the first pages, for one sample user
    and one silent user."""
    for name, queryset in [
        ("newsfeed.entity_events(user)[:20]", newsfeed.entity_events(user)[:20]),
        ("email.entity_events(user)[:20] (sparse)", email.entity_events(user)[:20]),
        ("email.entity_events(silent)[:20] (empty)", email.entity_events(silent)[:20]),
        ("newsfeed.events()[:50]", newsfeed.events()[:50]),
    ]:
        print(f"  --- plan of {name}")
        print(textwrap.indent(queryset.explain(analyze=True), "    "))


def table_sizes() -> dict[str, tuple[int, int]]:
    """``{table: (table bytes, index bytes)}`` of the event and actor tables."""
    sizes = {}
    with connection.cursor() as cursor:
        for model in (Event, EventActor):
            table = model._meta.db_table
            cursor.execute("SELECT pg_table_size(%s), pg_indexes_size(%s)", [table, table])
            sizes[table] = cursor.fetchone()
    return sizes


class GroupWorld:
    """The group-size axis's world: one group of ``members`` active users, subscribed (only
    following) on one medium to one source, and ``GROUP_EVENTS`` events of two member actors each,
    loaded by ``COPY`` (ids following time, the newest a minute old, none seen)."""

    def __init__(self, members: int) -> None:
        rng = random.Random(SEED + members)
        content_type = ContentType.objects.get_by_natural_key("auth", "user")
        user_kind = EntityKind.objects.create(name="user", display_name="User")
        group_kind = EntityKind.objects.create(name="group", display_name="Group")
        self.group = Entity.objects.create(
            display_name="everyone", entity_type=content_type, entity_id=0, entity_kind=group_kind
        )
        self.members = Entity.all_objects.bulk_create(
            (
                Entity(
                    display_name=f"user {n}", entity_type=content_type, entity_id=n + 1, entity_kind=user_kind
                )
                for n in range(members)
            ),
            batch_size=10000,
        )
        EntityRelationship.objects.bulk_create(
            (EntityRelationship(sub_entity=member, super_entity=self.group) for member in self.members),
            batch_size=10000,
        )
        source = Source.objects.create(
            group=SourceGroup.objects.create(name="site", display_name="Site"),
            name="post",
            display_name="Post",
        )
        self.medium = Medium.objects.create(name="notifications", display_name="Notifications")
        newest = timezone.now() - timedelta(minutes=1)
        Medium.objects.update(time_created=newest - timedelta(days=400))
        self.medium.refresh_from_db()
        Subscription.objects.create(
            medium=self.medium,
            source=source,
            entity=self.group,
            sub_entity_kind=user_kind,
            only_following=True,
        )
        never = never_expires().isoformat()
        events, actors = io.StringIO(), io.StringIO()
        for event_id in range(1, GROUP_EVENTS + 1):
            event_time = newest - timedelta(seconds=60 * (GROUP_EVENTS - event_id))
            events.write(
                f"{event_id}\t{source.pk}\t{{}}\t{event_time.isoformat()}\t{never}\tgroup-{event_id}\n"
            )
            for member in rng.sample(self.members, 2):
                actors.write(f"{event_id}\t{member.pk}\n")
        with transaction.atomic(), connection.cursor() as cursor:
            copy(
                cursor,
                Event,
                ("id", "source_id", "context", "time", "time_expires", "uuid"),
                events.getvalue(),
            )
            copy(cursor, EventActor, ("event_id", "entity_id"), actors.getvalue())
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", [Event._meta.db_table, GROUP_EVENTS]
            )
            cursor.execute("ANALYZE")
        # A member that acted in the newest events, so that its first page is a full one.
        self.person = Entity.objects.get(pk=EventActor.objects.order_by("-event_id").values("entity_id")[:1])


def group_size_cases(world: GroupWorld) -> list[tuple[str, Callable[[Any], Any]]]:
    """The group-size axis's calls, each followed by its floor."""
    medium, person = world.medium, world.person
    return [
        ("events_targets(seen=False, limit=100)", lambda _: medium.events_targets(seen=False, limit=100)),
        (
            "  floor: 100 oldest events and their actors",
            lambda _: list(
                EventActor.objects.filter(
                    event_id__in=[event.pk for event in Event.objects.order_by("time", "id")[:100]]
                ).values_list("event_id", "entity_id")
            ),
        ),
        ("events()[:50]", lambda _: list(medium.events()[:50])),
        (
            "  floor: 50 newest rows of the event table",
            lambda _: list(Event.objects.order_by("-time", "-id")[:50]),
        ),
        ("entity_events(member)[:20]", lambda _: list(medium.entity_events(person)[:20])),
        (
            "  floor: the member's 20 newest events",
            lambda _: list(Event.objects.filter(eventactor__entity=person).order_by("-time", "-id")[:20]),
        ),
    ]


def group_size_axis(sizes: list[int], repeat: int, explain: bool) -> None:
    """Measure the group-size axis at each size, on a database emptied between sizes."""
    table = []
    for size in sizes:
        with transaction.atomic():
            started = time.perf_counter()
            world = GroupWorld(size)
            print(
                f"--- one group of {size:,} members, {GROUP_EVENTS:,} events "
                f"(built in {time.perf_counter() - started:.1f} s)"
            )
            cases = group_size_cases(world)
            if explain:
                for name, queryset in [
                    ("events()[:50]", world.medium.events()[:50]),
                    ("entity_events(member)[:20]", world.medium.entity_events(world.person)[:20]),
                ]:
                    print(f"  --- plan of {name}")
                    print(textwrap.indent(queryset.explain(analyze=True), "    "))
            medians, _ = measure_side_by_side(cases, repeat)
            for (name, _), (milliseconds, queries) in zip(cases, medians, strict=True):
                print(f"  {name:<44} {milliseconds:9.2f} ms  {queries:3} queries")
            table.append((size, [milliseconds for milliseconds, _ in medians]))
            transaction.set_rollback(True)
    print()
    print("| operation | " + " | ".join(f"{size:,} members" for size, _ in table) + " |")
    print("|---|" + "---|" * len(table))
    for number, (name, _) in enumerate(cases):
        print(f"| {name.strip()} | " + " | ".join(f"{medians[number]:.2f} ms" for _, medians in table) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, nargs="+", default=[100000, 1000000])
    parser.add_argument("--sample", type=int, default=20, help="users measured")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--prune", type=int, default=100000, help="oldest events pruned at the end (0: none)")
    parser.add_argument("--vacuum", action="store_true", help="VACUUM ANALYZE after each size, not ANALYZE")
    parser.add_argument("--explain", action="store_true", help="print the first pages' plans at each size")
    parser.add_argument(
        "--members", type=int, nargs="+", help="measure the group-size axis at these sizes instead"
    )
    args = parser.parse_args()
    sizes = sorted(args.events)

    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        if connection.vendor != "postgresql":
            sys.exit("This benchmark needs PostgreSQL: set DATABASE_URL=postgres://...")
        if args.members:
            group_size_axis(sorted(args.members), args.repeat, args.explain)
            return
        started = time.perf_counter()
        world = World(last_id=sizes[-1], newest_time=timezone.now() - timedelta(minutes=1))
        rng = random.Random(SEED + 1)
        sample = rng.sample(world.actors, args.sample)
        silent = world.silent[: args.sample]
        print(
            f"{USERS} users, {GROUPS} groups, {world.subscriptions} subscriptions on two mediums "
            f"(built in {time.perf_counter() - started:.1f} s)"
        )
        newsfeed, email = world.newsfeed, world.email
        cases: list[tuple[str, Callable[[Any], Any], list[Any]]] = [
            (
                "newsfeed.entity_events(user)[:20]",
                lambda user: list(newsfeed.entity_events(user)[:20]),
                sample,
            ),
            (
                "email.entity_events(user)[:20] (sparse)",
                lambda user: list(email.entity_events(user)[:20]),
                sample,
            ),
            (
                "email.entity_events(silent)[:20] (empty)",
                lambda user: list(email.entity_events(user)[:20]),
                silent,
            ),
            ("newsfeed.events()[:50]", lambda _: list(newsfeed.events()[:50]), [None]),
            (
                "email claim of the last hour*",
                rolled_back(
                    lambda _: email.events_targets(
                        seen=False, mark_seen=True, start_time=timezone.now() - timedelta(hours=1)
                    )
                ),
                [None],
            ),
            (
                "newsfeed.render(20-event page)",
                lambda page: newsfeed.render(page),
                [list(newsfeed.entity_events(user)[:20]) for user in sample[:5]],
            ),
        ]
        table: list[tuple[int, list[float]]] = []
        for size in sizes:
            started = time.perf_counter()
            world.grow_to(size, args.vacuum)
            print(f"--- {size:,} events (loaded in {time.perf_counter() - started:.1f} s, ANALYZE included)")
            # The pages to render are read again at each size (the newest events do not change).
            cases[-1] = (
                cases[-1][0],
                cases[-1][1],
                [list(newsfeed.entity_events(user)[:20]) for user in sample[:5]],
            )
            if args.explain:
                explain_first_pages(newsfeed, email, sample[0], silent[0])
            medians = []
            for name, run, arguments in cases:
                milliseconds, queries, result = measure(run, arguments, args.repeat)
                medians.append(milliseconds)
                found = "" if result is None else f"  ({len(result)} results)"
                print(f"  {name:<42} {milliseconds:9.2f} ms  {queries:3} queries{found}")
            ingest = ingest_cases(world)
            ingest_medians, timings = measure_side_by_side(ingest, args.repeat)
            for (name, _), (milliseconds, queries) in zip(ingest, ingest_medians, strict=True):
                medians.append(milliseconds)
                print(f"  {name:<42} {milliseconds:9.2f} ms  {queries:3} queries")
            for label, other in (("raw COPY", 1), ("raw binary COPY", 2)):
                ratios = [ours / copy for ours, copy in zip(timings[0], timings[other], strict=True)]
                print(
                    f"  create_events / {label}: {statistics.median(ratios):.2f} (median of the rounds' "
                    f"ratios), {ingest_medians[0][0] / ingest_medians[other][0]:.2f} (ratio of the medians)"
                )
            for table_name, (table_bytes, index_bytes) in table_sizes().items():
                per_million = 10**6 / size / 2**20
                print(
                    f"  {table_name:<42} {table_bytes * per_million:9.1f} MB table, "
                    f"{index_bytes * per_million:7.1f} MB indexes per million events"
                )
            table.append((size, medians))

        if args.prune:
            oldest = Event.objects.order_by("time").values_list("time", flat=True)[args.prune]
            days = (timezone.now() - oldest).total_seconds() / 86400
            started = time.perf_counter()
            call_command("prune_entity_events", "--older-than-days", str(int(days) + 1), stdout=io.StringIO())
            seconds = time.perf_counter() - started
            deleted = sizes[-1] - Event.objects.count()
            rate = deleted / seconds
            print(f"--- prune_entity_events: {deleted:,} events deleted in {seconds:.1f} s ({rate:,.0f}/s)")

        names = [name for name, _, _ in cases] + [name for name, _ in ingest_cases(world)]
        print()
        print("| operation | " + " | ".join(f"{size:,} events" for size, _ in table) + " |")
        print("|---|" + "---|" * len(table))
        for number, name in enumerate(names):
            print(f"| {name} | " + " | ".join(f"{medians[number]:.1f} ms" for _, medians in table) + " |")
        print("* in a transaction rolled back after each call")
    finally:
        teardown_databases(old_config, verbosity=0)


if __name__ == "__main__":
    main()
