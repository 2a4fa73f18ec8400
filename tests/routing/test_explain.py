"""``Medium.explain(event, entity)``: why an entity receives an event, or why not.

Every reason code on the hand-drawn world of tests/worlds.py (``routing_world``, the ``world``
fixture), the deciding rows it gives, the property that ``delivered`` is exactly membership in
``entity_events(entity)`` on random worlds (default rule and overridden ones), the query count on
a large world, and bad input.
"""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest
from django.db import connection, transaction
from entity.models import Entity
from hypothesis import HealthCheck, given, note, settings, target
from hypothesis import event as statistic
from hypothesis import strategies as st

from entity_event.models import Event, Medium, Source, Subscription, Unsubscription
from entity_event.routing.audience import medium_named, own_class, recipient_ids
from entity_event.routing.explain import MAX_ENTITIES, REASONS, Explanation, explain_entities
from tests.entities import entity_kind, make_entity
from tests.project.test_docs_examples import load_example
from tests.testapp.models import FollowSubEntitiesMedium, PassThroughMedium
from tests.worlds import BASE, day, scaled_routing_world

pytestmark = pytest.mark.django_db

DELIVERED = {"subscribed_directly", "through_group", "followed_actor", "required_source"}


def event(uuid: str) -> Event:
    return Event.objects.get(uuid=uuid)


def subscription(medium, source, entity, kind=None) -> Subscription:
    return Subscription.objects.get(medium=medium, source=source, entity=entity, sub_entity_kind=kind)


class TestReasons:
    """Each reason code, with the rows that decide it, on the routing world."""

    def test_subscribed_directly(self, world):
        why = world.email.explain(event("product-dave"), world.carol)
        assert (why.delivered, why.reason) == (True, "subscribed_directly")
        assert why.subscription == subscription(world.email, world.product, world.carol)
        assert (why.group, why.following_path, why.unsubscription) == (None, (), None)

    def test_through_group(self, world):
        why = world.email.explain(event("product-dave"), world.alice)
        assert (why.delivered, why.reason) == (True, "through_group")
        assert why.subscription == subscription(world.email, world.product, world.team_a, entity_kind("user"))
        assert why.group == world.team_a
        assert why.following_path == ()

    def test_followed_actor_as_itself(self, world):
        why = world.email.explain(event("photo-alice"), world.alice)
        assert (why.delivered, why.reason) == (True, "followed_actor")
        assert why.subscription == subscription(world.email, world.photo, world.org, entity_kind("user"))
        assert why.group == world.org
        assert why.following_path == (world.alice,)
        assert why.actor == world.alice

    def test_followed_actor_as_a_super_entity(self, world):
        why = world.email.explain(event("photo-team-a"), world.bob)
        assert why.reason == "followed_actor"
        assert why.following_path == (world.team_a, world.bob)

    def test_followed_actor_through_an_individual_subscription(self, world):
        why = world.email.explain(event("photo-org"), world.team_b)
        assert why.reason == "followed_actor"
        assert why.subscription == subscription(world.email, world.photo, world.team_b)
        assert why.group is None
        assert why.following_path == (world.org, world.team_b)

    def test_the_entity_itself_is_the_preferred_actor(self, world):
        # Bob has the lower id of the two actors and Carol the higher: each is its own actor.
        assert world.email.explain(event("photo-bob-carol"), world.carol).following_path == (world.carol,)
        assert world.email.explain(event("photo-bob-carol"), world.bob).following_path == (world.bob,)

    def test_else_the_followed_actor_with_the_lowest_id(self, world):
        both = Event.objects.create_event(source=world.photo, actors=[world.team_a, world.org], time=day(9))
        first = min(world.team_a, world.org, key=lambda entity: entity.pk)
        why = world.email.explain(both, world.alice)
        assert (why.reason, why.actor) == ("followed_actor", first)

    def test_required_source(self, world):
        Source.objects.filter(pk=world.product.pk).update(required=True)
        why = world.email.explain(event("product-dave"), world.bob)
        assert (why.delivered, why.reason) == (True, "required_source")
        assert why.subscription == subscription(world.email, world.product, world.team_a, entity_kind("user"))
        assert why.unsubscription == Unsubscription.objects.get(entity=world.bob, source=world.product)

    def test_before_medium(self, world):
        why = world.email.explain(event("photo-before-medium"), world.alice)
        assert (why.delivered, why.reason, why.subscription) == (False, "before_medium", None)

    def test_expired(self, world):
        why = world.email.explain(event("product-expired"), world.alice)
        assert (why.delivered, why.reason) == (False, "expired")

    def test_inactive_entity(self, world):
        why = world.email.explain(event("photo-erin"), world.erin)
        assert (why.delivered, why.reason) == (False, "inactive_entity")

    def test_no_subscription(self, world):
        assert world.email.explain(event("product-dave"), world.dave).reason == "no_subscription"
        assert world.email.explain(event("comment-alice"), world.alice).reason == "no_subscription"
        assert world.email.explain(event("photo-org"), world.org).reason == "no_subscription"

    def test_not_followed(self, world):
        # Erin, the only actor, is inactive: she makes her events reach nobody.
        why = world.email.explain(event("photo-erin"), world.alice)
        assert (why.delivered, why.reason) == (False, "not_followed")
        assert why.subscription == subscription(world.email, world.photo, world.org, entity_kind("user"))
        assert why.following_path == ()

    def test_unsubscribed(self, world):
        why = world.email.explain(event("product-dave"), world.bob)
        assert (why.delivered, why.reason) == (False, "unsubscribed")
        assert why.subscription == subscription(world.email, world.product, world.team_a, entity_kind("user"))
        assert why.group == world.team_a
        assert why.unsubscription == Unsubscription.objects.get(entity=world.bob, source=world.product)

    def test_every_reason_has_a_description(self, world):
        assert set(REASONS) == DELIVERED | {
            "before_medium", "expired", "inactive_entity", "no_subscription", "not_followed", "unsubscribed",
        }  # fmt: skip
        assert all(str(description) for description in REASONS.values())


