"""The example site's start page, ``/``: where the site's pages are and how to get in."""

from __future__ import annotations

import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import resolve
from entity.models import Entity

from example.management.commands.entity_event_demo import DEMO_ADMIN, DEMO_PASSWORD, DEMO_USERS

pytestmark = pytest.mark.django_db

#: Measured: the session, the user, their entity, the entities of the newsfeed links, whether the
#: demo built its world, whether its staff user exists, and the entity again for the header's
#: notification bell.
QUERIES_FOR_STAFF = 7


def page(client: Client) -> str:
    response = client.get("/")
    assert response.status_code == 200
    return response.content.decode()


def test_before_the_demo_it_says_how_to_build_it(client):
    html = page(client)
    assert "bash scripts/demo" in html
    assert 'href="/admin/"' in html and 'href="/notifications/"' in html


@pytest.fixture
def demo(db):
    call_command("entity_event_demo", stdout=StringIO())


def test_a_visitor_sees_the_links_and_the_demo_logins(client, demo):
    html = page(client)
    assert "bash scripts/demo" not in html
    assert 'href="/admin/"' in html
    assert 'href="/notifications/"' in html
    assert 'href="/accounts/login/?next=/"' in html
    # The demo's logins, for a developer's machine: its users and its staff user.
    assert "alice" in html and "demo-admin" in html and DEMO_PASSWORD in html


def test_a_user_gets_links_to_their_newsfeed_and_notifications(client, demo):
    client.login(username="alice", password=DEMO_PASSWORD)
    html = page(client)
    alice = Entity.objects.get(display_name="Alice")
    assert f'href="/feed/{alice.pk}/"' in html
    assert 'href="/notifications/"' in html


def test_staff_get_a_link_to_every_demo_user_s_newsfeed(client, demo):
    client.login(username="demo-admin", password=DEMO_PASSWORD)
    html = page(client)
    for name in ("Alice", "Bob", "Carol", "Dave"):
        assert f'href="/feed/{Entity.objects.get(display_name=name).pk}/"' in html


def test_the_page_costs_a_fixed_number_of_queries(client, demo, django_assert_num_queries):
    """The same for 4 users as for 40: the links are one query, capped."""
    from tests.entities import make_entity

    client.login(username="demo-admin", password=DEMO_PASSWORD)
    page(client)  # the content types' cache
    with django_assert_num_queries(QUERIES_FOR_STAFF) as captured:
        page(client)
    for number in range(40):
        make_entity(f"User {number}", kind="user")
    with django_assert_num_queries(len(captured.captured_queries)):
        html = page(client)
    assert html.count('href="/feed/') == 20


def test_the_readme_s_steps_name_the_site_s_pages_and_the_demo_s_logins():
    """The README's "The example site" steps: every address it gives is a page of the site, and
    the logins are the demo's."""
    readme = (Path(__file__).resolve().parents[2] / "README.rst").read_text()
    section = readme.split("The example site\n----------------\n")[1].split("\n-------")[0]
    paths = re.findall(r"http://127\.0\.0\.1:8000(/[^\s`,;)]*)", section)
    assert {"/", "/admin/", "/notifications/"} <= set(paths)
    for path in paths:
        resolve(path.replace("<id>", "2"))
    assert "manage.py runserver" in section and "/feed/<id>/" in section
    assert f"``{DEMO_USERS[0]}``" in section and f"``{DEMO_ADMIN}``" in section
    assert f"``{DEMO_PASSWORD}``" in section
    assert "Announcement" in section
