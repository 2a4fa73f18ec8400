"""The world of the delivery tests: an email medium, three users, ten events."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from entity_event.models import ContextRenderer, Event, Medium, RenderingStyle, Subscription
from tests.entities import entity_kind, make_entity


@pytest.fixture
def world(photo_source):
    """An email medium in a style with a renderer for photo tags; a group of three users (one
    without an email address) subscribed to every photo tag; ten events, oldest first."""
    style = RenderingStyle.objects.create(name="mail")
    email = Medium.objects.create(name="email", display_name="Email", rendering_style=style)
    ContextRenderer.objects.create(
        name="photo", rendering_style=style, source=photo_source,
        text_template="Photo {{ n }}", html_template="<b>Photo {{ n }}</b>",
    )  # fmt: skip
    group = make_entity("Group", kind="group")
    users = [make_entity(name, supers=(group,)) for name in ("Ann", "Bea", "Cid")]
    users[2].entity_meta = {}
    users[2].save()
    Subscription.objects.create(
        medium=email,
        source=photo_source,
        entity=group,
        sub_entity_kind=entity_kind("user"),
        only_following=False,
    )
    start = timezone.now() - timedelta(hours=1)
    # A medium never returns events older than itself.
    Medium.objects.filter(pk=email.pk).update(time_created=start - timedelta(days=1))
    email.refresh_from_db()
    events = Event.objects.create_events(
        [
            {
                "source": photo_source,
                "uuid": f"e{n}",
                "context": {"n": n},
                "time": start + timedelta(minutes=n),
            }
            for n in range(10)
        ]
    )
    return {"medium": email, "users": users, "events": events, "source": photo_source}


@pytest.fixture
def recorder():
    """The handler ``tests.delivery.test_deliver_command.recording_handler``, reset."""
    from tests.delivery.test_deliver_command import RecordingHandler

    RecordingHandler.batches, RecordingHandler.failing, RecordingHandler.raising = [], set(), False
    return RecordingHandler
