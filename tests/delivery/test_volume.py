"""300,000 rows on SQLite, beyond its parameter limit (250,000 in this build; 32,766 by
default): a claim of every unseen event, its seen records, actors checked by ``create_events``
and hinted rows loaded for rendering. Each built an ``IN`` list of every id and failed with
"too many SQL variables" on every call, so that a worker could never catch up again.

SQLite only: PostgreSQL takes any number of parameters (the small-limit tests of
tests/delivery/test_deliver_command.py::TestParameterLimits run on both).
"""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from entity.models import Entity, EntityKind

from entity_event.models import (
    ContextRenderer,
    Event,
    EventActor,
    EventSeen,
    Medium,
    RenderingStyle,
    Subscription,
)
from tests.testapp.models import Account

pytestmark = [pytest.mark.django_db, pytest.mark.reliability]

ROWS = 300_000


@pytest.fixture(autouse=True)
def sqlite_only():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's parameter limit (PostgreSQL has none)")
    assert connection.features.max_query_params < ROWS


def test_a_claim_and_its_seen_records_beyond_the_limit(photo_source):
    medium = Medium.objects.create(name="email", display_name="Email")
    Medium.objects.filter(pk=medium.pk).update(time_created="2000-01-01T00:00:00Z")
    medium.refresh_from_db()
    reader = Entity.objects.create(
        display_name="Reader",
        entity_type=ContentType.objects.get_for_model(Account),
        entity_id=1,
        entity_kind=EntityKind.objects.create(name="user", display_name="User"),
    )
    Subscription.objects.create(medium=medium, source=photo_source, entity=reader, only_following=False)
    Event.objects.bulk_create(Event(source=photo_source, uuid=f"e{n}") for n in range(ROWS))

    claimed = medium.events_targets(seen=False, mark_seen=True)

    assert len(claimed) == ROWS
    assert EventSeen.objects.count() == ROWS
    assert medium.events_targets(seen=False, mark_seen=True) == []


def test_actors_checked_and_hinted_rows_loaded_beyond_the_limit(photo_source):
    kind = EntityKind.objects.create(name="user", display_name="User")
    account_type = ContentType.objects.get_for_model(Account)
    Entity.all_objects.bulk_create(
        Entity(display_name=f"E{n}", entity_type=account_type, entity_id=n, entity_kind=kind)
        for n in range(ROWS)
    )
    actors = list(Entity.all_objects.values_list("pk", flat=True))
    events = Event.objects.create_events(
        [{"source": photo_source, "actors": actors[start : start + 1000]} for start in range(0, ROWS, 1000)]
    )
    assert EventActor.objects.count() == ROWS

    Account.objects.bulk_create(Account(name=f"a{n}") for n in range(ROWS))
    style = RenderingStyle.objects.create(name="short")
    medium = Medium.objects.create(name="feed", display_name="Feed", rendering_style=style)
    ContextRenderer.objects.create(
        name="r", rendering_style=style, source=photo_source, text_template="{{ accounts|length }}",
        context_hints={"accounts": {"app_name": "testapp", "model_name": "Account"}},
    )  # fmt: skip
    event = Event.objects.create_event(
        source=photo_source, context={"accounts": list(Account.objects.values_list("pk", flat=True))}
    )
    assert medium.render([event]) == {event: (str(ROWS), "")}
    assert len(events) == ROWS // 1000
