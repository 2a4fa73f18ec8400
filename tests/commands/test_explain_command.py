"""``manage.py explain_entity_event EVENT_ID ENTITY_ID [--medium NAME] [--json]``, through
``call_command`` on the routing world of tests/worlds.py."""

from __future__ import annotations

import json
import re
from io import StringIO
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core.management import CommandError, call_command

from entity_event.models import Event, Medium, Subscription, Unsubscription
from tests.testapp.models import FollowSubEntitiesMedium
from tests.worlds import BASE, routing_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(source_group) -> SimpleNamespace:
    return routing_world(source_group)


def event(uuid: str) -> Event:
    return Event.objects.get(uuid=uuid)


def explain(*args: object, **options: object) -> str:
    out = StringIO()
    call_command("explain_entity_event", *map(str, args), stdout=out, **options)
    return out.getvalue()


def test_every_medium_as_text(world):
    subscription = Subscription.objects.get(medium=world.email, source=world.product, entity=world.team_a)
    unsubscription = Unsubscription.objects.get(entity=world.bob, source=world.product)
    out = explain(event("product-dave").pk, world.bob.pk)
    assert out.splitlines() == [
        "email: not delivered (unsubscribed: unsubscribed from the source)",
        "  Not delivered: Bob unsubscribed from New Product on Email.",
        f"  subscription:   #{subscription.pk} every User under Team A: New Product on Email",
        f"  group:          #{world.team_a.pk} Team A",
        "  following path: -",
        f"  unsubscription: #{unsubscription.pk} Bob unsubscribed from New Product on Email",
        "newsfeed: not delivered (no_subscription: no subscription covers the entity)",
        "  Not delivered: no subscription to New Product on NewsFeed covers Bob.",
        "  subscription:   -",
        "  group:          -",
        "  following path: -",
        "  unsubscription: -",
    ]


def test_the_following_path(world):
    out = explain(event("photo-team-a").pk, world.bob.pk, medium="email")
    assert (
        out.splitlines()[0]
        == "email: delivered (followed_actor: follows an actor (an only-following subscription))"
    )
    assert f"  following path: #{world.team_a.pk} Team A -> #{world.bob.pk} Bob" in out.splitlines()


def test_json(world):
    product_dave = event("product-dave")
    subscription = Subscription.objects.get(medium=world.email, source=world.product, entity=world.team_a)
    explanations = json.loads(explain(product_dave.pk, world.alice.pk, "--json"))
    assert explanations[0] == {
        "medium": "email",
        "event": product_dave.pk,
        "entity": world.alice.pk,
        "delivered": True,
        "reason": "through_group",
        "description": "through a group (a group subscription of a super-entity, not only following)",
        "sentence": (
            "Delivered: Alice is under Team A, whose group subscription to New Product on Email covers it."
        ),
        "subscription": subscription.pk,
        "group": world.team_a.pk,
        "following_path": [],
        "unsubscription": None,
    }
    assert [(why["medium"], why["reason"]) for why in explanations] == [
        ("email", "through_group"),
        ("newsfeed", "no_subscription"),
    ]
    photo = json.loads(explain(event("photo-team-a").pk, world.bob.pk, medium="email", in_json=True))
    assert photo[0]["following_path"] == [world.team_a.pk, world.bob.pk]


def test_a_medium_with_its_own_rule(world):
    custom = FollowSubEntitiesMedium.objects.create(name="follow-subs", display_name="Follow subs")
    Medium.objects.filter(pk=custom.pk).update(time_created=BASE)
    Subscription.objects.create(medium=custom, source=world.photo, entity=world.team_a)
    out = explain(event("photo-alice").pk, world.team_a.pk, medium="follow-subs")
    assert out.splitlines()[0].startswith("follow-subs: delivered (followed_actor")


def test_the_same_as_the_api(world):
    for uuid in ("photo-alice", "photo-erin", "product-expired", "photo-before-medium", "product-dave"):
        for entity in (world.alice, world.bob, world.erin, world.dave, world.team_b):
            reasons = [why["reason"] for why in json.loads(explain(event(uuid).pk, entity.pk, "--json"))]
            assert reasons == [
                medium.explain(event(uuid), entity).reason for medium in (world.email, world.newsfeed)
            ]


@pytest.mark.parametrize(
    ("args", "options", "message"),
    [
        (("987654", "{alice}"), {}, r"^event: no Event with id 987654$"),
        (("{event}", "987654"), {}, r"^entity: no Entity with id\(s\) \[987654\]$"),
        (("{event}", str(2**70)), {}, r"^entity: the id \d+ is out of range for a database id$"),
        (
            ("{event}", "{alice}"),
            {"medium": "sms"},
            r"^--medium: no medium is named 'sms' \(the mediums: email, newsfeed\)\.$",
        ),
        (("abc", "{alice}"), {}, r"argument EVENT_ID: invalid int value: 'abc'"),
        (("{event}", "1.5"), {}, r"argument ENTITY_ID: invalid int value: '1.5'"),
    ],
)
def test_bad_input_is_a_command_error(world, args, options, message):
    values = {"event": event("product-dave").pk, "alice": world.alice.pk}
    with pytest.raises(CommandError, match=message):
        explain(*(arg.format(**values) for arg in args), **options)


def test_no_medium(source_group):
    e = Event.objects.create_event(source=source_group.sources.create(name="s", display_name="S"))
    with pytest.raises(CommandError, match="There is no medium to explain the event on."):
        explain(e.pk, 1)
    with pytest.raises(CommandError, match=r"no medium is named 'email' \(the mediums: none\)"):
        explain(e.pk, 1, medium="email")


def test_the_output_shown_in_the_docs(world):
    """docs/troubleshooting.rst shows the command's output on this world (with other ids)."""
    page = (Path(__file__).resolve().parents[2] / "docs" / "troubleshooting.rst").read_text()
    shown = page.split("    $ python manage.py explain_entity_event ", 1)[1].split("\n\n", 1)[0].splitlines()
    assert shown[0].endswith(" --medium email")
    out = explain(event("product-dave").pk, world.bob.pk, medium="email")
    without_ids = [re.sub(r"#\d+", "#N", line) for line in out.splitlines()]
    assert without_ids == [re.sub(r"#\d+", "#N", line[4:]) for line in shown[1:]]
