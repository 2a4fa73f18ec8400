"""Who receives which event: ``events``, ``entity_events`` and ``events_targets`` on a small,
hand-built world whose expected results are written out literally (by uuid and entity name).

The world is the ``world`` fixture of tests/routing/conftest.py: ``routing_world`` in
tests/worlds.py, whose docstring draws it (Org, Team A, Team B; Alice, Bob, Carol, Dave, Erin;
email and newsfeed subscriptions; events by uuid, one per day from ``BASE``).
"""

from __future__ import annotations

import pytest
from entity.models import Entity

from entity_event.models import Event, EventSeen, Medium, Source, Subscription, Unsubscription
from tests.entities import entity_kind
from tests.testapp.models import FollowSubEntitiesMedium
from tests.worlds import BASE, day, named, uuids

pytestmark = pytest.mark.django_db

ALL_EMAIL = ["photo-future", "photo-bob-carol", "product-dave", "photo-org", "photo-team-a", "photo-alice"]


class TestEvents:
    def test_default(self, world):
        assert uuids(world.email.events()) == ALL_EMAIL

    def test_other_medium_sees_its_own_subscriptions(self, world):
        # Not only following: every photo event since the medium was created, any actor.
        assert uuids(world.newsfeed.events()) == [
            "photo-future", "photo-bob-carol", "photo-erin", "photo-org", "photo-team-a", "photo-alice",
        ]  # fmt: skip

    @pytest.mark.parametrize(
        ("filters", "expected"),
        [
            ({"seen": True}, ["photo-bob-carol"]),
            ({"seen": False}, ["photo-future", "product-dave", "photo-org", "photo-team-a", "photo-alice"]),
            ({"seen": None}, ALL_EMAIL),
            (
                {"include_expired": True},
                [
                    "photo-future",
                    "photo-bob-carol",
                    "product-expired",
                    "product-dave",
                    "photo-org",
                    "photo-team-a",
                    "photo-alice",
                ],
            ),
            (
                {"start_time": day(2)},
                ["photo-future", "photo-bob-carol", "product-dave", "photo-org", "photo-team-a"],
            ),
            ({"end_time": day(5)}, ["product-dave", "photo-org", "photo-team-a", "photo-alice"]),
            ({"start_time": day(2), "end_time": day(3)}, ["photo-org", "photo-team-a"]),
            ({"start_time": day(-5)}, ALL_EMAIL),  # never before the medium's creation
            ({"actor": "alice"}, ["photo-future", "photo-alice"]),
            ({"actor": "team_a"}, ["photo-team-a"]),
            ({"actor": "carol"}, ["photo-bob-carol"]),
            ({"actor": "erin"}, []),
            ({"actor": "dave", "include_expired": True}, ["product-dave"]),
            ({"actor": "alice", "include_expired": True}, ["photo-future", "product-expired", "photo-alice"]),
            ({"seen": False, "end_time": day(6), "start_time": day(3)}, ["product-dave", "photo-org"]),
            ({"seen": True, "actor": "bob", "start_time": day(7), "end_time": day(7)}, ["photo-bob-carol"]),
            ({"seen": True, "actor": "alice"}, []),
        ],
    )
    def test_filters(self, world, filters, expected):
        if "actor" in filters:
            filters = {**filters, "actor": getattr(world, filters["actor"])}
        assert uuids(world.email.events(**filters)) == expected

    def test_actor_as_id(self, world):
        assert uuids(world.email.events(actor=world.alice.pk)) == ["photo-future", "photo-alice"]

    def test_no_duplicates_and_the_queryset_is_lazy_sliceable_countable(
        self, world, django_assert_num_queries
    ):
        with django_assert_num_queries(0):
            events = world.email.events()
        with django_assert_num_queries(1):
            assert events.count() == 6
        assert uuids(events[1:3]) == ["photo-bob-carol", "product-dave"]
        assert uuids(events.filter(source=world.product)) == ["product-dave"]
        assert hasattr(events, "mark_seen")

    def test_medium_without_subscriptions(self, world):
        empty = Medium.objects.create(name="empty", display_name="Empty")
        assert list(empty.events()) == []
        assert empty.events_targets() == []

    def test_unsubscriptions_do_not_apply(self, world):
        Unsubscription.objects.create(medium=world.email, source=world.photo, entity=world.alice)
        assert uuids(world.email.events()) == ALL_EMAIL

    def test_inactive_individual_subscriber_reaches_nothing(self, world):
        Subscription.objects.create(medium=world.newsfeed, source=world.comment, entity=world.erin)
        Subscription.objects.create(
            medium=world.newsfeed, source=world.product, entity=world.erin, only_following=False
        )
        assert "comment-alice" not in uuids(world.newsfeed.events())
        assert "product-dave" not in uuids(world.newsfeed.events())

    def test_individual_subscription_follows_super_entities(self, world):
        Subscription.objects.create(medium=world.newsfeed, source=world.comment, entity=world.bob)
        Event.objects.create_event(
            uuid="comment-team-b", source=world.comment, actors=[world.team_b], time=day(9)
        )
        Event.objects.create_event(
            uuid="comment-carol", source=world.comment, actors=[world.carol], time=day(9)
        )
        Event.objects.create_event(uuid="comment-bob", source=world.comment, actors=[world.bob], time=day(10))
        assert uuids(world.newsfeed.events(start_time=day(8), end_time=day(10))) == [
            "comment-bob",
            "comment-team-b",
        ]


