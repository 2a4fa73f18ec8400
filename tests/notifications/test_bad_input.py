"""Hostile input to the notification center: query parameters, URLs and bodies that Python, the
database or django-eventstream cannot take as they come. Each is answered with a 400 naming the
problem (JSON from the API), never a 500, and changes nothing in the database."""

from __future__ import annotations

import base64
import json
import time
from datetime import datetime, timedelta, timezone

import jwt
import pytest
from django.conf import settings
from django.urls import reverse

from entity_event.models import ReadMark
from entity_event.notifications.center import Cursor
from entity_event.validation import MAX_ID
from tests.notifications.conftest import logged_in, publish

pytestmark = [pytest.mark.reliability, pytest.mark.django_db]

LIST = reverse("entity_event:notifications")

#: More digits than Python's ``int()`` converts (4300 by default): it raises ``ValueError``.
DIGITS = "9" * 5000

#: A cursor whose time has an offset that Python allows and PostgreSQL refuses.
CURSOR_AT_PLUS_23_59 = Cursor(datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=23, minutes=59))), 1)


def cursor_text(position: str) -> str:
    """A cursor as ``Cursor.encode`` writes one, holding ``position`` (``time|event id``)."""
    return base64.urlsafe_b64encode(position.encode()).decode()


def api(name: str) -> str:
    return reverse(f"entity_event:api_{name}")


def nested_json(depth: int) -> str:
    """A JSON body nesting lists ``depth`` levels deep: ``json.loads`` raises ``RecursionError``."""
    return "[" * depth + "]" * depth


def unchanged(center) -> tuple[int, int]:
    """What a refused request must leave as it was: the read marks and Alice's unread count."""
    return ReadMark.objects.count(), center.medium.unread_count(center.alice_entity)


@pytest.fixture
def before(center) -> tuple[int, int]:
    publish(center.news, 2)
    center.medium.mark_read(center.alice_entity, [center.medium.entity_events(center.alice_entity)[0]])
    return unchanged(center)


class TestApiParameters:
    @pytest.mark.parametrize(
        ("query", "message"),
        [
            ({"limit": DIGITS}, "limit must be a whole number from 1 to 100"),
            ({"limit": "0" * 5000 + "5"}, None),  # leading zeros: the number 5
            ({"entity": DIGITS}, "Invalid entity id"),
            ({"cursor": CURSOR_AT_PLUS_23_59.encode()}, "Invalid cursor"),
            ({"cursor": cursor_text(f"2026-01-01T00:00:00+00:00|{DIGITS}")}, "Invalid cursor"),
        ],
    )
    def test_answered_with_a_json_400(self, center, before, query, message):
        response = logged_in(center.alice).get(api("notifications"), query)
        if message is None:
            assert response.status_code == 200
            assert len(response.json()["results"]) == 2
        else:
            assert response.status_code == 400
            assert response.json()["error"].startswith(message)
        assert unchanged(center) == before

    def test_the_unread_count_too(self, center, before):
        response = logged_in(center.alice).get(api("unread_count"), {"entity": DIGITS})
        assert response.status_code == 400
        assert response.json()["error"].startswith("Invalid entity id")


class TestApiMarkBodies:
    @pytest.mark.parametrize("name", ["mark_read", "mark_unread"])
    @pytest.mark.parametrize(
        ("body", "content_type", "message"),
        [
            (nested_json(100_000), "application/json", "The body is not valid JSON: it nests too deeply."),
            (json.dumps({"events": [DIGITS]}), "application/json", "events must be a list of event ids."),
            # A number of thousands of digits: json.loads refuses it with a ValueError of its own.
            (f'{{"events": [{DIGITS}]}}', "application/json", "The body is not valid JSON."),
            (json.dumps({"events": [2**63]}), "application/json", "events must be a list of event ids."),
            (f"events={DIGITS}", "application/x-www-form-urlencoded", "events must be a list of event ids."),
        ],
    )
    def test_answered_with_a_json_400_and_nothing_marked(
        self, center, before, name, body, content_type, message
    ):
        response = logged_in(center.alice).post(api(name), body, content_type=content_type)
        assert response.status_code == 400
        assert response.json() == {"error": message}
        assert unchanged(center) == before


class TestPage:
    @pytest.mark.parametrize(
        "query", [{"entity": DIGITS}, {"cursor": CURSOR_AT_PLUS_23_59.encode()}], ids=["entity", "cursor"]
    )
    def test_answered_with_a_400(self, center, before, query):
        assert logged_in(center.alice).get(LIST, query).status_code == 400
        assert unchanged(center) == before


class TestMarkForms:
    @pytest.mark.parametrize("name", ["mark_read", "mark_unread"])
    @pytest.mark.parametrize("event_id", [MAX_ID + 1, 2**64, 0])
    def test_an_id_beyond_a_database_id_is_400_and_marks_nothing(self, center, before, name, event_id):
        response = logged_in(center.alice).post(reverse(f"entity_event:{name}", args=[event_id]))
        assert response.status_code == 400
        assert unchanged(center) == before

    @pytest.mark.parametrize("name", ["mark-read", "mark-unread"])
    def test_an_id_of_thousands_of_digits_is_404(self, center, before, name):
        # The URL's int converter cannot convert it, so no URL matches.
        assert logged_in(center.alice).post(f"{LIST}{DIGITS}/{name}/").status_code == 404
        assert unchanged(center) == before

    def test_the_largest_database_id_is_taken_and_marks_nothing(self, center, before):
        # No such event: ignored, as any event outside the user's feed is.
        response = logged_in(center.alice).post(reverse("entity_event:mark_read", args=[MAX_ID]))
        assert response.status_code == 302
        assert unchanged(center) == before


def es_meta(key: str, **claims: object) -> str:
    """An ``es-meta`` parameter as django-eventstream writes it (a JWT), signed with ``key``."""
    return jwt.encode({"exp": int(time.time()) + 60, **claims}, key.encode(), algorithm="HS256")


class TestLiveStream:
    @pytest.mark.parametrize(
        ("value", "reason"),
        [
            ("not-a-jwt", "Not enough segments"),
            ("a.b.c", "Invalid header padding"),
            (es_meta("the-secret-key-of-another-site-entirely"), "Signature verification failed"),
            (
                jwt.encode({"exp": 1}, settings.SECRET_KEY.encode(), algorithm="HS256"),
                "Signature has expired",
            ),
        ],
        ids=["not-a-jwt", "three-parts", "another-key", "expired"],
    )
    def test_a_bad_es_meta_is_400(self, center, value, reason):
        response = logged_in(center.alice).get(reverse("entity_event:live"), {"es-meta": value})
        assert response.status_code == 400
        assert response["Content-Type"] == "text/plain; charset=utf-8"
        assert (
            response.content.decode() == f"Invalid request: es-meta is not a token of this site ({reason}).\n"
        )

    def test_one_django_eventstream_wrote_is_taken(self, center):
        response = logged_in(center.alice).get(
            reverse("entity_event:live"), {"es-meta": es_meta(settings.SECRET_KEY)}
        )
        assert response.status_code == 200
        assert response["Content-Type"] == "text/event-stream"
