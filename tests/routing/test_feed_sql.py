"""One entity's feed under the default rule is written in SQL (entity_event/feed_sql.py): it must
give exactly what the ORM form gives (the one an overridden following rule still uses), and stay
an ordinary queryset."""

from __future__ import annotations

import random

import pytest
from django.db import connection

from entity_event.models import Event, Medium, Source, Subscription, Unsubscription
from tests.entities import entity_kind, make_entity
from tests.testapp.models import PassThroughMedium

pytestmark = pytest.mark.django_db


def random_world(rng: random.Random, source_group) -> tuple[Medium, list]:
    """Orgs, groups and users (some inactive, some in several groups), subscriptions of every
    flavour, unsubscriptions, and events with one to three actors of any kind."""
    sources = [
        Source.objects.create(group=source_group, name=f"source-{n}", display_name=f"Source {n}")
        for n in range(4)
    ]
    orgs = [make_entity(f"Org {n}", kind="org", is_active=rng.random() > 0.2) for n in range(2)]
    groups = [
        make_entity(f"Group {n}", kind="group", supers=(rng.choice(orgs),), is_active=rng.random() > 0.2)
        for n in range(4)
    ]
    users = [
        make_entity(
            f"User {n}", supers=tuple(rng.sample(groups, rng.randint(0, 2))), is_active=rng.random() > 0.2
        )
        for n in range(12)
    ]
    entities = orgs + groups + users
    medium = Medium.objects.create(name="feed", display_name="Feed")
    for entity in rng.sample(entities, 10):
        group_kind = rng.choice([None, entity_kind("user"), entity_kind("group")])
        Subscription.objects.get_or_create(
            medium=medium,
            source=rng.choice(sources),
            entity=entity,
            sub_entity_kind=group_kind,
            defaults={"only_following": rng.random() > 0.5},
        )
    for entity in rng.sample(users, 3):
        Unsubscription.objects.get_or_create(medium=medium, source=rng.choice(sources), entity=entity)
    Event.objects.create_events(
        [
            {
                "source": rng.choice(sources),
                "actors": rng.sample(entities, rng.randint(1, 3)),
                "uuid": f"e{n}",
            }
            for n in range(60)
        ]
    )
    return medium, entities


@pytest.mark.parametrize("seed", range(8))
def test_the_sql_feed_is_the_orm_feed(source_group, seed):
    medium, entities = random_world(random.Random(seed), source_group)
    orm_form = PassThroughMedium.objects.get(pk=medium.pk)  # same rows, the ORM path
    received = 0
    for entity in entities:
        sql_feed = list(medium.entity_events(entity).values_list("uuid", flat=True))
        assert sql_feed == list(orm_form.entity_events(entity).values_list("uuid", flat=True))
        received += len(sql_feed)
    assert received  # the world routes something


def test_the_feed_is_an_ordinary_queryset(world):
    feed = world.email.entity_events(world.alice)
    expected = list(feed.values_list("uuid", flat=True))
    assert expected
    # Inside another query (its aliases are relabelled), filtered, and counted.
    assert list(Event.objects.filter(pk__in=feed).values_list("uuid", flat=True)) == expected
    assert list(feed.filter(uuid=expected[0]).values_list("uuid", flat=True)) == expected[:1]
    assert feed.exclude(uuid=expected[0]).count() == len(expected) - 1


def test_the_tables_are_quoted_for_the_connection(world):
    sql, _ = world.email.entity_events(world.alice).query.sql_with_params()
    assert connection.ops.quote_name("entity_event_subscription") in sql
    assert connection.ops.quote_name("entity_entityrelationship") in sql
