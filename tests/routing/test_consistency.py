"""The three query methods agree with each other on inactive entities and under races (found by a
review with a randomized oracle): inactive actors count on no path, whatever the following rule;
a subscription that reaches nobody delivers nothing; a concurrent mark does not lose actors."""

from __future__ import annotations

import pytest

from entity_event.models import Event, EventSeen, Medium, Subscription
from tests.entities import entity_kind, make_entity
from tests.faults import before_statement, selects_from
from tests.testapp.models import FollowSubEntitiesMedium, PassThroughMedium

pytestmark = pytest.mark.django_db


def delivered(medium, entity):
    return (
        [event.uuid for event in medium.events()],
        [event.uuid for event in medium.entity_events(entity)],
        [(event.uuid, [t.display_name for t in targets]) for event, targets in medium.events_targets()],
    )


def test_an_inactive_actor_reaches_nobody_with_the_docs_override(photo_source):
    medium = FollowSubEntitiesMedium.objects.create(name="m", display_name="M")
    team = make_entity("Team", kind="group")
    former = make_entity("Former", supers=(team,), is_active=False)
    Subscription.objects.create(medium=medium, source=photo_source, entity=team, only_following=True)
    Event.objects.create_event(source=photo_source, actors=[former], uuid="by-former")
    assert delivered(medium, team) == ([], [], [])


def test_an_inactive_super_entity_actor_is_the_same_for_the_default_rule_and_a_pass_through(photo_source):
    org = make_entity("Org", kind="org", is_active=False)
    alice = make_entity("Alice", supers=(org,))
    Event.objects.create_event(source=photo_source, actors=[org], uuid="by-org")
    results = []
    for medium in (
        Medium.objects.create(name="default", display_name="Default"),
        PassThroughMedium.objects.create(name="pass", display_name="Pass"),
    ):
        Subscription.objects.create(medium=medium, source=photo_source, entity=alice, only_following=True)
        Medium.objects.filter(pk=medium.pk).update(time_created=Event.objects.get().time)
        medium.refresh_from_db()
        results.append(delivered(medium, alice))
    assert results[0] == results[1] == ([], [], [])


def test_a_group_subscription_without_active_members_delivers_nothing(photo_source):
    medium = Medium.objects.create(name="m", display_name="M")
    group = make_entity("Team", kind="group")
    make_entity("Gone", supers=(group,), is_active=False)
    Subscription.objects.create(
        medium=medium,
        source=photo_source,
        entity=group,
        sub_entity_kind=entity_kind("user"),
        only_following=False,
    )
    Event.objects.create_event(source=photo_source, uuid="nobody")
    assert delivered(medium, group) == ([], [], [])
    # With an active member, the subscription delivers again.
    member = make_entity("Here", supers=(group,))
    assert delivered(medium, member) == (["nobody"], ["nobody"], [("nobody", ["Here"])])


@pytest.mark.reliability
def test_an_event_marked_seen_between_the_two_statements_keeps_its_actors(photo_source):
    """events_targets(seen=False) reads the events, then their actors; another process marking an
    event seen in between must not make it lose its only-following targets."""
    medium = Medium.objects.create(name="m", display_name="M")
    alice = make_entity("Alice")
    Subscription.objects.create(medium=medium, source=photo_source, entity=alice, only_following=True)
    event = Event.objects.create_event(source=photo_source, actors=[alice], uuid="raced")

    def mark_seen() -> None:
        EventSeen.objects.create(event=event, medium=medium)

    with before_statement(selects_from("entity_event_eventactor"), mark_seen) as actor_queries:
        result = medium.events_targets(seen=False)
    assert len(actor_queries) == 1
    assert EventSeen.objects.filter(event=event, medium=medium).exists()
    assert [(e.uuid, [t.display_name for t in targets]) for e, targets in result] == [("raced", ["Alice"])]