class TestEntityEvents:
    @pytest.mark.parametrize(
        ("entity", "expected"),
        [
            ("alice", ["photo-future", "product-dave", "photo-org", "photo-team-a", "photo-alice"]),
            ("bob", ["photo-bob-carol", "photo-org", "photo-team-a"]),  # unsubscribed from products
            ("carol", ["photo-bob-carol", "product-dave", "photo-org"]),
            ("dave", ["photo-org"]),
            ("team_b", ["photo-org"]),
            ("erin", []),  # inactive
            ("org", []),  # no subscription covers Org itself
            ("team_a", []),
        ],
    )
    def test_default(self, world, entity, expected):
        assert uuids(world.email.entity_events(getattr(world, entity))) == expected

    def test_entity_as_id_and_other_medium(self, world):
        assert uuids(world.email.entity_events(world.dave.pk)) == ["photo-org"]
        assert uuids(world.newsfeed.entity_events(world.alice)) == [
            "photo-future", "photo-bob-carol", "photo-erin", "photo-org", "photo-team-a", "photo-alice",
        ]  # fmt: skip
        assert uuids(world.newsfeed.entity_events(world.bob)) == []

    @pytest.mark.parametrize(
        ("entity", "filters", "expected"),
        [
            (
                "alice",
                {"seen": False},
                ["photo-future", "product-dave", "photo-org", "photo-team-a", "photo-alice"],
            ),
            ("bob", {"seen": True}, ["photo-bob-carol"]),
            ("bob", {"seen": False}, ["photo-org", "photo-team-a"]),
            (
                "alice",
                {"include_expired": True},
                [
                    "photo-future",
                    "product-expired",
                    "product-dave",
                    "photo-org",
                    "photo-team-a",
                    "photo-alice",
                ],
            ),
            (
                "carol",
                {"include_expired": True},
                ["photo-bob-carol", "product-expired", "product-dave", "photo-org"],
            ),
            ("alice", {"start_time": day(3)}, ["photo-future", "product-dave", "photo-org"]),
            ("alice", {"end_time": day(2)}, ["photo-team-a", "photo-alice"]),
            ("alice", {"actor": "alice"}, ["photo-future", "photo-alice"]),
            ("alice", {"actor": "dave"}, ["product-dave"]),
            ("carol", {"actor": "bob"}, ["photo-bob-carol"]),
            (
                "alice",
                {"actor": "alice", "include_expired": True, "end_time": day(6)},
                ["product-expired", "photo-alice"],
            ),
            (
                "carol",
                {"seen": False, "start_time": day(3), "end_time": day(7)},
                ["product-dave", "photo-org"],
            ),
        ],
    )
    def test_filters(self, world, entity, filters, expected):
        if "actor" in filters:
            filters = {**filters, "actor": getattr(world, filters["actor"])}
        assert uuids(world.email.entity_events(getattr(world, entity), **filters)) == expected

    def test_unsubscription_is_per_medium_and_source(self, world):
        Unsubscription.objects.create(medium=world.email, source=world.photo, entity=world.alice)
        assert uuids(world.email.entity_events(world.alice)) == ["product-dave"]
        assert len(world.newsfeed.entity_events(world.alice)) == 6

    def test_one_query_lazy(self, world, django_assert_num_queries):
        with django_assert_num_queries(0):
            events = world.email.entity_events(world.alice)
        with django_assert_num_queries(1):
            assert len(events) == 5


