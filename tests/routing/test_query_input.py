"""Bad and surprising input to the query methods (``events``, ``entity_events``,
``events_targets``) and to rendering: each case has one documented outcome (a ``TypeError`` or
``ValueError`` naming the argument, an empty result, ``None`` in a loaded context, an event left
out with a warning), and an error never leaves anything written.

Cases already covered elsewhere are not repeated here (docs/guarantees.rst lists them all):
wrong filter types in tests/routing/test_semantics.py::TestArguments, hinted rows that do not
exist in tests/rendering/test_context_loader.py, templates that raise in tests/rendering/test_rendering.py.
"""

from __future__ import annotations

import logging
from datetime import datetime

import pytest
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
from tests.entities import entity_kind
from tests.testapp.models import Account, FollowSubEntitiesMedium, Team
from tests.worlds import BASE, day, named, uuids

pytestmark = [pytest.mark.reliability, pytest.mark.django_db]

CLAIM = {"seen": False, "mark_seen": True}


def counts() -> tuple[int, int, int]:
    return Event.objects.count(), EventActor.objects.count(), EventSeen.objects.count()


def calls(world, **filters):
    """The three query methods with the same filters, evaluated."""
    return {
        "events": lambda: list(world.email.events(**filters)),
        "entity_events": lambda: list(world.email.entity_events(world.alice, **filters)),
        "events_targets": lambda: world.email.events_targets(**filters),
    }


class TestFilterArguments:
    """More wrong filter values than TestArguments, each also inside a claim (``seen=False,
    mark_seen=True``): the error comes before the transaction, so nothing is marked."""

    @pytest.mark.parametrize(
        ("filters", "error", "message"),
        [
            ({"start_time": day(1).date()}, TypeError, "start_time must be a datetime or None, got date"),
            ({"end_time": "2026-01-02T00:00:00Z"}, TypeError, "end_time must be a datetime or None, got str"),
            ({"include_expired": "yes"}, TypeError, "include_expired must be True or False, got 'yes'"),
            ({"actor": 1.0}, TypeError, "actor: expected an Entity or an integer id, got float"),
            ({"actor": [1]}, TypeError, "actor: expected an Entity or an integer id, got list"),
            ({"actor": Entity.objects.none()}, TypeError, "actor: expected an Entity or an integer id"),
            ({"actor": Entity(display_name="x")}, ValueError, "actor: the Entity .* is not saved"),
            # Ids beyond 64 bits: SQLite raised OverflowError, PostgreSQL returned nothing.
            ({"actor": 2**63}, ValueError, "actor: the id 9223372036854775808 is out of range"),
            ({"actor": -(2**63) - 1}, ValueError, "actor: the id .* is out of range"),
            ({"start": day(1)}, TypeError, "unexpected keyword argument 'start'"),
        ],
    )
    def test_wrong_values_name_the_argument_and_mark_nothing(self, world, filters, error, message):
        before = counts()
        for call in [*calls(world, **filters).values(), *calls(world, **filters, **CLAIM).values()]:
            with pytest.raises(error, match=message):
                call()
        assert counts() == before

    @pytest.mark.parametrize(("seen", "mark_seen"), [(0, True), (False, "yes"), (None, 1)])
    def test_a_claim_with_non_bool_flags_marks_nothing(self, world, seen, mark_seen):
        before = counts()
        for call in calls(world, seen=seen, mark_seen=mark_seen).values():
            with pytest.raises(TypeError, match="seen must be True"):
                call()
        assert counts() == before

    def test_an_id_that_does_not_exist_is_no_error(self, world):
        missing = Entity.all_objects.order_by("-pk").values_list("pk", flat=True)[0] + 1000
        assert list(world.email.events(actor=missing)) == []
        assert world.email.events_targets(actor=missing) == []
        assert list(world.email.entity_events(missing)) == []
        assert list(world.email.entity_events(2**63 - 1)) == []

    def test_a_naive_datetime_warns_and_is_taken_in_the_default_time_zone(self, world):
        # Django's rule for DateTimeField lookups (settings: USE_TZ = True, TIME_ZONE = "UTC").
        with pytest.warns(RuntimeWarning, match="naive datetime"):
            naive = uuids(world.email.events(start_time=datetime(2026, 1, 3), end_time=datetime(2026, 1, 5)))
        assert naive == uuids(world.email.events(start_time=day(2), end_time=day(4))) == [
            "photo-org", "photo-team-a",
        ]  # fmt: skip