class TestTheTroubleshootingPage:
    """docs/troubleshooting.rst: its table of reason codes and its example."""

    def test_every_reason_is_in_the_table(self):
        page = (Path(__file__).resolve().parents[2] / "docs" / "troubleshooting.rst").read_text()
        assert [code for code in REASONS if f"   * - ``{code}``" not in page] == []

    def test_the_example(self, world):
        team = [world.alice, world.bob, world.erin, world.dave, world.carol]
        missing = load_example("troubleshooting_example").missing_recipients(
            world.email, event("product-dave"), team
        )
        assert {entity: why.reason for entity, why in missing.items()} == {
            world.bob: "unsubscribed",
            world.erin: "inactive_entity",
            world.dave: "no_subscription",
        }


class TestOrder:
    """The first check that fails is the reason; among subscriptions, the most direct delivers."""

    def test_before_medium_comes_before_everything(self, world):
        Event.objects.filter(uuid="photo-before-medium").update(time_expires=day(-0.5))
        assert world.email.explain(event("photo-before-medium"), world.erin).reason == "before_medium"

    def test_expired_comes_before_the_entity(self, world):
        assert world.email.explain(event("product-expired"), world.erin).reason == "expired"

    def test_not_followed_comes_before_unsubscribed(self, world):
        Unsubscription.objects.create(medium=world.email, source=world.photo, entity=world.alice)
        why = world.email.explain(event("photo-erin"), world.alice)
        assert why.reason == "not_followed"
        assert why.unsubscription == Unsubscription.objects.get(entity=world.alice, source=world.photo)
        assert world.email.explain(event("photo-alice"), world.alice).reason == "unsubscribed"

    def test_a_non_following_subscription_is_preferred(self, world):
        Subscription.objects.create(
            medium=world.email, source=world.photo, entity=world.team_a, only_following=False
        )
        Subscription.objects.create(
            medium=world.email, source=world.photo, entity=world.team_a, sub_entity_kind=entity_kind("user"),
            only_following=False,
        )  # fmt: skip
        why = world.email.explain(event("photo-alice"), world.alice)
        assert (why.reason, why.group, why.following_path) == ("through_group", world.team_a, ())
        Subscription.objects.create(
            medium=world.email, source=world.photo, entity=world.alice, only_following=False
        )
        assert world.email.explain(event("photo-alice"), world.alice).reason == "subscribed_directly"

    def test_an_individual_following_subscription_is_preferred_to_a_group_one(self, world):
        mine = Subscription.objects.create(medium=world.email, source=world.photo, entity=world.alice)
        why = world.email.explain(event("photo-alice"), world.alice)
        assert (why.reason, why.subscription, why.group) == ("followed_actor", mine, None)


