"""The preference center: every source that reaches a person on each medium, by source group,
switched off and on (saved as unsubscriptions, in one transaction), required ones locked, in a
number of queries that does not depend on the number of sources and groups."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from django.test import Client
from django.urls import reverse

from entity_event.models import Medium, Source, SourceGroup, Subscription, Unsubscription
from tests.entities import entity_kind, make_entity, make_user

pytestmark = pytest.mark.django_db

PAGE = reverse("entity_event:preferences")
API = reverse("entity_event:api_preferences")
CHANGE = reverse("entity_event:api_change_preferences")


def build(groups: int, sources_per_group: int) -> SimpleNamespace:
    """Alice in a team; ``groups`` source groups of ``sources_per_group`` sources each, every
    source subscribed to on the email medium by the team (the first of each group required),
    and one source of another team's that does not reach her; a push medium for her alone."""
    w = SimpleNamespace()
    team = make_entity("Team", kind="team")
    w.alice_entity = make_entity("Alice", supers=(team,))
    w.alice = make_user("alice", w.alice_entity)
    w.bob = make_user("bob", make_entity("Bob"))
    w.email = Medium.objects.create(name="email", display_name="Email")
    w.push = Medium.objects.create(name="push", display_name="Push")
    w.sources = []
    for g in range(groups):
        group = SourceGroup.objects.create(name=f"g{g:02}", display_name=f"Group {g}")
        for n in range(sources_per_group):
            source = Source.objects.create(
                group=group, name=f"g{g:02}-s{n:02}", display_name=f"Source {g}.{n}", required=n == 0
            )
            Subscription.objects.create(
                medium=w.email, source=source, entity=team, sub_entity_kind=entity_kind("user"),
                only_following=n % 2 == 0,
            )  # fmt: skip
            w.sources.append(source)
    other = SourceGroup.objects.create(name="other", display_name="Other")
    w.elsewhere = Source.objects.create(group=other, name="elsewhere", display_name="Elsewhere")
    Subscription.objects.create(
        medium=w.email, source=w.elsewhere, entity=make_entity("Bob's team"), only_following=False
    )
    Subscription.objects.create(
        medium=w.push, source=w.sources[1], entity=w.alice_entity, only_following=False
    )
    return w


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api(client: Client, changes: list[dict]) -> tuple[int, dict]:
    response = client.post(CHANGE, json.dumps({"changes": changes}), content_type="application/json")
    return response.status_code, response.json()


class TestWhatReachesAPerson:
    def test_every_source_that_reaches_her_by_medium_and_group(self):
        w = build(groups=2, sources_per_group=2)
        body = logged_in(w.alice).get(API).json()
        assert [medium["medium"] for medium in body["mediums"]] == ["email", "push"]
        email = body["mediums"][0]
        assert [group["group"] for group in email["groups"]] == ["g00", "g01"]
        assert email["groups"][0]["sources"] == [
            {"source": "g00-s00", "display_name": "Source 0.0", "required": True, "receiving": True},
            {"source": "g00-s01", "display_name": "Source 0.1", "required": False, "receiving": True},
        ]
        assert email["groups"][0]["receiving"] is True and email["groups"][0]["locked"] is False
        assert "elsewhere" not in json.dumps(body)  # another team's subscription

    def test_the_page_shows_the_switches_and_the_locked_ones(self):
        w = build(groups=1, sources_per_group=2)
        page = logged_in(w.alice).get(PAGE).content.decode()
        assert '<input type="checkbox" checked disabled> Source 0.0' in page
        assert 'name="receive" value="email:g00-s01" checked' in page
        assert 'name="csrfmiddlewaretoken"' in page

    @pytest.mark.parametrize(("groups", "sources"), [(1, 2), (50, 4)])
    def test_the_queries_do_not_depend_on_the_sources_and_groups(
        self, groups, sources, django_assert_num_queries
    ):
        """A person reached by 200 sources through 50 groups costs what one reached by two does:
        the session, the user, her entity, the subscriptions that cover her, her
        unsubscriptions."""
        w = build(groups, sources)
        client = logged_in(w.alice)
        with django_assert_num_queries(5):
            body = client.get(API).json()
        assert sum(len(group["sources"]) for group in body["mediums"][0]["groups"]) == groups * sources
        # The page: the same, and the bell of the example site's layout (its entity, the medium).
        with django_assert_num_queries(7):
            client.get(PAGE)

    def test_only_for_the_logged_in_person(self):
        w = build(groups=1, sources_per_group=2)
        assert Client().get(API).status_code == 403
        assert Client().get(PAGE).status_code == 302  # to the login page
        # Bob sees his own (nothing reaches him), never Alice's.
        assert logged_in(w.bob).get(API, {"entity": w.alice_entity.pk}).json() == {"mediums": []}


