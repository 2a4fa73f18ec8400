"""DefaultContextSerializer and Event.get_serialized_context: JSON-safe loaded contexts."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from django.core.serializers.json import DjangoJSONEncoder

from entity_event.context_serializer import DefaultContextSerializer
from entity_event.models import ContextRenderer, Event, Medium, RenderingStyle
from tests.testapp.models import Account, Document, Photo, Team

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows(db):
    team = Team.objects.create(name="Blue")
    ann = Account.objects.create(name="ann", team=team)
    bob = Account.objects.create(name="bob", team=None)
    photo = Photo.objects.create(uuid=uuid.uuid4(), title="sunset", owner=ann)
    photo.tagged.set([ann, bob])
    return team, ann, bob, photo


def roundtrip(data):
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


class TestDefaultContextSerializer:
    def test_plain_values(self):
        when = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
        data = DefaultContextSerializer(
            {"n": 1, "s": "text", "when": when, "list": (1, "[2, 3]"), "none": None, "json": '{"a": [1]}'}
        ).data
        assert data == {
            "n": 1,
            "s": "text",
            "when": when,
            "list": [1, [2, 3]],
            "none": None,
            "json": {"a": [1]},
        }

    def test_strings_that_only_look_like_json_stay_strings(self):
        assert DefaultContextSerializer(["[not json", "{", "123", " [1]"]).data == [
            "[not json",
            "{",
            "123",
            [1],
        ]

    def test_strings_that_are_not_strict_json_stay_strings(self):
        # json.loads alone would give nan / inf (which json.dumps writes as invalid JSON) and
        # raise RecursionError on deep nesting.
        values = ["[NaN, 1]", '{"a": Infinity}', "[-Infinity]", "[1e999]", "[-1e999]", "[" * 100000]
        assert DefaultContextSerializer(values).data == values
        assert DefaultContextSerializer(["[1.5, 1e300]"]).data == [[1.5, 1e300]]
        # 900 levels decode, but serialising them item by item goes deeper than Python's
        # recursion limit (1000): kept as it is too.
        nested = "[" * 900 + "]" * 900
        assert DefaultContextSerializer({"deep": nested}).data == {"deep": nested}

    def test_file_and_binary_fields_become_strings(self, db):
        Document.objects.create(name="contract", file="documents/a.txt", data=b"\x00\x01\xff")
        Document.objects.create(name="empty")
        data = DefaultContextSerializer(list(Document.objects.order_by("pk"))).data
        assert roundtrip(data) == data
        assert [(row["name"], row["file"], row["data"]) for row in data] == [
            ("contract", "documents/a.txt", "AAH/"),
            ("empty", "", None),
        ]

    def test_deferred_fields_are_left_out_without_a_query(self, rows, django_assert_num_queries):
        accounts = list(Account.objects.defer("name").order_by("pk"))
        with django_assert_num_queries(0):
            data = DefaultContextSerializer(accounts).data
        assert data == [{"id": account.pk, "team": account.team_id} for account in accounts]

    def test_model_without_loaded_relations_costs_no_query(self, rows, django_assert_num_queries):
        team, ann, _, photo = rows
        ann = Account.objects.get(pk=ann.pk)
        photo = Photo.objects.get(pk=photo.pk)
        with django_assert_num_queries(0):
            data = DefaultContextSerializer({"account": ann, "photo": photo}).data
        assert data == {
            "account": {"id": ann.pk, "name": "ann", "team": team.pk},
            "photo": {"uuid": photo.uuid, "title": "sunset", "owner": ann.pk},
        }
        assert roundtrip(data)["photo"]["uuid"] == str(photo.uuid)

    def test_select_related_and_prefetched_relations_are_included(self, rows, django_assert_num_queries):
        team, ann, bob, photo = rows
        photo = Photo.objects.select_related("owner__team").prefetch_related("tagged").get(pk=photo.pk)
        with django_assert_num_queries(0):
            data = DefaultContextSerializer({"photo": photo}).data
        assert data == {
            "photo": {
                "uuid": photo.uuid,
                "title": "sunset",
                "owner": {"id": ann.pk, "name": "ann", "team": {"id": team.pk, "name": "Blue"}},
                "tagged": [
                    {"id": ann.pk, "name": "ann", "team": team.pk},
                    {"id": bob.pk, "name": "bob", "team": None},
                ],
            }
        }

    def test_null_related_row_and_cycles(self, rows):
        team, ann, bob, _ = rows
        bob = Account.objects.select_related("team").get(pk=bob.pk)
        assert DefaultContextSerializer(bob).data == {"id": bob.pk, "name": "bob", "team": None}
        # Prefetching a reverse foreign key caches the parent on each child: the child refers
        # back to the team being serialised by its primary key.
        team = Team.objects.prefetch_related("accounts").get(pk=team.pk)
        assert DefaultContextSerializer(team).data == {
            "id": team.pk,
            "name": "Blue",
            "accounts": [{"id": ann.pk, "name": "ann", "team": team.pk}],
        }


class TestOverridableHooks:
    """A subclass that overrides one of ``serialize_dict``, ``serialize_list`` and
    ``serialize_json_string`` (the 3.x names) changes the output wherever that case occurs."""

    CONTEXT = {
        "secret": "s1",
        "nested": {"secret": "s2", "items": [{"secret": "s3", "n": 1}, (1, 2, 3, 4)]},
        "json": '{"secret": "s4", "list": [5, 6, 7]}',
        "text": "plain",
    }

    def test_serialize_dict_applies_to_every_dict_at_any_depth(self):
        class Redacting(DefaultContextSerializer):
            def serialize_dict(self, value):
                return {key: item for key, item in super().serialize_dict(value).items() if key != "secret"}

        assert Redacting(self.CONTEXT).data == {
            "nested": {"items": [{"n": 1}, [1, 2, 3, 4]]},
            "json": {"list": [5, 6, 7]},
            "text": "plain",
        }

    def test_serialize_list_applies_to_every_list_and_tuple(self):
        class FirstTwo(DefaultContextSerializer):
            def serialize_list(self, value):
                return super().serialize_list(value)[:2]

        data = FirstTwo(self.CONTEXT).data
        assert data["nested"]["items"] == [{"secret": "s3", "n": 1}, [1, 2]]
        assert data["json"] == {"secret": "s4", "list": [5, 6]}

    def test_serialize_json_string_receives_every_string(self):
        class StringsStayStrings(DefaultContextSerializer):
            def serialize_json_string(self, value):
                return value.upper()

        data = StringsStayStrings(self.CONTEXT).data
        assert data["json"] == '{"SECRET": "S4", "LIST": [5, 6, 7]}'
        assert (data["secret"], data["text"], data["nested"]["secret"]) == ("S1", "PLAIN", "S2")

    def test_the_default_hooks_are_what_serialize_value_does(self):
        serializer = DefaultContextSerializer(None)
        assert serializer.serialize_dict({"a": (1, "[2]")}) == {"a": [1, [2]]}
        assert serializer.serialize_list(("x", {"b": '{"c": 1}'})) == ["x", {"b": {"c": 1}}]
        assert serializer.serialize_json_string("[1, 2]") == [1, 2]
        assert serializer.serialize_json_string("[1, 2") == "[1, 2"

    def test_model_rows_are_serialize_model_s_case(self, rows):
        # A row's dict is built by serialize_model, from its fields' values: serialize_dict is
        # for the dicts of the context, so a text field holding JSON stays text.
        calls = []

        class Recording(DefaultContextSerializer):
            def serialize_dict(self, value):
                calls.append(sorted(value))
                return super().serialize_dict(value)

        team = Team.objects.create(name='{"not": "decoded"}')
        data = Recording({"team": team}).data
        assert data == {"team": {"id": team.pk, "name": '{"not": "decoded"}'}}
        assert calls == [["team"]]


class TestGetSerializedContext:
    def test_loaded_context_with_additional_context(self, rows, photo_source):
        team, ann, bob, photo = rows
        style = RenderingStyle.objects.create(name="short")
        medium = Medium.objects.create(
            name="m", display_name="M", rendering_style=style, additional_context={"header": "Hi"}
        )
        ContextRenderer.objects.create(
            name="r",
            rendering_style=style,
            source=photo_source,
            text_template="x",
            context_hints={
                "account": {"app_name": "testapp", "model_name": "Account", "select_related": ["team"]},
                "photos": {"app_name": "testapp", "model_name": "Photo", "prefetch_related": ["tagged"]},
            },
        )
        event = Event.objects.create_event(
            source=photo_source,
            context={"account": ann.pk, "photos": [str(photo.uuid), str(uuid.uuid4())], "extra": '{"k": 1}'},
        )
        [event] = Event.objects.filter(pk=event.pk).load_contexts_and_renderers(medium)
        data = event.get_serialized_context(medium)
        assert roundtrip(data) == {
            "account": {"id": ann.pk, "name": "ann", "team": {"id": team.pk, "name": "Blue"}},
            "photos": [
                {
                    "uuid": str(photo.uuid),
                    "title": "sunset",
                    "owner": ann.pk,
                    "tagged": [
                        {"id": ann.pk, "name": "ann", "team": team.pk},
                        {"id": bob.pk, "name": "bob", "team": None},
                    ],
                },
                None,
            ],
            "extra": {"k": 1},
            "header": "Hi",
        }

    def test_event_without_renderer_serialises_its_raw_context(self, photo_source):
        medium = Medium.objects.create(name="m", display_name="M")
        event = Event.objects.create_event(source=photo_source, context={"a": 1, "observing_entity": "x"})
        medium.render([event])
        # only the templates get an observing_entity; a context key of that name is kept
        assert event.get_serialized_context(medium) == {"a": 1, "observing_entity": "x"}
