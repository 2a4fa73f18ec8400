"""The public names of the published 3.x that code written for it calls, as that code calls them:
each does what docs/upgrading.rst says, with the query count pinned, and refuses bad arguments as
the methods it stands beside do, writing nothing."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, models
from django.test import override_settings

from entity_event import context_loader
from entity_event.exceptions import ContextNotLoadedError
from entity_event.models import ContextRenderer, Event, EventSeen, Medium, RenderingStyle
from tests.testapp.models import Account, Team
from tests.worlds import BASE, day, routing_world, uuids

pytestmark = pytest.mark.django_db

CLAIM = {"seen": False, "mark_seen": True}
ACCOUNT_HINT = {"account": {"app_name": "testapp", "model_name": "Account", "select_related": ["team"]}}


@pytest.fixture
def world(source_group) -> SimpleNamespace:
    return routing_world(source_group)


def seen_on(medium: Medium) -> set[str]:
    return set(EventSeen.objects.filter(medium=medium).values_list("event__uuid", flat=True))


def savepoints() -> int:
    """The savepoint and its release that a marking call's transaction adds inside a test's."""
    return 2 * connection.features.uses_savepoints


class TestGetFilteredEvents:
    """``Medium.get_filtered_events``: the events ``events()`` starts from, before routing."""

    #: Every event of the world since the mediums' creation that has not expired, newest first,
    #: whoever subscribes: comment-alice's source has no subscription at all.
    UNEXPIRED = [
        "photo-future", "comment-alice", "photo-bob-carol", "product-dave",
        "photo-erin", "photo-org", "photo-team-a", "photo-alice",
    ]  # fmt: skip

    def test_every_event_of_the_medium_s_time_span_before_routing(self, world, django_assert_num_queries):
        with django_assert_num_queries(1):
            assert uuids(world.email.get_filtered_events()) == self.UNEXPIRED
        # events() routes the same events through the subscriptions: nobody subscribes to comments.
        assert set(uuids(world.email.events())) < set(self.UNEXPIRED)
        assert "comment-alice" not in uuids(world.email.events())

    @pytest.mark.parametrize(
        ("filters", "expected"),
        [
            ({"start_time": day(2), "end_time": day(5)},
             ["product-dave", "photo-erin", "photo-org", "photo-team-a"]),
            ({"end_time": day(7), "include_expired": True, "actor": None, "start_time": day(6)},
             ["photo-bob-carol", "product-expired"]),
            ({"seen": True}, ["photo-bob-carol"]),
            ({"seen": False, "end_time": day(7)},
             ["product-dave", "photo-erin", "photo-org", "photo-team-a", "photo-alice"]),
            ({"include_expired": True, "end_time": day(8)},
             ["comment-alice", "photo-bob-carol", "product-expired", "product-dave", "photo-erin",
              "photo-org", "photo-team-a", "photo-alice"]),
            ({"limit": 2}, ["photo-future", "comment-alice"]),
        ],
    )  # fmt: skip
    def test_the_filters_of_events(self, world, filters, expected):
        assert uuids(world.email.get_filtered_events(**filters)) == expected
        assert (
            not EventSeen.objects.filter(medium=world.email).exclude(event__uuid="photo-bob-carol").exists()
        )

    def test_actor_and_seen_are_per_medium(self, world):
        assert uuids(world.newsfeed.get_filtered_events(actor=world.alice, include_expired=True)) == [
            "photo-future", "comment-alice", "product-expired", "photo-alice",
        ]  # fmt: skip
        # photo-bob-carol is seen on email only.
        assert "photo-bob-carol" in uuids(world.newsfeed.get_filtered_events(seen=False))

    def test_mark_seen_marks_exactly_what_it_returns(self, world, django_assert_num_queries):
        with django_assert_num_queries(2 + savepoints()):
            marked = world.newsfeed.get_filtered_events(actor=world.bob, mark_seen=True)
        assert uuids(marked) == ["photo-bob-carol"]
        assert seen_on(world.newsfeed) == {"photo-bob-carol"}
        # Idempotent: marking again changes nothing and returns the same events.
        assert uuids(world.newsfeed.get_filtered_events(actor=world.bob, mark_seen=True)) == [
            "photo-bob-carol"
        ]
        assert EventSeen.objects.filter(medium=world.newsfeed).count() == 1

    def test_a_claim_hands_each_event_out_once(self, world, django_assert_num_queries):
        # The locked query, the re-check of the claimed rows, the INSERT of the seen records.
        with django_assert_num_queries(3 + savepoints()):
            first = world.email.get_filtered_events(limit=3, **CLAIM)
        # The oldest first, as a claim with a limit drains a backlog.
        assert uuids(first) == ["photo-alice", "photo-team-a", "photo-org"]
        rest = world.email.get_filtered_events(**CLAIM)
        assert set(uuids(rest)) == set(self.UNEXPIRED) - {"photo-bob-carol", *uuids(first)}
        assert uuids(world.email.get_filtered_events(**CLAIM)) == []
        assert seen_on(world.email) == set(self.UNEXPIRED)

    @pytest.mark.parametrize(
        ("call", "error", "message"),
        [
            (lambda m: m.get_filtered_events(seen="no"), TypeError,
             r"get_filtered_events\(\): seen must be True, False or None, got 'no'"),
            (lambda m: m.get_filtered_events(start_time="2026-01-01", **CLAIM), TypeError,
             r"get_filtered_events\(\): start_time must be a datetime or None, got str"),
            (lambda m: m.get_filtered_events(actor=1.5, **CLAIM), TypeError,
             r"get_filtered_events\(\): actor: expected an Entity or an integer id, got float"),
            (lambda m: m.get_filtered_events(limit=0, **CLAIM), ValueError,
             r"get_filtered_events\(\): limit must be between 1 and"),
            (lambda m: m.get_filtered_events(BASE), TypeError, "positional argument"),
            (lambda m: m.get_filtered_events(start=BASE), TypeError, "unexpected keyword argument 'start'"),
            (lambda m: Medium(name="unsaved").get_filtered_events(**CLAIM), ValueError,
             r"get_filtered_events\(\): the medium .* is not saved"),
        ],
    )  # fmt: skip
    def test_bad_arguments_mark_nothing(self, world, call, error, message):
        before = EventSeen.objects.count()
        with pytest.raises(error, match=message):
            call(world.email)
        assert EventSeen.objects.count() == before


def test_the_queryset_and_manager_classes_import_from_the_models_module():
    """3.x code imports the classes themselves from ``entity_event.models`` (to subclass them, or
    in type hints): they are the ones the events use."""
    from entity_event.models import EventManager, EventQuerySet

    assert isinstance(Event.objects, EventManager)
    assert isinstance(Event.objects.all(), EventQuerySet)
    assert issubclass(EventManager, models.Manager)


class TestEventManager:
    """``Event.objects.cache_related()``, ``mark_seen(medium)`` and
    ``load_contexts_and_renderers(medium)``: the queryset's methods, on the manager."""

    def test_cache_related_costs_the_same_for_any_number_of_events(
        self, photo_source, alice, bob, django_assert_num_queries
    ):
        for count in (2, 20):
            Event.objects.all().delete()
            Event.objects.create_events([{"source": photo_source, "actors": [alice, bob]}] * count)
            # The events with their source and group, then the actor rows, then their entities.
            with django_assert_num_queries(3):
                described = [
                    (
                        event.source.group.name,
                        sorted(actor.entity.display_name for actor in event.eventactor_set.all()),
                    )
                    for event in Event.objects.cache_related()
                ]
            assert described == [("yoursite", ["Alice", "Bob"])] * count

    def test_mark_seen_marks_every_event_once(self, photo_source, email, newsfeed, django_assert_num_queries):
        Event.objects.create_events([{"source": photo_source, "uuid": name} for name in "abc"])
        EventSeen.objects.create(event=Event.objects.get(uuid="a"), medium=email)
        first_seen = EventSeen.objects.get().time_seen
        with django_assert_num_queries(2):
            assert Event.objects.mark_seen(email) is None
        Event.objects.mark_seen(email)
        assert seen_on(email) == {"a", "b", "c"} and seen_on(newsfeed) == set()
        assert EventSeen.objects.count() == 3
        assert EventSeen.objects.get(event__uuid="a").time_seen == first_seen

    def test_load_contexts_and_renderers_on_the_manager(self, photo_source, style, django_assert_num_queries):
        medium = Medium.objects.create(name="feed", display_name="Feed", rendering_style=style)
        ContextRenderer.objects.create(
            name="r", rendering_style=style, source=photo_source,
            text_template="{{ account.name }} of {{ account.team.name }}", context_hints=ACCOUNT_HINT,
        )  # fmt: skip
        team = Team.objects.create(name="Blue")
        accounts = [Account.objects.create(name=f"a{n}", team=team) for n in range(5)]
        Event.objects.create_events(
            [{"source": photo_source, "context": {"account": a.pk}} for a in accounts]
        )
        # The events, their renderer, the hinted accounts (with their team).
        with django_assert_num_queries(3):
            events = Event.objects.load_contexts_and_renderers(medium)
        assert [event.render(medium)[0] for event in events] == [f"a{n} of Blue" for n in reversed(range(5))]

    @pytest.mark.parametrize(
        ("medium", "error", "message"),
        [
            (None, TypeError, "medium: expected a saved Medium"),
            ("feed", TypeError, "medium: expected a saved Medium"),
            (Medium(name="unsaved"), ValueError, "medium: the Medium .* is not saved"),
        ],
    )
    def test_bad_medium(self, photo_source, medium, error, message):
        Event.objects.create_event(source=photo_source)
        for call in (Event.objects.mark_seen, Event.objects.load_contexts_and_renderers):
            with pytest.raises(error, match=message):
                call(medium)
        assert not EventSeen.objects.exists()


