"""``events()`` has two forms of its routing condition (entity_event/paged_condition.py): a check
per row for a page, set-based for the whole table. They must select the same events, and the
right one must be compiled for each way of evaluating the queryset."""

from __future__ import annotations

import random

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from entity_event.models import Event, Medium, Subscription
from entity_event.routing.paged_condition import PAGE_ROWS
from tests.entities import entity_kind, make_entity
from tests.routing.test_feed_sql import random_world
from tests.testapp.models import PassThroughMedium

pytestmark = pytest.mark.django_db


def uuids(events) -> list[str]:
    return list(events.values_list("uuid", flat=True))


def sql_of(run) -> str:
    with CaptureQueriesContext(connection) as captured:
        run()
    (query,) = captured.captured_queries
    return query["sql"]


@pytest.mark.parametrize("seed", range(8))
def test_a_page_selects_what_the_whole_table_selects(source_group, seed):
    medium, _ = random_world(random.Random(seed), source_group)
    whole = uuids(medium.events())
    assert whole  # the world routes something
    assert uuids(medium.events()[:PAGE_ROWS]) == whole  # the page form (the world is smaller)
    assert uuids(medium.events()[:3]) == whole[:3]
    # And both are what an overridden rule (the ORM form, a query per subscription) delivers.
    assert uuids(PassThroughMedium.objects.get(pk=medium.pk).events()) == whole
    assert medium.events().count() == len(whole)
    assert medium.events()[:PAGE_ROWS].count() == len(whole)


def test_a_page_is_checked_row_by_row_and_the_rest_set_based(world):
    events = world.email.events  # a new queryset each time (an evaluated one keeps its rows)
    page = sql_of(lambda: list(events()[:20]))
    assert "EXISTS" in page and "UNION" not in page
    assert "UNION" in sql_of(lambda: list(events()))
    assert "UNION" in sql_of(lambda: list(events()[: PAGE_ROWS + 1]))
    assert "UNION" in sql_of(lambda: events().count())
    assert "UNION" not in sql_of(lambda: events().exists())  # exists() asks for one row


def test_the_query_can_be_used_inside_another(world):
    expected = uuids(world.email.events())
    assert uuids(Event.objects.filter(pk__in=world.email.events())) == expected
    assert (
        uuids(Event.objects.filter(pk__in=world.email.events()).order_by("-time", "-id")[:2]) == expected[:2]
    )


@pytest.mark.parametrize("member_active", [False, True])
def test_an_actor_above_a_group_member_counts_only_for_an_active_member(photo_source, member_active):
    # The group's only member is the one path from the actor (the group itself) to the
    # subscription: the event is delivered when that member is active, in both forms.
    medium = Medium.objects.create(name="m", display_name="M")
    team = make_entity("Team", kind="group")
    make_entity("Member", supers=(team,), is_active=member_active)
    Subscription.objects.create(
        medium=medium,
        source=photo_source,
        entity=team,
        sub_entity_kind=entity_kind("user"),
        only_following=True,
    )
    Event.objects.create_event(source=photo_source, actors=[team], uuid="by-team")
    expected = ["by-team"] if member_active else []
    assert uuids(medium.events()[:10]) == uuids(medium.events()) == expected
