"""The admin in a real browser: log in, create an event by hand, find it in the event list, then
read it on the example site's newsfeed page of a subscribed user."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from entity.models import Entity

from entity_event.models import Event, Source, SourceGroup
from tests.browser.conftest import ADMIN_PASSWORD, ADMIN_USERNAME
from tests.worlds import newsfeed_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def seeded(db) -> Source:
    """The data a new site starts with: a superuser, a source group and a source."""
    User.objects.create_superuser(ADMIN_USERNAME, "admin@example.com", ADMIN_PASSWORD)
    group = SourceGroup.objects.create(name="site", display_name="Site")
    return Source.objects.create(group=group, name="announcement", display_name="Announcement")


@pytest.fixture
def newsfeed_reader(seeded) -> Entity:
    """The example site's newsfeed (``newsfeed_world``), with a context renderer for the
    announcements showing the admin event's text, and a user entity under a team whose users all
    receive the announcements there. Returns the user entity."""
    feed = newsfeed_world(
        [seeded], '<p class="announcement">{{ text }}</p>', "Staff", {"Robin Reader": ["Staff"]}
    )
    return feed.members["Robin Reader"]


def test_create_an_event_in_the_admin(seeded, newsfeed_reader, site):
    site.log_in()
    index = site.page.locator("#content-main").inner_text()
    for model_name in ("Admin events", "Events", "Events seen", "Context renderers", "Subscriptions"):
        assert model_name in index
    site.screenshot("1-admin-index")

    site.visit("/admin/entity_event/adminevent/add/")
    site.page.select_option("#id_source", label="Announcement")
    site.page.fill("#id_text", "The site is down for maintenance on Sunday")
    site.page.fill("#id_expires_date", "2999-12-31")
    site.page.fill("#id_expires_time", "23:00:00")
    site.screenshot("2-admin-event-form")
    site.page.click("input[name=_save]")
    site.page.wait_for_url("**/admin/entity_event/adminevent/")
    assert "was added successfully" in site.page.locator("ul.messagelist").inner_text()
    site.screenshot("3-admin-event-list")

    event = Event.objects.get()
    assert event.source == seeded
    assert event.context == {"text": "The site is down for maintenance on Sunday"}
    assert (event.time_expires.year, event.time_expires.hour) == (2999, 23)

    site.visit("/admin/entity_event/event/")
    rows = site.page.locator("#result_list tbody tr")
    assert rows.count() == 1
    assert "Announcement" in rows.first.inner_text()
    assert event.uuid in rows.first.inner_text()
    site.screenshot("4-event-list")

    site.visit(f"/feed/{newsfeed_reader.pk}/")
    assert site.page.locator("h1").inner_text() == "Newsfeed of Robin Reader"
    items = site.page.locator("ol.feed li.event")
    assert items.count() == 1
    assert items.first.locator("p.announcement").inner_text() == "The site is down for maintenance on Sunday"
    assert items.first.get_attribute("id") == f"event-{event.pk}"
    site.screenshot("5-newsfeed")


def test_wrong_password_is_refused(seeded, site):
    site.visit("/admin/login/?next=/admin/")
    site.page.fill("#id_username", ADMIN_USERNAME)
    site.page.fill("#id_password", "not the password")
    site.page.click("input[type=submit]")
    assert "Please enter the correct username and password" in site.page.locator(".errornote").inner_text()
    site.screenshot("login-refused")