EMAIL_TARGETS = [
    ("photo-future", ["Alice"]),
    ("photo-bob-carol", ["Bob", "Carol"]),
    ("product-dave", ["Alice", "Carol"]),
    ("photo-org", ["Team B", "Alice", "Bob", "Carol", "Dave"]),
    ("photo-team-a", ["Alice", "Bob"]),
    ("photo-alice", ["Alice"]),
]


class TestEventsTargets:
    def test_default(self, world):
        assert named(world.email.events_targets()) == EMAIL_TARGETS

    def test_targets_are_entities_ordered_by_id(self, world):
        pairs = world.email.events_targets()
        for _, targets in pairs:
            assert all(isinstance(target, Entity) for target in targets)
            assert [target.pk for target in targets] == sorted({target.pk for target in targets})

    def test_entity_kind(self, world):
        user_targets = [(uuid, [n for n in names if n != "Team B"]) for uuid, names in EMAIL_TARGETS]
        assert named(world.email.events_targets(entity_kind=entity_kind("user"))) == user_targets
        assert named(world.email.events_targets(entity_kind=entity_kind("team").pk)) == [
            ("photo-org", ["Team B"])
        ]
        assert named(world.email.events_targets(entity_kind=entity_kind("org"))) == []

    @pytest.mark.parametrize(
        ("filters", "expected"),
        [
            ({"seen": True}, [("photo-bob-carol", ["Bob", "Carol"])]),
            ({"seen": False}, [pair for pair in EMAIL_TARGETS if pair[0] != "photo-bob-carol"]),
            (
                {"include_expired": True},
                [*EMAIL_TARGETS[:2], ("product-expired", ["Alice", "Carol"]), *EMAIL_TARGETS[2:]],
            ),
            ({"start_time": day(3)}, EMAIL_TARGETS[:4]),
            ({"end_time": day(2)}, EMAIL_TARGETS[4:]),
            ({"actor": "carol"}, [("photo-bob-carol", ["Bob", "Carol"])]),
            ({"actor": "dave", "seen": False}, [("product-dave", ["Alice", "Carol"])]),
            (
                {"actor": "alice", "include_expired": True, "start_time": day(1), "end_time": day(6)},
                [("product-expired", ["Alice", "Carol"]), ("photo-alice", ["Alice"])],
            ),
        ],
    )
    def test_filters(self, world, filters, expected):
        if "actor" in filters:
            filters = {**filters, "actor": getattr(world, filters["actor"])}
        assert named(world.email.events_targets(**filters)) == expected

    def test_newsfeed(self, world):
        assert named(world.newsfeed.events_targets(start_time=day(4), end_time=day(7))) == [
            ("photo-bob-carol", ["Alice"]),
            ("photo-erin", ["Alice"]),
        ]

    def test_unsubscribed_everyone_means_no_event(self, world):
        Unsubscription.objects.create(medium=world.newsfeed, source=world.photo, entity=world.alice)
        assert world.newsfeed.events_targets() == []

    def test_same_target_set_shares_one_list(self, world):
        Event.objects.create_event(uuid="product-2", source=world.product, actors=[world.bob], time=day(5.5))
        pairs = dict(world.email.events_targets())
        by_uuid = {event.uuid: targets for event, targets in pairs.items()}
        assert by_uuid["product-2"] is by_uuid["product-dave"]

    def test_a_target_of_two_subscriptions_appears_once(self, world):
        Subscription.objects.create(
            medium=world.newsfeed,
            source=world.photo,
            entity=world.team_a,
            sub_entity_kind=entity_kind("user"),
        )
        assert named(world.newsfeed.events_targets(end_time=day(3))) == [
            ("photo-org", ["Alice", "Bob"]),
            ("photo-team-a", ["Alice", "Bob"]),
            ("photo-alice", ["Alice"]),
        ]

    def test_inactive_group_member_is_never_a_target(self, world):
        Subscription.objects.create(
            medium=world.newsfeed, source=world.comment, entity=world.team_a,
            sub_entity_kind=entity_kind("user"), only_following=False,
        )  # fmt: skip
        assert named(world.newsfeed.events_targets(start_time=day(8), end_time=day(8))) == [
            ("comment-alice", ["Alice", "Bob"])
        ]


