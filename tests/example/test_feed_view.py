"""The example site's newsfeed page (``example/``), through the test client."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from unittest import mock

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone
from entity.models import Entity

from entity_event.models import ContextRenderer, Event, Medium, Source, Subscription
from example.management.commands.entity_event_demo import DEMO_PASSWORD
from example.views import EVENTS_PER_PAGE
from tests.entities import make_user
from tests.testapp.models import Account
from tests.worlds import newsfeed_world

pytestmark = pytest.mark.django_db

HTML_TEMPLATE = (
    "<p class='text'>{{ text }}</p><p class='observer'>for {{ observing_entity.display_name }}</p>"
)


@pytest.fixture
def client(client, django_user_model):
    """A staff member allowed to see any feed, logged in (who may see which feed: the tests of
    the access rule at the end of this module)."""
    staff = django_user_model.objects.create_user("support", is_staff=True)
    staff.user_permissions.add(
        Permission.objects.get(content_type__app_label="entity_event", codename="view_any_feed")
    )
    client.force_login(staff)
    # django-entity finds a user's entity by the user model's content type, which Django reads
    # once per process: read it here, so that the pinned query counts hold whichever test runs
    # first.
    ContentType.objects.get_for_model(django_user_model)
    return client


@pytest.fixture
def world(photo_source, product_source):
    """The newsfeed of tests/worlds.py: a renderer for the product source (none for the photo
    source), and Alice and Bob under a team subscribed to both sources on the newsfeed; Carol is
    in no team."""
    feed = newsfeed_world(
        [product_source, photo_source],
        HTML_TEMPLATE,
        "Team",
        {"Alice": ["Team"], "Bob": ["Team"], "Carol": []},
    )
    return {
        "medium": feed.medium,
        "alice": feed.members["Alice"],
        "bob": feed.members["Bob"],
        "carol": feed.members["Carol"],
        "product": product_source,
    }


def feed_url(entity, page: int | str | None = None) -> str:
    url = reverse("example:newsfeed", args=[entity.pk if hasattr(entity, "pk") else entity])
    return url if page is None else f"{url}?page={page}"


def create_products(source: Source, count: int) -> list[Event]:
    """``count`` events, one minute apart, the last one the newest (number ``count - 1``)."""
    start = timezone.now() + timedelta(seconds=1)
    return [
        Event.objects.create_event(
            source=source,
            context={"text": f"product {number}"},
            time=start + timedelta(minutes=number),
            uuid=f"product-{number}",
        )
        for number in range(count)
    ]


def shown_texts(response) -> list[str]:
    return [item.text for item in response.context["items"]]


def test_shows_the_subscribed_entity_its_events_newest_first(client, world):
    create_products(world["product"], 3)
    response = client.get(feed_url(world["alice"]))
    assert response.status_code == 200
    assert shown_texts(response) == ["product 2", "product 1", "product 0"]
    page = response.content.decode()
    assert "<title>Newsfeed of Alice · Yoursite</title>" in page
    assert page.count("<p class='text'>product ") == 3
    assert page.index("product 2") < page.index("product 1") < page.index("product 0")
    # The renderer saw the feed's entity as observing_entity.
    assert "<p class='observer'>for Alice</p>" in page
    event = Event.objects.get(uuid="product-0")
    assert f'<time datetime="{event.time.isoformat()}">' in page


def test_shows_only_the_events_the_entity_receives(client, world, source_group):
    create_products(world["product"], 2)
    elsewhere = Source.objects.create(group=source_group, name="elsewhere", display_name="Elsewhere")
    Event.objects.create_event(source=elsewhere, context={"text": "not subscribed"})
    assert shown_texts(client.get(feed_url(world["bob"]))) == ["product 1", "product 0"]
    response = client.get(feed_url(world["carol"]))
    assert response.status_code == 200
    assert response.context["items"] == []
    assert "Nothing in this feed yet." in response.content.decode()
    assert "not subscribed" not in client.get(feed_url(world["alice"])).content.decode()


def test_an_event_without_a_renderer_shows_its_source_name(client, world, photo_source):
    Event.objects.create_event(source=photo_source, context={"text": "never shown"})
    response = client.get(feed_url(world["alice"]))
    [item] = response.context["items"]
    assert (item.text, item.html) == ("", "")
    page = response.content.decode()
    assert '<p class="fallback">Photo Tag</p>' in page
    assert "never shown" not in page


def test_a_renderer_without_html_shows_the_escaped_text(client, world):
    ContextRenderer.objects.filter(name="feed-new-product").update(html_template="")
    Event.objects.create_event(source=world["product"], context={"text": "Fish & chips"})
    page = client.get(feed_url(world["alice"])).content.decode()
    assert "<p>Fish &amp; chips</p>" in page


def test_context_values_are_escaped(client, world):
    Event.objects.create_event(source=world["product"], context={"text": "<script>alert(1)</script>"})
    page = client.get(feed_url(world["alice"])).content.decode()
    assert "<script>" not in page
    assert "<p class='text'>&lt;script&gt;alert(1)&lt;/script&gt;</p>" in page


def test_pages_of_twenty_events(client, world):
    assert EVENTS_PER_PAGE == 20
    create_products(world["product"], 45)
    first = client.get(feed_url(world["alice"]))
    assert shown_texts(first) == [f"product {number}" for number in range(44, 24, -1)]
    assert 'href="?page=2"' in first.content.decode()
    assert "Page 1 of 3" in first.content.decode()
    second = client.get(feed_url(world["alice"], page=2))
    assert shown_texts(second) == [f"product {number}" for number in range(24, 4, -1)]
    assert 'rel="prev" href="?page=1"' in second.content.decode()
    assert 'rel="next" href="?page=3"' in second.content.decode()
    third = client.get(feed_url(world["alice"], page=3))
    assert shown_texts(third) == [f"product {number}" for number in range(4, -1, -1)]
    assert 'rel="next"' not in third.content.decode()


@pytest.mark.parametrize("requested_page", ["4", "99", "-1"])
def test_a_page_out_of_range_shows_the_last_page(client, world, requested_page):
    create_products(world["product"], 25)
    response = client.get(feed_url(world["alice"], page=requested_page))
    assert response.status_code == 200
    assert response.context["page"].number == 2
    assert shown_texts(response) == [f"product {number}" for number in range(4, -1, -1)]


@pytest.mark.parametrize("requested_page", ["x", ""])
def test_a_page_that_is_not_a_number_shows_the_first_page(client, world, requested_page):
    create_products(world["product"], 25)
    response = client.get(feed_url(world["alice"], page=requested_page))
    assert response.context["page"].number == 1
    assert shown_texts(response)[0] == "product 24"


def test_unknown_entity_is_404(client, world):
    missing = max(world[name].pk for name in ("alice", "bob", "carol")) + 100
    assert client.get(feed_url(missing)).status_code == 404


def test_inactive_entity_is_404(client, world):
    create_products(world["product"], 1)
    world["alice"].delete()  # django-entity only deactivates
    world["alice"].refresh_from_db()
    assert world["alice"].is_active is False
    assert client.get(feed_url(world["alice"])).status_code == 404


def test_missing_medium_is_404(client, world):
    create_products(world["product"], 1)
    with override_settings(EXAMPLE_NEWSFEED_MEDIUM="no-such-medium"):
        assert client.get(feed_url(world["alice"])).status_code == 404
    assert client.get(feed_url(world["alice"])).status_code == 200


def test_the_medium_comes_from_the_setting(client, world, email):
    """Another medium, with its own subscription, shows its own events."""
    Subscription.objects.create(
        medium=email, source=world["product"], entity=world["carol"], only_following=False
    )
    create_products(world["product"], 2)
    assert shown_texts(client.get(feed_url(world["carol"]))) == []
    with override_settings(EXAMPLE_NEWSFEED_MEDIUM="email"):
        response = client.get(feed_url(world["carol"]))
    # The email medium has no rendering style: the events show with the fallback line.
    assert [item.event.uuid for item in response.context["items"]] == ["product-1", "product-0"]
    assert response.content.decode().count('<p class="fallback">New Product</p>') == 2


#: Who is asking: the session, the user, the user's own entity, the user's permissions and their
#: groups' (a staff member looking at someone else's feed).
ACCESS_QUERIES = 5
#: The site's header, which the page has as every page of the site: its notification bell asks
#: for the user's own entity (the staff member has none, so there is no count to read).
HEADER_QUERIES = 1
#: Then the medium, the entity, the count of the feed, the page's events with their sources, the
#: context renderers (plus the statements of the read-only scope the page is rendered in).
PAGE_QUERIES = ACCESS_QUERIES + 5 + HEADER_QUERIES


@pytest.mark.parametrize("count", [5, 50])
def test_a_page_costs_the_same_queries_for_any_feed_length(
    client, world, photo_source, count, django_assert_num_queries, read_only_statements
):
    create_products(world["product"], count)
    Event.objects.create_event(source=photo_source, context={})  # no renderer: the fallback line
    with django_assert_num_queries(PAGE_QUERIES + read_only_statements):
        response = client.get(feed_url(world["alice"]))
    assert len(response.context["items"]) == min(count + 1, EVENTS_PER_PAGE)
    with django_assert_num_queries(PAGE_QUERIES + read_only_statements):
        response = client.get(feed_url(world["alice"], page=2))
    assert response.context["page"].number == (2 if count == 50 else 1)


def test_only_the_events_of_the_page_are_rendered(client, world):
    create_products(world["product"], 50)
    with mock.patch.object(Medium, "render", autospec=True, side_effect=Medium.render) as render:
        response = client.get(feed_url(world["alice"], page=2))
    [call] = render.call_args_list
    medium, events = call.args
    assert medium == world["medium"]
    assert [event.uuid for event in events] == [f"product-{number}" for number in range(29, 9, -1)]
    assert call.kwargs == {"observing_entity": world["alice"]}
    assert shown_texts(response) == [f"product {number}" for number in range(29, 9, -1)]


@pytest.mark.parametrize("count", [5, 50])
def test_hinted_rows_cost_one_query_per_model(
    client, world, count, django_assert_num_queries, read_only_statements
):
    ContextRenderer.objects.filter(name="feed-new-product").update(
        html_template="<p>{{ buyer.name }} bought {{ text }}</p>",
        context_hints={"buyer": {"app_name": "testapp", "model_name": "Account"}},
    )
    buyers = Account.objects.bulk_create(Account(name=f"buyer {number}") for number in range(count))
    start = timezone.now() + timedelta(seconds=1)
    Event.objects.create_events(
        [
            {
                "source": world["product"],
                "context": {"text": f"product {number}", "buyer": buyer.pk},
                "time": start + timedelta(minutes=number),
                "uuid": f"product-{number}",
            }
            for number, buyer in enumerate(buyers)
        ]
    )
    with django_assert_num_queries(PAGE_QUERIES + 1 + read_only_statements):
        page = client.get(feed_url(world["alice"])).content.decode()
    assert f"<p>buyer {count - 1} bought product {count - 1}</p>" in page


def test_an_empty_feed_loads_no_events_and_no_renderers(client, world, django_assert_num_queries):
    # The access queries, then the medium, the entity and the count, and the header's bell.
    with django_assert_num_queries(ACCESS_QUERIES + 3 + HEADER_QUERIES):
        response = client.get(feed_url(world["alice"]))
    assert response.context["items"] == []


def test_the_page_has_the_sites_header_with_the_bell(world, django_assert_num_queries, read_only_statements):
    """The newcomer's finding: the newsfeed page had no site header (a page of its own, without
    the layout of the other pages). It has the header now: the way home, the notification bell
    with the person's unread count, and the skip link to the content."""
    notifications = Medium.objects.create(name=settings.ENTITY_EVENT_NOTIFICATION_MEDIUM, display_name="N")
    Subscription.objects.create(
        medium=notifications, source=world["product"], entity=world["alice"], only_following=False
    )
    create_products(world["product"], 3)
    alice = Client()
    alice.force_login(make_user("alice", world["alice"]))
    # The page's own queries (the session, the user, the entity, no permission check for one's
    # own feed), then the bell's: the entity again, the notification medium, the unread count.
    with django_assert_num_queries(3 + 5 + 3 + read_only_statements):
        response = alice.get(feed_url(world["alice"]))
    page = response.content.decode()
    header = page[page.index("<header>") : page.index("</header>")]
    assert '<a class="home" href="/">' in header
    assert 'aria-label="Notifications (3 unread)"' in header
    assert "<span data-entity-event-unread-count>3</span>" in header
    assert page.index('<a class="skip-link" href="#content">') < page.index("<header>")
    assert page.index("</header>") < page.index('<main id="content"') < page.index("<h1>Newsfeed of")
    assert shown_texts(response) == ["product 2", "product 1", "product 0"]


