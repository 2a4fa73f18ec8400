"""The example project's ``entity_event_demo`` command, run through ``call_command``: it builds the
quickstart's world with the quickstart's own code and shows it work."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from entity.models import Entity

from entity_event.models import Event, EventSeen, Medium, Source, SourceGroup
from example import quickstart
from example.management.commands.entity_event_demo import build_world, run_scenario

pytestmark = pytest.mark.django_db

# Measured; what matters is that it does not grow with the number of events.
# With the two runs of the delivery command and their savepoints (a claim, its records by one
# INSERT ... SELECT, a chunk of due deliveries with their events and recipients), and the unread
# counts of the four users (two queries each).
QUERIES_OF_THE_SCENARIO = 41 + 4 * 2


def run_demo(*args: str) -> str:
    out = StringIO()
    call_command("entity_event_demo", *args, stdout=out)
    return out.getvalue()


def test_prints_the_world_the_newsfeed_and_the_emails_once():
    output = run_demo()
    assert "subscription: every User under All users: New Product on NewsFeed\n" in output
    assert "subscription: every User under All users: Photo Tag on Email (only following)" in output
    assert "unsubscription: Dave unsubscribed from New Product on NewsFeed" in output
    # Alice's newsfeed: the new products, newest first (the quickstart's newsfeed has no photos).
    assert (
        "Newsfeed of Alice (newest first):\n"
        "  - New on Yoursite: Hiking boots ($89).\n"
        "  - New on Yoursite: Espresso machine ($129).\n"
    ) in output
    assert "-> 3 email(s)" in output  # one per photo and tagged user
    assert "To: alice@example.com\n" in output and "To: carol@example.com\n" in output
    assert "bob tagged alice, carol in a photo at Lyon." in output
    assert "To: dave@example.com" in output
    assert "Same command again -> 0 email(s)" in output
    assert "Notification center: unread notifications: alice 3, bob 2, carol 3, dave 3." in output
    assert "log in as\n  alice (password demo-password)" in output
    assert "open http://127.0.0.1:8000/, the start page" in output
    assert "create an event for the Announcement\n  source in the admin" in output


def test_the_demo_users_and_its_staff_user_can_log_in(client):
    run_demo()
    assert client.login(username="alice", password="demo-password")
    assert client.login(username="demo-admin", password="demo-password")
    assert User.objects.get(username="demo-admin").is_superuser


def test_json_output():
    report = json.loads(run_demo("--json"))
    assert report["newsfeed"]["texts"] == [
        "New on Yoursite: Hiking boots ($89).",
        "New on Yoursite: Espresso machine ($129).",
    ]
    assert sorted(tuple(message["to"]) for message in report["emails"]) == [
        ("alice@example.com",),
        ("carol@example.com",),
        ("dave@example.com",),
    ]
    assert {message["subject"] for message in report["emails"]} == {"Photo Tag"}
    assert report["emails_second_run"] == []


def test_the_world_is_the_quickstart_s(monkeypatch):
    # Every step of the quickstart page builds the demo (the same functions, not a copy).
    called = []
    for step in ["create_sources", "create_mediums", "create_entities", "subscribe", "unsubscribe",
                 "set_up_rendering", "create_notification_center", "announce_product",
                 "tag_photo"]:  # fmt: skip
        real = getattr(quickstart, step)
        monkeypatch.setattr(
            quickstart, step, lambda *args, _real=real, _step=step: called.append(_step) or _real(*args)
        )
    run_demo()
    assert set(called) == {
        "create_sources", "create_mediums", "create_entities", "subscribe", "unsubscribe",
        "set_up_rendering", "create_notification_center", "announce_product", "tag_photo",
    }  # fmt: skip


@pytest.mark.parametrize("extra", [3, 30])
def test_the_scenario_costs_the_same_queries_for_3_and_30_more_events(
    extra, django_assert_num_queries, read_only_statements, recipients_queries
):
    """The newsfeed page and the email batches read the events' sources for every event: they
    are loaded in one query per batch, not one per event."""
    world = build_world()
    users = world["users"]
    photo_tag, new_product = Source.objects.get(name="photo-tag"), Source.objects.get(name="new-product")
    for number in range(extra):
        quickstart.announce_product(new_product, f"p{number}", "$1")
        quickstart.tag_photo(photo_tag, 100 + number, users["bob"], [users["alice"]], f"l{number}")
    # The scenario renders a newsfeed page, the emails (the delivery command's handler) and the
    # emails again for the report, each in a read-only scope (the second run renders nothing).
    # One chunk of due deliveries is sent.
    queries = QUERIES_OF_THE_SCENARIO + recipients_queries + 3 * read_only_statements
    with django_assert_num_queries(queries):
        report = run_scenario(world)
    assert len(report["newsfeed"]["texts"]) == min(2 + extra, 20)
    assert len(report["emails"]) == 3 + extra
    assert {message["subject"] for message in report["emails"]} == {"Photo Tag"}


def test_refuses_a_database_with_data_and_says_how_to_start_over():
    run_demo()
    counts = (Source.objects.count(), Medium.objects.count(), Event.objects.count())
    with pytest.raises(
        CommandError, match=r"already holds entity_event data\. Run `manage.py entity_event_demo --reset`"
    ):
        run_demo()
    assert (Source.objects.count(), Medium.objects.count(), Event.objects.count()) == counts


def test_reset_deletes_the_previous_demo_and_builds_it_again():
    run_demo()
    first_events = set(Event.objects.values_list("pk", flat=True))
    output = run_demo("--reset")
    assert "Same command again -> 0 email(s)" in output
    assert not first_events & set(Event.objects.values_list("pk", flat=True))
    assert SourceGroup.objects.count() == 1 and Medium.objects.count() == 3
    assert User.objects.filter(username__in=["alice", "bob", "carol", "dave"]).count() == 4
    assert Entity.all_objects.count() == 5  # the four users and the all-users group
    assert EventSeen.objects.count() == 2


def test_reset_leaves_other_data_alone_and_still_refuses_it(photo_source):
    # photo_source belongs to another source group ("yoursite" of the fixtures is the demo's name,
    # so use a group of another name).
    other = SourceGroup.objects.create(name="shop", display_name="Shop")
    Source.objects.filter(pk=photo_source.pk).update(group=other, name="elsewhere")
    with pytest.raises(CommandError, match="already holds entity_event data"):
        run_demo("--reset")
    assert Source.objects.filter(name="elsewhere").exists()


def test_an_announcement_written_in_the_admin_shows_its_text():
    """The demo's announcement source renders the text of the admin's event form (its context
    ``{"text": ...}``) on the newsfeed and in the notification center, where an admin event for
    a quickstart source rendered as "New on Yoursite: ()."."""
    from django.test import Client
    from django.urls import reverse

    run_demo()
    announcement = Source.objects.get(name="announcement")
    admin = Client()
    admin.login(username="demo-admin", password="demo-password")
    response = admin.post(
        reverse("admin:entity_event_adminevent_add"),
        {
            "source": announcement.pk,
            "text": "Maintenance tonight <22:00>",
            "expires_date": "",
            "expires_time": "",
        },
    )
    assert response.status_code == 302
    alice = Client()
    alice.login(username="alice", password="demo-password")
    alice_entity = Entity.objects.get(display_name="Alice")
    feed = alice.get(reverse("example:newsfeed", args=[alice_entity.pk])).content.decode()
    assert "<b>Announcement:</b> Maintenance tonight &lt;22:00&gt;" in feed
    assert "()" not in feed
    bell = alice.get(reverse("entity_event:notifications")).content.decode()
    assert "<b>Announcement:</b> Maintenance tonight &lt;22:00&gt;" in bell
    # Everyone gets it, Dave too (he unsubscribed from new products only).
    newsfeed = Medium.objects.get(name="newsfeed")
    dave = Entity.objects.get(display_name="Dave")
    rendered = newsfeed.render(list(newsfeed.entity_events(dave)))
    assert [text for text, html in rendered.values()] == ["Announcement: Maintenance tonight <22:00>"]