class TestFollowSubEntitiesMedium:
    """The 0.7 docs' example: entities follow themselves and their sub-entities."""

    @pytest.fixture
    def custom(self, world) -> FollowSubEntitiesMedium:
        medium = FollowSubEntitiesMedium.objects.create(name="follow-subs", display_name="Follow subs")
        Medium.objects.filter(pk=medium.pk).update(time_created=BASE)
        medium.refresh_from_db()
        Subscription.objects.create(
            medium=medium, source=world.photo, entity=world.org, sub_entity_kind=entity_kind("user")
        )
        Subscription.objects.create(medium=medium, source=world.photo, entity=world.team_a)
        return medium

    def test_events(self, world, custom):
        # The default rule gives photo-org too. The docs' followed_by goes through the manager of
        # active entities, so Team A does not follow the inactive Erin: no photo-erin.
        assert uuids(custom.events()) == ["photo-future", "photo-bob-carol", "photo-team-a", "photo-alice"]
        assert uuids(Medium.objects.get(pk=custom.pk).events()) == [
            "photo-future", "photo-bob-carol", "photo-org", "photo-team-a", "photo-alice",
        ]  # fmt: skip

    def test_entity_events(self, world, custom):
        assert uuids(custom.entity_events(world.alice)) == ["photo-future", "photo-alice"]
        assert uuids(custom.entity_events(world.team_a)) == [
            "photo-future", "photo-bob-carol", "photo-team-a", "photo-alice",
        ]  # fmt: skip
        assert uuids(Medium.objects.get(pk=custom.pk).entity_events(world.alice)) == [
            "photo-future", "photo-org", "photo-team-a", "photo-alice",
        ]  # fmt: skip

    def test_events_targets(self, world, custom):
        # Erin is inactive: her events reach nobody through only-following subscriptions, on
        # every method and whatever the rule (followers_of(Erin) would give Team A), so
        # events_targets agrees with events() and entity_events() above.
        assert named(custom.events_targets()) == [
            ("photo-future", ["Team A", "Alice"]),
            ("photo-bob-carol", ["Team A", "Bob", "Carol"]),
            ("photo-team-a", ["Team A"]),
            ("photo-alice", ["Team A", "Alice"]),
        ]
        assert named(custom.events_targets(entity_kind=entity_kind("user"), seen=False, end_time=day(7))) == [
            ("photo-bob-carol", ["Bob", "Carol"]),
            ("photo-alice", ["Alice"]),
        ]

    def test_events_targets_over_two_sources_with_the_same_actors(self, world, custom):
        Subscription.objects.create(medium=custom, source=world.product, entity=world.team_a)
        Event.objects.create_event(
            uuid="product-alice", source=world.product, actors=[world.alice], time=day(2.5)
        )
        assert named(custom.events_targets(start_time=day(1), end_time=day(2.5))) == [
            ("product-alice", ["Team A"]),
            ("photo-team-a", ["Team A"]),
            ("photo-alice", ["Team A", "Alice"]),
        ]

    def test_following_methods(self, world, custom):
        assert set(custom.followed_by(world.team_a)) == {world.team_a, world.alice, world.bob}
        assert set(custom.followers_of(world.alice)) == {world.alice, world.team_a, world.org}


