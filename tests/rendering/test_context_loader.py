"""Context hints: keys at any depth, pk types, lists, missing rows, merged hints, no mutation."""

from __future__ import annotations

import uuid

import pytest

from entity_event.models import ContextRenderer, Event, Medium, RenderingStyle, Source
from entity_event.models.hints import context_hints_problems
from entity_event.rendering.hinted_rows import HintedRowLoader
from tests.testapp.models import Account, Photo, Team

pytestmark = pytest.mark.django_db

ACCOUNT = {"app_name": "testapp", "model_name": "Account"}
PHOTO = {"app_name": "testapp", "model_name": "Photo"}
TEAM = {"app_name": "testapp", "model_name": "Team"}


@pytest.fixture
def rows(db):
    team = Team.objects.create(name="Blue")
    accounts = [Account.objects.create(name=name, team=team) for name in ("ann", "bob")]
    photo = Photo.objects.create(uuid=uuid.uuid4(), title="sunset", owner=accounts[0])
    photo.tagged.set(accounts)
    return team, accounts, photo


def load(context, hints):
    loader = HintedRowLoader()
    loader.add(context, hints)
    loader.load()
    return loader.loaded_context(context, hints)


class TestHintedKeys:
    def test_keys_at_any_depth_in_dicts_and_lists(self, rows):
        team, (ann, bob), photo = rows
        context = {
            "account": ann.pk,
            "nested": {"deeper": [{"account": bob.pk}, {"other": 1}], "photo": str(photo.uuid)},
            "items": [[{"team": team.pk}]],
        }
        loaded = load(context, {"account": ACCOUNT, "photo": PHOTO, "team": TEAM})
        assert loaded == {
            "account": ann,
            "nested": {"deeper": [{"account": bob}, {"other": 1}], "photo": photo},
            "items": [[{"team": team}]],
        }

    def test_lists_of_pks_and_missing_rows(self, rows):
        _, (ann, bob), _ = rows
        loaded = load(
            {"accounts": [bob.pk, 999999, ann.pk], "account": 999998},
            {
                "accounts": ACCOUNT,
                "account": ACCOUNT,
            },
        )
        assert loaded == {"accounts": [bob, None, ann], "account": None}

    def test_pk_types(self, rows):
        team, (ann, _), photo = rows
        loaded = load(
            {"a": str(ann.pk), "b": float(ann.pk), "photo": photo.uuid.hex, "photos": [str(photo.uuid)]},
            {"a": ACCOUNT, "b": ACCOUNT, "photo": PHOTO, "photos": PHOTO},
        )
        assert loaded == {"a": ann, "b": ann, "photo": photo, "photos": [photo]}

    def test_string_primary_keys(self, db):
        from django.contrib.sessions.backends.db import SessionStore
        from django.contrib.sessions.models import Session

        store = SessionStore()
        store.create()
        session = Session.objects.get(pk=store.session_key)
        # model_name is case-insensitive, and both hints name the same model
        loaded = load(
            {"session": store.session_key, "missing": "nope"},
            {
                "session": {"app_name": "sessions", "model_name": "Session"},
                "missing": {"app_name": "sessions", "model_name": "session"},
            },
        )
        assert loaded == {"session": session, "missing": None}

    def test_values_that_cannot_be_pks_load_as_none(self, rows):
        _, (ann, _), _ = rows
        loaded = load(
            {"a": "not-a-number", "b": None, "c": {"x": 1}, "d": True, "e": [ann.pk, [1]], "p": "zzz"},
            {"a": ACCOUNT, "b": ACCOUNT, "c": ACCOUNT, "d": ACCOUNT, "e": ACCOUNT, "p": PHOTO},
        )
        assert loaded == {"a": None, "b": None, "c": None, "d": None, "e": [ann, None], "p": None}

    @pytest.mark.parametrize(
        "value",
        [10**20, -(10**19), "99999999999999999999", 2**63, 1.9, -0.5, float("inf"), float("nan"), "1.0"],
    )
    def test_out_of_range_and_fractional_numbers_load_as_none(self, rows, value, django_assert_num_queries):
        """On SQLite such values made the whole batch fail with OverflowError; now they are not
        keys, as on PostgreSQL, and the other keys of the batch still load (one query)."""
        _, (ann, _), _ = rows
        with django_assert_num_queries(1):
            loaded = load({"a": value, "b": [ann.pk, value]}, {"a": ACCOUNT, "b": ACCOUNT})
        assert loaded == {"a": None, "b": [ann, None]}

    def test_integral_floats_and_decimals_load_the_row(self, rows):
        from decimal import Decimal

        _, (ann, bob), _ = rows
        loaded = load(
            {"a": float(ann.pk), "b": Decimal(bob.pk), "c": Decimal("1.5")}, dict.fromkeys("abc", ACCOUNT)
        )
        assert loaded == {"a": ann, "b": bob, "c": None}

    def test_values_the_key_field_validators_reject_load_as_none(self, db, django_assert_num_queries):
        from django.contrib.sessions.models import Session

        session = Session.objects.create(
            session_key="k" * 40, session_data="", expire_date="2100-01-01T00:00Z"
        )
        hint = {"app_name": "sessions", "model_name": "Session"}
        with django_assert_num_queries(1):
            loaded = load({"s": ["k" * 40, "k" * 41]}, {"s": hint})
        assert loaded == {"s": [session, None]}

    def test_multi_table_inheritance_child_uses_the_parent_key_range(self, db, django_assert_num_queries):
        from tests.testapp.models import FollowSubEntitiesMedium

        medium = FollowSubEntitiesMedium.objects.create(name="m", display_name="M")
        hint = {"app_name": "testapp", "model_name": "FollowSubEntitiesMedium"}
        with django_assert_num_queries(1):
            loaded = load({"m": [medium.pk, 10**20, 1.5]}, {"m": hint})
        assert loaded == {"m": [medium, None, None]}

    def test_context_is_copied_not_mutated(self, rows):
        _, (ann, _), _ = rows
        context = {"account": ann.pk, "list": [{"account": ann.pk}]}
        loaded = load(context, {"account": ACCOUNT})
        assert context == {"account": ann.pk, "list": [{"account": ann.pk}]}
        assert loaded["list"][0] is not context["list"][0]