class TestOverriddenRule:
    """A medium that overrides ``followed_by`` is explained by its own rule."""

    @pytest.fixture
    def custom(self, world) -> FollowSubEntitiesMedium:
        medium = FollowSubEntitiesMedium.objects.create(name="follow-subs", display_name="Follow subs")
        Medium.objects.filter(pk=medium.pk).update(time_created=BASE)
        medium.refresh_from_db()
        Subscription.objects.create(medium=medium, source=world.photo, entity=world.team_a)
        return medium

    def test_the_team_follows_its_member(self, world, custom):
        why = custom.explain(event("photo-alice"), world.team_a)
        assert (why.delivered, why.reason) == (True, "followed_actor")
        assert why.following_path == (world.alice, world.team_a)
        # Under the default rule, a team does not follow its members.
        assert (
            Medium.objects.get(pk=custom.pk).explain(event("photo-alice"), world.team_a).reason
            == "not_followed"
        )

    def test_the_team_does_not_follow_its_org(self, world, custom):
        assert custom.explain(event("photo-org"), world.team_a).reason == "not_followed"

    def test_the_admin_and_the_command_find_the_subclass(self, world, custom):
        assert type(medium_named("follow-subs")) is FollowSubEntitiesMedium
        assert type(medium_named("email")) is Medium
        assert medium_named("nothing") is None
        assert [type(medium) for medium in own_class(Medium.objects.order_by("name"))] == [
            Medium, FollowSubEntitiesMedium, Medium,
        ]  # fmt: skip


class TestShape:
    def test_frozen_and_described(self, world):
        why = world.email.explain(event("product-dave"), world.alice)
        assert isinstance(why, Explanation)
        with pytest.raises(FrozenInstanceError):
            why.reason = "expired"  # type: ignore[misc]
        assert why.describe() == (
            "Delivered: Alice is under Team A, whose group subscription to New Product on Email covers it."
        )
        assert (why.medium, why.event, why.entity) == (world.email, event("product-dave"), world.alice)

    def test_ids_are_accepted(self, world):
        why = world.email.explain(event("product-dave").pk, world.alice.pk)
        assert (why.reason, why.entity) == ("through_group", world.alice)

    def test_a_batch_keeps_the_order_and_repeats(self, world):
        entities = [world.bob, world.alice, world.erin, world.dave, world.alice]
        reasons = [why.reason for why in explain_entities(world.email, event("product-dave"), entities)]
        assert reasons == [
            "unsubscribed",
            "through_group",
            "inactive_entity",
            "no_subscription",
            "through_group",
        ]
        assert explain_entities(world.email, event("product-dave"), []) == []

    def test_recipient_ids_are_the_targets_of_events_targets(self, world):
        for e, targets in world.email.events_targets():
            assert recipient_ids(world.email, e) == [target.pk for target in targets]
        assert recipient_ids(world.email, event("product-expired")) == []
        assert recipient_ids(world.email, event("comment-alice")) == []

    def test_recipient_ids_of_an_event_that_shares_its_instant(self, world):
        first, second = Event.objects.create_events(
            {"source": source, "actors": [world.alice], "time": day(9)}
            for source in (world.product, world.photo)
        )
        assert recipient_ids(world.email, first) == sorted([world.alice.pk, world.carol.pk])
        assert recipient_ids(world.email, second) == [world.alice.pk]


class TestBadInput:
    def test_an_unsaved_medium(self, world):
        with pytest.raises(ValueError, match=r"explain\(\): the medium .* is not saved"):
            Medium(name="unsaved").explain(event("photo-alice"), world.alice)

    def test_an_unsaved_event(self, world):
        with pytest.raises(ValueError, match=r"explain\(\): event: the Event .* is not saved"):
            world.email.explain(Event(source=world.photo), world.alice)

    def test_an_event_that_does_not_exist(self, world):
        with pytest.raises(ValueError, match=r"explain\(\): event: no Event with id 987654"):
            world.email.explain(987654, world.alice)

    @pytest.mark.parametrize(
        ("entity", "error", "message"),
        [
            ("alice", TypeError, r"explain\(\): entity: expected an Entity or an integer id, got str"),
            (True, TypeError, r"explain\(\): entity: expected an Entity or an integer id, got bool"),
            (2**70, ValueError, r"explain\(\): entity: the id .* is out of range"),
            (987654, ValueError, r"explain\(\): entity: no Entity with id\(s\) \[987654\]"),
        ],
    )
    def test_a_bad_entity(self, world, entity, error, message):
        with pytest.raises(error, match=message):
            world.email.explain(event("photo-alice"), entity)

    def test_an_unsaved_entity(self, world):
        with pytest.raises(ValueError, match=r"explain\(\): entity: the Entity .* is not saved"):
            world.email.explain(event("photo-alice"), Entity(display_name="x"))

    def test_a_bad_event_type(self, world):
        with pytest.raises(
            TypeError, match=r"explain\(\): event: expected an Event or an integer id, got str"
        ):
            world.email.explain("photo-alice", world.alice)

    def test_too_many_entities_at_once(self, world):
        with pytest.raises(ValueError, match=f"at most {MAX_ENTITIES} entities"):
            explain_entities(world.email, event("photo-alice"), [world.alice.pk] * (MAX_ENTITIES + 1))