class TestFollowing:
    def test_followed_by_accepts_entity_queryset_list_and_ids(self, world):
        medium = world.email
        assert set(medium.followed_by(world.alice)) == {world.alice, world.team_a, world.org}
        assert set(medium.followed_by(Entity.objects.filter(pk__in=[world.carol.pk, world.dave.pk]))) == {
            world.carol, world.dave, world.team_b, world.org,
        }  # fmt: skip
        assert set(medium.followed_by([world.dave, world.team_a.pk])) == {world.dave, world.team_a, world.org}
        assert set(medium.followed_by(world.dave.pk)) == {world.dave, world.org}

    def test_followers_of(self, world):
        assert set(world.email.followers_of(world.team_b)) == {world.team_b, world.bob, world.carol}
        assert set(world.email.followers_of([world.alice])) == {world.alice}
        # Inactive entities are never returned.
        assert set(world.email.followers_of(world.team_a)) == {world.team_a, world.alice, world.bob}

    @pytest.mark.parametrize("bad", ["alice", 1.5, None, True, [object()], Source.objects.none()])
    def test_bad_entities(self, world, bad):
        with pytest.raises(TypeError, match="entities"):
            world.email.followed_by(bad)

    def test_unsaved_entity(self, world):
        with pytest.raises(ValueError, match="not saved"):
            world.email.followers_of(Entity(display_name="x"))


class TestSubscriptions:
    def test_subscribed_entities(self, world):
        group = Subscription.objects.get(
            medium=world.email, source=world.photo, sub_entity_kind__isnull=False
        )
        assert set(group.subscribed_entities()) == {world.alice, world.bob, world.carol, world.dave}
        individual = Subscription.objects.get(
            medium=world.email, source=world.photo, sub_entity_kind__isnull=True
        )
        assert list(individual.subscribed_entities()) == [world.team_b]
        teams = Subscription.objects.create(
            medium=world.newsfeed, source=world.photo, entity=world.org, sub_entity_kind=entity_kind("team")
        )
        assert set(teams.subscribed_entities()) == {world.team_a, world.team_b}

    def test_subset_subscriptions(self, world):
        subscriptions = Subscription.objects.filter(medium=world.email)
        described = {
            name: sorted(
                (s.source.name, s.entity.display_name)
                for s in world.email.subset_subscriptions(subscriptions, getattr(world, name))
            )
            for name in ("alice", "bob", "carol", "dave", "team_b", "org")
        }
        assert described == {
            "alice": [("new-product", "Team A"), ("photo-tag", "Org")],
            "bob": [("new-product", "Team A"), ("photo-tag", "Org")],  # unsubscriptions are not applied here
            "carol": [("new-product", "Carol"), ("photo-tag", "Org")],
            "dave": [("photo-tag", "Org")],
            "team_b": [("photo-tag", "Team B")],
            "org": [],
        }
        assert world.email.subset_subscriptions(subscriptions) is subscriptions
        assert world.email.subset_subscriptions(subscriptions, world.dave.pk).count() == 1


class TestArguments:
    @pytest.mark.parametrize(
        ("filters", "argument"),
        [
            ({"start_time": "2026-01-01"}, "start_time"),
            ({"end_time": 5}, "end_time"),
            ({"seen": 0}, "seen"),
            ({"seen": "no"}, "seen"),
            ({"include_expired": None}, "include_expired"),
            ({"mark_seen": 1}, "mark_seen"),
            ({"actor": "alice"}, "actor"),
            ({"actor": True}, "actor"),
            ({"colour": "red"}, "colour"),
        ],
    )
    def test_wrong_filters_name_the_argument(self, world, filters, argument):
        for call in (
            lambda: world.email.events(**filters),
            lambda: world.email.entity_events(world.alice, **filters),
            lambda: world.email.events_targets(**filters),
        ):
            with pytest.raises(TypeError, match=argument):
                call()
        assert EventSeen.objects.count() == 1

    def test_unsaved_actor(self, world):
        with pytest.raises(ValueError, match="actor"):
            world.email.events(actor=Entity(display_name="x"))

    @pytest.mark.parametrize("entity", [None, "alice", 2.0])
    def test_entity_events_needs_an_entity(self, world, entity):
        with pytest.raises(TypeError, match="entity"):
            world.email.entity_events(entity)

    @pytest.mark.parametrize("kind", ["user", 1.0, True])
    def test_events_targets_entity_kind(self, world, kind):
        with pytest.raises(TypeError, match="entity_kind"):
            world.email.events_targets(entity_kind=kind)

    def test_subset_subscriptions_entity(self, world):
        with pytest.raises(TypeError, match="entity"):
            world.email.subset_subscriptions(Subscription.objects.all(), "alice")


