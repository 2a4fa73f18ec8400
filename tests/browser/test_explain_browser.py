"""The Explain page in a real browser: from the event list, pick an event and an entity with the
admin's autocomplete (typing part of their names), read why the entity receives the event on
each medium, then the event's recipients on its page, on one medium and another."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.contrib.auth.models import User

from entity_event.models import Event
from tests.browser.conftest import ADMIN_PASSWORD, ADMIN_USERNAME
from tests.worlds import routing_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(source_group) -> SimpleNamespace:
    User.objects.create_superuser(ADMIN_USERNAME, "admin@example.com", ADMIN_PASSWORD)
    return routing_world(source_group)


def autocomplete(site, field: str, typed: str, choice: str) -> None:
    """Open the autocomplete of ``field``, type ``typed`` and pick the result ``choice``."""
    site.page.click(f".field-{field} .select2-selection")
    site.page.fill(".select2-container--open .select2-search__field", typed)
    site.page.locator(".select2-results__option", has_text=choice).click()
    assert choice in site.page.locator(f".field-{field} .select2-selection__rendered").inner_text()


def test_explain_a_delivery(world, site):
    site.log_in()
    site.visit("/admin/entity_event/event/")
    site.page.click("text=Explain a delivery")
    site.page.wait_for_url("**/admin/entity_event/event/explain/")
    autocomplete(site, "event", "product-dave", "New Product event product-dave")
    autocomplete(site, "entity", "Bo", "Bob")
    site.screenshot("1-form")
    site.page.click("#explain-form input[type=submit]")
    rows = site.page.locator("table.entity-event-explanations tbody tr")
    rows.first.wait_for()
    assert [rows.nth(n).get_attribute("data-reason") for n in range(rows.count())] == [
        "unsubscribed",
        "no_subscription",
    ]
    assert "Not delivered: Bob unsubscribed from New Product on Email." in rows.first.inner_text()
    # The form keeps what was chosen, by name.
    assert "Bob" in site.page.locator(".field-entity .select2-selection__rendered").inner_text()
    site.screenshot("2-explained")

    # One medium; then the link to the deciding unsubscription opens its admin page.
    site.page.select_option("#id_medium", label="Email")
    site.page.click("#explain-form input[type=submit]")
    site.page.wait_for_url("**medium=*")
    assert rows.count() == 1
    rows.first.locator("a", has_text="unsubscribed from").click()
    site.page.wait_for_url("**/admin/entity_event/unsubscription/*/change/")


def test_the_recipients_on_the_event_page(world, site):
    site.log_in()
    product_dave = Event.objects.get(uuid="product-dave")
    site.visit(f"/admin/entity_event/event/{product_dave.pk}/change/")
    section = site.page.locator("#recipients")
    assert "2 entities receive this event on Email." in section.inner_text()
    names = section.locator("tbody th").all_inner_texts()
    assert names == ["Alice", "Carol"]
    site.screenshot("1-email")
    section.locator("a", has_text="NewsFeed").click()
    site.page.wait_for_url("**recipients_medium=*")
    assert "0 entities receive this event on NewsFeed." in site.page.locator("#recipients").inner_text()
    site.page.click(".object-tools >> text=Explain")
    site.page.wait_for_url(f"**/explain/?event={product_dave.pk}")
    assert "product-dave" in site.page.locator(".field-event .select2-selection__rendered").inner_text()
    site.screenshot("2-explain-from-the-event")