class TestQueryCount:
    """At most seven queries, whatever the size of the world."""

    @pytest.mark.parametrize("size", [3, 300])
    def test_at_most_seven_queries(self, source_group, django_assert_max_num_queries, size):
        medium, user = scaled_routing_world(source_group, size)
        # The first events by time (create_events gives ids in the order of the random uuids).
        events = list(Event.objects.filter(source__name__endswith=f"-{size}").order_by("time", "pk")[:8])
        others = list(Entity.all_objects.filter(display_name__startswith=f"User {size}-").order_by("pk")[:4])
        reasons = set()
        for e in events:
            for entity in [user, *others]:
                with django_assert_max_num_queries(7):
                    reasons.add(medium.explain(e, entity).reason)
        assert {"followed_actor", "through_group", "not_followed", "unsubscribed"} <= reasons

    def test_a_batch_costs_the_same_as_one(self, source_group, django_assert_max_num_queries):
        medium, user = scaled_routing_world(source_group, 60)
        users = list(
            Entity.all_objects.filter(display_name__startswith="User 60-").order_by("pk")[:MAX_ENTITIES]
        )
        e = Event.objects.filter(source__name="photo-60").order_by("time", "pk").first()
        with django_assert_max_num_queries(7):
            explanations = explain_entities(medium, e, users)
        assert len(explanations) == 60


#: The following rules of the random worlds' mediums: the default one, and two overrides.
RULES = {"default": Medium, "follow sub-entities": FollowSubEntitiesMedium, "pass-through": PassThroughMedium}