@pytest.mark.parametrize(
    ("language", "log_out"), [("en", "Log out"), ("fr", "Déconnexion"), ("de", "Abmelden")]
)
def test_the_page_is_in_the_persons_language(client, world, language, log_out):
    """The page says which language it is in (``<html lang>``, which screen readers read it
    in), the one the browser asked for, and the header's words are in it (Django's own
    catalogue translates "Log out")."""
    page = client.get(feed_url(world["alice"]), headers={"accept-language": language}).content.decode()
    assert page.startswith(f'<!DOCTYPE html>\n<html lang="{language}">')
    assert f'<button type="submit">{log_out}</button>' in page


def test_the_entity_admin_links_to_the_newsfeed(admin_client, world):
    world["carol"].delete()
    page = admin_client.get(reverse("admin:entity_entity_changelist")).content.decode()
    assert f'<a href="{feed_url(world["alice"])}">Newsfeed</a>' in page
    assert f'<a href="{feed_url(world["carol"])}">' not in page


def test_the_demo_users_have_feeds(client):
    """docs/example_site.rst: after the demo, Alice's page shows what the demo prints for her."""
    call_command("entity_event_demo", stdout=StringIO())
    alice = Entity.objects.get(display_name="Alice")
    own = Client()
    assert own.login(username="alice", password=DEMO_PASSWORD)
    page = own.get(feed_url(alice)).content.decode()
    assert page.count('<li class="event"') == 2
    assert page.index("<b>Hiking boots</b>") < page.index("<b>Espresso machine</b>")
    # Dave unsubscribed from the new products, the only source of the quickstart's newsfeed.
    dave = client.get(feed_url(Entity.objects.get(display_name="Dave"))).content.decode()
    assert dave.count('<li class="event"') == 0


class TestWhoMaySeeAFeed:
    """The finding: the page was public to anyone who guessed an entity id."""

    def test_an_anonymous_visitor_is_sent_to_log_in(self, world):
        response = Client().get(feed_url(world["alice"]))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))

    def test_a_user_sees_their_own_feed_and_no_one_elses(self, world):
        create_products(world["product"], 2)
        alice = Client()
        alice.force_login(make_user("alice", world["alice"]))
        assert shown_texts(alice.get(feed_url(world["alice"]))) == ["product 1", "product 0"]
        response = alice.get(feed_url(world["bob"]))
        assert response.status_code == 403
        assert "product" not in response.content.decode()

    def test_staff_need_the_permission_to_see_someone_elses(self, world):
        staff = Client()
        staff.force_login(make_user("staff", is_staff=True))
        assert staff.get(feed_url(world["alice"])).status_code == 403

    def test_a_user_without_an_entity_has_no_feed(self, world):
        nobody = Client()
        nobody.force_login(make_user("nobody"))
        assert nobody.get(feed_url(world["alice"])).status_code == 403
