"""The notification center in a real browser, served over ASGI: a user logs in, sees the unread
count in the bell, marks notifications read, and sees an event created in the admin appear
without a reload, with its "Mark read" button, the tab's title and the screen readers' status
following the count; with the live stream unreachable, the page says so and polls instead. The
pages as a person reads them: item texts without a doubled word, everything reachable and
usable by keyboard with a visible focus, buttons and the bell named, the example site's header
on every page."""

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


def announced(page) -> str:
    """What the status region for screen readers says (the unread count, once it changed)."""
    return page.locator("[data-entity-event-announcer]").inner_text()


def item(page, text: str):
    return page.locator("li.entity-event-notification", has_text=text)


def words(locator) -> str:
    """The text of an element as its words (its DOM text: styles such as uppercase aside)."""
    return " ".join(locator.text_content().split())


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
    # The tab's title and the screen readers' status follow the count.
    assert page.title() == "(1) Notifications · Yoursite"
    assert announced(page) == "Unread notifications: 1"
    assert page.get_by_role("link", name="Notifications (1 unread)").is_visible()

    # The item that arrived live can be marked read like the others.
    arrived = item(page, "Fire drill at noon")
    assert words(arrived) == "Unread Fire drill at noon just now Mark read"
    arrived.get_by_role("button", name="Mark read").click()
    page.wait_for_load_state()
    assert unread_count(page) == "0"
    assert page.title() == "Notifications · Yoursite"
    assert item(page, "Fire drill at noon").get_by_role("button", name="Mark unread").is_visible()
    site.screenshot("4-arrived-then-read")


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


def test_items_read_as_written(world, asgi_server, site):
    """An unread item is marked "Unread", not "New": the demo's product texts start with "New"
    ("New on Yoursite: ..."), which read "New New on Yoursite" beside the old mark."""
    Event.objects.create_event(source=world, context={"text": "New on Yoursite: Hiking boots ($89)."})
    page = site.page
    log_in_on_site(page, asgi_server, "robin", "robin")
    page.wait_for_selector("[data-entity-event-notifications][data-live-state=open]", state="attached")
    Event.objects.create_event(source=world, context={"text": "New on Yoursite: Espresso machine ($129)."})
    page.wait_for_selector("li.entity-event-notification >> text=Espresso machine", timeout=LIVE_WITHIN_MS)
    texts = page.locator("li.entity-event-notification.unread .entity-event-body").all_inner_texts()
    assert texts[:2] == ["New on Yoursite: Espresso machine ($129).", "New on Yoursite: Hiking boots ($89)."]
    for text in page.locator("li.entity-event-notification").all_text_contents():
        assert "New New" not in " ".join(text.split())
    assert (
        words(item(page, "Espresso machine"))
        == "Unread New on Yoursite: Espresso machine ($129). just now Mark read"
    )
    assert words(item(page, "Hiking boots")).startswith("Unread New on Yoursite: Hiking boots ($89). ")
    site.screenshot("1-unread-items")


def focused(page) -> str:
    """The focused element: its tag, and its accessible text (aria-label, else its text)."""
    return page.evaluate(
        "() => { const e = document.activeElement;"
        " return e.tagName.toLowerCase() + ' ' + (e.getAttribute('aria-label') || e.textContent).trim(); }"
    )


