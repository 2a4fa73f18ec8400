"""Creating every model, their ``__str__``, and the database constraints that reject bad rows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, transaction

from entity_event.models import (
    AdminEvent,
    ContextRenderer,
    Event,
    EventActor,
    EventSeen,
    Medium,
    RenderingStyle,
    Source,
    Subscription,
    Unsubscription,
)
from tests.entities import entity_kind, make_entity

pytestmark = pytest.mark.django_db


class TestStr:
    def test_source_group_and_source(self, source_group, photo_source):
        assert str(source_group) == "Yoursite"
        assert str(photo_source) == "Photo Tag"
        assert str(Source(name="raw", display_name="")) == "raw"

    def test_medium_and_rendering_style(self, email):
        assert str(email) == "Email"
        assert str(Medium(name="sms", display_name="")) == "sms"
        assert str(RenderingStyle(name="short", display_name="Short")) == "Short"
        assert str(RenderingStyle(name="short")) == "short"

    def test_subscriptions(self, email, photo_source, alice):
        group = make_entity("All users", kind="group")
        individual = Subscription.objects.create(
            medium=email, source=photo_source, entity=alice, only_following=False
        )
        for_group = Subscription.objects.create(
            medium=email, source=photo_source, entity=group, sub_entity_kind=entity_kind("user")
        )
        assert str(individual) == "Alice: Photo Tag on Email"
        assert str(for_group) == "every User under All users: Photo Tag on Email (only following)"

    def test_unsubscription(self, email, photo_source, alice):
        unsubscription = Unsubscription.objects.create(entity=alice, medium=email, source=photo_source)
        assert str(unsubscription) == "Alice unsubscribed from Photo Tag on Email"

    def test_event_actor_and_seen(self, email, photo_source, alice):
        event = Event.objects.create_event(source=photo_source, uuid="tag-1", actors=[alice])
        assert str(event) == "Photo Tag event tag-1"
        assert str(EventActor.objects.get()) == "Alice in Photo Tag event tag-1"
        seen = EventSeen.objects.create(
            event=event, medium=email, time_seen=datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
        )
        assert str(seen) == "Photo Tag event tag-1 seen on Email at 2026-01-02 03:04"

    def test_context_renderer(self, photo_source):
        style = RenderingStyle.objects.create(name="short")
        renderer = ContextRenderer.objects.create(
            name="short-photo", rendering_style=style, source=photo_source, text_template="{{ x }}"
        )
        assert str(renderer) == "short-photo"

    def test_admin_event_is_a_proxy_of_event(self, photo_source):
        event = Event.objects.create_event(source=photo_source, uuid="announcement")
        assert AdminEvent._meta.proxy
        assert AdminEvent.objects.get().pk == event.pk


class TestDefaults:
    def test_medium_fields(self, email):
        assert email.time_created is not None
        assert email.rendering_style is None
        assert email.additional_context == {}

    def test_subscription_only_following_defaults_to_true(self, email, photo_source, alice):
        assert Subscription.objects.create(medium=email, source=photo_source, entity=alice).only_following


class TestConstraints:
    """Each constraint rejects a bad row with IntegrityError and writes nothing."""

    def assert_rejected(self, model, **fields):
        before = model.objects.count()
        with pytest.raises(IntegrityError), transaction.atomic():
            model.objects.create(**fields)
        assert model.objects.count() == before

    def test_unsubscription_once_per_triple(self, email, photo_source, alice):
        Unsubscription.objects.create(entity=alice, medium=email, source=photo_source)
        self.assert_rejected(Unsubscription, entity=alice, medium=email, source=photo_source)

    def test_event_seen_once_per_event_and_medium(self, email, photo_source):
        event = Event.objects.create_event(source=photo_source)
        EventSeen.objects.create(event=event, medium=email)
        self.assert_rejected(EventSeen, event=event, medium=email)

    def test_event_uuid_is_unique(self, photo_source):
        Event.objects.create(source=photo_source, uuid="same")
        self.assert_rejected(Event, source=photo_source, uuid="same")

    def test_event_actor_once_per_event(self, photo_source, alice):
        event = Event.objects.create_event(source=photo_source, actors=[alice])
        self.assert_rejected(EventActor, event=event, entity=alice)

    def test_individual_subscription_once(self, email, photo_source, alice):
        Subscription.objects.create(medium=email, source=photo_source, entity=alice)
        self.assert_rejected(Subscription, medium=email, source=photo_source, entity=alice)

    def test_group_subscription_once_per_kind(self, email, photo_source):
        group = make_entity("Group", kind="group")
        Subscription.objects.create(
            medium=email, source=photo_source, entity=group, sub_entity_kind=entity_kind("user")
        )
        # Another kind under the same entity, and the entity on its own, are different subscriptions.
        Subscription.objects.create(
            medium=email, source=photo_source, entity=group, sub_entity_kind=entity_kind("team")
        )
        Subscription.objects.create(medium=email, source=photo_source, entity=group)
        self.assert_rejected(
            Subscription, medium=email, source=photo_source, entity=group, sub_entity_kind=entity_kind("user")
        )

    def test_context_renderer_needs_exactly_one_of_source_and_group(self, photo_source, source_group):
        style = RenderingStyle.objects.create(name="short")
        self.assert_rejected(ContextRenderer, name="neither", rendering_style=style)
        self.assert_rejected(
            ContextRenderer,
            name="both",
            rendering_style=style,
            source=photo_source,
            source_group=source_group,
        )

    def test_one_context_renderer_per_source_and_style(self, photo_source):
        style = RenderingStyle.objects.create(name="short")
        ContextRenderer.objects.create(name="first", rendering_style=style, source=photo_source)
        self.assert_rejected(ContextRenderer, name="second", rendering_style=style, source=photo_source)
        other_style = RenderingStyle.objects.create(name="long")
        ContextRenderer.objects.create(name="other style", rendering_style=other_style, source=photo_source)

    def test_one_context_renderer_per_group_and_style(self, source_group):
        style = RenderingStyle.objects.create(name="short")
        ContextRenderer.objects.create(name="first", rendering_style=style, source_group=source_group)
        self.assert_rejected(ContextRenderer, name="second", rendering_style=style, source_group=source_group)

    def test_unique_names(self, source_group, email):
        Source.objects.create(name="dup", display_name="x", group=source_group)
        self.assert_rejected(Source, name="dup", display_name="x", group=source_group)
        self.assert_rejected(Medium, name="email", display_name="Email again")
        RenderingStyle.objects.create(name="short")
        self.assert_rejected(RenderingStyle, name="short")


class TestCascades:
    def test_deleting_an_event_deletes_its_actors_and_seen_records(self, email, photo_source, alice):
        event = Event.objects.create_event(source=photo_source, actors=[alice])
        EventSeen.objects.create(event=event, medium=email)
        event.delete()
        assert not EventActor.objects.exists()
        assert not EventSeen.objects.exists()
        assert Medium.objects.filter(pk=email.pk).exists()
