"""Benchmark of the admin's delete confirmations on a source and a medium with many rows.

Builds a source with ``--events`` events (one actor each) and a medium on which every one of them
was seen, then GETs, through Django's test client as a logged-in superuser, the delete
confirmation of the source (refused: its events protect it), of the medium (its seen records go
with it) and the "delete selected" confirmation of the source, and prints for each the number of
SQL queries, the size of the page, its list items and the median time of a few runs.
``--stock`` times Django's own confirmation too (it loads and lists every related row), for
comparison; ``--delete`` times, once, the confirmed deletion of the medium.

It works on a throwaway database created with Django's test database machinery (``test_`` +
the name in ``DATABASE_URL``) and drops it at the end, so it never touches real data::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench python benchmarks/admin_delete.py --events 20000
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")

import django  # noqa: E402

django.setup()

from django.contrib import admin  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.contrib.contenttypes.models import ContentType  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import (  # noqa: E402
    setup_databases,
    setup_test_environment,
    teardown_databases,
    teardown_test_environment,
)
from django.urls import reverse  # noqa: E402
from entity.models import Entity, EntityKind  # noqa: E402

from entity_event.admin.base import EntityEventAdmin  # noqa: E402
from entity_event.models import (  # noqa: E402
    Event,
    EventSeen,
    Medium,
    Source,
    SourceGroup,
    Subscription,
)

ACTORS = 50
BATCH = 5000


def build_world(events: int) -> tuple[Source, Medium]:
    """A source with ``events`` events, one actor each, all seen on one medium."""
    content_type = ContentType.objects.get_by_natural_key("auth", "user")
    kind = EntityKind.objects.create(name="user", display_name="User")
    actors = Entity.all_objects.bulk_create(
        Entity(display_name=f"user {n}", entity_type=content_type, entity_id=n, entity_kind=kind)
        for n in range(ACTORS)
    )
    group = SourceGroup.objects.create(name="site", display_name="Site")
    source = Source.objects.create(group=group, name="busy", display_name="Busy source")
    medium = Medium.objects.create(name="email", display_name="Email")
    Subscription.objects.bulk_create(
        Subscription(medium=medium, source=source, entity=actor, only_following=False) for actor in actors
    )
    for start in range(0, events, BATCH):
        created = Event.objects.create_events(
            {"source": source, "actors": [actors[n % ACTORS]], "context": {"n": n}}
            for n in range(start, min(start + BATCH, events))
        )
        EventSeen.objects.bulk_create(EventSeen(event=event, medium=medium) for event in created)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return source, medium


def measure(run: Callable[[], Any], repeat: int) -> tuple[int, float, int, int]:
    """(queries, median seconds, page bytes, list items) of ``run`` over ``repeat`` runs."""
    timings = []
    queries = 0

    def count(execute: Callable[..., Any], *args: Any) -> Any:
        nonlocal queries
        queries += 1
        return execute(*args)

    for _ in range(repeat):
        queries = 0
        # Counted by a wrapper: Django's query log keeps only the last 9,000 queries.
        with connection.execute_wrapper(count):
            started = time.perf_counter()
            response = run()
            timings.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
    return queries, statistics.median(timings), len(response.content), response.content.count(b"<li>")


def stock(model: type) -> Callable[[], None]:
    """Give ``model``'s admin Django's own ``get_deleted_objects``; return the undo."""
    model_admin = admin.site.get_model_admin(model)
    model_admin.get_deleted_objects = admin.ModelAdmin.get_deleted_objects.__get__(model_admin)
    return lambda: delattr(model_admin, "get_deleted_objects")


def row(name: str, queries: int, seconds: float, size: int, items: int) -> str:
    return f"| {name:<46} | {queries:>7} | {seconds:>8.3f} | {size:>9,} | {items:>6,} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--stock", action="store_true", help="also time Django's own confirmation (slow)")
    parser.add_argument(
        "--delete", action="store_true", help="also time the confirmed deletion of the medium"
    )
    args = parser.parse_args()

    setup_test_environment(debug=False)
    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        started = time.perf_counter()
        source, medium = build_world(args.events)
        print(
            f"{connection.vendor}: a source with {args.events:,} events ({args.events:,} actors), a medium "
            f"with {args.events:,} seen records (built in {time.perf_counter() - started:.1f} s)"
        )
        assert isinstance(admin.site.get_model_admin(Source), EntityEventAdmin)
        client = Client()
        client.force_login(User.objects.create_superuser("bench", "bench@example.com", "bench"))
        changelist = reverse("admin:entity_event_source_changelist")
        cases = [
            (
                "source: delete confirmation (refused)",
                Source,
                lambda: client.get(reverse("admin:entity_event_source_delete", args=[source.pk])),
            ),
            (
                "medium: delete confirmation",
                Medium,
                lambda: client.get(reverse("admin:entity_event_medium_delete", args=[medium.pk])),
            ),
            (
                "source: delete selected (refused)",
                Source,
                lambda: client.post(
                    changelist, {"action": "delete_selected", "_selected_action": [source.pk]}
                ),
            ),
        ]
        print(f"| {'page':<46} | {'queries':>7} | {'median s':>8} | {'bytes':>9} | {'<li>':>6} |")
        print(f"|{'-' * 48}|{'-' * 9}|{'-' * 10}|{'-' * 11}|{'-' * 8}|")
        for name, model, run in cases:
            print(row(name, *measure(run, args.repeat)))
            if args.stock:
                undo = stock(model)
                try:
                    print(row("  Django's own confirmation, 1 run", *measure(run, 1)))
                finally:
                    undo()
        if args.delete:
            started = time.perf_counter()
            response = client.post(
                reverse("admin:entity_event_medium_delete", args=[medium.pk]), {"post": "yes"}
            )
            assert response.status_code == 302 and not Medium.objects.exists(), response.status_code
            print(
                f"confirmed deletion of the medium and its {args.events:,} seen records: "
                f"{time.perf_counter() - started:.1f} s"
            )
    finally:
        teardown_databases(old_config, verbosity=0)
        teardown_test_environment()


if __name__ == "__main__":
    main()