def test_keyboard_and_screen_readers(world, asgi_server, site):
    page = site.page
    log_in_on_site(page, asgi_server, "robin", "robin")
    page.wait_for_selector("[data-entity-event-notifications][data-live-state=open]", state="attached")
    # Everything is reached by Tab, in reading order, each with a visible focus.
    order = []
    for _ in range(8):
        page.keyboard.press("Tab")
        order.append(focused(page))
        outline = page.evaluate(
            "() => { const s = getComputedStyle(document.activeElement);"
            " return [s.outlineStyle, s.outlineWidth]; }"
        )
        assert outline[0] != "none" and float(outline[1].removesuffix("px")) >= 2, (order[-1], outline)
    assert order == [
        "a Skip to content",
        "a Yoursite",
        "a Notifications (2 unread)",
        "button Log out",
        "a show unread only",
        "button Mark all read",
        "button Mark read",
        "button Mark read",
    ]
    site.screenshot("1-focus-on-mark-read")
    # Each button says which notification it is about, and the bell what it counts.
    newest = item(page, "The cafeteria is open").get_by_role("button", name="Mark read")
    assert newest.get_attribute("aria-describedby") == (
        item(page, "The cafeteria is open").locator(".entity-event-body").get_attribute("id")
    )
    assert page.get_by_role("link", name="Notifications (2 unread)").count() == 1
    assert page.get_by_role("status").count() >= 1  # the announcer (and the live status, hidden)
    # The keyboard marks a notification read: Enter on the focused button.
    newest.focus()
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    page.wait_for_selector("[data-entity-event-notifications][data-live-state=open]", state="attached")
    assert unread_count(page) == "1"
    assert page.title() == "(1) Notifications · Yoursite"
    # A new event is announced to screen readers, politely, with the new count.
    announcer = page.locator("[data-entity-event-announcer]")
    assert announcer.get_attribute("aria-live") == "polite" and announcer.get_attribute("role") == "status"
    Event.objects.create_event(source=world, context={"text": "Lunch is served"})
    page.wait_for_function(
        "document.querySelector('[data-entity-event-announcer]').textContent === 'Unread notifications: 2'",
        timeout=LIVE_WITHIN_MS,
    )
    # The skip link leads past the header.
    page.keyboard.press("Control+Home")
    page.evaluate("() => document.activeElement.blur()")
    page.keyboard.press("Tab")
    assert focused(page) == "a Skip to content"
    site.screenshot("2-skip-link")
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "content"


def test_the_newsfeed_page_has_the_site_header(world, asgi_server, site):
    Medium.objects.create(name="newsfeed", display_name="Newsfeed")
    page = site.page
    log_in_on_site(page, asgi_server, "robin", "robin")
    robin = Entity.objects.get(display_name="Robin Reader")
    page.goto(f"{asgi_server}/feed/{robin.pk}/")
    header = page.locator("header")
    assert header.get_by_role("link", name="Yoursite").is_visible()
    assert header.get_by_role("link", name="Notifications (2 unread)").is_visible()
    assert header.get_by_role("button", name="Log out").is_visible()
    assert page.get_by_role("heading", level=1).inner_text() == "Newsfeed of Robin Reader"
    assert page.title() == "Newsfeed of Robin Reader · Yoursite"
    site.screenshot("1-newsfeed")
    header.get_by_role("link", name="Notifications (2 unread)").click()
    page.wait_for_url(re.compile(r"/notifications/$"))


#: The script's words on a page in French, as the server would write them with a catalogue that
#: has them: ``{data-label-* name: (English, French)}``.
FRENCH = {
    "unread": ("Unread", "Non lue"),
    "just-now": ("just now", "à l’instant"),
    "mark-read": ("Mark read", "Marquer comme lue"),
    "bell": ("Notifications ({count} unread)", "Notifications ({count} non lues)"),
    "announced": ("Unread notifications: {count}", "Notifications non lues : {count}"),
}


def test_the_script_writes_the_words_of_the_page(world, asgi_server, site):
    """notifications.js has no words of its own: an item that arrives live, the bell's name and
    what screen readers hear are in the page's language, whatever it is (the list page is
    rewritten here as a French catalogue would have the server write it)."""
    page = site.page
    log_in_on_site(page, asgi_server, "robin", "robin")

    def in_french(route) -> None:
        response = route.fetch()
        body = response.text()
        for name, (english, french) in FRENCH.items():
            assert body.count(f'data-label-{name}="{english}"') == 2, name
            body = body.replace(f'data-label-{name}="{english}"', f'data-label-{name}="{french}"')
        route.fulfill(response=response, body=body)

    page.route(re.compile(r"/notifications/$"), in_french)
    page.reload()
    page.wait_for_selector("[data-entity-event-notifications][data-live-state=open]", state="attached")
    Event.objects.create_event(source=world, context={"text": "Exercice d’évacuation"})
    arrived = item(page, "Exercice d’évacuation")
    arrived.wait_for(timeout=LIVE_WITHIN_MS)
    assert words(arrived) == "Non lue Exercice d’évacuation à l’instant Marquer comme lue"
    page.wait_for_function(
        "document.querySelector('[data-entity-event-announcer]').textContent"
        " === 'Notifications non lues : 3'",
        timeout=LIVE_WITHIN_MS,
    )
    assert page.get_by_role("link", name="Notifications (3 non lues)").is_visible()
    site.screenshot("1-words-of-the-page")