@st.composite
def random_worlds(draw: st.DrawFn) -> dict:
    """A world as plain data: orgs, groups under an org, users under groups (and their orgs), some
    inactive; three sources, some maybe required; individual subscriptions of any entity and
    group ones of an org or a group (for its users, or an org's groups), with and without
    only_following; unsubscriptions of any entity, mostly users (of required sources too); events
    before the medium, live or expired, with one to three actors of any kind; and the medium's
    following rule. Entities are numbered orgs first, then groups, then users."""
    orgs = draw(st.integers(1, 2))
    groups = draw(st.lists(st.integers(0, orgs - 1), min_size=2, max_size=4))
    users = draw(st.lists(st.sets(st.integers(0, len(groups) - 1), max_size=2), min_size=3, max_size=8))
    supers, count = orgs + len(groups), orgs + len(groups) + len(users)
    entity = st.integers(0, count - 1)
    user = st.integers(supers, count - 1)
    individual = st.tuples(entity, st.none(), st.integers(0, 2), st.booleans())
    group = st.tuples(
        st.integers(0, supers - 1), st.sampled_from(["user", "group"]), st.integers(0, 2), st.booleans()
    )
    return {
        "orgs": orgs,
        "groups": groups,
        "users": users,
        "inactive": draw(st.sets(entity, max_size=count // 4)),
        "required": draw(st.sampled_from([set(), set(), {0}, {1, 2}])),
        "subscriptions": draw(st.lists(st.one_of(individual, group), min_size=3, max_size=10)),
        "unsubscriptions": draw(
            st.lists(st.tuples(st.one_of(user, entity), st.integers(0, 2)), min_size=2, max_size=10)
        ),
        "events": draw(
            st.lists(
                st.tuples(
                    st.integers(0, 2),
                    st.sets(entity, min_size=1, max_size=3),
                    st.sampled_from(["live", "live", "live", "expired", "before medium"]),
                ),
                min_size=3,
                max_size=8,
            )
        ),
        "rule": draw(st.sampled_from(sorted(RULES))),
    }


def build(world: dict, source_group) -> tuple[Medium, list[Entity], list[Event]]:
    """The rows of a world of ``random_worlds``: its medium, entities and events."""
    sources = [
        Source.objects.create(
            group=source_group, name=f"s{n}", display_name=f"S{n}", required=n in world["required"]
        )
        for n in range(3)
    ]
    inactive = world["inactive"]
    orgs = [make_entity(f"Org {n}", kind="org", is_active=n not in inactive) for n in range(world["orgs"])]
    groups = [
        make_entity(
            f"Group {n}", kind="group", supers=(orgs[org],), is_active=world["orgs"] + n not in inactive
        )
        for n, org in enumerate(world["groups"])
    ]
    users = []
    for n, its_groups in enumerate(world["users"]):
        supers = {groups[g] for g in its_groups} | {orgs[world["groups"][g]] for g in its_groups}
        index = world["orgs"] + len(groups) + n
        users.append(make_entity(f"User {n}", supers=tuple(supers), is_active=index not in inactive))
    entities = orgs + groups + users
    medium = RULES[world["rule"]].objects.create(name="m", display_name="M")
    Medium.objects.filter(pk=medium.pk).update(time_created=BASE)
    medium.refresh_from_db()
    for index, kind, source, only_following in world["subscriptions"]:
        Subscription.objects.get_or_create(
            medium=medium,
            source=sources[source],
            entity=entities[index],
            sub_entity_kind=None if kind is None else entity_kind(kind),
            defaults={"only_following": only_following},
        )
    for index, source in world["unsubscriptions"]:
        Unsubscription.objects.get_or_create(medium=medium, source=sources[source], entity=entities[index])
    events = []
    for n, (source, actors, when) in enumerate(world["events"]):
        time = day(-1 - n) if when == "before medium" else day(1 + n)
        expires = {"time_expires": day(1.5 + n)} if when == "expired" else {}
        events.append(
            Event.objects.create_event(
                source=sources[source], actors=[entities[a] for a in actors], time=time, **expires
            )
        )
    return medium, entities, events


def check_explanation(why: Explanation, event: Event, entity: Entity, received: bool) -> None:
    """``why`` agrees with the feed, and its rows with its reason."""
    assert why.delivered == received, (why.reason, event.pk, entity)
    assert (why.reason in DELIVERED) == why.delivered
    if why.reason in {"subscribed_directly", "through_group"}:
        assert not why.subscription.only_following
    if why.group is not None:
        assert why.subscription.entity == why.group
    if why.reason == "followed_actor":
        assert why.subscription.only_following
    if why.following_path:
        assert why.following_path[-1] == entity
        assert event.eventactor_set.filter(entity=why.actor, entity__is_active=True).exists()
    if why.reason in {"unsubscribed", "required_source"}:
        assert why.unsubscription.entity_id == entity.pk


def explained_in_few_queries(medium: Medium, event: Event, entity: Entity) -> Explanation:
    """``medium.explain(event, entity)``, checked to run seven queries at most (counted without
    the query log, which a test of many worlds would overflow)."""
    queries: list[str] = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        why = medium.explain(event, entity)
    assert len(queries) <= 7, queries
    return why


#: How many worlds the property test builds (each with up to 14 entities and 8 events, every
#: pair explained).
WORLDS = 60


@settings(
    max_examples=WORLDS,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(world=random_worlds())
def test_explain_agrees_with_entity_events_on_random_worlds(source_group, world):
    """On every (event, entity) pair of a random world, ``delivered`` is membership in
    ``entity_events(entity)``, under the default rule and overridden ones, in seven queries at
    most; the recipients of each event (``events_targets``) are the entities it explains as
    delivered."""
    with transaction.atomic():
        medium, entities, events = build(world, source_group)
        delivered_to: dict[int, set[int]] = {event.pk: set() for event in events}
        reasons: set[str] = set()
        for entity in entities:
            feed = set(medium.entity_events(entity).values_list("pk", flat=True))
            for event in events:
                why = explained_in_few_queries(medium, event, entity)
                check_explanation(why, event, entity, event.pk in feed)
                statistic(why.reason)  # --hypothesis-show-statistics: how often each reason comes up
                reasons.add(why.reason)
                if why.delivered:
                    delivered_to[event.pk].add(entity.pk)
        for event in events:
            assert set(recipient_ids(medium, event)) == delivered_to[event.pk]
        pairs = len(events) * len(entities)
        note(f"{pairs} pairs")
        # Towards worlds where many reasons come up (deliveries alone would steer away from the
        # unsubscriptions, which take them away).
        target(float(len(reasons)), label="reasons")
        transaction.set_rollback(True)