class TestEntityArguments:
    @pytest.mark.parametrize(
        ("entity", "error", "message"),
        [
            (Entity(display_name="unsaved"), ValueError, "entity: the Entity .* is not saved"),
            (2**64, ValueError, "entity: the id 18446744073709551616 is out of range"),
            ([1], TypeError, "entity: expected an Entity or an integer id, got list"),
        ],
    )
    def test_entity_events_rejects(self, world, entity, error, message):
        before = counts()
        for filters in ({}, CLAIM):
            with pytest.raises(error, match=message):
                world.email.entity_events(entity, **filters)
        assert counts() == before

    def test_entity_events_rejects_a_row_of_another_model(self, world):
        with pytest.raises(TypeError, match="entity: expected an Entity or an integer id, got Source"):
            world.email.entity_events(world.photo)

    @pytest.mark.parametrize(
        ("kind", "error", "message"),
        [
            # An unsaved kind has pk None, which used to mean "no kind filter": every target.
            (EntityKind(name="unsaved"), ValueError, "entity_kind: the EntityKind .* is not saved"),
            (2**63, ValueError, "entity_kind: the id 9223372036854775808 is out of range"),
            (
                EntityKind.objects.none(),
                TypeError,
                "entity_kind: expected an EntityKind or an integer id, got ActivatableQuerySet",
            ),
        ],
    )
    def test_events_targets_rejects_entity_kind(self, world, kind, error, message):
        before = counts()
        for filters in ({}, CLAIM):
            with pytest.raises(error, match=message):
                world.email.events_targets(entity_kind=kind, **filters)
        assert counts() == before

    def test_an_entity_kind_without_entities_gives_no_targets(self, world):
        assert world.email.events_targets(entity_kind=entity_kind("nobody")) == []


class TestMediums:
    def test_an_unsaved_medium_is_a_clear_error(self, world):
        medium = Medium(name="unsaved")
        before = counts()
        for method, call in (
            ("events", lambda **f: medium.events(**f)),
            ("entity_events", lambda **f: medium.entity_events(world.alice, **f)),
            ("events_targets", lambda **f: medium.events_targets(**f)),
        ):
            for filters in ({}, CLAIM):
                with pytest.raises(ValueError, match=rf"{method}\(\): the medium .* is not saved"):
                    call(**filters)
        # The same kind of error from every method: an unsaved medium is a value error.
        with pytest.raises(ValueError, match="medium: the Medium .* is not saved"):
            Event.objects.all().mark_seen(medium)
        assert counts() == before

    @pytest.fixture
    def custom(self, world) -> FollowSubEntitiesMedium:
        """A subclass row (its own rule) and, with the same pk, the plain ``Medium`` row."""
        style = RenderingStyle.objects.create(name="short", display_name="Short")
        medium = FollowSubEntitiesMedium.objects.create(
            name="follow-subs", display_name="Follow subs", rendering_style=style
        )
        Medium.objects.filter(pk=medium.pk).update(time_created=BASE)
        medium.refresh_from_db()
        Subscription.objects.create(
            medium=medium, source=world.photo, entity=world.org, sub_entity_kind=entity_kind("user")
        )
        Subscription.objects.create(medium=medium, source=world.photo, entity=world.team_a)
        ContextRenderer.objects.create(
            name="photo", rendering_style=style, source=world.photo, text_template="photo {{ n }}"
        )
        return medium

    def test_the_subclass_and_the_plain_row_share_their_seen_records(self, world, custom):
        plain = Medium.objects.get(pk=custom.pk)
        assert type(plain) is Medium
        # Each instance routes by its own rule (tests/routing/test_semantics.py::TestFollowSubEntitiesMedium).
        claimed = uuids(custom.events(**CLAIM))
        assert claimed == ["photo-future", "photo-bob-carol", "photo-team-a", "photo-alice"]
        # What the subclass instance marked is seen for the plain one: only its extra event is left.
        assert uuids(plain.events(seen=True)) == claimed
        assert uuids(plain.events(**CLAIM)) == ["photo-org"]
        assert custom.events(seen=False).count() == 0
        assert set(EventSeen.objects.filter(medium_id=custom.pk).values_list("event__uuid", flat=True)) == {
            *claimed,
            "photo-org",
        }
        # The email medium's seen records are untouched.
        assert uuids(world.email.events(seen=True)) == ["photo-bob-carol"]

    def test_mark_seen_accepts_either_instance(self, world, custom):
        plain = Medium.objects.get(pk=custom.pk)
        Event.objects.filter(uuid="photo-alice").mark_seen(custom)
        Event.objects.filter(uuid="photo-team-a").mark_seen(plain)
        assert (
            uuids(custom.events(seen=True))
            == uuids(plain.events(seen=True))
            == ["photo-team-a", "photo-alice"]
        )

    def test_rendering_accepts_either_instance(self, world, custom):
        plain = Medium.objects.get(pk=custom.pk)
        photo = Event.objects.create_event(source=world.photo, context={"n": 7})
        assert custom.render([photo]) == plain.render([photo]) == {photo: ("photo 7", "")}
        loaded = Event.objects.filter(pk=photo.pk).load_contexts_and_renderers(plain)[0]
        assert loaded.render(custom) == ("photo 7", "")
        assert loaded.get_serialized_context(custom) == {"n": 7}


