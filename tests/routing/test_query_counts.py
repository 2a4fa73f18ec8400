"""The query methods cost the same number of queries whatever the size of the world (default
following rule): a small and a large world, each asked the same question (docs/performance.rst)."""

from __future__ import annotations

import pytest
from django.db import connection
from entity.models import Entity

from entity_event.models import Event, Medium, Source, Subscription, Unsubscription
from tests.entities import entity_kind, make_entity
from tests.routing.test_semantics import BASE, day

pytestmark = pytest.mark.django_db


def build_scaled_world(source_group, size: int) -> tuple[Medium, Entity]:
    """``size`` users in two teams under one Org, individual and group subscriptions with and
    without only-following, an unsubscription, and ``4 * size`` events with one or two actors."""
    org = make_entity(f"Org {size}", kind="org")
    teams = [make_entity(f"Team {size}-{n}", kind="team", supers=(org,)) for n in range(2)]
    users = [make_entity(f"User {size}-{n}", supers=(teams[n % 2], org)) for n in range(size)]
    user = entity_kind("user")
    photo = Source.objects.create(group=source_group, name=f"photo-{size}", display_name="Photo")
    product = Source.objects.create(group=source_group, name=f"product-{size}", display_name="Product")
    medium = Medium.objects.create(name=f"email-{size}", display_name="Email")
    Medium.objects.filter(pk=medium.pk).update(time_created=BASE)
    medium.refresh_from_db()
    for team in teams:
        Subscription.objects.create(medium=medium, source=photo, entity=team, sub_entity_kind=user)
    Subscription.objects.create(
        medium=medium, source=product, entity=org, sub_entity_kind=user, only_following=False
    )
    Subscription.objects.create(medium=medium, source=photo, entity=users[0])
    Unsubscription.objects.create(medium=medium, source=product, entity=users[1])
    Event.objects.create_events(
        {
            "source": photo if n % 3 else product,
            "actors": [users[n % size], users[(n * 7) % size]] if n % 2 else [teams[n % 4 // 2], users[0]],
            "time": day(1 + n / 100),
        }
        for n in range(4 * size)
    )
    every_fifth = list(Event.objects.filter(source__in=[photo, product]).values_list("pk", flat=True))[::5]
    Event.objects.filter(pk__in=every_fifth).mark_seen(medium)
    return medium, users[0]


class TestQueryCounts:
    """The number of queries does not depend on the size of the world (default following rule)."""

    @pytest.mark.parametrize(
        ("call", "queries"),
        [
            (lambda medium, user: list(medium.events()), 1),
            (lambda medium, user: list(medium.events(seen=False, actor=user, start_time=BASE)), 1),
            (lambda medium, user: list(medium.entity_events(user)), 1),
            (lambda medium, user: list(medium.entity_events(user, seen=True, include_expired=True)), 1),
            (lambda medium, user: medium.events_targets(), 7),
            (lambda medium, user: medium.events_targets(seen=False, entity_kind=user.entity_kind_id), 7),
        ],
    )
    def test_constant(self, source_group, django_assert_num_queries, call, queries):
        small = build_scaled_world(source_group, 3)
        large = build_scaled_world(source_group, 30)
        for medium, user in (small, large):
            with django_assert_num_queries(queries):
                result = call(medium, user)
            assert result

    @pytest.mark.parametrize(
        ("call", "queries"),
        [
            # The query (and, for a claim, the re-check of the claimed rows), then one INSERT of
            # the seen records of the returned events.
            (lambda medium, user: medium.events(mark_seen=True), 2),
            (lambda medium, user: medium.entity_events(user, seen=False, mark_seen=True), 3),
            (lambda medium, user: medium.events_targets(mark_seen=True), 8),
            (lambda medium, user: medium.events_targets(seen=False, mark_seen=True), 9),
        ],
    )
    def test_constant_when_marking(self, source_group, django_assert_num_queries, call, queries):
        # The transaction of the marking call adds a savepoint and its release inside the test's
        # transaction; a caller outside a transaction runs BEGIN / COMMIT instead.
        for medium, user in (build_scaled_world(source_group, 3), build_scaled_world(source_group, 30)):
            with django_assert_num_queries(queries + 2 * connection.features.uses_savepoints):
                result = call(medium, user)
            assert len(result) > 0
