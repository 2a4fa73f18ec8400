"""Live updates on real streams, over ASGI: each person's stream hears only of their own events;
with Redis, an event created in one process reaches the streams and pages served by other
server processes within 2 seconds; without it, the pages poll beside their open stream and so
learn of events created in other processes too.

The tests with processes of their own (``tests/browser/live_servers.py``: uvicorn servers, a
``manage.py shell`` creating the event) need a database server, which the processes share, and
those with Redis a Redis server (``ENTITY_EVENT_TEST_REDIS_URL``, by default database 7 of the
local one); they are skipped, with the reason, without them (``REQUIRE_REDIS=1`` makes a missing
Redis a failure).
"""

from __future__ import annotations

import os
import re
import time
from contextlib import ExitStack
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.test import override_settings
from django.utils import timezone

from entity_event.models import (
    ContextRenderer,
    Event,
    Medium,
    RenderingStyle,
    Source,
    SourceGroup,
    Subscription,
)
from tests.browser.live_servers import (
    Stream,
    create_in_another_process,
    redis_missing,
    redis_subscribers,
    server_process,
)
from tests.entities import entity_kind, make_entity, make_user

pytestmark = pytest.mark.django_db(transaction=True)

#: The issue's promise: a new event reaches an open page within 2 seconds.
LIVE_WITHIN = 2.0
#: How long a stream that should hear nothing is watched.
QUIET_FOR = 1.0


@pytest.fixture
def people(transactional_db) -> SimpleNamespace:
    """Alice and Bob (users "alice" and "bob", passwords their names) in a team subscribed to
    ``news`` on the notifications medium; ``direct`` reaches Bob alone."""
    w = SimpleNamespace()
    group = SourceGroup.objects.create(name="site", display_name="Site")
    w.news = Source.objects.create(group=group, name="news", display_name="News")
    w.direct = Source.objects.create(group=group, name="direct", display_name="Direct")
    style = RenderingStyle.objects.create(name="bar", display_name="Bar")
    for source in (w.news, w.direct):
        ContextRenderer.objects.create(
            name=f"{source.name}-bar", rendering_style=style, source=source, text_template="{{ text }}"
        )
    medium = Medium.objects.create(name="notifications", display_name="Notifications", rendering_style=style)
    Medium.objects.filter(pk=medium.pk).update(time_created=timezone.now() - timedelta(days=1))
    team = make_entity("Team", kind="team")
    w.alice = make_user("alice", make_entity("Alice", supers=(team,)))
    w.bob_entity = make_entity("Bob", supers=(team,))
    w.bob = make_user("bob", w.bob_entity)
    Subscription.objects.create(
        medium=medium, source=w.news, entity=team, sub_entity_kind=entity_kind("user"), only_following=False
    )
    Subscription.objects.create(medium=medium, source=w.direct, entity=w.bob_entity, only_following=False)
    return w


@pytest.fixture
def redis() -> None:
    """Skip without Redis, or fail with ``REQUIRE_REDIS=1``."""
    reason = redis_missing()
    if reason is not None and os.environ.get("REQUIRE_REDIS") == "1":
        pytest.fail(f"Redis is required (REQUIRE_REDIS=1) but {reason}")
    if reason is not None:
        pytest.skip(f"needs Redis: {reason}")


def test_each_stream_hears_only_of_its_own_persons_events(people, asgi_server):
    """The outside probe's finding, on the streams: Alice's got ``{"count": 1}`` for an event only
    Bob receives."""
    alice, bob = Stream(asgi_server, people.alice), Stream(asgi_server, people.bob)
    try:
        Event.objects.create_event(source=people.direct, context={"text": "for Bob"})
        assert bob.next(LIVE_WITHIN).json() == {"count": 1}
        assert alice.nothing_within(QUIET_FOR)
        Event.objects.create_events([{"source": people.news}, {"source": people.direct}])
        assert (alice.next(LIVE_WITHIN).json(), bob.next(LIVE_WITHIN).json()) == ({"count": 1}, {"count": 2})
    finally:
        alice.close()
        bob.close()


@pytest.mark.database_server
def test_with_redis_messages_cross_server_processes(people, redis):
    """Two server processes and the event created in a third: each stream, whichever process
    serves it, hears of its person's events within 2 seconds, and only of those."""
    subscribed = redis_subscribers()
    with ExitStack() as stack:
        first = stack.enter_context(server_process(redis=True))
        second = stack.enter_context(server_process(redis=True))
        alice = Stream(first, people.alice)
        stack.callback(alice.close)
        bob = Stream(second, people.bob)
        stack.callback(bob.close)
        deadline = time.monotonic() + 10
        while redis_subscribers() < subscribed + 2:  # each process listens once it serves a stream
            assert time.monotonic() < deadline, "the server processes did not subscribe to Redis"
            time.sleep(0.05)

        created = create_in_another_process("direct", "for Bob", redis=True)
        message = bob.next(LIVE_WITHIN)
        assert message.json() == {"count": 1}
        assert message.arrived - created < LIVE_WITHIN
        assert alice.nothing_within(QUIET_FOR)

        created = create_in_another_process("news", "for the team", redis=True)
        for stream in (alice, bob):
            message = stream.next(LIVE_WITHIN)
            assert message.json() == {"count": 1}
            assert message.arrived - created < LIVE_WITHIN


def log_in_on_site(page, server: str, username: str) -> None:
    page.goto(f"{server}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", username)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/notifications/$"))
    page.wait_for_selector("[data-entity-event-notifications][data-live-state=open]", state="attached")


@pytest.mark.browser
@pytest.mark.database_server
def test_with_redis_a_page_served_by_another_process_hears_at_once(people, redis, site):
    """Bob's page, served by one server process, shows an event created in another process
    within 2 seconds: by its stream (it does not poll: the stream hears every process)."""
    page = site.page
    with server_process(redis=True) as server:
        log_in_on_site(page, server, "bob")
        assert page.locator("[data-entity-event-notifications][data-live-across-processes]").count() == 2
        created = create_in_another_process("direct", "Delivered across processes", redis=True)
        page.wait_for_selector(
            "li.entity-event-notification.unread >> text=Delivered across processes",
            timeout=LIVE_WITHIN * 1000,
        )
        assert time.time() - created < LIVE_WITHIN
        assert page.locator("[data-entity-event-live-status]").is_hidden()
        site.screenshot("1-arrived-from-another-process")


@pytest.mark.browser
@pytest.mark.database_server
def test_without_redis_pages_poll_beside_their_open_stream(people, asgi_server, site):
    """The newcomer's finding: without Redis, an event created in another process (a shell)
    never reached the open page, whose stream was connected and which did not poll either."""
    page = site.page
    with override_settings(ENTITY_EVENT_POLL_SECONDS=1):
        log_in_on_site(page, asgi_server, "alice")
        assert page.locator("[data-live-across-processes]").count() == 0
        create_in_another_process("news", "Created in a shell", redis=False)
        page.wait_for_selector(
            "li.entity-event-notification.unread >> text=Created in a shell", timeout=5_000
        )
        page.wait_for_function(
            "document.querySelector('header [data-entity-event-unread-count]').textContent === '1'"
        )
    # It polled quietly: the stream stayed open, and the page did not say it was unavailable.
    assert page.locator("[data-entity-event-notifications][data-live-state=open]").count() == 2
    assert page.locator("[data-entity-event-live-status]").is_hidden()
    site.screenshot("1-polled-beside-the-stream")
