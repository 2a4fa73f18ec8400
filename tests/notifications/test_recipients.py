"""Who a batch of new events reaches (``entity_event.notifications.recipients``): the counts per
target are those of ``events_targets()``, under the default rule (one statement) and under a
medium's own rule, whatever the number of targets."""

from __future__ import annotations

import math
import random
from collections import Counter

import pytest
from django.db import connection

from entity_event.db.id_lists import OTHER_PARAMETERS
from entity_event.models import Event, Medium, Source, Subscription
from entity_event.notifications.recipients import notified_counts
from tests.entities import entity_kind, make_entity
from tests.routing.test_feed_sql import random_world
from tests.testapp.models import FollowSubEntitiesMedium, PassThroughMedium

pytestmark = pytest.mark.django_db


def targets_counts(medium: Medium) -> dict[int, int]:
    """What ``events_targets()`` says: ``{target id: number of events it receives}``."""
    return dict(Counter(target.pk for _, targets in medium.events_targets() for target in targets))


@pytest.mark.parametrize("seed", range(6))
def test_the_counts_are_those_of_events_targets(source_group, seed, django_assert_num_queries):
    medium, _ = random_world(random.Random(seed), source_group)
    events = list(Event.objects.all())
    expected = targets_counts(medium)
    assert expected  # the world routes something
    with django_assert_num_queries(1):
        assert notified_counts(medium, events, connection.alias) == expected


@pytest.mark.parametrize("seed", range(3))
def test_a_medium_with_its_own_rule_is_counted_by_its_rule(source_group, seed):
    medium, _ = random_world(random.Random(seed), source_group)
    own_rule = PassThroughMedium.objects.get(pk=medium.pk)  # the same rule, by the Python path
    assert notified_counts(own_rule, list(Event.objects.all()), connection.alias) == targets_counts(medium)


def test_the_docs_custom_rule(source_group):
    """The 0.7 docs' rule (an entity follows its sub-entities): the team hears of its member's
    activity, which the default rule would not tell it."""
    source = Source.objects.create(group=source_group, name="activity", display_name="Activity")
    medium = FollowSubEntitiesMedium.objects.create(name="custom", display_name="Custom")
    team = make_entity("Team", kind="team")
    member = make_entity("Member", supers=(team,))
    Subscription.objects.create(medium=medium, source=source, entity=team, only_following=True)
    events = Event.objects.create_events([{"source": source, "actors": [member]}, {"source": source}])
    assert notified_counts(medium, events, connection.alias) == {team.pk: 1} == targets_counts(medium)


def test_long_lists_of_events_go_in_batches(source_group, monkeypatch, django_assert_num_queries):
    """A database with a parameter limit (SQLite's) gets the ids in batches, one statement each,
    and the counts of the batches add up: here batches of 7 events, on any database."""
    medium, _ = random_world(random.Random(1), source_group)
    events = list(Event.objects.all())
    expected = targets_counts(medium)
    monkeypatch.setattr(connection.features, "max_query_params", OTHER_PARAMETERS + 7)
    with django_assert_num_queries(math.ceil(len(events) / 7)):
        counts = notified_counts(medium, events, connection.alias)
    assert len(events) > 7
    assert counts == expected


def test_no_event_of_the_feeds_costs_no_query(source_group, django_assert_num_queries):
    medium = Medium.objects.create(name="feed", display_name="Feed")
    source = Source.objects.create(group=source_group, name="news", display_name="News")
    Subscription.objects.create(
        medium=medium,
        source=source,
        entity=make_entity("All", kind="all"),
        sub_entity_kind=entity_kind("user"),
    )
    with django_assert_num_queries(0):
        assert notified_counts(medium, [], connection.alias) == {}
