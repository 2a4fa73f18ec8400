"""Live updates (``entity_event.notifications.live``, ``entity_event.notifications.live_channels``),
the ``events_created`` signal they listen to, who the notification center takes a user for, and
its settings' checks."""

from __future__ import annotations

import logging
from unittest import mock

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from django.urls import reverse

from entity_event.checks import check_settings
from entity_event.conf import SETTINGS, app_settings
from entity_event.models import Event
from entity_event.notifications.center import entity_for_user
from entity_event.notifications.live import MESSAGE_TYPE, channel_name
from entity_event.notifications.live_channels import NotificationChannelManager
from entity_event.signals import events_created
from tests.notifications.conftest import logged_in, publish

pytestmark = pytest.mark.django_db

SETTINGS_BY_NAME = {setting.name: setting for setting in SETTINGS.values()}


@pytest.fixture
def sent():
    """The messages given to django-eventstream, which would push them to the open pages."""
    with mock.patch("django_eventstream.send_event") as send_event:
        yield send_event


class TestPublishing:
    def test_new_events_are_announced_once_committed(self, center, sent, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            publish(center.news, 3)
        assert not sent.called  # nothing before the commit
        for callback in callbacks:
            callback()
        sent.assert_called_once_with(channel_name(), MESSAGE_TYPE, {"count": 3})
        assert channel_name() == "entity-event-notifications"

    def test_events_the_medium_does_not_carry_are_not(
        self, center, source_group, sent, django_capture_on_commit_callbacks
    ):
        from entity_event.models import Source

        elsewhere = Source.objects.create(group=source_group, name="elsewhere", display_name="Elsewhere")
        with django_capture_on_commit_callbacks(execute=True):
            publish(elsewhere, 2)
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

    def test_an_anonymous_visitor_is_refused(self, client, center):
        assert client.get(reverse("entity_event:live")).status_code == 403

    def test_404_when_live_updates_are_off(self, center):
        with override_settings(ENTITY_EVENT_LIVE_UPDATES=False):
            assert logged_in(center.alice).get(reverse("entity_event:live")).status_code == 404

    def test_the_channel_manager(self, center):
        manager = NotificationChannelManager()
        assert manager.can_read_channel(center.alice, channel_name())
        assert not manager.can_read_channel(None, channel_name())
        assert not manager.can_read_channel(AnonymousUser(), channel_name())
        assert manager.can_read_channel(None, "another-channel")  # django-eventstream's default
        assert not manager.is_channel_reliable(channel_name())  # pings are not stored
        assert manager.is_channel_reliable("another-channel")


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
