"""A worker that claims in batches moves on past the events nobody receives.

``events_targets(seen=False, mark_seen=True, limit=N)`` claims the oldest unseen events of the
subscribed sources. It used to drop, unmarked, those without targets: once N of them were the
oldest, every later claim took the same N again and returned nothing, and the delivery worker
(``deliver_entity_events``) stalled for good. A claim now consumes every event it claimed: one
without targets is marked seen, not returned."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from entity_event.delivery import deliver_batch
from entity_event.models import Event, EventSeen, Medium, Subscription
from tests.entities import entity_kind, make_entity
from tests.faults import before_statement, selects_from
from tests.testapp.models import FollowSubEntitiesMedium

pytestmark = pytest.mark.django_db

NOW = timezone.now()


@pytest.fixture
def email(email) -> Medium:
    """The email medium, created a month ago (a medium shows no event older than itself)."""
    Medium.objects.filter(pk=email.pk).update(time_created=NOW - timedelta(days=30))
    email.refresh_from_db()
    return email


def claim_in_batches(medium: Medium, limit: int, **filters: object) -> list[str]:
    """The uuids that five batch claims hand out."""
    uuids: list[str] = []
    for _ in range(5):
        claimed = medium.events_targets(seen=False, mark_seen=True, limit=limit, **filters)
        uuids += [event.uuid for event, _ in claimed]
    return uuids


def create(source, uuid: str, days_ago: float, actors=()) -> None:
    Event.objects.create_event(
        source=source, uuid=uuid, time=NOW - timedelta(days=days_ago), actors=list(actors)
    )


def test_a_batch_claim_passes_the_events_nobody_receives(photo_source, email, alice, bob):
    # Alice follows herself only: bob's events reach nobody on email.
    Subscription.objects.create(medium=email, source=photo_source, entity=alice, only_following=True)
    for n in range(5):
        create(photo_source, f"bob-{n}", days_ago=3 - n / 10, actors=[bob])
    create(photo_source, "alice", days_ago=1, actors=[alice])

    assert claim_in_batches(email, limit=2) == ["alice"]
    # The claims consumed the events nobody receives: seen, not returned.
    assert EventSeen.objects.count() == 6


def test_the_same_with_an_overridden_following_rule(photo_source, alice, bob):
    medium = FollowSubEntitiesMedium.objects.create(name="subs", display_name="Subs")
    Medium.objects.filter(pk=medium.pk).update(time_created=NOW - timedelta(days=30))
    medium.refresh_from_db()
    Subscription.objects.create(medium=medium, source=photo_source, entity=alice, only_following=True)
    for n in range(5):
        create(photo_source, f"bob-{n}", days_ago=3 - n / 10, actors=[bob])
    create(photo_source, "alice", days_ago=1, actors=[alice])

    assert claim_in_batches(medium, limit=2) == ["alice"]


def test_a_claim_for_one_kind_consumes_the_events_of_other_kinds(photo_source, email, alice, bob):
    # The photo source reaches a team, and alice (a user) when she acts: bob's events reach
    # the team only, so a claim of user targets takes them and finds no target of its kind.
    team = make_entity("Team", kind="team")
    Subscription.objects.create(medium=email, source=photo_source, entity=team, only_following=False)
    Subscription.objects.create(medium=email, source=photo_source, entity=alice, only_following=True)
    for n in range(5):
        create(photo_source, f"bob-{n}", days_ago=3 - n / 10, actors=[bob])
    create(photo_source, "alice", days_ago=1, actors=[alice])

    assert claim_in_batches(email, limit=2, entity_kind=entity_kind("user")) == ["alice"]
    # Seen records are per medium: the claims consumed the events they took, their kind's or not.
    assert EventSeen.objects.count() == 6
    # Events of a source that reaches no entity of the kind are not even read.
    assert email.events_targets(entity_kind=entity_kind("group"), seen=False, mark_seen=True) == []
    assert EventSeen.objects.count() == 6


def test_the_delivery_worker_delivers_past_them(photo_source, email, alice, bob):
    Subscription.objects.create(medium=email, source=photo_source, entity=alice, only_following=True)
    for n in range(5):
        create(photo_source, f"bob-{n}", days_ago=3 - n / 10, actors=[bob])
    create(photo_source, "alice", days_ago=1, actors=[alice])
    sent: list[str] = []

    def handler(batch):
        sent.extend(event.uuid for event, _ in batch.items)

    for number in range(3):
        deliver_batch(email, handler, number=number, batch_size=2)
    assert sent == ["alice"]


def test_a_subscription_made_during_a_claim_waits_for_the_next_one(
    photo_source, product_source, email, alice
):
    # The claim computes the routes first, then claims: a source subscribed in between has
    # events that the routes know nothing of. They are left for the next claim.
    Subscription.objects.create(medium=email, source=photo_source, entity=alice, only_following=False)
    create(photo_source, "photo", days_ago=2)
    create(product_source, "product", days_ago=1)

    def subscribe() -> None:
        Subscription.objects.create(medium=email, source=product_source, entity=alice, only_following=False)

    with before_statement(selects_from("entity_event_event"), subscribe):
        first = email.events_targets(seen=False, mark_seen=True, limit=10)
    assert [event.uuid for event, _ in first] == ["photo"]
    assert [event.uuid for event, _ in email.events_targets(seen=False, mark_seen=True, limit=10)] == [
        "product"
    ]
