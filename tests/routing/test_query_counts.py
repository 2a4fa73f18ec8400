"""The query methods cost the same number of queries whatever the size of the world (default
following rule): a small and a large world, each asked the same question (docs/performance.rst)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models.signals import post_init

from entity_event.models import EventSeen
from tests.worlds import BASE, scaled_routing_world

pytestmark = pytest.mark.django_db


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
        small = scaled_routing_world(source_group, 3)
        large = scaled_routing_world(source_group, 30)
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
        for medium, user in (scaled_routing_world(source_group, 3), scaled_routing_world(source_group, 30)):
            with django_assert_num_queries(queries + 2 * connection.features.uses_savepoints):
                result = call(medium, user)
            assert len(result) > 0

    @pytest.mark.postgresql
    def test_the_seen_marks_are_one_insert_from_an_array_without_instances(self, source_group):
        """On PostgreSQL the seen marks go in from an array of the ids (``bulk_writes.insert_seen``):
        one statement of three parameters, and no ``EventSeen`` instance built, whatever the number
        of events (``bulk_create`` built one per event, tens of thousands for a large claim)."""
        table = connection.ops.quote_name(EventSeen._meta.db_table)
        parameters: list[int] = []
        built: list[EventSeen] = []

        def record(execute, sql, params, many, context):
            if sql.startswith(f"INSERT INTO {table}"):
                parameters.append(len(params))
            return execute(sql, params, many, context)

        def count_instance(sender, instance, **kwargs):
            built.append(instance)

        post_init.connect(count_instance, sender=EventSeen)
        try:
            for medium, _ in (scaled_routing_world(source_group, 3), scaled_routing_world(source_group, 30)):
                with connection.execute_wrapper(record):
                    claimed = medium.events_targets(seen=False, mark_seen=True)
                assert EventSeen.objects.filter(medium=medium).count() >= len(claimed) > 0
        finally:
            post_init.disconnect(count_instance, sender=EventSeen)
        assert parameters == [3, 3]
        assert built == []
