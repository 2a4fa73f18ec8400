"""One-click unsubscribe (RFC 8058, RFC 2369): every email of a source that is not required
carries ``List-Unsubscribe`` and ``List-Unsubscribe-Post`` and a visible link; a POST of
``List-Unsubscribe=One-Click`` to it, with no session and no CSRF token, unsubscribes, and the
next event skips that person; a GET, a tampered or a foreign token change nothing."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core import mail, signing
from django.core.checks import run_checks
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from entity_event.models import (
    ContextRenderer,
    Delivery,
    Event,
    Medium,
    RenderingStyle,
    Source,
    Subscription,
    Unsubscription,
)
from entity_event.notifications.unsubscribe import unsubscribe_token
from tests.entities import entity_kind, make_entity

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(source_group):
    style = RenderingStyle.objects.create(name="mail", display_name="Mail")
    email = Medium.objects.create(name="email", display_name="Email", rendering_style=style)
    news = Source.objects.create(group=source_group, name="news", display_name="News")
    terms = Source.objects.create(group=source_group, name="terms", display_name="Terms", required=True)
    for source in (news, terms):
        ContextRenderer.objects.create(
            name=source.name, rendering_style=style, source=source, text_template="{{ text }}",
            html_template="<p>{{ text }}</p>",
        )  # fmt: skip
    team = make_entity("Team", kind="team")
    ann = make_entity("Ann", supers=(team,))
    ann.entity_meta = {"email": "ann@example.com"}
    ann.save()
    for source in (news, terms):
        Subscription.objects.create(
            medium=email,
            source=source,
            entity=team,
            sub_entity_kind=entity_kind("user"),
            only_following=False,
        )
    return email, news, terms, ann


def deliver() -> None:
    call_command("deliver_entity_events", "--medium", "email", stdout=StringIO())


def the_message(subject: str):
    [message] = [message for message in mail.outbox if message.subject == subject]
    return message


def one_click_url(message) -> str:
    return message.extra_headers["List-Unsubscribe"].strip("<>")


class TestTheHeaders:
    def test_every_message_of_a_source_not_required_carries_them(self, world):
        email, news, _, ann = world
        Event.objects.create_event(source=news, context={"text": "Hello"})
        deliver()
        message = the_message("News")
        url = one_click_url(message)
        assert url.startswith("https://testserver/notifications/unsubscribe/")
        assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert url in message.body  # the visible link
        assert f'href="{url}"' in message.alternatives[0].content

    def test_a_required_source_carries_none(self, world):
        _, _, terms, _ = world
        Event.objects.create_event(source=terms, context={"text": "New terms"})
        deliver()
        message = the_message("Terms")
        assert "List-Unsubscribe" not in message.extra_headers
        assert "unsubscribe" not in message.body.lower()

    def test_without_the_base_url_nothing_is_sent_and_the_check_says_so(self, world, settings):
        _, news, _, _ = world
        del settings.ENTITY_EVENT_BASE_URL
        assert "entity_event.W011" in {message.id for message in run_checks()}
        Event.objects.create_event(source=news, context={"text": "Hello"})
        deliver()
        assert mail.outbox == []
        [reason] = set(Delivery.objects.values_list("last_error", flat=True))
        assert "ENTITY_EVENT_BASE_URL is not set" in reason


@pytest.mark.parametrize(
    "value", [5, b"https://example.com", "example.com", "ftp://example.com", "https://example.com/?a=1"]
)
def test_a_base_url_that_is_not_an_absolute_http_url_is_reported(settings, value):
    settings.ENTITY_EVENT_BASE_URL = value
    [error] = [message for message in run_checks() if message.id == "entity_event.E011"]
    assert "ENTITY_EVENT_BASE_URL" in error.msg and "absolute URL of the site" in error.msg


class TestTheLink:
    def test_a_one_click_post_without_a_session_unsubscribes_and_the_next_event_skips_her(self, world):
        email, news, terms, ann = world
        Event.objects.create_event(source=news, context={"text": "Hello"})
        deliver()
        url = one_click_url(the_message("News"))
        response = Client(enforce_csrf_checks=True).post(
            url, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
        )
        assert response.status_code == 200
        assert Unsubscription.objects.filter(entity=ann, medium=email, source=news).exists()
        mail.outbox = []
        Event.objects.create_event(source=news, context={"text": "Again"})
        Event.objects.create_event(source=terms, context={"text": "Terms"})
        deliver()
        assert [message.subject for message in mail.outbox] == ["Terms"]  # required: still sent

    def test_a_get_shows_a_confirmation_and_changes_nothing(self, world):
        email, news, _, ann = world
        path = reverse("entity_event:unsubscribe", args=[unsubscribe_token(ann.pk, email.pk, [news.pk])])
        page = Client().get(path)
        assert page.status_code == 200
        content = page.content.decode()
        assert '<input type="hidden" name="List-Unsubscribe" value="One-Click">' in content
        assert reverse("entity_event:preferences") in content
        assert not Unsubscription.objects.exists()
        # The page's button posts the one-click body.
        assert Client().post(path, {"List-Unsubscribe": "One-Click"}).status_code == 200
        assert Unsubscription.objects.count() == 1

    @pytest.mark.parametrize(
        "token",
        [
            "tampered",
            signing.dumps({"e": 1, "m": 1, "s": [1]}, salt="another.link"),  # signed for another use
            signing.dumps(
                {"e": 1, "m": 1, "s": [1]}, key="another site's key", salt="entity_event.unsubscribe"
            ),
        ],
    )
    def test_a_tampered_or_foreign_token_is_a_400_and_changes_nothing(self, world, token):
        path = reverse("entity_event:unsubscribe", args=[token])
        assert Client().get(path).status_code == 400
        assert Client().post(path, {"List-Unsubscribe": "One-Click"}).status_code == 400
        assert not Unsubscription.objects.exists()

    def test_a_valid_token_changed_by_one_character_is_refused(self, world):
        email, news, _, ann = world
        token = unsubscribe_token(ann.pk, email.pk, [news.pk])
        forged = token[:-1] + ("A" if token[-1] != "A" else "B")
        response = Client().post(
            reverse("entity_event:unsubscribe", args=[forged]), {"List-Unsubscribe": "One-Click"}
        )
        assert response.status_code == 400 and not Unsubscription.objects.exists()

    def test_a_post_without_the_one_click_body_changes_nothing(self, world):
        email, news, _, ann = world
        path = reverse("entity_event:unsubscribe", args=[unsubscribe_token(ann.pk, email.pk, [news.pk])])
        assert Client().post(path, {"something": "else"}).status_code == 400
        assert Client().put(path).status_code == 400
        assert not Unsubscription.objects.exists()

    def test_a_token_of_a_required_source_is_refused(self, world):
        email, _, terms, ann = world
        path = reverse("entity_event:unsubscribe", args=[unsubscribe_token(ann.pk, email.pk, [terms.pk])])
        response = Client().post(path, {"List-Unsubscribe": "One-Click"})
        assert response.status_code == 400 and "Terms is required" in response.content.decode()
        assert not Unsubscription.objects.exists()

    def test_a_token_of_what_no_longer_exists_is_refused(self, world):
        email, news, _, ann = world
        path = reverse(
            "entity_event:unsubscribe", args=[unsubscribe_token(ann.pk, email.pk, [news.pk, 99999])]
        )
        assert Client().get(path).status_code == 400
