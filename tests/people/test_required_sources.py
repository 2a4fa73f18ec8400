"""Required sources (``Source.required``): delivered whatever the unsubscriptions say, on every
path that routes (feeds, unread counts, ``events_targets``, the delivery records), and an
unsubscription of one is refused by model validation and the admin; by default a source is not
required and 0.7's behaviour is unchanged."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from entity_event.delivery.records import claim_and_record
from entity_event.models import Delivery, Event, Medium, Source, Subscription, Unsubscription
from tests.entities import entity_kind, make_entity

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(source_group):
    medium = Medium.objects.create(name="email", display_name="Email")
    security = Source.objects.create(
        group=source_group, name="security", display_name="Security", required=True
    )
    news = Source.objects.create(group=source_group, name="news", display_name="News")
    team = make_entity("Team", kind="team")
    alice = make_entity("Alice", supers=(team,))
    bob = make_entity("Bob", supers=(team,))
    for source in (security, news):
        Subscription.objects.create(
            medium=medium,
            source=source,
            entity=team,
            sub_entity_kind=entity_kind("user"),
            only_following=False,
        )
    # Written around validation (an unsubscription from before the source became required).
    for source in (security, news):
        Unsubscription.objects.create(medium=medium, source=source, entity=alice)
    events = [Event.objects.create_event(source=source, uuid=source.name) for source in (security, news)]
    return medium, security, news, alice, bob, events


def test_a_source_is_not_required_by_default(source_group):
    assert Source.objects.create(group=source_group, name="plain", display_name="Plain").required is False


def test_a_required_source_reaches_those_who_unsubscribed(world):
    medium, security, news, alice, bob, _ = world
    assert list(medium.entity_events(alice).values_list("uuid", flat=True)) == ["security"]
    assert sorted(medium.entity_events(bob).values_list("uuid", flat=True)) == ["news", "security"]
    assert medium.unread_count(alice) == 1
    targets = {event.uuid: {t.display_name for t in ts} for event, ts in medium.events_targets()}
    assert targets == {"security": {"Alice", "Bob"}, "news": {"Bob"}}
    claim_and_record(medium, 10)
    assert set(Delivery.objects.values_list("event__uuid", "target__display_name")) == {
        ("security", "Alice"), ("security", "Bob"), ("news", "Bob"),
    }  # fmt: skip


def test_an_unsubscription_of_a_required_source_is_refused_by_validation(world):
    medium, security, news, _, bob, _ = world
    with pytest.raises(ValidationError, match="Security is required: it reaches everyone it is meant for"):
        Unsubscription(medium=medium, source=security, entity=bob).full_clean()
    Unsubscription(medium=medium, source=news, entity=bob).full_clean()


def test_the_admin_refuses_it_with_the_message(world, admin_client):
    medium, security, _, _, bob, _ = world
    response = admin_client.post(
        reverse("admin:entity_event_unsubscription_add"),
        {"medium": medium.pk, "source": security.pk, "entity": bob.pk},
    )
    assert response.status_code == 200
    assert "Security is required" in response.content.decode()
    assert not Unsubscription.objects.filter(entity=bob).exists()
