"""Per-entity read state: ``mark_read``, ``mark_unread``, ``unread_count`` and the ``read`` filter
of ``entity_events``, on the routing world of tests/worlds.py (Alice's email feed, unexpired:
photo-future, product-dave, photo-org, photo-team-a, photo-alice, newest first)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from entity_event.models import Event, EventSeen, Medium, ReadMark, ReadState, Subscription
from entity_event.routing.read_state import LISTED_MARKS, read_flags
from tests.entities import entity_kind
from tests.testapp.models import FollowSubEntitiesMedium
from tests.worlds import BASE, day, uuids

ALICE_FEED = ["photo-future", "product-dave", "photo-org", "photo-team-a", "photo-alice"]


def event(uuid: str) -> Event:
    return Event.objects.get(uuid=uuid)


def unread(medium: Medium, entity, **filters) -> list[str]:
    return uuids(medium.entity_events(entity, read=False, **filters))


def read(medium: Medium, entity, **filters) -> list[str]:
    return uuids(medium.entity_events(entity, read=True, **filters))


class TestSemantics:
    def test_everything_is_unread_until_marked(self, world):
        assert uuids(world.email.entity_events(world.alice)) == ALICE_FEED
        assert unread(world.email, world.alice) == ALICE_FEED
        assert read(world.email, world.alice) == []
        assert world.email.unread_count(world.alice) == 5

    def test_marking_some_events_read(self, world):
        world.email.mark_read(world.alice, [event("photo-org"), event("photo-alice").pk])
        assert read(world.email, world.alice) == ["photo-org", "photo-alice"]
        assert unread(world.email, world.alice) == ["photo-future", "product-dave", "photo-team-a"]
        assert world.email.unread_count(world.alice) == 3

    def test_a_queryset_of_events_can_be_marked(self, world):
        world.email.mark_read(world.alice, Event.objects.filter(uuid__startswith="photo"))
        assert unread(world.email, world.alice) == ["product-dave"]

    def test_read_state_is_per_entity_and_medium_and_leaves_seen_alone(self, world):
        seen_before = list(EventSeen.objects.values_list("event_id", "medium_id"))
        bob_before = uuids(world.email.entity_events(world.bob, read=False))
        world.email.mark_read(world.alice)
        assert world.email.unread_count(world.alice) == 0
        assert uuids(world.email.entity_events(world.bob, read=False)) == bob_before
        assert world.newsfeed.unread_count(world.alice) == len(world.newsfeed.entity_events(world.alice))
        assert list(EventSeen.objects.values_list("event_id", "medium_id")) == seen_before

    def test_events_created_after_marking_everything_read_are_unread(self, world):
        world.email.mark_read(world.alice)
        new = Event.objects.create_event(
            uuid="photo-new", source=world.photo, actors=[world.alice], time=day(9)
        )
        assert unread(world.email, world.alice) == ["photo-new"]
        assert world.email.unread_count(world.alice) == 1
        # Even when it is dated before the events read: what counts is when it was created.
        Event.objects.filter(pk=new.pk).update(time=day(0.5))
        assert unread(world.email, world.alice) == ["photo-new"]

    def test_marking_unread_again(self, world):
        world.email.mark_read(world.alice)
        world.email.mark_unread(world.alice, [event("photo-team-a")])
        assert unread(world.email, world.alice) == ["photo-team-a"]
        world.email.mark_read(world.alice, [event("photo-team-a")])
        assert unread(world.email, world.alice) == []
        world.email.mark_unread(world.alice, [event("photo-org"), event("photo-alice")])
        assert unread(world.email, world.alice) == ["photo-org", "photo-alice"]
        world.email.mark_read(world.alice)
        assert unread(world.email, world.alice) == []

    def test_events_marked_above_the_watermark(self, world):
        world.email.mark_read(world.alice, [event("photo-team-a")])
        world.email.mark_unread(world.alice, [event("photo-team-a"), event("photo-org")])
        assert unread(world.email, world.alice) == ALICE_FEED

    def test_marking_everything_read_moves_the_watermark_and_drops_the_marks(self, world):
        world.email.mark_read(world.alice, [event("photo-alice")])
        world.email.mark_unread(world.alice, [event("photo-org")])
        world.email.mark_read(world.alice)
        state = ReadState.objects.get(medium=world.email, entity=world.alice)
        assert state.read_up_to == Event.objects.latest("pk").pk
        assert not ReadMark.objects.exists()

    def test_marking_is_idempotent(self, world):
        for _ in range(2):
            world.email.mark_read(world.alice, [event("photo-alice")])
            world.email.mark_read(world.alice)
        world.email.mark_unread(world.alice, [event("photo-org")])
        world.email.mark_unread(world.alice, [event("photo-org")])
        assert ReadState.objects.count() == 1
        assert ReadMark.objects.count() == 1
        assert unread(world.email, world.alice) == ["photo-org"]

    def test_the_watermark_never_moves_back(self, world):
        world.email.mark_read(world.alice)
        newest = Event.objects.latest("pk").pk
        Event.objects.filter(pk=newest).delete()
        world.email.mark_read(world.alice)
        assert ReadState.objects.get().read_up_to == newest

    def test_marking_everything_read_without_any_event_writes_nothing(self, world):
        Event.objects.all().delete()
        world.email.mark_read(world.alice)
        assert not ReadState.objects.exists()
        assert world.email.unread_count(world.alice) == 0

    def test_events_outside_the_feed_are_ignored(self, world):
        # comment-alice: no subscription; photo-bob-carol: Alice follows neither actor;
        # photo-before-medium: older than the medium.
        outside = [event(u) for u in ("comment-alice", "photo-bob-carol", "photo-before-medium")]
        world.email.mark_read(world.alice, outside)
        world.email.mark_unread(world.alice, outside)
        assert not ReadMark.objects.exists()

    def test_unsubscribed_sources_are_neither_counted_nor_marked(self, world):
        # Bob unsubscribed from new-product on email: product-dave is not in his feed.
        assert "product-dave" not in uuids(world.email.entity_events(world.bob))
        world.email.mark_read(world.bob, [event("product-dave")])
        assert not ReadMark.objects.exists()
        assert world.email.unread_count(world.bob) == len(world.email.entity_events(world.bob))

    def test_only_following_counts_the_events_of_followed_actors(self, world):
        # Carol (Team B) follows Carol, Team B and Org: photo-bob-carol and photo-org, not
        # photo-alice or photo-team-a.
        assert unread(world.email, world.carol) == ["photo-bob-carol", "product-dave", "photo-org"]
        assert world.email.unread_count(world.carol) == 3

    def test_expired_events_are_not_counted_but_can_be_marked(self, world):
        assert "product-expired" not in unread(world.email, world.alice)
        assert "product-expired" in unread(world.email, world.alice, include_expired=True)
        world.email.mark_read(world.alice, [event("product-expired")])
        assert "product-expired" in read(world.email, world.alice, include_expired=True)
        assert world.email.unread_count(world.alice) == 5

    def test_the_read_filter_combines_with_the_others(self, world):
        world.email.mark_read(world.alice, [event("photo-alice")])
        assert unread(world.email, world.alice, end_time=day(3)) == ["photo-org", "photo-team-a"]
        assert read(world.email, world.alice, actor=world.alice) == ["photo-alice"]
        claimed = world.email.entity_events(world.alice, read=False, seen=False, mark_seen=True)
        assert uuids(claimed) == ["photo-future", "product-dave", "photo-org", "photo-team-a"]
        assert uuids(world.email.entity_events(world.alice, read=False, seen=False)) == []

    def test_an_overridden_following_rule_is_honoured(self, world):
        custom = FollowSubEntitiesMedium.objects.create(name="follow-subs", display_name="Follow subs")
        Medium.objects.filter(pk=custom.pk).update(time_created=BASE)
        custom.refresh_from_db()
        Subscription.objects.create(
            medium=custom, source=world.photo, entity=world.org, sub_entity_kind=entity_kind("user")
        )
        assert unread(custom, world.alice) == ["photo-future", "photo-alice"]
        custom.mark_read(custom and world.alice, [event("photo-org"), event("photo-alice")])
        assert unread(custom, world.alice) == ["photo-future"]
        assert custom.unread_count(world.alice) == 1

    def test_read_flags_of_a_page(self, world):
        world.email.mark_read(world.alice)
        world.email.mark_unread(world.alice, [event("photo-org")])
        Event.objects.create_event(uuid="photo-new", source=world.photo, actors=[world.alice], time=day(9))
        page = list(world.email.entity_events(world.alice)[:4])
        flags = read_flags(world.email, world.alice.pk, [e.pk for e in page], "default")
        assert {e.uuid: flags[e.pk] for e in page} == {
            "photo-new": False, "photo-future": True, "product-dave": True, "photo-org": False,
        }  # fmt: skip

    def test_many_events_marked_unread(self, world):
        # More than the filter names by id: it reads them from a subquery instead.
        extra = Event.objects.create_events(
            [{"source": world.photo, "actors": [world.alice], "time": day(2.5)} for _ in range(LISTED_MARKS)]
        )
        world.email.mark_read(world.alice)
        world.email.mark_unread(world.alice, [*extra, event("photo-org")])
        assert ReadMark.objects.count() == LISTED_MARKS + 1
        assert world.email.unread_count(world.alice) == LISTED_MARKS + 1
        assert unread(world.email, world.alice)[:1] == ["photo-org"]

    def test_many_events_marked_read(self, world):
        # More marks than the filter names by id, above the watermark this time.
        unread_before = unread(world.email, world.alice)
        extra = Event.objects.create_events(
            [
                {"source": world.photo, "actors": [world.alice], "time": day(2.5)}
                for _ in range(LISTED_MARKS + 1)
            ]
        )
        assert world.email.unread_count(world.alice) == len(unread_before) + LISTED_MARKS + 1
        world.email.mark_read(world.alice, extra)
        assert world.email.unread_count(world.alice) == len(unread_before)
        assert unread(world.email, world.alice) == unread_before


class TestQueryCounts:
    def test_unread_count_and_the_filter(self, world):
        world.email.mark_read(world.alice)
        world.email.mark_unread(world.alice, [event("photo-org")])
        with CaptureQueriesContext(connection) as queries:
            assert world.email.unread_count(world.alice) == 1
        assert len(queries) == 2  # the read state (watermark and marks), the count
        with CaptureQueriesContext(connection) as queries:
            events = world.email.entity_events(world.alice, read=False)
        assert len(queries) == 0  # the read state is read where and when the feed is
        with CaptureQueriesContext(connection) as queries:
            list(events)
        assert len(queries) == 2  # the read state, the events

    @pytest.mark.parametrize("count", [1, 40])
    def test_marking_costs_the_same_for_any_number_of_events(self, world, count):
        events = Event.objects.create_events(
            [{"source": world.photo, "actors": [world.alice], "time": day(2.5)} for _ in range(count)]
        )
        with CaptureQueriesContext(connection) as queries:
            world.email.mark_read(world.alice, events)
        # The events in the feed; create or keep the watermark row and lock it; the upsert; inside
        # the test's transaction, a savepoint and its release.
        assert len(queries) == 4 + 2
        with CaptureQueriesContext(connection) as queries:
            world.email.mark_unread(world.alice, Event.objects.filter(pk__in=[e.pk for e in events]))
        assert len(queries) == 1 + 4 + 2  # and first the ids of the queryset
        # The newest event; create or keep the watermark row; move it (which locks it); drop the
        # marks (a select and a delete: django-entity listens to every delete); a savepoint and
        # its release.
        with CaptureQueriesContext(connection) as queries:
            world.email.mark_read(world.alice)
        assert len(queries) == 5 + 2
        assert ReadMark.objects.count() == 0


#: ``(call on (medium, entity), error class, message)``: bad calls and what they raise.
BAD_CALLS = [
    (lambda m, e: m.entity_events(e, read="yes"), TypeError,
     "entity_events(): read must be True, False or None, got 'yes'"),
    (lambda m, e: m.mark_read(e, "photo-org"), TypeError,
     "mark_read(): events must be a list of events, got str"),
    (lambda m, e: m.mark_read(e, [None]), TypeError,
     "mark_read(): events: expected an Event or an integer id, got NoneType"),
    (lambda m, e: m.mark_unread(e, 5), TypeError,
     "mark_unread(): events must be a list of events, got int"),
    (lambda m, e: m.mark_unread(e, Medium.objects.all()), TypeError,
     "mark_unread(): events: expected events, got a queryset of Medium"),
    (lambda m, e: m.mark_read("alice"), TypeError,
     "mark_read(): entity: expected an Entity or an integer id, got str"),
    (lambda m, e: m.mark_read(10**9), ValueError, "mark_read(): no entity has the id 1000000000"),
    (lambda m, e: m.mark_unread(10**9, [1]), ValueError,
     "mark_unread(): no entity has the id 1000000000"),
    (lambda m, e: m.mark_read(10**9, [1]), ValueError, "mark_read(): no entity has the id 1000000000"),
    (lambda m, e: Medium(name="x").mark_read(e), ValueError, "mark_read(): the medium"),
    (lambda m, e: Medium(name="x").mark_unread(e, []), ValueError, "mark_unread(): the medium"),
    (lambda m, e: m.unread_count(None), TypeError,
     "entity: expected an Entity or an integer id, got NoneType"),
]  # fmt: skip


class TestBadInput:
    @pytest.mark.parametrize(("call", "error", "message"), BAD_CALLS)
    def test_is_refused_with_a_clear_error_and_writes_nothing(self, world, call, error, message):
        with pytest.raises(error) as raised:
            call(world.email, world.alice)
        assert message in str(raised.value)
        assert not ReadState.objects.exists()
        assert not ReadMark.objects.exists()
