"""Only-following group subscriptions in ``events_targets()`` (default following rule).

Their members are never loaded: the followers of a batch's actors are the actors and their
sub-entities, and their memberships decide (``routing.targets.DefaultFollowers``). These tests
hold those memberships to the rule everywhere it bends: an actor above a member, inactive and
opted-out members, a group that reaches no one, the ``entity_kind`` filter, and a batch split by
the database's parameter limit.
"""

from __future__ import annotations

import pytest
from django.db import connection

from entity_event.models import Event, EventSeen, Medium, Subscription, Unsubscription
from tests.entities import entity_kind, make_entity

pytestmark = pytest.mark.django_db


@pytest.fixture
def club(photo_source):
    """A medium whose one subscription is the users of a club, only following; the club's
    members Ann, Ben and (inactive) Cal; a team above Ben; an outsider."""
    medium = Medium.objects.create(name="feed", display_name="Feed")
    club = make_entity("Club", kind="group")
    team = make_entity("Team", kind="group")
    members = {
        "ann": make_entity("Ann", supers=(club,)),
        "ben": make_entity("Ben", supers=(club, team)),
        "cal": make_entity("Cal", supers=(club,), is_active=False),
    }
    Subscription.objects.create(
        medium=medium,
        source=photo_source,
        entity=club,
        sub_entity_kind=entity_kind("user"),
        only_following=True,
    )
    return medium, club, team, members, make_entity("Outsider")


def targets(medium, **filters) -> dict[str, list[str]]:
    return {
        event.uuid: [entity.display_name for entity in entities]
        for event, entities in medium.events_targets(**filters)
    }


def test_the_followers_among_the_members_receive(photo_source, club):
    medium, group, team, members, outsider = club
    create = Event.objects.create_event
    create(source=photo_source, actors=[members["ann"]], uuid="by-ann")
    create(source=photo_source, actors=[team], uuid="by-team")  # above Ben
    create(source=photo_source, actors=[members["ann"], members["ben"]], uuid="by-both")
    create(source=photo_source, actors=[group], uuid="by-club")  # above Cal (inactive), Ann, Ben
    create(source=photo_source, actors=[outsider], uuid="by-outsider")
    create(source=photo_source, actors=[members["cal"]], uuid="by-cal")  # inactive actor

    assert targets(medium) == {
        "by-club": ["Ann", "Ben"],
        "by-both": ["Ann", "Ben"],
        "by-team": ["Ben"],
        "by-ann": ["Ann"],
    }
    # The same as each member's feed.
    for name in ("ann", "ben"):
        feed = set(medium.entity_events(members[name]).values_list("uuid", flat=True))
        assert feed == {
            uuid for uuid, names in targets(medium).items() if members[name].display_name in names
        }


def test_an_opted_out_member_does_not_receive_unless_the_source_is_required(photo_source, club):
    medium, group, _, members, _ = club
    Unsubscription.objects.create(entity=members["ann"], source=photo_source, medium=medium)
    Event.objects.create_event(source=photo_source, actors=[group], uuid="by-club")
    assert targets(medium) == {"by-club": ["Ben"]}

    Unsubscription.objects.filter(entity=members["ann"]).update(entity=members["ben"])
    photo_source.required = True
    photo_source.save()
    Unsubscription.objects.create(entity=members["ann"], source=photo_source, medium=medium)
    assert targets(medium) == {"by-club": ["Ann", "Ben"]}


def test_a_group_that_reaches_no_one_delivers_nothing_and_a_claim_leaves_its_events(photo_source, club):
    """Every active member opted out: the source delivers to no one, as when the subscription's
    members were loaded (its events are not read, so not consumed by a claim)."""
    medium, group, _, members, _ = club
    for name in ("ann", "ben"):
        Unsubscription.objects.create(entity=members[name], source=photo_source, medium=medium)
    Event.objects.create_event(source=photo_source, actors=[members["ann"]], uuid="by-ann")

    assert medium.events_targets(seen=False, mark_seen=True) == []
    assert not EventSeen.objects.exists()
    Unsubscription.objects.filter(entity=members["ben"]).delete()
    Event.objects.create_event(source=photo_source, actors=[members["ben"]], uuid="by-ben")
    assert targets(medium, seen=False, mark_seen=True) == {"by-ben": ["Ben"]}
    assert EventSeen.objects.count() == 2  # the claim consumed the event nobody receives too


def test_the_kind_filter_applies_to_the_group_members(photo_source, club):
    medium, group, _, _, _ = club
    Event.objects.create_event(source=photo_source, actors=[group], uuid="by-club")
    assert targets(medium, entity_kind=entity_kind("user")) == {"by-club": ["Ann", "Ben"]}
    assert targets(medium, entity_kind=entity_kind("group")) == {}


def test_a_batch_beyond_the_parameter_limit_routes_the_same(photo_source, club, monkeypatch):
    """Each piece of the actors appears three times in the followers' statement: the pieces are a
    third of the limit, and the batch is routed as in one piece."""
    medium, group, _, _, _ = club
    members = [make_entity(f"Member {n}", supers=(group,)) for n in range(40)]
    for number, member in enumerate(members):
        Event.objects.create_event(source=photo_source, actors=[member], uuid=f"e{number}")
    expected = targets(medium)
    assert len(expected) == 40

    statements: list[str] = []

    def record(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    limited = connection.features.max_query_params is not None  # SQLite (no limit elsewhere)
    if limited:
        monkeypatch.setattr(connection.features, "max_query_params", 130)  # pieces of 10
    with connection.execute_wrapper(record):
        assert targets(medium) == expected
    followers = [sql for sql in statements if "UNION ALL" in sql]
    assert len(followers) == (4 if limited else 1)