@pytest.fixture
def two_mediums(photo_source, source_group):
    """A feed (style "short") and a mail medium (style "long"), each with a renderer of the photo
    source that reads the hinted account; the events' accounts, all of team Blue."""
    short = RenderingStyle.objects.create(name="short")
    long = RenderingStyle.objects.create(name="long")
    feed = Medium.objects.create(name="feed", display_name="Feed", rendering_style=short)
    mail = Medium.objects.create(
        name="mail", display_name="Mail", rendering_style=long, additional_context={"site": "Yoursite"}
    )
    ContextRenderer.objects.create(
        name="short", rendering_style=short, source=photo_source, context_hints=ACCOUNT_HINT,
        text_template="{{ account.name }}",
    )  # fmt: skip
    ContextRenderer.objects.create(
        name="long", rendering_style=long, source_group=source_group,
        context_hints=ACCOUNT_HINT,
        text_template="{{ account.name }} ({{ account.team.name }}) on {{ site }}",
    )  # fmt: skip
    team = Team.objects.create(name="Blue")
    return SimpleNamespace(feed=feed, mail=mail, short=short, long=long, team=team)


def photo_events(source, count: int) -> list[Event]:
    team = Team.objects.get(name="Blue")
    accounts = [Account.objects.create(name=f"a{n}", team=team) for n in range(count)]
    return [Event.objects.create_event(source=source, context={"account": a.pk}) for a in accounts]


