"""The JSON API of the notification center (``entity_event.notifications.api``)."""

from __future__ import annotations

import json

import pytest
from django.test import override_settings
from django.urls import reverse

from entity_event.models import Event, ReadMark
from entity_event.notifications.api import MAX_MARKED_EVENTS
from tests.notifications.conftest import logged_in, publish

pytestmark = pytest.mark.django_db


def url(name: str) -> str:
    return reverse(f"entity_event:api_{name}")


def titles(response) -> list[str]:
    return [item["text"] for item in response.json()["results"]]


class TestList:
    def test_the_newest_notifications_with_their_read_state_and_rendering(self, center):
        events = publish(center.news, 3)
        center.medium.mark_read(center.alice_entity, [events[0]])
        response = logged_in(center.alice).get(url("notifications"))
        assert response.status_code == 200
        body = response.json()
        assert body["unread_count"] == 2
        assert body["next"] is None
        assert body["results"][0] == {
            "id": events[2].pk,
            "uuid": "news-2",
            "source": "news",
            "source_display_name": "News",
            "time": events[2].time.isoformat(),
            "read": False,
            "text": "news 2",
            "html": "<b>news 2</b>",
        }
        assert [item["read"] for item in body["results"]] == [False, False, True]

    def test_an_event_without_a_renderer_comes_with_empty_texts(self, center):
        publish(center.silent, 1)
        [item] = logged_in(center.alice).get(url("notifications")).json()["results"]
        assert (item["source"], item["text"], item["html"]) == ("silent", "", "")

    def test_no_raw_context_reaches_the_client(self, center):
        publish(center.news, 1, context={"title": "t", "secret": "s3cr3t"})
        assert "s3cr3t" not in logged_in(center.alice).get(url("notifications")).content.decode()

    def test_cursor_pagination_is_stable_under_new_events(self, center):
        publish(center.news, 5)
        alice = logged_in(center.alice)
        first = alice.get(url("notifications"), {"limit": 2}).json()
        assert [item["text"] for item in first["results"]] == ["news 4", "news 3"]
        publish(center.news, 3, start=10)  # newer events arrive meanwhile
        second = alice.get(url("notifications"), {"limit": 2, "cursor": first["next"]}).json()
        assert [item["text"] for item in second["results"]] == ["news 2", "news 1"]
        third = alice.get(url("notifications"), {"limit": 2, "cursor": second["next"]}).json()
        assert [item["text"] for item in third["results"]] == ["news 0"]
        assert third["next"] is None

    def test_events_at_the_same_time_are_not_skipped_or_repeated(self, center):
        publish(center.news, 5)
        Event.objects.update(time=Event.objects.earliest("time").time)
        alice = logged_in(center.alice)
        seen, cursor = [], None
        while True:
            body = alice.get(
                url("notifications"), {"limit": 2, **({"cursor": cursor} if cursor else {})}
            ).json()
            seen += [item["uuid"] for item in body["results"]]
            cursor = body["next"]
            if cursor is None:
                break
        assert seen == [f"news-{n}" for n in range(4, -1, -1)]

    def test_unread_only(self, center):
        events = publish(center.news, 3)
        center.medium.mark_read(center.alice_entity, [events[1]])
        response = logged_in(center.alice).get(url("notifications"), {"unread": "1"})
        assert titles(response) == ["news 2", "news 0"]
        assert all(item["read"] is False for item in response.json()["results"])

    def test_staff_with_the_permission_see_anyones(self, center):
        publish(center.news, 1)
        response = logged_in(center.support).get(url("notifications"), {"entity": center.bob_entity.pk})
        assert titles(response) == ["news 0"]
        assert response.json()["unread_count"] == 1

    @pytest.mark.parametrize("count", [5, 50])
    def test_a_page_costs_the_same_queries_whatever_the_feed(
        self, center, count, django_assert_num_queries, read_only_statements
    ):
        publish(center.news, count)
        alice = logged_in(center.alice)
        # The medium, the session, the user, the user's entity; the page's events, their read
        # flags (the watermark, the page's marks), the context renderers; the unread count (the
        # read state, the count).
        with django_assert_num_queries(4 + 1 + 2 + 1 + 2 + read_only_statements):
            response = alice.get(url("notifications"), {"limit": 20})
        assert len(response.json()["results"]) == min(count, 20)


