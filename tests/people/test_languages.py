"""Each person's language and time zone: every message is rendered (subject, text, HTML) with the
recipient's language and zone active, ``entity_meta["language"]`` and ``entity_meta["time_zone"]``
by default, the site's otherwise; a chunk renders each (event, language, zone) once, not once per
recipient; the pages a person opens are in the language their browser asks for."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core import mail
from django.core.checks import run_checks
from django.core.management import call_command
from django.test import Client
from django.test.signals import template_rendered
from django.urls import reverse
from django.utils import timezone, translation

from entity_event.models import ContextRenderer, Event, Medium, RenderingStyle, Source, Subscription
from entity_event.notifications.unsubscribe import unsubscribe_token
from entity_event.rendering.locales import locale_of
from tests.entities import entity_kind, make_entity, make_user

pytestmark = pytest.mark.django_db

#: What the template shows of the language and zone active while it renders.
LOCALE_TEMPLATE = (
    "{% load i18n tz %}{% get_current_language as language %}{% get_current_timezone as zone %}"
    "{{ language }} {{ zone }}"
)


@pytest.fixture
def world(source_group):
    style = RenderingStyle.objects.create(name="mail", display_name="Mail")
    email = Medium.objects.create(name="email", display_name="Email", rendering_style=style)
    news = Source.objects.create(group=source_group, name="news", display_name="News")
    ContextRenderer.objects.create(
        name="news", rendering_style=style, source=news, text_template=LOCALE_TEMPLATE,
        html_template=f"<p>{LOCALE_TEMPLATE}</p>",
    )  # fmt: skip
    team = make_entity("Team", kind="team")
    Subscription.objects.create(
        medium=email, source=news, entity=team, sub_entity_kind=entity_kind("user"), only_following=False
    )
    return email, news, team


def person(team, name: str, **meta: str):
    entity = make_entity(name, supers=(team,))
    entity.entity_meta = {"email": f"{name.lower()}@example.com", **meta}
    entity.save()
    return entity


def deliver(*arguments: str) -> None:
    call_command("deliver_entity_events", "--medium", "email", *arguments, stdout=StringIO())


def message_to(name: str):
    [message] = [message for message in mail.outbox if message.to == [f"{name.lower()}@example.com"]]
    return message


class TestMessages:
    def test_a_french_recipient_reads_french_in_her_zone_and_the_others_their_own(self, world):
        _, news, team = world
        person(team, "Amelie", language="fr", time_zone="Europe/Paris")
        person(team, "Bernd", language="de", time_zone="America/New_York")
        person(team, "Carl")
        Event.objects.create_event(source=news, context={})
        deliver()
        amelie = message_to("Amelie")
        assert amelie.body.startswith("fr Europe/Paris")
        assert amelie.alternatives[0].content.startswith("<p>fr Europe/Paris</p>")
        assert "Pour ne plus recevoir ces messages" in amelie.body
        assert ">Se désabonner de ces messages</a>" in amelie.alternatives[0].content
        bernd = message_to("Bernd")
        assert bernd.body.startswith("de America/New_York")
        assert "Um diese Nachrichten nicht mehr zu erhalten" in bernd.body
        carl = message_to("Carl")
        assert carl.body.startswith("en UTC")
        assert "To stop receiving these messages" in carl.body
        # Nothing leaks out of the rendering: the site's language is active again.
        assert translation.get_language() == "en"

    def test_a_digest_subject_is_in_the_recipients_language(self, world):
        _, news, team = world
        person(team, "Amelie", language="fr")
        person(team, "Bernd", language="de")
        for _ in range(3):
            Event.objects.create_event(source=news, context={})
        deliver("--digest")
        assert message_to("Amelie").subject == "3 nouveaux événements"
        assert message_to("Bernd").subject == "3 neue Ereignisse"

    def test_each_event_renders_once_per_language_and_zone_not_per_recipient(self, world):
        _, news, team = world
        for index in range(4):
            person(team, f"French{index}", language="fr", time_zone="Europe/Paris")
        for index in range(3):
            person(team, f"English{index}")
        person(team, "Other", language="fr", time_zone="Europe/Brussels")
        Event.objects.create_event(source=news, context={})
        Event.objects.create_event(source=news, context={})
        renderings = []

        def rendered(sender, template, context, **kwargs):
            renderings.append((translation.get_language(), str(timezone.get_current_timezone())))

        template_rendered.connect(rendered)
        try:
            deliver()
        finally:
            template_rendered.disconnect(rendered)
        assert len(mail.outbox) == 16
        # Three (language, zone) pairs among eight recipients: each of the two events is rendered
        # (its text and its HTML template) three times, not eight.
        assert sorted(renderings) == sorted(
            [("en", "UTC"), ("fr", "Europe/Paris"), ("fr", "Europe/Brussels")] * 4
        )

    def test_an_unknown_language_or_zone_falls_back_to_the_sites(self, world):
        _, news, team = world
        person(team, "Xavier", language="xx", time_zone="Mars/Olympus_Mons")
        person(team, "Quebec", language="fr-ca", time_zone=42)
        Event.objects.create_event(source=news, context={})
        deliver()
        assert message_to("Xavier").body.startswith("en UTC")
        assert message_to("Quebec").body.startswith("fr UTC")  # the closest language of the site's

    def test_the_keys_are_settings(self, world, settings):
        _, news, team = world
        settings.ENTITY_EVENT_LANGUAGE_KEY = "lang"
        settings.ENTITY_EVENT_TIME_ZONE_KEY = "tz"
        person(team, "Amelie", lang="fr", tz="Europe/Paris", language="de")
        Event.objects.create_event(source=news, context={})
        deliver()
        assert message_to("Amelie").body.startswith("fr Europe/Paris")

    @pytest.mark.parametrize("setting", ["ENTITY_EVENT_LANGUAGE_KEY", "ENTITY_EVENT_TIME_ZONE_KEY"])
    def test_a_key_that_is_not_a_name_is_a_system_error(self, settings, setting):
        setattr(settings, setting, "")
        errors = [message for message in run_checks() if message.id.startswith("entity_event.E")]
        assert [setting in message.msg for message in errors] == [True]

    def test_an_entity_without_a_dict_of_meta_reads_the_sites_language(self, world):
        _, _, team = world
        team.entity_meta = None
        assert locale_of(team) == ("en", "UTC")


class TestPages:
    def test_the_unsubscribe_page_is_in_the_recipients_language(self, world):
        email, news, team = world
        amelie = person(team, "Amelie", language="fr")
        path = reverse("entity_event:unsubscribe", args=[unsubscribe_token(amelie.pk, email.pk, [news.pk])])
        content = Client().get(path).content.decode()
        assert "Se désabonner" in content and "Choisir ce que vous recevez" in content

    def test_the_preference_center_is_in_the_language_the_browser_asks_for(self, world):
        _, _, team = world
        user = make_user("bernd", person(team, "Bernd"))
        client = Client(headers={"accept-language": "de"})
        client.force_login(user)
        response = client.get(reverse("entity_event:preferences"))
        assert "Was Sie erhalten" in response.content.decode()
        assert response.headers["Content-Language"] == "de"
