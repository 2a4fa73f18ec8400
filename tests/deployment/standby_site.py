"""A site with a real streaming standby that lags, run in a process of its own by
tests/deployment/test_standby.py: ``python -m tests.deployment.standby_site STEP``, with
``DJANGO_SETTINGS_MODULE=tests.standby_settings`` and ``PRIMARY_URL`` / ``REPLICA_URL`` naming a
private cluster and its standby (tests/pg_cluster.py). Each step prints what it saw as one JSON
line, which the test asserts on.

* ``world``: the site's data, on the primary (the standby follows a second behind).
* ``lagging``: with the standby behind, what a person who writes and reads at once sees.
* ``outage``: reads from the standby on an open connection, then waits (``ready`` on stdout)
  until the test has stopped the standby (a line on stdin), and goes on without it.
* ``measure``: the figures of benchmarks/replicas.py.
"""

from __future__ import annotations

import contextvars
import json
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from io import StringIO
from typing import Any

import django

django.setup()

from django.core import mail  # noqa: E402 (after setup)
from django.core.management import call_command  # noqa: E402
from django.db import DatabaseError, close_old_connections, connections  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.urls import reverse  # noqa: E402
from entity.models import Entity  # noqa: E402

from entity_event.db.replicas import ReplicaRouter  # noqa: E402
from entity_event.models import (  # noqa: E402
    ContextRenderer,
    Event,
    Medium,
    ReadMark,
    RenderingStyle,
    Source,
    SourceGroup,
    Subscription,
)
from tests.entities import make_entity, make_user  # noqa: E402

ROUTER = "entity_event.db.replicas.ReplicaRouter"

#: How long a wait for the standby to catch up may take.
CATCH_UP_SECONDS = 30


class EveryReadFromTheReplica:
    """The router sites wrote before entity_event shipped one: every read to the standby."""

    def db_for_read(self, model: Any, **hints: Any) -> str:
        return "replica"

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return "default"

    def allow_relation(self, *objects: Any, **hints: Any) -> bool:
        return True


def wait_for_standby(found: Callable[[], bool]) -> None:
    deadline = time.monotonic() + CATCH_UP_SECONDS
    while not found():
        if time.monotonic() > deadline:
            raise AssertionError(f"the standby did not catch up in {CATCH_UP_SECONDS} s")
        time.sleep(0.05)


def on_standby(event: Event) -> bool:
    return Event.objects.using("replica").filter(pk=event.pk).exists()


def new_event(source: Source, ann: Entity) -> Event:
    return Event.objects.create_event(
        source=source, actors=[ann], context={"text": "hi"}, uuid=str(uuid.uuid4())
    )


def ann_and_source() -> tuple[Entity, Source]:
    return Entity.all_objects.get(display_name="Ann"), Source.objects.get(name="news")


def world() -> dict[str, Any]:
    style = RenderingStyle.objects.create(name="mail", display_name="Mail")
    group = SourceGroup.objects.create(name="site", display_name="Site")
    source = Source.objects.create(group=group, name="news", display_name="News")
    ContextRenderer.objects.create(
        name="news", rendering_style=style, source=source, text_template="{{ text }}"
    )
    notifications = Medium.objects.create(name="notifications", display_name="Notifications")
    email = Medium.objects.create(name="email", display_name="Email", rendering_style=style)
    ann = make_entity("Ann")
    make_user("ann", ann)
    for medium in (notifications, email):
        Subscription.objects.create(medium=medium, source=source, entity=ann, only_following=False)
    return {"ann": ann.pk}


