"""Deleting configuration without the admin: what is refused (events are history, renderers hold
templates) and what cascades, as docs/models.rst documents for every foreign key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.db.models import ProtectedError

from entity_event.models import (
    ContextRenderer,
    Delivery,
    Event,
    EventActor,
    EventSeen,
    Medium,
    RenderingStyle,
    Source,
    SourceGroup,
    Subscription,
    Unsubscription,
)
from tests.testapp.models import FollowSubEntitiesMedium

pytestmark = pytest.mark.django_db


def renderer(style: RenderingStyle, **source_or_group) -> ContextRenderer:
    name = f"{style.name} {next(iter(source_or_group.values())).name}"
    return ContextRenderer.objects.create(
        name=name, rendering_style=style, text_template="{{ text }}", **source_or_group
    )


def exists(obj) -> bool:
    return type(obj)._base_manager.filter(pk=obj.pk).exists()


class TestProtected:
    """Deleting history or templates takes a deliberate act: delete them first."""

    def test_a_source_with_events_is_refused(self, photo_source, alice):
        event = Event.objects.create_event(source=photo_source, actors=[alice])
        with pytest.raises(ProtectedError) as raised:
            photo_source.delete()
        assert set(raised.value.protected_objects) == {event}
        assert exists(photo_source) and exists(event)
        assert EventActor.objects.filter(event=event).exists()

    def test_a_source_with_renderers_is_refused(self, photo_source, style):
        source_renderer = renderer(style, source=photo_source)
        with pytest.raises(ProtectedError):
            photo_source.delete()
        assert exists(photo_source) and exists(source_renderer)

    def test_a_rendering_style_with_renderers_is_refused(self, photo_source, source_group, style):
        renderers = {renderer(style, source=photo_source), renderer(style, source_group=source_group)}
        with pytest.raises(ProtectedError) as raised:
            style.delete()
        assert set(raised.value.protected_objects) == renderers
        assert exists(style)
        assert ContextRenderer.objects.count() == 2

    def test_a_group_whose_sources_have_events_is_refused(self, source_group, photo_source, product_source):
        Event.objects.create_event(source=product_source)
        with pytest.raises(ProtectedError):
            source_group.delete()
        assert exists(source_group) and exists(photo_source) and exists(product_source)
        assert Event.objects.count() == 1

    def test_a_group_with_renderers_is_refused(self, source_group, style):
        group_renderer = renderer(style, source_group=source_group)
        with pytest.raises(ProtectedError):
            source_group.delete()
        assert exists(source_group) and exists(group_renderer)

    def test_a_source_can_go_once_its_events_and_renderers_are_deleted(self, photo_source, style, alice):
        Event.objects.create_event(source=photo_source, actors=[alice])
        renderer(style, source=photo_source)
        Event.objects.filter(source=photo_source).delete()
        ContextRenderer.objects.filter(source=photo_source).delete()
        photo_source.delete()
        assert not exists(photo_source)
        assert not EventActor.objects.exists()


class TestCascades:
    """Configuration without history goes with what it configures."""

    def test_a_source_takes_its_subscriptions_and_unsubscriptions(
        self, photo_source, product_source, email, alice
    ):
        Subscription.objects.create(medium=email, source=photo_source, entity=alice)
        Unsubscription.objects.create(medium=email, source=photo_source, entity=alice)
        kept = Subscription.objects.create(medium=email, source=product_source, entity=alice)
        photo_source.delete()
        assert list(Subscription.objects.all()) == [kept]
        assert not Unsubscription.objects.exists()

    def test_a_group_with_only_configuration_takes_its_sources_and_their_subscriptions(
        self, source_group, photo_source, product_source, email, alice
    ):
        Subscription.objects.create(medium=email, source=photo_source, entity=alice)
        Unsubscription.objects.create(medium=email, source=product_source, entity=alice)
        source_group.delete()
        assert not Source.objects.exists()
        assert not Subscription.objects.exists()
        assert not Unsubscription.objects.exists()
        assert exists(email) and exists(alice)

    def test_a_rendering_style_without_renderers_leaves_its_mediums_without_style(self, style, email):
        email.rendering_style = style
        email.save()
        style.delete()
        email.refresh_from_db()
        assert email.rendering_style is None

    def test_a_medium_takes_its_subscriptions_unsubscriptions_seen_records_and_subclass_row(
        self, photo_source, email, alice
    ):
        follow = FollowSubEntitiesMedium.objects.create(name="follow", display_name="Follow")
        event = Event.objects.create_event(source=photo_source, actors=[alice])
        for medium in (email, follow):
            Subscription.objects.create(medium=medium, source=photo_source, entity=alice)
            Unsubscription.objects.create(medium=medium, source=photo_source, entity=alice)
            EventSeen.objects.create(event=event, medium=medium)
        Medium.objects.get(pk=follow.pk).delete()
        assert not FollowSubEntitiesMedium.objects.exists()
        assert list(Medium.objects.all()) == [email]
        assert [s.medium_id for s in Subscription.objects.all()] == [email.pk]
        assert [u.medium_id for u in Unsubscription.objects.all()] == [email.pk]
        assert [s.medium_id for s in EventSeen.objects.all()] == [email.pk]
        assert exists(event)

    def test_an_event_takes_its_actors_and_seen_records_only(self, photo_source, email, alice):
        event = Event.objects.create_event(source=photo_source, actors=[alice])
        EventSeen.objects.create(event=event, medium=email)
        event.delete()
        assert not EventActor.objects.exists() and not EventSeen.objects.exists()
        assert exists(photo_source) and exists(email) and exists(alice)

    def test_deleting_a_renderer_touches_nothing_else(self, photo_source, style):
        renderer(style, source=photo_source).delete()
        assert exists(photo_source) and exists(style)

    def test_an_entity_deleted_for_good_takes_its_subscriptions_and_actor_rows(
        self, photo_source, email, alice
    ):
        event = Event.objects.create_event(source=photo_source, actors=[alice])
        Subscription.objects.create(medium=email, source=photo_source, entity=alice)
        Unsubscription.objects.create(medium=email, source=photo_source, entity=alice)
        alice.delete(force=True)  # without force, django-entity only deactivates
        assert not Subscription.objects.exists() and not Unsubscription.objects.exists()
        assert not EventActor.objects.exists()
        assert exists(event)


def test_every_foreign_key_has_the_decided_and_documented_on_delete():
    """Every foreign key of the app, its ``on_delete`` as decided, and the table of
    docs/models.rst: a change to any of the three fails here."""
    decided = {
        "Source.group": "CASCADE",
        "Medium.rendering_style": "SET_NULL",
        "Subscription.medium": "CASCADE",
        "Subscription.source": "CASCADE",
        "Subscription.entity": "CASCADE",
        "Subscription.sub_entity_kind": "CASCADE",
        "Unsubscription.entity": "CASCADE",
        "Unsubscription.medium": "CASCADE",
        "Unsubscription.source": "CASCADE",
        "Event.source": "PROTECT",
        "EventActor.event": "CASCADE",
        "EventActor.entity": "CASCADE",
        "EventSeen.event": "CASCADE",
        "EventSeen.medium": "CASCADE",
        "ContextRenderer.rendering_style": "PROTECT",
        "ContextRenderer.source": "PROTECT",
        "ContextRenderer.source_group": "PROTECT",
        "Delivery.event": "CASCADE",
        "Delivery.medium": "CASCADE",
        "Delivery.target": "CASCADE",
    }
    models = [
        SourceGroup,
        Source,
        RenderingStyle,
        Medium,
        Subscription,
        Unsubscription,
        Event,
        EventActor,
        EventSeen,
        ContextRenderer,
        Delivery,
    ]
    actual = {
        f"{model.__name__}.{field.name}": field.remote_field.on_delete.__name__
        for model in models
        for field in model._meta.get_fields()
        if field.many_to_one and field.concrete
    }
    assert actual == decided
    table = (Path(__file__).resolve().parents[2] / "docs" / "models.rst").read_text()
    documented = dict(re.findall(r"\* - ``(\w+\.\w+)``\n +- ``[\w.]+``\n +- ``(\w+)``", table))
    assert documented == decided