class TestCounts:
    def test_unread_count(self, center):
        publish(center.news, 4)
        assert logged_in(center.alice).get(url("unread_count")).json() == {"unread_count": 4}
        assert logged_in(center.carol).get(url("unread_count")).json() == {"unread_count": 0}

    def test_costs_a_constant_number_of_queries(self, center, django_assert_num_queries):
        publish(center.news, 30)
        alice = logged_in(center.alice)
        with django_assert_num_queries(4 + 2):  # medium, session, user, entity; state, count
            alice.get(url("unread_count"))


class TestMarking:
    def test_mark_read_and_unread_as_json_or_form_fields(self, center):
        events = publish(center.news, 3)
        alice = logged_in(center.alice)
        response = alice.post(
            url("mark_read"),
            json.dumps({"events": [events[0].pk, events[1].pk]}),
            content_type="application/json",
        )
        assert response.json() == {"unread_count": 1}
        response = alice.post(url("mark_unread"), {"events": [events[0].pk]})
        assert response.json() == {"unread_count": 2}
        assert alice.post(url("mark_all_read")).json() == {"unread_count": 0}
        publish(center.news, 1, start=9)
        assert alice.get(url("unread_count")).json() == {"unread_count": 1}

    def test_marking_someone_elses_event_does_nothing(self, center):
        [event] = publish(center.news, 1)
        center.medium.mark_unread(center.bob_entity, [event])
        carol = logged_in(center.carol)
        assert carol.post(url("mark_read"), {"events": [event.pk]}).json() == {"unread_count": 0}
        assert list(ReadMark.objects.values_list("entity_id", "read")) == [(center.bob_entity.pk, False)]

    def test_marks_only_the_users_own(self, center):
        """A mark request names no entity: staff mark their own notifications, never someone's."""
        [event] = publish(center.news, 1)
        support = logged_in(center.support)
        response = support.post(f"{url('mark_all_read')}?entity={center.alice_entity.pk}")
        assert response.status_code == 403  # the staff user has no entity of their own
        assert center.medium.unread_count(center.alice_entity) == 1

    def test_csrf_protected(self, center):
        [event] = publish(center.news, 1)
        alice = logged_in(center.alice, enforce_csrf_checks=True)
        assert alice.post(url("mark_read"), {"events": [event.pk]}).status_code == 403
        alice.get(url("unread_count"))  # no token needed to read
        token = alice.get(reverse("entity_event:notifications")).cookies["csrftoken"].value
        response = alice.post(url("mark_read"), {"events": [event.pk]}, headers={"X-CSRFToken": token})
        assert response.json() == {"unread_count": 0}


