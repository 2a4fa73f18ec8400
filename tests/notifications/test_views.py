"""The notification center's HTML pages (``entity_event.notifications.views``) and its template tags."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.template import Context, Template
from django.test import RequestFactory, override_settings
from django.urls import reverse

from entity_event.models import Event
from tests.notifications.conftest import logged_in, publish

pytestmark = pytest.mark.django_db

LIST = reverse("entity_event:notifications")


def items(response) -> list[tuple[str, bool]]:
    return [(n.event.uuid, n.read) for n in response.context["page"].notifications]


class TestList:
    def test_the_users_notifications_newest_first_unread_marked(self, center):
        events = publish(center.news, 3)
        center.medium.mark_read(center.alice_entity, [events[1]])
        response = logged_in(center.alice).get(LIST)
        assert response.status_code == 200
        assert items(response) == [("news-2", False), ("news-1", True), ("news-0", False)]
        page = response.content.decode()
        assert "Your notifications" in page
        assert "<span data-entity-event-unread-count>2</span> unread" in page
        assert page.count('class="entity-event-notification unread"') == 2
        assert "<b>news 2</b>" in page  # the HTML rendering, not escaped
        assert 'action="/notifications/mark-all-read/"' in page

    def test_the_page_uses_the_sites_layout(self, center):
        # The example site overrides entity_event/notifications/base.html, as a site would.
        page = logged_in(center.alice).get(LIST).content.decode()
        assert '<span class="site">Yoursite</span>' in page

    def test_an_event_without_rendering_shows_its_source(self, center):
        publish(center.silent, 1)
        assert "Silent" in logged_in(center.alice).get(LIST).content.decode()

    def test_context_values_are_escaped(self, center):
        publish(center.news, 1, context={"title": "<script>alert(1)</script>"})
        page = logged_in(center.alice).get(LIST).content.decode()
        assert "<script>alert(1)</script>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page

    def test_pages_follow_the_cursor(self, center):
        publish(center.news, 25)
        alice = logged_in(center.alice)
        first = alice.get(LIST)
        assert len(items(first)) == 20
        cursor = first.context["next_cursor"]
        assert f'href="?cursor={quote(cursor)}"' in first.content.decode()
        second = alice.get(LIST, {"cursor": cursor})
        assert [uuid for uuid, _ in items(second)] == [f"news-{n}" for n in range(4, -1, -1)]
        assert second.context["next_cursor"] is None

    def test_unread_only(self, center):
        events = publish(center.news, 2)
        center.medium.mark_read(center.alice_entity, [events[0]])
        response = logged_in(center.alice).get(LIST, {"unread": "1"})
        assert items(response) == [("news-1", False)]
        assert "show all" in response.content.decode()

    def test_an_empty_list(self, center):
        page = logged_in(center.carol).get(LIST, {"unread": "1"}).content.decode()
        assert "No notifications unread." in page

    def test_staff_with_the_permission_see_anyones_without_the_forms(self, center):
        publish(center.news, 1)
        response = logged_in(center.support).get(LIST, {"entity": center.bob_entity.pk})
        assert items(response) == [("news-0", False)]
        page = response.content.decode()
        assert "Notifications of Bob" in page
        assert "Mark all read" not in page and "Mark read" not in page

    @pytest.mark.parametrize("count", [5, 50])
    def test_a_page_costs_the_same_queries_whatever_the_feed(
        self, center, count, django_assert_num_queries, read_only_statements
    ):
        publish(center.news, count)
        alice = logged_in(center.alice)
        # The session, the user, the medium, the user's entity; the page's events, their read
        # flags (2), the context renderers; the unread count (2); the bell of the layout (the
        # user's entity, the medium, the unread count: 2 + 2).
        with django_assert_num_queries(4 + 1 + 2 + 1 + 2 + 4 + read_only_statements):
            alice.get(LIST)


class TestAccess:
    def test_an_anonymous_visitor_is_sent_to_log_in(self, client, center):
        response = client.get(LIST)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))

    def test_someone_elses_notifications_are_403(self, center):
        publish(center.news, 1)
        response = logged_in(center.alice).get(LIST, {"entity": center.bob_entity.pk})
        assert response.status_code == 403
        assert "news" not in response.content.decode()

    def test_asking_for_ones_own_by_id_is_the_same_page(self, center):
        response = logged_in(center.alice).get(LIST, {"entity": center.alice_entity.pk})
        assert response.context["feed"].own

    @pytest.mark.parametrize("query", [{"cursor": "x"}, {"entity": "me"}, {"entity": "99999999999999999999"}])
    def test_bad_parameters_are_400(self, center, query):
        assert logged_in(center.alice).get(LIST, query).status_code == 400

    def test_without_the_medium_it_is_404(self, center):
        with override_settings(ENTITY_EVENT_NOTIFICATION_MEDIUM="missing"):
            assert logged_in(center.alice).get(LIST).status_code == 404


class TestForms:
    def test_mark_all_read_and_back(self, center):
        publish(center.news, 2)
        response = logged_in(center.alice).post(
            reverse("entity_event:mark_all_read"), {"next": f"{LIST}?unread=1"}
        )
        assert response.status_code == 302
        assert response["Location"] == f"{LIST}?unread=1"
        assert center.medium.unread_count(center.alice_entity) == 0

    def test_mark_one_read_then_unread(self, center):
        [event] = publish(center.news, 1)
        alice = logged_in(center.alice)
        alice.post(reverse("entity_event:mark_read", args=[event.pk]))
        assert center.medium.unread_count(center.alice_entity) == 0
        assert "Mark unread" in alice.get(LIST).content.decode()
        response = alice.post(reverse("entity_event:mark_unread", args=[event.pk]))
        assert response["Location"] == LIST  # no next: back to the list
        assert center.medium.unread_count(center.alice_entity) == 1

    def test_next_never_leads_off_the_site(self, center):
        response = logged_in(center.alice).post(
            reverse("entity_event:mark_all_read"), {"next": "https://evil.example/"}
        )
        assert response["Location"] == LIST

    @pytest.mark.parametrize("name", ["mark_all_read", "mark_read", "mark_unread"])
    def test_forms_are_post_only_and_csrf_protected(self, center, name):
        [event] = publish(center.news, 1)
        target = reverse(f"entity_event:{name}", args=[] if name == "mark_all_read" else [event.pk])
        assert logged_in(center.alice).get(target).status_code == 405
        assert logged_in(center.alice, enforce_csrf_checks=True).post(target).status_code == 403
        assert center.medium.unread_count(center.alice_entity) == 1

    def test_staff_cannot_mark_for_someone_else(self, center):
        publish(center.news, 1)
        assert logged_in(center.support).post(reverse("entity_event:mark_all_read")).status_code == 403
        assert center.medium.unread_count(center.alice_entity) == 1


def render(template: str, user=None) -> str:
    request = RequestFactory().get("/")
    if user is not None:
        request.user = user
    else:
        from django.contrib.auth.models import AnonymousUser

        request.user = AnonymousUser()
    return Template("{% load entity_event_notifications %}" + template).render(Context({"request": request}))


class TestTemplateTags:
    def test_the_unread_count(self, center):
        publish(center.news, 3)
        assert render("{% unread_notification_count %}", center.alice) == "3"
        assert render("{% unread_notification_count as n %}[{{ n }}]", center.bob) == "[3]"
        assert render("{% unread_notification_count %}", center.support) == "0"  # no entity
        assert render("{% unread_notification_count %}") == "0"  # anonymous
        with override_settings(ENTITY_EVENT_NOTIFICATION_MEDIUM="missing"):
            assert render("{% unread_notification_count %}", center.alice) == "0"

    def test_the_latest_notifications(self, center):
        publish(center.news, 4)
        Event.objects.create_event(source=center.silent, context={})
        html = render("{% latest_notifications 2 %}", center.alice)
        assert html.count("<li") == 2
        assert "Silent" in html and "<b>news 3</b>" in html and "news 2" not in html
        assert "No notifications." in render("{% latest_notifications %}")

    def test_the_bell(self, center):
        publish(center.news, 2)
        html = render("{% notification_bell %}", center.alice)
        assert "<span data-entity-event-unread-count>2</span>" in html
        assert 'href="/notifications/"' in html
        assert 'data-live-url="/notifications/live/"' in html
        assert 'data-unread-count-url="/notifications/api/unread-count/"' in html
        assert "entity_event/notifications.js" in html
        assert render("{% notification_bell %}").strip() == ""
        assert 'data-poll-seconds="15"' in html
        with override_settings(ENTITY_EVENT_LIVE_UPDATES=False, ENTITY_EVENT_POLL_SECONDS=3):
            html = render("{% notification_bell %}", center.alice)
        assert "data-live-url" not in html and 'data-poll-seconds="3"' in html
