"""Live updates (``entity_event.notifications.live``, ``entity_event.notifications.live_channels``),
the ``events_created`` signal they listen to, who the notification center takes a user for, and
its settings' checks."""

from __future__ import annotations

import logging
import re
import time
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import jwt
import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse
from django.template import Context, Engine
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone, translation
from entity.models import Entity

from entity_event.checks import check_settings
from entity_event.conf import SETTINGS, app_settings
from entity_event.models import Event, Source, Subscription, Unsubscription
from entity_event.notifications.center import entity_for_user
from entity_event.notifications.live import MESSAGE_TYPE, channel_name, page_script_context
from entity_event.notifications.live_channels import NotificationChannelManager
from entity_event.signals import events_created
from tests.entities import make_entity
from tests.notifications.conftest import logged_in, publish

pytestmark = pytest.mark.django_db

SETTINGS_BY_NAME = {setting.name: setting for setting in SETTINGS.values()}


@pytest.fixture
def sent():
    """The messages given to django-eventstream, which would push them to the open pages."""
    with mock.patch("django_eventstream.send_event") as send_event:
        yield send_event


def messages(sent) -> dict[str, dict]:
    """``{channel: data}`` of the messages sent, each of the notification center's type."""
    assert {call.args[1] for call in sent.call_args_list} <= {MESSAGE_TYPE}
    channels = [call.args[0] for call in sent.call_args_list]
    assert len(channels) == len(set(channels))  # one message per person and batch
    return {call.args[0]: call.args[2] for call in sent.call_args_list}


def channel_of(entity) -> str:
    return channel_name(entity.pk)


@pytest.fixture
def direct(center, source_group) -> Source:
    """A source that Bob alone is subscribed to, on the notification medium."""
    source = Source.objects.create(group=source_group, name="direct", display_name="Direct")
    Subscription.objects.create(
        medium=center.medium, source=source, entity=center.bob_entity, only_following=False
    )
    return source