def lagging() -> dict[str, Any]:
    seen: dict[str, Any] = {}
    ann, source = ann_and_source()
    # The other steps may have run first, their events delivered: count this step's own.
    events_before = Event.objects.using("default").count()
    notifications = Medium.objects.get(name="notifications")
    wait_for_standby(lambda: Medium.objects.using("replica").filter(name="email").exists())
    with connections["replica"].cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery()")
        seen["in_recovery"] = cursor.fetchone()[0]
    try:
        Event.objects.using("replica").filter(pk=0).update(context={})
    except DatabaseError as error:
        seen["standby_refuses_writes"] = "read-only" in str(error)

    # A fresh event marked by queryset, with the router that reads everything from the standby.
    with override_settings(DATABASE_ROUTERS=[EveryReadFromTheReplica()]):
        event = new_event(source, ann)
        seen["fresh_event_on_standby"] = on_standby(event)
        notifications.mark_read(ann, Event.objects.filter(uuid=event.uuid))
        seen["marked_by_queryset"] = ReadMark.objects.using("default").filter(event=event, read=True).exists()

    # Logged in, then a request at once: the session is read from the primary.
    client = Client()
    client.login(username="ann", password="ann")
    seen["request_after_login"] = client.get(reverse("entity_event:api_unread_count")).status_code

    # "Mark all read" and what follows it, with and without the router's read-your-writes pin.
    for pin_seconds in (5, 0):
        with override_settings(ENTITY_EVENT_READ_YOUR_WRITES_SECONDS=pin_seconds):
            events = [new_event(source, ann) for _ in range(3)]
            wait_for_standby(lambda events=events: on_standby(events[-1]))
            answer = client.post(reverse("entity_event:api_mark_all_read")).json()["unread_count"]
            feed = notifications.entity_events(ann, read=False)
            seen[f"pin_{pin_seconds}"] = {
                "answer": answer,
                "standby_right_after": feed.using("replica").count(),
                "primary_right_after": feed.using("default").count(),
                "next_request": client.get(reverse("entity_event:api_unread_count")).json()["unread_count"],
            }
            client.cookies.pop("entity_event_primary_until", None)

    # Reads in a context that wrote nothing (another request, another person) go to the standby.
    with CaptureQueriesContext(connections["replica"]) as replica:
        contextvars.Context().run(notifications.entity_events(ann).count)
    seen["reads_without_a_write_on_standby"] = len(replica.captured_queries)

    # Delivery while the standby lags.
    mail.outbox = []
    call_command("deliver_entity_events", "--medium", "email", stdout=StringIO())
    seen["delivered"] = len(mail.outbox)
    seen["events"] = Event.objects.using("default").count() - events_before
    return seen


def outage() -> dict[str, Any]:
    seen: dict[str, Any] = {}
    ann, source = ann_and_source()
    notifications = Medium.objects.get(name="notifications")
    # An event of Ann's on the standby, whichever step ran first, written in a context of its own
    # (another request), so that this one's reads are not pinned to the primary.
    event = contextvars.Context().run(new_event, source, ann)
    wait_for_standby(lambda: on_standby(event))
    seen["before"] = notifications.entity_events(ann).count()  # a connection to the standby is open
    print("ready", flush=True)
    sys.stdin.readline()  # the test stops the standby

    try:
        notifications.entity_events(ann).count()
    except DatabaseError as error:
        seen["open_connection_fails"] = type(error).__name__
    close_old_connections()  # what the end of a request does: a broken connection is closed

    started = time.perf_counter()
    seen["after"] = notifications.entity_events(ann).count()
    seen["first_read_seconds"] = time.perf_counter() - started
    started = time.perf_counter()
    notifications.entity_events(ann).count()
    seen["next_read_seconds"] = time.perf_counter() - started

    client = Client()
    client.login(username="ann", password="ann")
    seen["page"] = client.get(reverse("entity_event:api_notifications")).status_code
    new_event(source, ann)
    mail.outbox = []
    call_command("deliver_entity_events", "--medium", "email", stdout=StringIO())
    seen["delivered"] = len(mail.outbox)
    return seen


def measure() -> dict[str, Any]:
    """Figures for benchmarks/replicas.py: the router's cost per decision, a page through the
    router beside the same page on the primary alone, and how many reads right after a write
    of one's own are stale, with the router's pin and without it."""
    seen: dict[str, Any] = {}
    ann, source = ann_and_source()
    router = ReplicaRouter()
    decisions = 100_000
    started = time.perf_counter()
    contextvars.Context().run(lambda: [router.db_for_read(Event) for _ in range(decisions)])
    seen["decision_microseconds"] = (time.perf_counter() - started) / decisions * 1e6

    client = Client()
    client.login(username="ann", password="ann")
    url = reverse("entity_event:api_notifications")
    for routers, name in (([ROUTER], "page_routed_ms"), ([], "page_primary_ms")):
        with override_settings(DATABASE_ROUTERS=routers):
            timings = []
            for _ in range(50):
                started = time.perf_counter()
                assert client.get(url).status_code == 200
                timings.append((time.perf_counter() - started) * 1000)
            seen[name] = statistics.median(timings)

    for pin_seconds in (5, 0):
        stale = 0
        with override_settings(ENTITY_EVENT_READ_YOUR_WRITES_SECONDS=pin_seconds):
            for _ in range(10):
                event = new_event(source, ann)
                wait_for_standby(lambda event=event: on_standby(event))
                client.post(reverse("entity_event:api_mark_all_read"))
                stale += client.get(reverse("entity_event:api_unread_count")).json()["unread_count"] > 0
                client.cookies.pop("entity_event_primary_until", None)
        seen[f"stale_reads_of_10_pin_{pin_seconds}"] = stale
    return seen


STEPS = {"world": world, "lagging": lagging, "outage": outage, "measure": measure}

if __name__ == "__main__":
    setup_test_environment()  # the locmem mail outbox, and the test client's hosts
    print(json.dumps(STEPS[sys.argv[1]]()), flush=True)
