"""The records of claimed events are written by the database from the routing itself
(``entity_event.delivery.records``): the same (event, target) pairs as ``events_targets()``,
under the default rule (one ``INSERT ... SELECT``) and under a medium's own rule (the Python
routing, ids only), in a constant number of queries, without an ``Entity`` per target."""

from __future__ import annotations

import random

import pytest
from django.db.models.signals import post_init
from entity.models import Entity

from entity_event.delivery.records import claim_and_record
from entity_event.models import Delivery, Event, EventSeen, Medium, Source, Subscription
from tests.entities import entity_kind, make_entity
from tests.routing.test_feed_sql import random_world
from tests.testapp.models import PassThroughMedium

pytestmark = pytest.mark.django_db


def routed_pairs(medium: Medium) -> set[tuple[str, int]]:
    """What ``events_targets`` gives for the unseen events: ``{(uuid, target id)}``."""
    return {
        (event.uuid, target.pk) for event, targets in medium.events_targets(seen=False) for target in targets
    }


def recorded_pairs(medium: Medium) -> set[tuple[str, int]]:
    return set(Delivery.objects.filter(medium_id=medium.pk).values_list("event__uuid", "target_id"))


@pytest.mark.parametrize("seed", range(8))
def test_the_records_are_the_pairs_events_targets_gives(source_group, seed):
    medium, _ = random_world(random.Random(seed), source_group)
    expected = routed_pairs(medium)
    assert expected  # the world routes something
    claimed, recorded = claim_and_record(medium, 1000)
    assert recorded_pairs(medium) == expected
    assert recorded == len(expected)
    # Every unseen event of a subscribed source was claimed and consumed, those nobody receives
    # included.
    subscribed = Subscription.objects.filter(medium=medium).values("source_id")
    assert claimed == Event.objects.filter(source_id__in=subscribed).count()
    assert claimed == EventSeen.objects.filter(medium=medium).count()
    assert claim_and_record(medium, 1000) == (0, 0)


@pytest.mark.parametrize("seed", range(4))
def test_a_medium_with_its_own_rule_is_routed_by_its_rule(source_group, seed):
    medium, _ = random_world(random.Random(seed), source_group)
    own_rule = PassThroughMedium.objects.get(pk=medium.pk)  # the same rule, by the Python path
    expected = routed_pairs(own_rule)
    assert claim_and_record(own_rule, 1000)[1] == len(expected)
    assert recorded_pairs(medium) == expected


def test_one_event_to_a_group_in_constant_queries_without_an_entity_per_target(
    source_group, django_assert_num_queries
):
    """The medium's claim (the locked events, their re-check, the seen marks) and one INSERT of
    the records, in a savepoint: the same for 3 members as for 60, and no Entity built."""
    source = Source.objects.create(group=source_group, name="news", display_name="News")
    medium = Medium.objects.create(name="email", display_name="Email")
    everyone = make_entity("Everyone", kind="all")
    Subscription.objects.create(
        medium=medium,
        source=source,
        entity=everyone,
        sub_entity_kind=entity_kind("user"),
        only_following=False,
    )
    built: list[Entity] = []

    def count(sender, instance, **kwargs):
        built.append(instance)

    for members in (3, 60):
        for n in range(members - Entity.objects.filter(entity_kind=entity_kind("user")).count()):
            make_entity(f"User {members}-{n}", supers=(everyone,))
        Event.objects.create_event(source=source, uuid=f"announcement-{members}")
        post_init.connect(count, sender=Entity)
        try:
            with django_assert_num_queries(6):
                assert claim_and_record(medium, 10) == (1, members)
        finally:
            post_init.disconnect(count, sender=Entity)
    assert built == []