def seen_on(medium: Medium) -> set[str]:
    return set(EventSeen.objects.filter(medium=medium).values_list("event__uuid", flat=True))


class TestMarkSeen:
    def test_events_marks_exactly_what_it_returns(self, world, django_assert_num_queries):
        events = world.email.events(end_time=day(3), mark_seen=True)
        with django_assert_num_queries(0):
            assert uuids(events) == ["photo-org", "photo-team-a", "photo-alice"]
        assert seen_on(world.email) == {"photo-bob-carol", "photo-org", "photo-team-a", "photo-alice"}
        assert seen_on(world.newsfeed) == set()
        # A queryset of exactly those events: it does not change when evaluated again.
        assert uuids(events.all()) == ["photo-org", "photo-team-a", "photo-alice"]
        assert events.count() == 3
        assert hasattr(events, "cache_related")

    def test_claiming_unseen_events_twice(self, world):
        claimed = world.email.events(seen=False, mark_seen=True)
        assert uuids(claimed) == ["photo-future", "product-dave", "photo-org", "photo-team-a", "photo-alice"]
        assert uuids(claimed.all()) == uuids(claimed)
        assert list(world.email.events(seen=False, mark_seen=True)) == []
        assert list(world.email.events(seen=False)) == []

    def test_seen_true_with_mark_seen_keeps_time_seen(self, world):
        before = EventSeen.objects.get().time_seen
        assert uuids(world.email.events(seen=True, mark_seen=True)) == ["photo-bob-carol"]
        assert EventSeen.objects.get().time_seen == before

    def test_entity_events(self, world):
        assert uuids(world.email.entity_events(world.dave, mark_seen=True)) == ["photo-org"]
        assert seen_on(world.email) == {"photo-bob-carol", "photo-org"}
        assert uuids(world.email.entity_events(world.carol, seen=False, mark_seen=True)) == ["product-dave"]
        assert seen_on(world.email) == {"photo-bob-carol", "photo-org", "product-dave"}

    def test_events_targets_marks_only_events_with_targets(self, world):
        pairs = world.newsfeed.events_targets(mark_seen=True, end_time=day(4))
        assert named(pairs) == [
            ("photo-erin", ["Alice"]),
            ("photo-org", ["Alice"]),
            ("photo-team-a", ["Alice"]),
            ("photo-alice", ["Alice"]),
        ]
        assert seen_on(world.newsfeed) == {"photo-erin", "photo-org", "photo-team-a", "photo-alice"}
        # photo-erin has no target on email: a call that only marks leaves it unmarked.
        assert named(world.email.events_targets(mark_seen=True, end_time=day(4))) == [
            pair for pair in EMAIL_TARGETS if pair[0] in {"photo-org", "photo-team-a", "photo-alice"}
        ]
        assert "photo-erin" not in seen_on(world.email)

    def test_a_claim_consumes_the_events_without_targets(self, world):
        # photo-erin has no target on email: a claim marks it seen without returning it, so
        # that no later claim takes it again (tests/routing/test_claims_move_on.py).
        assert named(world.email.events_targets(seen=False, mark_seen=True)) == [
            pair for pair in EMAIL_TARGETS if pair[0] != "photo-bob-carol"
        ]
        assert seen_on(world.email) == {uuid for uuid, _ in EMAIL_TARGETS} | {"photo-erin"}
        assert world.email.events_targets(seen=False, mark_seen=True) == []

    def test_nothing_to_mark(self, world):
        assert list(world.email.events(actor=world.erin, mark_seen=True)) == []
        assert world.email.events_targets(actor=world.erin, mark_seen=True) == []
        assert seen_on(world.email) == {"photo-bob-carol"}
