"""The notification center in a real browser, served over ASGI: a user logs in, sees the unread
count in the bell, marks notifications read, and sees an event created in the admin appear
without a reload; with the live stream unreachable, the page says so and polls instead."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import override_settings
from django.utils import timezone
from entity.models import Entity

from entity_event.models import (
    ContextRenderer,
    Event,
    Medium,
    RenderingStyle,
    Source,
    SourceGroup,
    Subscription,
)
from tests.browser.conftest import ADMIN_PASSWORD, ADMIN_USERNAME
from tests.entities import entity_kind, make_entity, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

#: The issue's promise: a new event shows on an open list within 2 seconds.
LIVE_WITHIN_MS = 2_000


@pytest.fixture
def world(db) -> Source:
    """Robin (a user who logs in, password "robin") in a team subscribed to announcements on the
    notifications medium, two announcements already; a superuser for the admin."""
    User.objects.create_superuser(ADMIN_USERNAME, "admin@example.com", ADMIN_PASSWORD)
    group = SourceGroup.objects.create(name="site", display_name="Site")
    source = Source.objects.create(group=group, name="announcement", display_name="Announcement")
    style = RenderingStyle.objects.create(name="bar", display_name="Bar")
    ContextRenderer.objects.create(
        name="announcement-bar",
        rendering_style=style,
        source=source,
        text_template="{{ text }}",
        html_template='<span class="announcement">{{ text }}</span>',
    )
    medium = Medium.objects.create(name="notifications", display_name="Notifications", rendering_style=style)
    Medium.objects.filter(pk=medium.pk).update(time_created=timezone.now() - timedelta(days=1))
    team = make_entity("Staff", kind="team")
    make_user("robin", make_entity("Robin Reader", supers=(team,)))
    Subscription.objects.create(
        medium=medium, source=source, entity=team, sub_entity_kind=entity_kind("user"), only_following=False
    )
    for n, text in enumerate(["Welcome aboard", "The cafeteria is open"]):
        Event.objects.create_event(
            source=source, context={"text": text}, time=timezone.now() - timedelta(minutes=10 - n)
        )
    return source


def log_in_on_site(page, server: str, username: str, password: str) -> None:
    page.goto(f"{server}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/notifications/$"))


def unread_count(page) -> str:
    return page.locator("header [data-entity-event-unread-count]").inner_text()


def test_read_mark_and_watch_an_admin_event_arrive(world, asgi_server, site, browser):
    page = site.page
    log_in_on_site(page, asgi_server, "robin", "robin")
    assert unread_count(page) == "2"
    assert page.locator("li.entity-event-notification.unread").count() == 2
    page.wait_for_selector("[data-entity-event-notifications][data-live-state=open]", state="attached")
    site.screenshot("1-two-unread")

    page.locator("li.entity-event-notification", has_text="Welcome aboard").get_by_role(
        "button", name="Mark read"
    ).click()
    page.wait_for_load_state()
    assert unread_count(page) == "1"
    page.get_by_role("button", name="Mark all read").click()
    page.wait_for_load_state()
    assert unread_count(page) == "0"
    assert page.locator("li.entity-event-notification.unread").count() == 0
    page.wait_for_selector("[data-entity-event-notifications][data-live-state=open]", state="attached")
    site.screenshot("2-all-read")

    # Staff create an announcement in the admin, in another browser session.
    admin = browser.new_context().new_page()
    admin.goto(f"{asgi_server}/admin/login/?next=/admin/")
    admin.fill("#id_username", ADMIN_USERNAME)
    admin.fill("#id_password", ADMIN_PASSWORD)
    admin.click("input[type=submit]")
    admin.goto(f"{asgi_server}/admin/entity_event/adminevent/add/")
    admin.select_option("#id_source", label="Announcement")
    admin.fill("#id_text", "Fire drill at noon")
    admin.click("input[name=_save]")
    admin.wait_for_url("**/admin/entity_event/adminevent/")
    saved = time.monotonic()

    # Robin's open page shows it, without a reload.
    page.wait_for_selector(
        "li.entity-event-notification.unread >> text=Fire drill at noon", timeout=LIVE_WITHIN_MS
    )
    assert time.monotonic() - saved < LIVE_WITHIN_MS / 1000
    page.wait_for_function(
        "document.querySelector('header [data-entity-event-unread-count]').textContent === '1'",
        timeout=LIVE_WITHIN_MS,
    )
    site.screenshot("3-arrived-live")
    assert Event.objects.filter(context__text="Fire drill at noon").count() == 1


def test_without_the_live_stream_the_page_polls_and_says_so(world, asgi_server, site):
    page = site.page
    page.route("**/notifications/live/", lambda route: route.abort())  # the stream is down
    with override_settings(ENTITY_EVENT_POLL_SECONDS=1):
        log_in_on_site(page, asgi_server, "robin", "robin")
        assert unread_count(page) == "2"
        status = page.locator("[data-entity-event-live-status]")
        status.wait_for(state="visible")
        assert "Live updates are unavailable" in status.inner_text()
        site.screenshot("1-polling")
        Event.objects.create_event(source=world, context={"text": "Polled in"})
        page.wait_for_selector("li.entity-event-notification >> text=Polled in", timeout=5_000)
        page.wait_for_function(
            "document.querySelector('header [data-entity-event-unread-count]').textContent === '3'"
        )
    assert Entity.objects.filter(display_name="Robin Reader").exists()