class TestContextLoaderFunctions:
    """``entity_event.context_loader.load_contexts_and_renderers(events, mediums)`` and
    ``get_default_rendering_style()``."""

    @pytest.mark.parametrize("count", [2, 20])
    def test_events_render_on_every_medium_loaded(
        self, photo_source, two_mediums, count, django_assert_num_queries, read_only_statements
    ):
        photo_events(photo_source, count)
        mediums = [two_mediums.feed, two_mediums.mail]
        # The events, then per medium: its renderer and the hinted accounts (with their team).
        with django_assert_num_queries(1 + 2 * 2):
            events = context_loader.load_contexts_and_renderers(Event.objects.all(), mediums)
        assert isinstance(events, list) and len(events) == count
        newest = events[0]
        assert newest.loaded_renderings[two_mediums.mail.pk].renderer.name == "long"
        # Rendering reads nothing more: only the statements of its read-only scope.
        with django_assert_num_queries(read_only_statements):
            assert newest.render(two_mediums.feed) == (f"a{count - 1}", "")
        assert newest.render(two_mediums.mail) == (f"a{count - 1} (Blue) on Yoursite", "")
        assert newest.get_serialized_context(two_mediums.mail) == {
            "account": {
                "id": newest.context["account"],
                "name": f"a{count - 1}",
                "team": {"id": two_mediums.team.pk, "name": "Blue"},
            },
            "site": "Yoursite",
        }

    def test_a_list_of_events_and_the_default_rendering_style(
        self, photo_source, two_mediums, django_assert_num_queries
    ):
        plain = Medium.objects.create(name="plain", display_name="Plain")
        events = photo_events(photo_source, 3)
        # Per medium: the default style, the renderers, the accounts.
        with override_settings(DEFAULT_ENTITY_EVENT_RENDERING_STYLE="long"), django_assert_num_queries(3):
            loaded = context_loader.load_contexts_and_renderers(events, (plain,))
        assert loaded == events and loaded is not events
        assert events[0].render(plain) == ("a0 (Blue) on", "")
        with pytest.raises(ContextNotLoadedError):
            events[0].render(two_mediums.feed)

    def test_nothing_to_load_costs_no_query(self, photo_source, two_mediums, django_assert_num_queries):
        events = photo_events(photo_source, 2)
        with django_assert_num_queries(0):
            assert context_loader.load_contexts_and_renderers(events, []) == events
            assert context_loader.load_contexts_and_renderers([], [two_mediums.feed]) == []

    def test_an_unsaved_medium_before_any_query(self, photo_source, two_mediums, django_assert_num_queries):
        created = photo_events(photo_source, 2)
        with (
            django_assert_num_queries(0),
            pytest.raises(ValueError, match=r"mediums\[1\]: the Medium .* is not saved"),
        ):
            context_loader.load_contexts_and_renderers(created, [two_mediums.feed, Medium(name="new")])

    @pytest.mark.parametrize(
        ("events", "mediums", "message"),
        [
            (lambda e, m: e, lambda e, m: m[0],
             r"mediums: expected a list of saved Mediums, got <Medium: Feed>"),
            (lambda e, m: e, lambda e, m: None, "mediums: expected a list of saved Mediums, got None"),
            (lambda e, m: e, lambda e, m: ["feed"], r"mediums\[0\]: expected a saved Medium, got 'feed'"),
            (lambda e, m: [e[0], e[1].pk], lambda e, m: m, r"events\[1\]: expected an Event, got int"),
        ],
    )  # fmt: skip
    def test_bad_arguments_before_any_query(
        self, photo_source, two_mediums, events, mediums, message, django_assert_num_queries
    ):
        created = photo_events(photo_source, 2)
        medium_list = [two_mediums.feed, two_mediums.mail]
        with django_assert_num_queries(0), pytest.raises(TypeError, match=message):
            context_loader.load_contexts_and_renderers(
                events(created, medium_list), mediums(created, medium_list)
            )
        assert all("loaded_renderings" not in event.__dict__ for event in created)

    def test_get_default_rendering_style(self, two_mediums, django_assert_num_queries):
        with django_assert_num_queries(0):
            assert context_loader.get_default_rendering_style() is None
        with override_settings(DEFAULT_ENTITY_EVENT_RENDERING_STYLE="long"), django_assert_num_queries(1):
            assert context_loader.get_default_rendering_style() == two_mediums.long
        with (
            override_settings(DEFAULT_ENTITY_EVENT_RENDERING_STYLE="gone"),
            pytest.raises(
                ImproperlyConfigured, match="names the rendering style 'gone', which does not exist"
            ),
        ):
            context_loader.get_default_rendering_style()
        with (
            override_settings(DEFAULT_ENTITY_EVENT_RENDERING_STYLE=3),
            pytest.raises(ImproperlyConfigured, match="must be the name of a RenderingStyle"),
        ):
            context_loader.get_default_rendering_style()