class TestDeletedRows:
    def test_an_entity_deleted_for_good_disappears_from_targets(self, world):
        alice = world.alice.pk
        world.alice.delete(force=True)
        # Her subscriptions, relationships and actor rows cascade: photo-alice and photo-future
        # have no actor left, so no only-following subscription delivers them.
        assert not EventActor.objects.filter(entity_id=alice).exists()
        without_alice = [
            ("photo-bob-carol", ["Bob", "Carol"]),
            ("product-dave", ["Carol"]),
            ("photo-org", ["Team B", "Bob", "Carol", "Dave"]),
            ("photo-team-a", ["Bob"]),
        ]
        assert named(world.email.events_targets()) == without_alice
        assert list(world.email.entity_events(alice)) == []
        assert list(world.email.events(actor=alice)) == []

    def test_a_deactivated_entity_is_never_a_target(self, world):
        world.alice.delete()  # django-entity only deactivates
        assert Entity.all_objects.get(pk=world.alice.pk).is_active is False
        # Her actor rows stay (history), but she receives nothing, as actor's follower or subscriber.
        assert EventActor.objects.filter(entity_id=world.alice.pk).count() == 5
        targets = world.email.events_targets(include_expired=True)
        assert all(world.alice not in entities for _, entities in targets)
        assert named(targets) == [
            ("photo-bob-carol", ["Bob", "Carol"]),
            ("product-expired", ["Carol"]),
            ("product-dave", ["Carol"]),
            ("photo-org", ["Team B", "Bob", "Carol", "Dave"]),
            ("photo-team-a", ["Bob"]),
        ]
        assert list(world.email.entity_events(world.alice, include_expired=True)) == []

    def test_a_deleted_actor_takes_its_actor_rows_along(self, world):
        dave = world.dave.pk
        assert EventActor.objects.filter(entity_id=dave).count() == 1
        world.dave.delete(force=True)
        assert not EventActor.objects.filter(entity_id=dave).exists()
        # product-dave is still delivered by the subscriptions that are not only-following.
        assert dict(named(world.email.events_targets()))["product-dave"] == ["Alice", "Carol"]
        assert world.email.events_targets(actor=dave) == []
        assert Event.objects.filter(uuid="product-dave").exists()

    def test_a_hinted_row_deleted_loads_as_none_and_renders(self, world, caplog):
        style = RenderingStyle.objects.create(name="short", display_name="Short")
        Medium.objects.filter(pk=world.email.pk).update(rendering_style=style)
        world.email.refresh_from_db()
        ContextRenderer.objects.create(
            name="photo",
            rendering_style=style,
            source=world.photo,
            context_hints={"account": {"app_name": "testapp", "model_name": "Account"}},
            text_template="by {{ account.name|default:'someone' }} ({{ account }})",
        )
        account = Account.objects.create(name="ann", team=Team.objects.create(name="Blue"))
        photo = Event.objects.create_event(source=world.photo, context={"account": account.pk})
        assert world.email.render([photo]) == {photo: ("by ann (ann)", "")}
        account_pk = account.pk
        account.delete()
        loaded = Event.objects.filter(pk=photo.pk).load_contexts_and_renderers(world.email)[0]
        assert loaded.loaded_renderings[world.email.pk].context == {"account": None}
        with caplog.at_level(logging.WARNING, logger="entity_event.rendering.renderers"):
            assert world.email.render([photo]) == {photo: ("by someone (None)", "")}
        assert caplog.text == ""
        # The stored context keeps the key of the deleted row.
        assert Event.objects.get(pk=photo.pk).context == {"account": account_pk}
