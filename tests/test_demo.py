"""The ``entity_event_demo`` management command, run through ``call_command``."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from entity_event.management.commands.entity_event_demo import build_world, run_scenario
from entity_event.models import Event, EventSeen, Medium, Source

pytestmark = pytest.mark.django_db

# Measured; what matters is that it does not grow with the number of events.
QUERIES_OF_THE_SCENARIO = 25


def run_demo(*args: str) -> str:
    out = StringIO()
    call_command("entity_event_demo", *args, stdout=out)
    return out.getvalue()


def test_prints_the_newsfeed_and_the_email_batch_once():
    output = run_demo()
    assert "subscription: every User under All users: New Product on NewsFeed\n" in output
    assert "subscription: every User under All users: Photo Tag on Email (only following)" in output
    assert "unsubscription: Dave unsubscribed from New Product on NewsFeed" in output
    assert "Newsfeed of Alice (newest first):" in output
    feed = output.split("Email batch")[0]
    # Alice's newsfeed: both products (all users, not only following) and the photo she is tagged
    # in (only following: she follows herself), newest first; not the photos of other people.
    assert (
        feed.index("Hiking boots")
        < feed.index("Bob tagged Alice, Carol in a photo at Lyon")
        < feed.index("Espresso machine")
    )
    assert "the beach" not in feed and "office party" not in feed
    assert "email(s)" in output
    assert "To: alice@example.com, carol@example.com" in output
    assert "To: dave@example.com" in output
    assert "To: bob@example.com" in output
    assert "Same call again -> 0 email(s)" in output


def test_json_output():
    report = json.loads(run_demo("--json"))
    assert [item["source"] for item in report["newsfeed"]["events"]] == [
        "new-product",
        "photo-tag",
        "new-product",
    ]
    recipients = sorted(tuple(message["to"]) for message in report["emails"])
    assert recipients == [
        ("alice@example.com", "carol@example.com"),
        ("bob@example.com",),
        ("dave@example.com",),
    ]
    assert report["emails"][0]["subject"] == "[Yoursite] Photo Tag"
    assert report["emails_second_run"] == []


@pytest.mark.parametrize("extra", [3, 30])
def test_the_scenario_costs_the_same_queries_for_3_and_30_more_events(
    extra, django_assert_num_queries, read_only_statements
):
    """The newsfeed page and the email batches read the events' sources for every event: they
    are loaded with the events (feed) or in one query per batch (emails), not one per event."""
    world = build_world()
    entities = world["entities"]
    photo_tag, new_product = Source.objects.get(name="photo-tag"), Source.objects.get(name="new-product")
    Event.objects.create_events(
        [
            {
                "source": new_product,
                "context": {"product": f"p{i}", "price": "$1"},
                "uuid": f"demo-{world['run']}-x{i}",
            }
            for i in range(extra)
        ]
        + [
            {"source": photo_tag, "actors": [entities["bob"]], "context": {"tagged": [], "location": f"l{i}"}}
            for i in range(extra)
        ]
    )
    # The scenario renders a newsfeed page and a batch of emails, each in a read-only scope (the
    # second email run finds nothing to render).
    with django_assert_num_queries(QUERIES_OF_THE_SCENARIO + 2 * read_only_statements):
        report = run_scenario(world)
    assert len(report["newsfeed"]["events"]) == 3 + extra
    assert len(report["emails"]) == 3 + extra
    assert {message["subject"] for message in report["emails"]} == {"[Yoursite] Photo Tag"}


def test_refuses_a_database_with_data_unless_forced():
    run_demo()
    counts = (Source.objects.count(), Medium.objects.count(), Event.objects.count())
    with pytest.raises(CommandError, match="already holds entity_event data.*--force"):
        run_demo()
    assert (Source.objects.count(), Medium.objects.count(), Event.objects.count()) == counts


def test_force_uses_its_own_objects_and_touches_nothing_else():
    run_demo()
    email = Medium.objects.get(name="email")
    seen_before = set(EventSeen.objects.values_list("pk", flat=True))
    new_event = Event.objects.create_event(source=Source.objects.get(name="photo-tag"))
    report = json.loads(run_demo("--force", "--json"))
    assert Medium.objects.filter(name__startswith="demo-").count() == 2
    assert len(report["emails"]) == 3 and report["emails_second_run"] == []
    # The first run's objects and seen records are untouched; the new event is not claimed.
    assert seen_before <= set(EventSeen.objects.values_list("pk", flat=True))
    assert not EventSeen.objects.filter(event=new_event, medium=email).exists()


def test_needs_django_contrib_auth():
    from unittest import mock

    with (
        mock.patch(
            "entity_event.management.commands.entity_event_demo.apps.is_installed", return_value=False
        ),
        pytest.raises(CommandError, match="needs django.contrib.auth"),
    ):
        run_demo()
    assert not Source.objects.exists()
