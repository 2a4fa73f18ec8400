"""Benchmark of the notification center's live updates: what publishing one event costs, beside
the floor.

Builds, in a throwaway database (``test_`` + the name in ``DATABASE_URL``, dropped at the end),
an all-users entity with ``--members`` members (10,000 by default) subscribed as a group to an
announcements source on the ``notifications`` medium, and a team of ten subscribed to a team
source. Then, round after round (``--repeat``), for one announcement (every member) and one
team event (ten people):

* **the floors**: the cheapest way the database gives the same people, one ``SELECT`` of the
  members' ids (the announcement's; the team's for the team event); a bare loop of
  ``send_event``, one message per recipient's channel, nothing routed; with Redis, a bare loop
  of Redis ``PUBLISH`` of the same messages (the transport alone);
* **the recipients**: ``notified_counts``, the routing's query of the recipients and their counts;
* **publishing**: the ``events_created`` receiver, ``publish_new_events``, as it runs after the
  commit: the medium, the recipients, and one ``send_event`` per recipient (django-eventstream's
  own, no page listening);

and prints the medians, the queries of one publishing, and how many ``send_event`` calls it
made (checking that they went to the recipients' channels). django-eventstream sends to Redis
when ``EVENTSTREAM_REDIS`` is set, which the project's settings do when ``EVENTSTREAM_REDIS_URL``
is (``redis://127.0.0.1:6379/7``); without it, to the queues of this process's open streams::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench python benchmarks/live_publish.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench EVENTSTREAM_REDIS_URL=redis://127.0.0.1:6379/7 \\
        python benchmarks/live_publish.py
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
os.environ.setdefault("DJANGO_DEBUG", "0")

import django  # noqa: E402

django.setup()

import django_eventstream  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.contenttypes.models import ContentType  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.test.utils import (  # noqa: E402
    CaptureQueriesContext,
    setup_databases,
    setup_test_environment,
    teardown_databases,
)
from entity.models import Entity, EntityKind, EntityRelationship  # noqa: E402

from entity_event.models import Event, Medium, Source, SourceGroup, Subscription  # noqa: E402
from entity_event.notifications.live import MESSAGE_TYPE, channel_name, publish_new_events  # noqa: E402
from entity_event.notifications.recipients import notified_counts  # noqa: E402


def build_world(members: int) -> tuple[Medium, dict[str, tuple[Event, Entity]]]:
    """The medium, and for each case its event and the entity whose members receive it."""
    content_type = ContentType.objects.get_by_natural_key("auth", "user")
    user_kind = EntityKind.objects.create(name="user", display_name="User")
    group_kind = EntityKind.objects.create(name="group", display_name="Group")
    everyone = Entity.objects.create(
        display_name="All", entity_type=content_type, entity_id=0, entity_kind=group_kind
    )
    team = Entity.objects.create(
        display_name="Team", entity_type=content_type, entity_id=-1, entity_kind=group_kind
    )
    users = Entity.all_objects.bulk_create(
        Entity(display_name=f"User {n}", entity_type=content_type, entity_id=n + 1, entity_kind=user_kind)
        for n in range(members)
    )
    EntityRelationship.objects.bulk_create(
        [EntityRelationship(sub_entity=user, super_entity=everyone) for user in users]
        + [EntityRelationship(sub_entity=user, super_entity=team) for user in users[:10]]
    )
    group = SourceGroup.objects.create(name="site", display_name="Site")
    medium = Medium.objects.create(
        name=settings.ENTITY_EVENT_NOTIFICATION_MEDIUM, display_name="Notifications"
    )
    cases = {}
    for name, audience in (("announcement", everyone), ("team event", team)):
        source = Source.objects.create(group=group, name=name.replace(" ", "-"), display_name=name)
        Subscription.objects.create(
            medium=medium, source=source, entity=audience, sub_entity_kind=user_kind, only_following=False
        )
        with mock.patch("django_eventstream.send_event"):
            cases[name] = (Event.objects.create_event(source=source, context={}), audience)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return medium, cases


def floor(audience: Entity) -> float:
    """Seconds of one SELECT of the audience's member ids."""
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sub_entity_id FROM entity_entityrelationship WHERE super_entity_id = %s", [audience.pk]
        )
        cursor.fetchall()
    return time.perf_counter() - started