class TestPublishing:
    def test_new_events_are_announced_once_committed(self, center, sent, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            publish(center.news, 3)
        assert not sent.called  # nothing before the commit
        for callback in callbacks:
            callback()
        assert messages(sent) == {
            channel_of(center.alice_entity): {"count": 3},
            channel_of(center.bob_entity): {"count": 3},
        }
        assert channel_name(42) == "entity-event-notifications-42"

    def test_each_person_hears_only_of_the_events_that_reach_them(
        self, center, direct, sent, django_capture_on_commit_callbacks
    ):
        # The probe's finding: Alice's stream got {"count": 1} for an event only Bob receives.
        with django_capture_on_commit_callbacks(execute=True):
            publish(direct, 1)
        assert messages(sent) == {channel_of(center.bob_entity): {"count": 1}}
        sent.reset_mock()
        with django_capture_on_commit_callbacks(execute=True):
            Event.objects.create_events([{"source": center.news}, {"source": direct}, {"source": direct}])
        assert messages(sent) == {
            channel_of(center.alice_entity): {"count": 1},
            channel_of(center.bob_entity): {"count": 3},
        }

    def test_the_counts_are_those_of_the_feeds(
        self, center, direct, sent, django_capture_on_commit_callbacks
    ):
        """Unsubscriptions, only-following subscriptions, inactive entities, an entity reached by
        two subscriptions: each count is what the person's feed gains."""
        Unsubscription.objects.create(medium=center.medium, source=center.news, entity=center.alice_entity)
        Subscription.objects.create(  # Carol follows news about herself only
            medium=center.medium, source=center.news, entity=center.carol_entity, only_following=True
        )
        Subscription.objects.create(  # Bob again, individually: each event counts once
            medium=center.medium, source=center.news, entity=center.bob_entity, only_following=False
        )
        dave = make_entity("Dave", supers=(Entity.objects.get(display_name="Team"),), is_active=False)
        with django_capture_on_commit_callbacks(execute=True):
            created = Event.objects.create_events(
                [
                    {
                        "source": center.news,
                        "context": {"title": "about carol"},
                        "actors": [center.carol_entity],
                    },
                    {"source": center.news, "context": {"title": "about nobody"}},
                    {"source": direct, "context": {"title": "for bob"}},
                ]
            )
        expected = {
            channel_of(entity): {"count": count}
            for entity in (center.alice_entity, center.bob_entity, center.carol_entity, dave)
            if (count := center.medium.entity_events(entity).filter(pk__in=[e.pk for e in created]).count())
        }
        assert messages(sent) == expected
        assert expected == {
            channel_of(center.bob_entity): {"count": 3},
            channel_of(center.carol_entity): {"count": 1},
        }

    def test_events_outside_the_feeds_wake_nobody(self, center, sent, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            publish(center.news, 1, time_expires=timezone.now() - timedelta(minutes=1))
            Event.objects.create_event(
                source=center.news, time=center.medium.time_created - timedelta(days=1)
            )
        assert not sent.called

    def test_events_the_medium_does_not_carry_are_not_announced(
        self, center, source_group, sent, django_capture_on_commit_callbacks
    ):
        elsewhere = Source.objects.create(group=source_group, name="elsewhere", display_name="Elsewhere")
        with django_capture_on_commit_callbacks(execute=True):
            publish(elsewhere, 2)
        assert not sent.called

    @pytest.mark.parametrize("members", [2, 40])
    def test_two_queries_whatever_the_number_of_recipients(
        self, center, members, sent, django_capture_on_commit_callbacks, django_assert_num_queries
    ):
        team = Entity.objects.get(display_name="Team")
        for number in range(members - 2):
            make_entity(f"Member {number}", supers=(team,))
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            publish(center.news, 2)
        with django_assert_num_queries(2):  # the medium; the recipients with their counts
            for callback in callbacks:
                callback()
        assert sent.call_count == members
        assert all(data == {"count": 2} for data in messages(sent).values())

    def test_nothing_is_sent_without_the_medium(self, center, sent, django_capture_on_commit_callbacks):
        with (
            override_settings(ENTITY_EVENT_NOTIFICATION_MEDIUM="missing"),
            django_capture_on_commit_callbacks(execute=True),
        ):
            publish(center.news, 1)
        assert not sent.called

    def test_nothing_is_sent_with_live_updates_off(self, center, sent, django_capture_on_commit_callbacks):
        with (
            override_settings(ENTITY_EVENT_LIVE_UPDATES=False),
            django_capture_on_commit_callbacks(execute=True),
        ):
            publish(center.news, 1)
        assert not sent.called

    def test_a_failing_channel_does_not_lose_the_events(
        self, center, sent, django_capture_on_commit_callbacks, caplog
    ):
        sent.side_effect = ConnectionError("Redis is down")
        with caplog.at_level(logging.ERROR), django_capture_on_commit_callbacks(execute=True):
            [event] = publish(center.news, 1)
        assert Event.objects.filter(pk=event.pk).exists()
        assert "Redis is down" in caplog.text


class TestSignal:
    def test_sent_after_the_commit_with_the_created_events(self, center, django_capture_on_commit_callbacks):
        received = []
        events_created.connect(lambda **kw: received.append(kw), weak=False, dispatch_uid="test")
        try:
            with django_capture_on_commit_callbacks(execute=True):
                first = publish(center.news, 2)
                again = Event.objects.create_events(
                    [{"source": center.news, "uuid": "news-0", "ignore_duplicates": True},
                     {"source": center.news, "uuid": "news-new"}]
                )  # fmt: skip
        finally:
            events_created.disconnect(dispatch_uid="test")
        assert [kw["events"] for kw in received] == [first, [again[1]]]
        assert {kw["using"] for kw in received} == {"default"}
        assert {kw["sender"] for kw in received} == {Event}

    def test_not_sent_when_nothing_was_created(self, center, django_capture_on_commit_callbacks):
        publish(center.news, 1)
        with (
            mock.patch.object(events_created, "send") as send,
            django_capture_on_commit_callbacks(execute=True),
        ):
            Event.objects.create_events(
                [{"source": center.news, "uuid": "news-0", "ignore_duplicates": True}]
            )
        assert not send.called


class TestStream:
    def test_a_logged_in_user_gets_the_stream(self, center):
        response = logged_in(center.alice).get(reverse("entity_event:live"))
        assert response.status_code == 200
        assert response["Content-Type"] == "text/event-stream"
        assert response.streaming  # served by django-eventstream over ASGI; not read here

    def test_the_stream_is_the_users_own_channel(self, center):
        with mock.patch("django_eventstream.views.events", return_value=HttpResponse()) as events:
            logged_in(center.alice).get(reverse("entity_event:live"))
        assert events.call_args.kwargs == {"channels": [channel_of(center.alice_entity)]}

    def test_an_anonymous_visitor_is_refused(self, client, center):
        assert client.get(reverse("entity_event:live")).status_code == 403

    def test_404_when_live_updates_are_off(self, center):
        with override_settings(ENTITY_EVENT_LIVE_UPDATES=False):
            assert logged_in(center.alice).get(reverse("entity_event:live")).status_code == 404

    def test_the_channel_manager_lets_each_person_read_their_own_channel_only(self, center):
        manager = NotificationChannelManager()
        alice, bob = channel_of(center.alice_entity), channel_of(center.bob_entity)
        assert manager.can_read_channel(center.alice, alice)
        assert not manager.can_read_channel(center.alice, bob)
        assert manager.can_read_channel(center.bob, bob)
        # Staff allowed to see any feed stream only their own (support has no entity: none).
        assert not manager.can_read_channel(center.support, bob)
        assert not manager.can_read_channel(None, alice)
        assert not manager.can_read_channel(AnonymousUser(), alice)
        # The channel every page heard before, and any other name of the app's: nobody's.
        assert not manager.can_read_channel(center.alice, "entity-event-notifications")
        assert not manager.can_read_channel(center.alice, f"entity-event-other-{center.alice_entity.pk}")
        assert manager.can_read_channel(None, "another-channel")  # django-eventstream's default
        assert not manager.is_channel_reliable(alice)  # pings are not stored
        assert manager.is_channel_reliable("another-channel")

    def test_a_signed_token_naming_someone_elses_channel_is_refused(self, center):
        """A GRIP proxy's ``es-meta`` token names the channels and the user; even one signed with
        the site's key reads no channel but its user's own."""

        def stream(channel: str, user) -> HttpResponse:
            token = jwt.encode(
                {"channels": [channel], "user": user.pk, "exp": int(time.time()) + 60},
                settings.SECRET_KEY,
                algorithm="HS256",
            )
            return logged_in(center.alice).get(reverse("entity_event:live"), {"es-meta": token})

        refused = whole(stream(channel_of(center.bob_entity), center.alice))
        assert "event: stream-error" in refused and "Permission denied" in refused
        assert stream(channel_of(center.alice_entity), center.alice).streaming
        # A token naming Bob as its user too: django-eventstream would take Bob for the reader,
        # and Bob may read his channel. The stream refuses a token of another user than the
        # one logged in.
        for user in (center.bob.pk, str(center.bob.pk), "anonymous"):
            response = stream(channel_of(center.bob_entity), SimpleNamespace(pk=user))
            assert response.status_code == 403
            assert response["Content-Type"] == "text/plain; charset=utf-8"
            assert response.content.decode() == (
                "Forbidden: es-meta names another user than the one logged in.\n"
            )
        assert stream(channel_of(center.alice_entity), SimpleNamespace(pk=center.alice.pk)).streaming


def whole(response: HttpResponse) -> str:
    """The body of a stream that ends by itself (django-eventstream's are asynchronous)."""

    async def read() -> bytes:
        return b"".join([chunk async for chunk in response.streaming_content])

    return async_to_sync(read)().decode()


class TestPageScript:
    def test_the_pages_poll_beside_the_stream_unless_it_crosses_processes(self, center):
        assert page_script_context() == {
            "live_url": "/notifications/live/",
            "poll_seconds": 15,
            "live_across_processes": False,
        }
        page = logged_in(center.alice).get(reverse("entity_event:notifications")).content.decode()
        assert "data-live-across-processes" not in page
        with override_settings(EVENTSTREAM_REDIS={"host": "127.0.0.1", "port": 6379, "db": 7}):
            assert page_script_context()["live_across_processes"]
            page = logged_in(center.alice).get(reverse("entity_event:notifications")).content.decode()
        assert page.count('data-live-across-processes="1"') == 2  # the bell's and the list's

    def test_the_scripts_words_come_from_the_server(self, center):
        """notifications.js writes no word of its own: the page gives it its labels, translated
        in the person's language, "{count}" standing for the unread count."""
        page = logged_in(center.alice).get(reverse("entity_event:notifications")).content.decode()
        labels = {
            "unread": "Unread",
            "just-now": "just now",
            "mark-read": "Mark read",
            "mark-unread": "Mark unread",
            "bell": "Notifications ({count} unread)",
            "announced": "Unread notifications: {count}",
            "polling": (
                "Live updates are unavailable: checking for new notifications every 15 s. "
                "Reload the page to try again."
            ),
        }
        for name, text in labels.items():
            assert page.count(f'data-label-{name}="{text}"') == 2, name  # the bell's and the list's
        script = (Path(settings.BASE_DIR) / "entity_event/static/entity_event/notifications.js").read_text()
        code = re.sub(r"/\*.*?\*/|//[^\n]*", "", script, flags=re.DOTALL)
        strings = re.findall(r'"([^"]*)"', code)
        assert "data-entity-event-announcer" in strings  # the strings are found
        for text in labels.values():
            assert not [string for string in strings if text.split(" ")[0] in string.split(" ")], text

    def test_the_apps_own_layout_is_in_the_persons_language(self):
        """The app's ``base.html`` (the example site overrides it in this project)."""
        engine = Engine(
            dirs=[str(Path(settings.BASE_DIR) / "entity_event/templates")],
            libraries={"i18n": "django.templatetags.i18n"},
        )
        template = engine.get_template("entity_event/notifications/base.html")
        for language in ("en", "fr"):
            with translation.override(language):
                assert f'<html lang="{language}">' in template.render(Context({}))


class TestWhoIsAsking:
    def test_the_default_is_django_entitys_entity_of_the_user(self, center):
        assert entity_for_user(center.alice) == center.alice_entity
        assert entity_for_user(center.support) is None
        assert entity_for_user(AnonymousUser()) is None

    def test_an_inactive_entity_is_no_entity(self, center):
        center.alice_entity.delete()  # django-entity deactivates
        assert entity_for_user(center.alice) is None

    def test_a_site_can_name_its_own_function(self, center):
        with override_settings(ENTITY_EVENT_ENTITY_FOR_USER="tests.notifications.test_live.everyone_is_bob"):
            assert entity_for_user(center.alice) == center.bob_entity
            response = logged_in(center.alice).get(reverse("entity_event:api_unread_count"))
        assert response.status_code == 200


def everyone_is_bob(user):
    from entity.models import Entity

    return Entity.objects.get(display_name="Bob")


class TestSettings:
    @pytest.mark.parametrize(
        ("name", "value", "message"),
        [
            (
                "ENTITY_EVENT_NOTIFICATION_MEDIUM",
                "",
                "ENTITY_EVENT_NOTIFICATION_MEDIUM must be the name of a Medium",
            ),
            (
                "ENTITY_EVENT_NOTIFICATION_MEDIUM",
                3,
                "ENTITY_EVENT_NOTIFICATION_MEDIUM must be the name of a Medium",
            ),
            (
                "ENTITY_EVENT_ENTITY_FOR_USER",
                "nodots",
                "ENTITY_EVENT_ENTITY_FOR_USER must be the dotted path",
            ),
            ("ENTITY_EVENT_ENTITY_FOR_USER", None, "ENTITY_EVENT_ENTITY_FOR_USER must be the dotted path"),
            ("ENTITY_EVENT_LIVE_UPDATES", "yes", "ENTITY_EVENT_LIVE_UPDATES must be True or False"),
            (
                "ENTITY_EVENT_POLL_SECONDS",
                0,
                "ENTITY_EVENT_POLL_SECONDS must be a positive number of seconds",
            ),
            (
                "ENTITY_EVENT_POLL_SECONDS",
                True,
                "ENTITY_EVENT_POLL_SECONDS must be a positive number of seconds",
            ),
        ],
    )
    def test_bad_values_are_reported(self, name, value, message):
        with override_settings(**{name: value}):
            [error] = check_settings()
        assert error.id == SETTINGS_BY_NAME[name].check_id and message in error.msg

    def test_live_updates_need_django_eventstream(self):
        assert app_settings.LIVE_UPDATES
        with override_settings(INSTALLED_APPS=["entity_event"]):
            assert not app_settings.LIVE_UPDATES
        with override_settings(ENTITY_EVENT_LIVE_UPDATES="on"), pytest.raises(ImproperlyConfigured):
            app_settings.LIVE_UPDATES  # noqa: B018 (reading the setting is the test)
