"""The admin's Explain page and the recipients on each event's page (``entity_event.admin.explain``).

On the routing world of tests/worlds.py: the page explains an event to an entity on every medium
or on one, with the rows that decide, its form says what is wrong with bad input (never a server
error), its autocomplete finds events and entities, and only staff who may view events and
entities get it. The event's page lists who receives the event on each medium, a page at a time
with reasons, in a number of queries that does not depend on the number of recipients.
"""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from django.contrib.admin import AdminSite
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse

from entity_event.admin.explain import (
    RECIPIENTS_PER_PAGE,
    EventExplanationAdmin,
    ExplainForm,
    explanation_row,
)
from entity_event.models import Event, Medium, Subscription
from tests.entities import entity_kind, make_entity
from tests.testapp.models import FollowSubEntitiesMedium
from tests.worlds import BASE, day, routing_world

pytestmark = pytest.mark.django_db

EXPLAIN = "/admin/entity_event/event/explain/"


@pytest.fixture
def world(source_group) -> SimpleNamespace:
    return routing_world(source_group)


def staff(username: str, *permissions: str) -> Client:
    """A logged-in staff user with the permissions given as ``app_label.codename``."""
    user = User.objects.create_user(username, password="pw", is_staff=True)
    for permission in permissions:
        app_label, codename = permission.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    client = Client()
    client.force_login(user)
    return client


def event(uuid: str) -> Event:
    return Event.objects.get(uuid=uuid)


def reasons(html: str) -> list[str]:
    """The reason codes of the table of explanations, in order."""
    return re.findall(r'data-reason="(\w+)"', html)


def explain(client: Client, **params: object):
    return client.get(EXPLAIN, {name: str(value) for name, value in params.items()})


class TestExplainPage:
    def test_every_medium(self, world, admin_client):
        response = explain(admin_client, event=event("product-dave").pk, entity=world.alice.pk)
        assert response.status_code == 200
        html = response.content.decode()
        assert reasons(html) == ["through_group", "no_subscription"]  # email, newsfeed (by name)
        team_a_users = Subscription.objects.get(medium=world.email, source=world.product, entity=world.team_a)
        assert reverse("admin:entity_event_subscription_change", args=[team_a_users.pk]) in html
        assert reverse("admin:entity_entity_change", args=[world.team_a.pk]) in html
        assert (
            "Delivered: Alice is under Team A, whose group subscription to New Product on Email covers it."
            in html
        )

    def test_one_medium_with_the_deciding_rows(self, world, admin_client):
        response = explain(
            admin_client, event=event("product-dave").pk, entity=world.bob.pk, medium=world.email.pk
        )
        html = response.content.decode()
        assert reasons(html) == ["unsubscribed"]
        assert "Bob unsubscribed from New Product on Email" in html
        assert 'alt="no"' in html

    def test_the_following_path(self, world, admin_client):
        html = explain(admin_client, event=event("photo-team-a").pk, entity=world.bob.pk).content.decode()
        assert reasons(html) == ["followed_actor", "no_subscription"]
        path = f'<a href="/admin/entity/entity/{world.team_a.pk}/change/">Team A</a> \N{RIGHTWARDS ARROW} '
        assert path + f'<a href="/admin/entity/entity/{world.bob.pk}/change/">Bob</a>' in html

    def test_a_medium_with_its_own_rule(self, world, admin_client):
        custom = FollowSubEntitiesMedium.objects.create(name="follow-subs", display_name="Follow subs")
        Medium.objects.filter(pk=custom.pk).update(time_created=BASE)
        Subscription.objects.create(medium=custom, source=world.photo, entity=world.team_a)
        html = explain(admin_client, event=event("photo-alice").pk, entity=world.team_a.pk).content.decode()
        # email: only Team B has an individual subscription; follow-subs: the team follows Alice.
        assert reasons(html) == ["no_subscription", "followed_actor", "no_subscription"]
        # The subclass is linked to as the medium it is.
        assert f'<a href="/admin/entity_event/medium/{custom.pk}/change/">Follow subs</a>' in html

    def test_an_empty_form_explains_nothing(self, world, admin_client):
        html = admin_client.get(EXPLAIN).content.decode()
        assert 'id="explain-form"' in html
        assert "errorlist" not in html and reasons(html) == []

    def test_the_autocomplete_finds_events_and_entities(self, world, admin_client):
        html = explain(admin_client, event=event("product-dave").pk, entity=world.alice.pk).content.decode()
        assert html.count('class="admin-autocomplete"') == 2
        assert f'<option value="{world.alice.pk}" selected>Alice</option>' in html
        autocomplete = reverse("admin:autocomplete")
        found = admin_client.get(
            autocomplete,
            {"term": "Ali", "app_label": "entity_event", "model_name": "eventactor", "field_name": "entity"},
        ).json()
        assert [result["text"] for result in found["results"]] == ["Alice"]
        found = admin_client.get(
            autocomplete,
            {
                "term": "product-dave",
                "app_label": "entity_event",
                "model_name": "eventactor",
                "field_name": "event",
            },
        ).json()
        assert [result["id"] for result in found["results"]] == [str(event("product-dave").pk)]

    def test_an_id_field_without_an_entity_admin(self, world):
        # A site that does not register Entity: its id is typed in, and rows show as text.
        form = ExplainForm(AdminSite(name="bare"))
        assert form.fields["entity"].widget.input_type == "number"
        why = world.email.explain(event("product-dave"), world.alice)
        row = explanation_row(AdminSite(name="bare"), why, "Email")
        assert (row["group"], row["subscription"]) == ("Team A", str(why.subscription))

    def test_the_links_to_the_page(self, world, admin_client):
        assert b"Explain a delivery" in admin_client.get("/admin/entity_event/event/").content
        product_dave = event("product-dave")
        html = admin_client.get(f"/admin/entity_event/event/{product_dave.pk}/change/").content.decode()
        assert f'href="{EXPLAIN}?event={product_dave.pk}"' in html

    def test_query_count(self, world, admin_client, django_assert_num_queries):
        FollowSubEntitiesMedium.objects.create(name="follow-subs", display_name="Follow subs")
        photo_team_a = event("photo-team-a").pk
        # The session and the user; the form's event and entity; the mediums as their own class;
        # each medium's explanation, at most seven: seven on email (where Bob follows Team A),
        # two on follow-subs (created after the event), three on newsfeed (which does not cover
        # him); the chosen event and entity shown by name, and the medium's choices. With a
        # medium, the form looks it up too.
        with django_assert_num_queries(2 + 2 + 1 + 7 + 2 + 3 + 3):
            explain(admin_client, event=photo_team_a, entity=world.bob.pk)
        with django_assert_num_queries(2 + 3 + 1 + 7 + 3):
            explain(admin_client, event=photo_team_a, entity=world.bob.pk, medium=world.email.pk)