class TestSwitching:
    def test_a_source_off_and_on_again(self):
        w = build(groups=1, sources_per_group=2)
        client = logged_in(w.alice)
        status, body = api(client, [{"medium": "email", "source": "g00-s01", "receive": False}])
        assert status == 200 and body["mediums"][0]["groups"][0]["sources"][1]["receiving"] is False
        assert body["mediums"][0]["groups"][0]["receiving"] is None  # some on, some off
        assert Unsubscription.objects.filter(entity=w.alice_entity, medium=w.email).count() == 1
        assert w.email.entity_events(w.alice_entity).count() == 0  # no event yet, but it applies
        status, _ = api(client, [{"medium": "email", "source": "g00-s01", "receive": True}])
        assert status == 200 and not Unsubscription.objects.exists()

    def test_a_group_leaves_its_required_sources_as_they_are(self):
        w = build(groups=1, sources_per_group=4)
        status, body = api(logged_in(w.alice), [{"medium": "email", "group": "g00", "receive": False}])
        assert status == 200
        receiving = [source["receiving"] for source in body["mediums"][0]["groups"][0]["sources"]]
        assert receiving == [True, False, False, False]  # the first is required
        assert Unsubscription.objects.count() == 3

    @pytest.mark.parametrize(
        ("change", "message"),
        [
            ({"medium": "email", "source": "g00-s00", "receive": False}, "Source 0.0 is required"),
            ({"medium": "email", "source": "elsewhere", "receive": False}, "does not reach you"),
            ({"medium": "fax", "source": "g00-s01", "receive": False}, "does not reach you"),
            ({"medium": "email", "group": "other", "receive": False}, "does not reach you"),
            ({"medium": "email", "receive": False}, "Each change is"),
            ({"medium": "email", "source": "g00-s01", "receive": "no"}, "Each change is"),
        ],
    )
    def test_a_bad_change_is_a_400_and_changes_nothing(self, change, message):
        w = build(groups=1, sources_per_group=2)
        # The good change before the bad one is not made either: all or none.
        status, body = api(
            logged_in(w.alice), [{"medium": "email", "source": "g00-s01", "receive": False}, change]
        )
        assert status == 400 and message in body["error"]
        assert not Unsubscription.objects.exists()

    @pytest.mark.parametrize("body", ["not json", "[]", '{"changes": []}', '{"changes": 3}'])
    def test_a_bad_body_is_a_400(self, body):
        w = build(groups=1, sources_per_group=2)
        response = logged_in(w.alice).post(CHANGE, body, content_type="application/json")
        assert response.status_code == 400

    def test_the_form_saves_every_switch_in_one_post(self):
        w = build(groups=2, sources_per_group=2)
        client = logged_in(w.alice)
        response = client.post(PAGE, {"shown": ["email:g00-s01", "email:g01-s01", "push:g00-s01"],
                                      "receive": ["email:g01-s01"]})  # fmt: skip
        assert response.status_code == 302 and response["Location"] == PAGE
        assert set(Unsubscription.objects.values_list("medium__name", "source__name")) == {
            ("email", "g00-s01"), ("push", "g00-s01"),
        }  # fmt: skip
        client.post(PAGE, {"all_on": "email:g00"})
        assert set(Unsubscription.objects.values_list("medium__name", "source__name")) == {
            ("push", "g00-s01")
        }
        client.post(PAGE, {"all_off": "email:g01"})
        assert Unsubscription.objects.filter(source__name="g01-s01").exists()

    def test_the_form_refuses_what_does_not_reach_her_and_needs_csrf(self):
        w = build(groups=1, sources_per_group=2)
        assert logged_in(w.alice).post(PAGE, {"shown": ["email:elsewhere"]}).status_code == 400
        strict = Client(enforce_csrf_checks=True)
        strict.force_login(w.alice)
        assert strict.post(PAGE, {"shown": ["email:g00-s01"]}).status_code == 403
        assert not Unsubscription.objects.exists()
