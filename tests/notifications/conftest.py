"""The world of the notification center's tests: users who log in, their entities under a team,
a ``notifications`` medium with a rendering style, and helpers to create events."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from entity_event.models import ContextRenderer, Event, Medium, RenderingStyle, Source, Subscription
from tests.entities import entity_kind, make_entity, make_user


@pytest.fixture
def center(source_group) -> SimpleNamespace:
    """Alice and Bob (users with entities) in a team subscribed to ``news`` on the notifications
    medium; Carol (a user with an entity) in no team; ``support``, staff allowed to see any feed.
    ``news`` renders ``<b>{{ title }}</b>``; ``silent`` has no renderer."""
    w = SimpleNamespace()
    team = make_entity("Team", kind="team")
    w.alice_entity = make_entity("Alice", supers=(team,))
    w.bob_entity = make_entity("Bob", supers=(team,))
    w.carol_entity = make_entity("Carol")
    w.alice = make_user("alice", w.alice_entity)
    w.bob = make_user("bob", w.bob_entity)
    w.carol = make_user("carol", w.carol_entity)
    w.support = make_user("support", is_staff=True)
    w.support.user_permissions.add(
        Permission.objects.get(content_type__app_label="entity_event", codename="view_any_feed")
    )
    w.news = Source.objects.create(group=source_group, name="news", display_name="News")
    w.silent = Source.objects.create(group=source_group, name="silent", display_name="Silent")
    style = RenderingStyle.objects.create(name="bar", display_name="Bar")
    ContextRenderer.objects.create(
        name="news-bar",
        rendering_style=style,
        source=w.news,
        text_template="{{ title }}",
        html_template="<b>{{ title }}</b>",
    )
    w.medium = Medium.objects.create(
        name="notifications", display_name="Notifications", rendering_style=style
    )
    Medium.objects.filter(pk=w.medium.pk).update(time_created=timezone.now() - timedelta(days=1))
    w.medium.refresh_from_db()  # a medium returns no event older than itself
    for source in (w.news, w.silent):
        Subscription.objects.create(
            medium=w.medium,
            source=source,
            entity=team,
            sub_entity_kind=entity_kind("user"),
            only_following=False,
        )
    return w


def publish(source: Source, count: int, start: int = 0, **kwargs) -> list[Event]:
    """``count`` events of ``source`` titled ``news <n>``, one minute apart, the last the newest."""
    now = timezone.now() - timedelta(hours=1)
    return Event.objects.create_events(
        [
            {
                "source": source,
                "context": {"title": f"news {n}"},
                "time": now + timedelta(minutes=n),
                "uuid": f"{source.name}-{n}",
                **kwargs,
            }
            for n in range(start, start + count)
        ]
    )


def logged_in(user, **client_options) -> Client:
    client = Client(**client_options)
    client.force_login(user)
    return client