class TestBadInput:
    @pytest.mark.parametrize(
        ("params", "message"),
        [
            ({"event": "abc"}, "No event has the id abc."),
            ({"event": "987654"}, "No event has the id 987654."),
            ({"event": str(2**70)}, f"No event has the id {2**70}."),
            ({"event": "-1"}, "No event has the id -1."),
            ({"event": "1.5"}, "No event has the id 1.5."),
            ({"event": ""}, "This field is required."),
            ({"entity": "alice"}, "No entity has the id alice."),
            ({"entity": "987654"}, "No entity has the id 987654."),
            ({"entity": str(2**63)}, f"No entity has the id {2**63}."),
            ({"medium": "email"}, "No medium has the id email."),
            ({"medium": "987654"}, "No medium has the id 987654."),
        ],
    )
    def test_a_form_error_not_a_server_error(self, world, admin_client, params, message):
        good = {"event": event("product-dave").pk, "entity": world.alice.pk}
        response = explain(admin_client, **{**good, **params})
        assert response.status_code == 200
        html = response.content.decode()
        assert f"<li>{message}</li>" in html
        assert reasons(html) == []

    def test_only_the_entity_missing(self, world, admin_client):
        html = explain(admin_client, event=event("product-dave").pk).content.decode()
        assert html.count("<li>This field is required.</li>") == 1


class TestPermissions:
    def test_staff_who_may_view_events_and_entities(self, world):
        for client in (
            staff("viewer", "entity_event.view_event", "entity.view_entity"),
            staff("editor", "entity_event.change_event", "entity.change_entity"),
        ):
            assert explain(client, event=event("product-dave").pk, entity=world.alice.pk).status_code == 200

    @pytest.mark.parametrize(
        "permissions",
        [
            (),
            ("entity_event.view_event",),
            ("entity.view_entity",),
            ("entity_event.view_subscription", "entity.view_entity"),
        ],
    )
    def test_others_are_refused(self, world, permissions):
        client = staff("someone", *permissions)
        assert explain(client, event=event("product-dave").pk, entity=world.alice.pk).status_code == 403

    def test_the_event_page_without_entities_shows_no_recipients(self, world):
        client = staff("viewer", "entity_event.view_event")
        response = client.get(f"/admin/entity_event/event/{event('product-dave').pk}/change/")
        assert response.status_code == 200
        html = response.content.decode()
        assert 'id="recipients"' not in html and "explain/" not in html
        assert b"Explain a delivery" not in client.get("/admin/entity_event/event/").content

    def test_not_staff_is_sent_to_log_in(self, world):
        User.objects.create_user("visitor", password="pw")
        client = Client()
        client.login(username="visitor", password="pw")
        response = explain(client, event=event("product-dave").pk, entity=world.alice.pk)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]