class TestOneQueryPerModel:
    def test_several_events_and_renderers_merge_their_hints(
        self, rows, photo_source, django_assert_num_queries, read_only_statements
    ):
        team, (ann, bob), photo = rows
        style = RenderingStyle.objects.create(name="short")
        medium = Medium.objects.create(name="m", display_name="M", rendering_style=style)
        other = Source.objects.create(name="other", display_name="Other", group=photo_source.group)
        ContextRenderer.objects.create(
            name="r1",
            rendering_style=style,
            source=photo_source,
            text_template="{{ account.team.name }}",
            context_hints={"account": {**ACCOUNT, "select_related": ["team"]}},
        )
        ContextRenderer.objects.create(
            name="r2",
            rendering_style=style,
            source=other,
            text_template="{% for p in owner.photos.all %}{{ p.title }}{% endfor %}",
            context_hints={"owner": {**ACCOUNT, "prefetch_related": ["photos"]}},
        )
        events = [
            Event.objects.create_event(source=photo_source, context={"account": ann.pk}),
            Event.objects.create_event(source=other, context={"owner": ann.pk}),
            Event.objects.create_event(source=other, context={"owner": bob.pk}),
        ]
        # renderers, accounts (with team, one query for both renderers' hints), photos prefetch
        with django_assert_num_queries(3 + read_only_statements):
            rendered = medium.render(events)
        assert [rendered[e][0] for e in events] == ["Blue", "sunset", ""]

    def test_hints_for_a_model_without_pks_cost_no_query(self, db, django_assert_num_queries):
        with django_assert_num_queries(0):
            assert load({"other": 1}, {"account": ACCOUNT}) == {"other": 1}