class TestContextRendererGetSerializedContext:
    def test_a_loaded_context_without_a_query(self, photo_source, two_mediums, django_assert_num_queries):
        [event] = photo_events(photo_source, 1)
        context_loader.load_contexts_and_renderers([event], [two_mediums.mail])
        loaded = event.loaded_renderings[two_mediums.mail.pk]
        with django_assert_num_queries(0):
            data = loaded.renderer.get_serialized_context(loaded.context)
        assert data == {
            "account": {
                "id": event.context["account"],
                "name": "a0",
                "team": {"id": two_mediums.team.pk, "name": "Blue"},
            }
        }
        # Event.get_serialized_context(medium) is the same with the medium's additional_context.
        assert event.get_serialized_context(two_mediums.mail) == {**data, "site": "Yoursite"}

    def test_any_dict(self, two_mediums):
        renderer = ContextRenderer.objects.get(name="short")
        assert renderer.get_serialized_context({"a": (1, '{"b": 2}'), "c": "text"}) == {
            "a": [1, {"b": 2}],
            "c": "text",
        }

    @pytest.mark.parametrize("value", [None, [1], '{"a": 1}', 3])
    def test_a_context_that_is_not_a_dict(self, two_mediums, value):
        renderer = ContextRenderer.objects.get(name="short")
        with pytest.raises(TypeError, match=r"get_serialized_context\(\): context must be a dict, got "):
            renderer.get_serialized_context(value)