class TestRecipients:
    def page(self, client: Client, e: Event, **params: object) -> str:
        response = client.get(f"/admin/entity_event/event/{e.pk}/change/", params)
        assert response.status_code == 200
        return response.content.decode()

    def test_on_the_first_medium(self, world, admin_client):
        html = self.page(admin_client, event("product-dave"))
        section = html[html.index('id="recipients"') :]
        assert "2 entities receive this event on Email." in section
        # Bob unsubscribed, Erin is inactive, Dave has no subscription.
        assert reasons(section) == ["through_group", "subscribed_directly"]
        assert section.index(">Alice<") < section.index(">Carol<")

    def test_on_another_medium(self, world, admin_client):
        photo_alice = event("photo-alice")
        html = self.page(admin_client, photo_alice, recipients_medium=world.newsfeed.pk)
        assert "1 entity receives this event on NewsFeed." in html
        assert reasons(html[html.index('id="recipients"') :]) == ["subscribed_directly"]
        html = self.page(admin_client, photo_alice)
        assert f'href="?recipients_medium={world.newsfeed.pk}&amp;recipients_page=1"' in html
        # An unknown medium is the first one.
        assert "this event on Email." in self.page(admin_client, photo_alice, recipients_medium="x")

    def test_nobody(self, world, admin_client):
        html = self.page(admin_client, event("comment-alice"))
        assert "0 entities receive this event on Email." in html
        assert "Nobody receives this event on this medium" in html

    def test_no_medium(self, source_group, admin_client):
        e = Event.objects.create_event(source=source_group.sources.create(name="s", display_name="S"))
        assert "There is no medium yet." in self.page(admin_client, e)
        html = explain(admin_client, event=e.pk, entity=make_entity("Alone").pk).content.decode()
        assert "There is no medium yet." in html and reasons(html) == []

    def test_paged_in_constant_queries(self, source_group, admin_client, django_assert_num_queries):
        # Two worlds of the same shape, an event of one actor with 3 recipients and one with 130.
        few_medium, few = team_world(source_group, 3)
        medium, many = team_world(source_group, 130)
        # Once first, so that Django's cache of content types (the page reads the event's) is
        # warm whatever ran before.
        self.page(admin_client, few, recipients_medium=few_medium.pk)
        with django_assert_num_queries(QUERIES_OF_THE_EVENT_PAGE):
            html = self.page(admin_client, few, recipients_medium=few_medium.pk)
        assert len(reasons(html)) == 3
        seen = []
        for number, size in [(1, RECIPIENTS_PER_PAGE), (2, RECIPIENTS_PER_PAGE), (3, 30)]:
            with django_assert_num_queries(QUERIES_OF_THE_EVENT_PAGE):
                html = self.page(admin_client, many, recipients_medium=medium.pk, recipients_page=number)
            rows = re.findall(r'<th scope="row"><a href="/admin/entity/entity/(\d+)/change/">', html)
            assert len(rows) == size and set(reasons(html)) == {"through_group"}
            assert f'<span class="this-page">{number}</span>' in html
            seen += map(int, rows)
        assert seen == sorted(target.pk for target in medium.events_targets()[0][1])
        assert "130 entities receive this event on Team 130." in html
        # A page past the end is the last one, a page that is not a number the first.
        html = self.page(admin_client, many, recipients_medium=medium.pk, recipients_page=99)
        assert '<span class="this-page">3</span>' in html
        html = self.page(admin_client, many, recipients_medium=medium.pk, recipients_page="x")
        assert '<span class="this-page">1</span>' in html


def team_world(source_group, size: int) -> tuple[Medium, Event]:
    """A medium named after ``size`` whose group subscription covers the ``size`` users of a team,
    and an event of one of them (the names carry ``size``, so that two worlds live side by side)."""
    team = make_entity(f"Team {size}", kind="team")
    users = [make_entity(f"User {size}-{n:03}", supers=(team,)) for n in range(size)]
    source = source_group.sources.create(name=f"team-news-{size}", display_name="Team news")
    medium = Medium.objects.create(name=f"team-{size}", display_name=f"Team {size}")
    Medium.objects.filter(pk=medium.pk).update(time_created=BASE)
    medium.refresh_from_db()
    Subscription.objects.create(
        medium=medium, source=source, entity=team, sub_entity_kind=entity_kind("user"), only_following=False
    )
    return medium, Event.objects.create_event(source=source, actors=[users[0]], time=day(1))


#: The page of an event with one actor: Django's own (the session, the user, the event, its actor
#: and seen records, the choices of its form and inlines), then the mediums as their own class,
#: the recipients (one ``events_targets`` call) and the explanations of a page of them at once.
QUERIES_OF_THE_EVENT_PAGE = 23


def test_the_admin_is_the_event_admin():
    from django.contrib import admin

    assert isinstance(admin.site.get_model_admin(Event), EventExplanationAdmin)