class TestHintValidation:
    def test_valid(self):
        assert context_hints_problems({}) == []
        assert (
            context_hints_problems(
                {"a": {**ACCOUNT, "select_related": ["team"], "prefetch_related": ["photos", "tagged_in"]}}
            )
            == []
        )

    @pytest.mark.parametrize(
        ("hint", "lookup"),
        [
            (ACCOUNT, "team"),  # forward foreign key
            (ACCOUNT, "photos"),  # reverse foreign key, by its related_name
            (ACCOUNT, "tagged_in__owner__team__accounts"),  # reverse many-to-many, then on and on
            (PHOTO, "tagged"),  # forward many-to-many
            ({"app_name": "auth", "model_name": "User"}, "logentry_set"),  # default accessor name
            ({"app_name": "auth", "model_name": "User"}, "groups"),
        ],
    )
    def test_accepted_prefetch_lookups_do_prefetch(self, rows, hint, lookup, django_assert_num_queries):
        """What validation accepts is what prefetch_related accepts: the lookup loads, with one
        query for the rows and one per level of the lookup."""
        from django.contrib.auth.models import User

        assert context_hints_problems({"a": {**hint, "prefetch_related": [lookup]}}) == []
        team, accounts, photo = rows
        pk = {"Account": accounts[0].pk, "Photo": str(photo.pk)}.get(hint["model_name"])
        if pk is None:
            pk = User.objects.create(username="u").pk
        with django_assert_num_queries(1 + len(lookup.split("__"))):
            assert load({"a": pk}, {"a": {**hint, "prefetch_related": [lookup]}})["a"].pk is not None

    def test_what_follows_a_generic_foreign_key_is_not_checked(self, db, django_assert_num_queries):
        """``Entity.entity`` is a GenericForeignKey: it may lead to any model, so the parts after
        it cannot be checked without rows; the generic relation itself is accepted."""
        from django.contrib.auth.models import User
        from django.contrib.contenttypes.models import ContentType

        from tests.entities import make_entity

        hint = {"app_name": "entity", "model_name": "Entity"}
        assert (
            context_hints_problems({"e": {**hint, "prefetch_related": ["entity__groups", "entity__x"]}}) == []
        )
        assert context_hints_problems({"e": {**hint, "prefetch_related": ["entyty"]}}) == [
            "context hint 'e': prefetch_related: 'entyty': entity.Entity has no relation 'entyty'"
        ]
        user = User.objects.create(username="u")
        entity = make_entity("U")
        entity.entity_type, entity.entity_id = ContentType.objects.get_for_model(User), user.pk
        entity.save()
        with django_assert_num_queries(3):  # the entities, the users they mirror, the users' groups
            loaded = load({"e": entity.pk}, {"e": {**hint, "prefetch_related": ["entity__groups"]}})
        assert loaded["e"] == entity and loaded["e"].entity == user

    def test_a_lookup_rejected_while_loading_is_improperly_configured(self, rows):
        """Hints that slipped past validation (here, a loader used without validating) fail the
        whole batch with an error naming the model and the hints' owner."""
        from django.core.exceptions import ImproperlyConfigured

        hints = {"a": {**ACCOUNT, "prefetch_related": ["fotos"]}}
        for owner, named in (
            ("the context renderer 'r'", " for the context hints of the context renderer 'r'"),
            ("", ""),
        ):
            loader = HintedRowLoader()
            loader.add({"a": rows[1][0].pk}, hints, owner=owner)
            with pytest.raises(ImproperlyConfigured) as error:
                loader.load()
            assert str(error.value).startswith(f"loading testapp.Account{named} failed:")
            assert "AttributeError: Cannot find 'fotos' on Account object" in str(error.value)

    @pytest.mark.parametrize(
        ("hints", "message"),
        [
            ([], "context hints must be a dict of context key to hint, got list"),
            ({"": ACCOUNT}, "context hint key '' must be a non-empty string"),
            ({1: ACCOUNT}, "context hint key 1 must be a non-empty string"),
            ({"a": "Account"}, "context hint 'a' must be a dict, got str"),
            ({"a": {**ACCOUNT, "selected": []}}, "context hint 'a' has unknown key(s) selected"),
            ({"a": {"model_name": "Account"}}, "context hint 'a' needs app_name as a non-empty string"),
            ({"a": {"app_name": "testapp", "model_name": 3}}, "context hint 'a' needs model_name as a"),
            ({"a": {**ACCOUNT, "select_related": "team"}}, "context hint 'a': select_related must be a list"),
            (
                {"a": {**ACCOUNT, "prefetch_related": [1]}},
                "context hint 'a': prefetch_related must be a list",
            ),
            (
                {"a": {**ACCOUNT, "select_related": ["team", "nothing"]}},
                "context hint 'a': select_related: Invalid field name(s) given in select_related: 'nothing'",
            ),
            (
                {"a": {**ACCOUNT, "select_related": ["name"]}},
                "context hint 'a': select_related: Non-relational field given in select_related: 'name'",
            ),
            (
                {"a": {**ACCOUNT, "prefetch_related": ["photos", "fotos"]}},
                "context hint 'a': prefetch_related: 'fotos': testapp.Account has no relation 'fotos'",
            ),
            (
                {"a": {**ACCOUNT, "prefetch_related": ["photos__tagged__teem"]}},
                "prefetch_related: 'photos__tagged__teem': testapp.Account has no relation 'teem'",
            ),
            (
                {"a": {**ACCOUNT, "prefetch_related": ["name"]}},
                "prefetch_related: 'name': testapp.Account has no relation 'name'",
            ),
            (
                {"a": {**ACCOUNT, "prefetch_related": ["team__name"]}},
                "prefetch_related: 'team__name': testapp.Team has no relation 'name'",
            ),
            ({"a": {"app_name": "testapp", "model_name": "Nope"}}, "names the model testapp.Nope, which is"),
            ({"a": {"app_name": "nope", "model_name": "Account"}}, "names the model nope.Account, which is"),
        ],
    )
    def test_problems(self, hints, message):
        problems = context_hints_problems(hints)
        assert len(problems) == 1
        assert message in problems[0]