def bare_sends(channels: list[str]) -> float:
    """Seconds of a bare loop of ``send_event``, one message per channel, nothing routed."""
    started = time.perf_counter()
    for channel in channels:
        django_eventstream.send_event(channel, MESSAGE_TYPE, {"count": 1})
    return time.perf_counter() - started


def bare_publishes(channels: list[str]) -> float | None:
    """Seconds of a bare loop of Redis ``PUBLISH``, one per channel, each the JSON message
    django-eventstream publishes (``None`` without Redis): the transport alone."""
    client = django_eventstream.eventstream.redis_client
    if client is None:
        return None
    started = time.perf_counter()
    for channel in channels:
        payload = {"channel": channel, "event_type": MESSAGE_TYPE, "data": '{"count": 1}', "pub_id": None}
        client.publish("events_channel", json.dumps(payload))
    return time.perf_counter() - started


def timed(function: Callable[[], Any]) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def measure(name: str, medium: Medium, event: Event, audience: Entity, repeat: int) -> None:
    channels = [channel_name(entity_id) for entity_id in notified_counts(medium, [event], connection.alias)]
    floors, sends, publishes, recipients, publishing = [], [], [], [], []
    for _ in range(repeat):
        floors.append(floor(audience))
        sends.append(bare_sends(channels))
        publishes.append(bare_publishes(channels))
        recipients.append(timed(lambda: notified_counts(medium, [event], connection.alias)))
        publishing.append(
            timed(lambda: publish_new_events(sender=Event, events=[event], using=connection.alias))
        )
    real_send = django_eventstream.send_event
    with (
        mock.patch("django_eventstream.send_event", side_effect=real_send) as sent,
        CaptureQueriesContext(connection) as queries,
    ):
        publish_new_events(sender=Event, events=[event], using=connection.alias)
    sent_to = {call.args[0] for call in sent.call_args_list}
    assert sent_to == set(channels), "publishing did not send to the recipients' channels"
    low, send, routed, total = (
        statistics.median(values) for values in (floors, sends, recipients, publishing)
    )
    print(f"\n{name}: {len(sent_to):,} recipients ({repeat} rounds, medians)")
    print(f"| floor: one SELECT of the ids        | {low * 1000:8.1f} ms |")
    print(
        f"| recipients (notified_counts)        | {routed * 1000:8.1f} ms | {routed / low:5.1f} x the floor"
    )
    print(f"| floor: bare send_event loop         | {send * 1000:8.1f} ms | "
          f"{send / len(channels) * 1e6:.0f} us per message")  # fmt: skip
    if publishes[0] is not None:
        bare = statistics.median(value for value in publishes if value is not None)
        print(f"| floor: bare Redis PUBLISH loop      | {bare * 1000:8.1f} ms | "
              f"{bare / len(channels) * 1e6:.0f} us per message")  # fmt: skip
    print(f"| publishing (publish_new_events)     | {total * 1000:8.1f} ms | "
          f"{total / (low + send):5.2f} x the floors (SELECT + sends) | {len(queries)} queries, "
          f"{sent.call_count:,} send_event calls")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("DATABASE_URL: this benchmark needs PostgreSQL (postgres://USER@HOST:PORT/NAME)")
    redis = getattr(settings, "EVENTSTREAM_REDIS", None)
    print(
        f"django-eventstream sends {'to Redis ' + str(redis) if redis else 'to the queues of this process'}"
    )
    setup_test_environment(debug=False)
    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        medium, cases = build_world(args.members)
        for name, (event, audience) in cases.items():
            measure(name, medium, event, audience, args.repeat)
    finally:
        connections.close_all()
        teardown_databases(old_config, verbosity=0)


if __name__ == "__main__":
    main()
