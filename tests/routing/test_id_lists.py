"""Looking rows up by the long lists of ids that ``events_targets()`` and claims build.

On PostgreSQL such a list is one array parameter (``column = ANY(%s)``): an ``IN`` list of ten
thousand ids cost Django and the driver several times the query itself. Elsewhere it is an
``IN`` list per piece the database's parameter limit allows (``chunks.id_filters``).
"""

from __future__ import annotations

import pytest
from django.db import connection
from entity.models import Entity

from entity_event.db.id_lists import id_conditions_sql, id_filters
from tests.worlds import scaled_routing_world

pytestmark = pytest.mark.django_db


def test_id_filters_find_exactly_the_listed_rows(alice, bob):
    wanted = [alice.pk, bob.pk, alice.pk, 10**12]  # a repeated id and one without a row
    found = [
        entity.pk
        for condition in id_filters("id", wanted, "default")
        for entity in Entity.objects.filter(condition)
    ]
    assert sorted(found) == sorted([alice.pk, bob.pk])


def test_id_filters_of_no_ids_run_no_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert list(id_filters("id", [], "default")) == []
        assert list(id_conditions_sql('"id"', [], "default")) == []


def parameters_of(call) -> list[int]:
    """The number of parameters of each statement that ``call`` runs."""
    counts: list[int] = []

    def record(execute, sql, params, many, context):
        counts.append(len(params or ()))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        assert call()
    return counts


@pytest.mark.postgresql
@pytest.mark.parametrize(
    "call",
    [
        lambda medium: medium.events_targets(),
        lambda medium: medium.events_targets(seen=False, mark_seen=True),
        lambda medium: medium.events_targets(seen=False, mark_seen=True, limit=1000),
    ],
    ids=["events_targets", "claim", "limited claim"],
)
def test_on_postgresql_the_statements_do_not_grow_with_the_world(source_group, call):
    """Every statement, the lookups by the ids of events, actors and targets included, has as
    many parameters in a world ten times larger."""
    small, _ = scaled_routing_world(source_group, 3)
    large, _ = scaled_routing_world(source_group, 30)
    assert parameters_of(lambda: call(small)) == parameters_of(lambda: call(large))