class TestErrors:
    @pytest.mark.parametrize(
        ("query", "message"),
        [
            ({"cursor": "not-a-cursor"}, "Invalid cursor 'not-a-cursor'."),
            ({"limit": "0"}, "limit must be a whole number from 1 to 100, got '0'."),
            ({"limit": "101"}, "limit must be a whole number from 1 to 100, got '101'."),
            ({"limit": "ten"}, "limit must be a whole number from 1 to 100, got 'ten'."),
            ({"entity": "abc"}, "Invalid entity id 'abc'."),
        ],
    )
    def test_bad_parameters_are_400(self, center, query, message):
        response = logged_in(center.alice).get(url("notifications"), query)
        assert response.status_code == 400
        assert message in response.json()["error"]

    @pytest.mark.parametrize(
        "text",
        [
            "bm90IGEgY3Vyc29y",  # base64 of "not a cursor"
            "!!!",  # not base64
            "MjAyNi0wMS0wMVQwMDowMDowMHww",  # a naive time
            "OTk5OTktMDEtMDFUMDA6MDA6MDArMDA6MDB8MQ==",  # year 99999
            "MjAyNi0wMS0wMVQwMDowMDowMCswMDowMHww",  # event id 0
            "\u00e9",
        ],
    )
    def test_every_malformed_cursor_is_400(self, center, text):
        response = logged_in(center.alice).get(url("notifications"), {"cursor": text})
        assert response.status_code == 400

    def test_an_empty_cursor_or_limit_is_absent_as_on_the_page(self, center):
        """``?cursor=`` and ``?limit=`` ask for the first page at the default size, here as on
        the HTML page (both read the request with ``entity_event.notifications.requests``)."""
        publish(center.news, 3)
        alice = logged_in(center.alice)
        first = alice.get(url("notifications")).json()
        assert alice.get(url("notifications"), {"cursor": "", "limit": ""}).json() == first
        page = alice.get(reverse("entity_event:notifications"), {"cursor": ""})
        assert page.status_code == 200
        shown = [notification.event.pk for notification in page.context["page"].notifications]
        assert shown == [notification["id"] for notification in first["results"]]

    def test_someone_elses_feed_is_403(self, center):
        response = logged_in(center.alice).get(url("notifications"), {"entity": center.bob_entity.pk})
        assert response.status_code == 403
        assert response.json() == {"error": "You may only see your own notifications."}
        assert (
            logged_in(center.alice).get(url("unread_count"), {"entity": center.bob_entity.pk}).status_code
            == 403
        )

    def test_an_anonymous_visitor_is_403(self, client, center):
        for name in ("notifications", "unread_count"):
            response = client.get(url(name))
            assert response.status_code == 403
            assert response.json() == {"error": "Log in to see your notifications."}
        assert client.post(url("mark_all_read")).status_code == 403

    def test_a_user_without_an_entity_is_403(self, center):
        response = logged_in(center.support).get(url("unread_count"))
        assert response.json() == {"error": "Your account has no entity, so it has no notifications."}

    def test_an_unknown_entity_asked_by_staff_is_404(self, center):
        response = logged_in(center.support).get(url("notifications"), {"entity": 10**9})
        assert response.status_code == 404

    def test_without_the_medium_everything_is_404(self, center):
        with override_settings(ENTITY_EVENT_NOTIFICATION_MEDIUM="missing"):
            response = logged_in(center.alice).get(url("unread_count"))
        assert response.status_code == 404
        assert "ENTITY_EVENT_NOTIFICATION_MEDIUM" in response.json()["error"]

    @pytest.mark.parametrize(
        ("name", "method", "allowed"),
        [
            ("notifications", "post", "GET"),
            ("unread_count", "delete", "GET"),
            ("mark_read", "get", "POST"),
            ("mark_unread", "put", "POST"),
            ("mark_all_read", "get", "POST"),
        ],
    )
    def test_a_wrong_method_is_405(self, center, name, method, allowed):
        response = getattr(logged_in(center.alice), method)(url(name))
        assert response.status_code == 405
        assert response["Allow"] == allowed
        assert response.json()["error"] == f"Use {allowed} here, not {method.upper()}."

    @pytest.mark.parametrize(
        ("body", "content_type", "message"),
        [
            ("{", "application/json", "The body is not valid JSON."),
            ('{"events": []}', "application/json", "Name the events to mark"),
            ('{"events": 5}', "application/json", "Name the events to mark"),
            ("[1, 2]", "application/json", "Name the events to mark"),
            ('{"events": ["one"]}', "application/json", "events must be a list of event ids."),
            ('{"events": [true]}', "application/json", "events must be a list of event ids."),
            ('{"events": [0]}', "application/json", "events must be a list of event ids."),
            ('{"events": [1.5]}', "application/json", "events must be a list of event ids."),
            ("", "application/x-www-form-urlencoded", "Name the events to mark"),
            ("events=x", "application/x-www-form-urlencoded", "events must be a list of event ids."),
        ],
    )
    def test_a_bad_mark_body_is_400_and_marks_nothing(self, center, body, content_type, message):
        publish(center.news, 1)
        response = logged_in(center.alice).post(url("mark_read"), body, content_type=content_type)
        assert response.status_code == 400
        assert message in response.json()["error"]
        assert not ReadMark.objects.exists()

    def test_too_many_events_in_one_request(self, center):
        body = json.dumps({"events": list(range(1, MAX_MARKED_EVENTS + 2))})
        response = logged_in(center.alice).post(url("mark_unread"), body, content_type="application/json")
        assert response.status_code == 400
        assert f"At most {MAX_MARKED_EVENTS} events per request" in response.json()["error"]
