"""``EventQuerySet.mark_seen`` / ``cache_related`` and ``SubscriptionQuerySet.cache_related``."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from entity_event.models import Event, EventSeen, Medium, Subscription
from tests.entities import entity_kind, make_entity

pytestmark = pytest.mark.django_db


def seen_uuids(medium: Medium) -> set[str]:
    return set(EventSeen.objects.filter(medium=medium).values_list("event__uuid", flat=True))


class TestMarkSeen:
    def test_marks_the_events_of_the_queryset_on_that_medium_only(self, photo_source, email, newsfeed):
        for name in "abc":
            Event.objects.create_event(source=photo_source, uuid=name)
        Event.objects.filter(uuid__in=["a", "b"]).mark_seen(email)
        assert seen_uuids(email) == {"a", "b"}
        assert seen_uuids(newsfeed) == set()

    def test_is_idempotent_and_keeps_the_first_time_seen(self, photo_source, email):
        event = Event.objects.create_event(source=photo_source, uuid="a")
        first_seen = datetime(2026, 1, 1, tzinfo=UTC)
        EventSeen.objects.create(event=event, medium=email, time_seen=first_seen)
        Event.objects.create_event(source=photo_source, uuid="b")
        Event.objects.all().mark_seen(email)
        Event.objects.all().mark_seen(email)
        assert EventSeen.objects.count() == 2
        assert EventSeen.objects.get(event=event).time_seen == first_seen

    def test_works_on_the_manager_and_on_an_empty_queryset(
        self, photo_source, email, django_assert_num_queries
    ):
        with django_assert_num_queries(1):
            Event.objects.filter(uuid="none").mark_seen(email)
        Event.objects.create_event(source=photo_source, uuid="a")
        Event.objects.mark_seen(email)
        assert seen_uuids(email) == {"a"}

    def test_costs_two_queries_whatever_the_number_of_events(
        self, photo_source, email, django_assert_num_queries
    ):
        Event.objects.create_events([{"source": photo_source} for _ in range(400)])
        with django_assert_num_queries(2):
            Event.objects.order_by("pk")[:4].mark_seen(email)
        with django_assert_num_queries(2):
            Event.objects.all().mark_seen(email)
        assert EventSeen.objects.count() == 400

    @pytest.mark.parametrize(
        ("medium", "error", "message"),
        [
            (None, TypeError, "medium: expected a saved Medium"),
            ("email", TypeError, "medium: expected a saved Medium"),
            (1, TypeError, "medium: expected a saved Medium"),
            # The same kind of error as every query method gives for an unsaved medium.
            (Medium(name="unsaved"), ValueError, "medium: the Medium .* is not saved"),
        ],
    )
    def test_rejects_what_is_not_a_saved_medium(self, photo_source, medium, error, message):
        Event.objects.create_event(source=photo_source)
        with pytest.raises(error, match=message):
            Event.objects.all().mark_seen(medium)
        assert not EventSeen.objects.exists()


class TestCacheRelated:
    def test_events(self, photo_source, alice, bob, django_assert_num_queries):
        for _ in range(10):
            Event.objects.create_event(source=photo_source, actors=[alice, bob])
        # events with source and group, actor links, actor entities
        with django_assert_num_queries(3):
            events = list(Event.objects.cache_related())
            names = {
                (event.source.group.name, actor.entity.display_name)
                for event in events
                for actor in event.eventactor_set.all()
            }
        assert names == {("yoursite", "Alice"), ("yoursite", "Bob")}

    def test_subscriptions(self, photo_source, email, django_assert_num_queries):
        group = make_entity("Group", kind="group")
        for number in range(5):
            Subscription.objects.create(
                medium=email, source=photo_source, entity=make_entity(f"U{number}"), only_following=False
            )
        Subscription.objects.create(
            medium=email, source=photo_source, entity=group, sub_entity_kind=entity_kind("user")
        )
        with django_assert_num_queries(1):
            described = [str(subscription) for subscription in Subscription.objects.cache_related()]
        assert "every User under Group: Photo Tag on Email (only following)" in described
        assert len(described) == 6


def test_mark_seen_builds_each_seen_record_from_the_right_fields(photo_source, email):
    # mark_ids_seen builds EventSeen rows positionally: the order of the model's fields matters.
    from entity_event.models import EventSeen

    assert [field.attname for field in EventSeen._meta.concrete_fields] == [
        "id",
        "event_id",
        "medium_id",
        "time_seen",
    ]
    event = Event.objects.create_event(source=photo_source)
    Event.objects.filter(pk=event.pk).mark_seen(email)
    seen = EventSeen.objects.get()
    assert (seen.event_id, seen.medium_id) == (event.pk, email.pk) and seen.time_seen is not None
