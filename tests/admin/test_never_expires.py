"""The admin shows the "never expires" instant (the first instant of the year 9000, see
entity_event/timestamps.py) as "never", wherever it displays an expiry: the changelists of
events and of admin events, the read-only page of a view-only user, and the event form, whose
expiry is empty for "never" and still takes a date and a time."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Permission, User
from django.test import override_settings
from django.urls import reverse

from entity_event.admin.forms import new_admin_event_uuid
from entity_event.models import Event
from entity_event.timestamps import never_expires

pytestmark = pytest.mark.django_db

EXPIRES = datetime(2100, 5, 6, 7, 8, tzinfo=UTC)


@pytest.fixture
def events(photo_source):
    """An event that never expires and one that expires, both created as the admin creates them
    (so that the admin events' changelist lists them too)."""
    forever = Event.objects.create_event(
        source=photo_source, context={"text": "forever"}, uuid=new_admin_event_uuid()
    )
    dated = Event.objects.create_event(
        source=photo_source, context={"text": "dated"}, uuid=new_admin_event_uuid(), time_expires=EXPIRES
    )
    return forever, dated


def expiry_cells(response) -> list[str]:
    html = response.content.decode()
    return [cell.split("</td>")[0] for cell in html.split('<td class="field-expires">')[1:]]


@pytest.mark.parametrize("model", ["event", "adminevent"])
def test_changelists_show_never(admin_client, events, model):
    response = admin_client.get(reverse(f"admin:entity_event_{model}_changelist"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "9000" not in html
    assert sorted(expiry_cells(response)) == ["May 6, 2100, 7:08 a.m.", "never"]


def expiry_by_event(response) -> dict[int, str]:
    """The expiry cell of each row of a changelist, by the id of the row's event (its checkbox)."""
    rows = re.findall(
        r'name="_selected_action" value="(\d+)".*?<td class="field-expires">(.*?)</td>',
        response.content.decode(),
        re.DOTALL,
    )
    return {int(pk): expiry for pk, expiry in rows}


@pytest.mark.parametrize("model", ["event", "adminevent"])
def test_each_row_shows_the_expiry_of_its_own_event(admin_client, events, model):
    forever, dated = events
    response = admin_client.get(reverse(f"admin:entity_event_{model}_changelist"))
    assert expiry_by_event(response) == {forever.pk: "never", dated.pk: "May 6, 2100, 7:08 a.m."}


@pytest.mark.parametrize("model", ["event", "adminevent"])
def test_changelists_sort_by_the_expiry(admin_client, events, model):
    # "never" is the latest instant of all: first when sorted newest first.
    response = admin_client.get(reverse(f"admin:entity_event_{model}_changelist"), {"o": "-4"})
    assert expiry_cells(response) == ["never", "May 6, 2100, 7:08 a.m."]


@pytest.fixture
def viewer(client):
    user = User.objects.create_user("viewer", is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="entity_event", codename="view_event")
    )
    client.force_login(user)
    return client


def test_the_read_only_page_of_a_view_only_user_shows_never(viewer, events):
    forever, dated = events
    response = viewer.get(reverse("admin:entity_event_event_change", args=[forever.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "9000" not in html
    assert '<div class="readonly">never</div>' in html
    response = viewer.get(reverse("admin:entity_event_event_change", args=[dated.pk]))
    assert '<div class="readonly">May 6, 2100, 7:08 a.m.</div>' in response.content.decode()


def change_form(client, event):
    response = client.get(reverse("admin:entity_event_event_change", args=[event.pk]))
    assert response.status_code == 200
    return response.context["adminform"].form


def test_the_event_form_shows_never_as_an_empty_expiry(admin_client, events):
    forever, dated = events
    form = change_form(admin_client, forever)
    html = str(form["time_expires"])
    assert "9000" not in html and 'value="' not in html
    assert "never" in form.fields["time_expires"].help_text
    assert 'value="2100-05-06"' in str(change_form(admin_client, dated)["time_expires"])


def post_change(client, event, expiry_date: str, expiry_time: str):
    data = {
        "source": event.source_id,
        "context": '{"text": "edited"}',
        "time_0": event.time.strftime("%Y-%m-%d"),
        "time_1": event.time.strftime("%H:%M:%S"),
        "uuid": event.uuid,
        "time_expires_0": expiry_date,
        "time_expires_1": expiry_time,
        **{
            f"{prefix}-{name}": value
            for prefix in ("eventactor_set", "eventseen_set")
            for name, value in (("TOTAL_FORMS", "0"), ("INITIAL_FORMS", "0"))
        },
    }
    return client.post(reverse("admin:entity_event_event_change", args=[event.pk]), data)


def test_the_event_form_still_takes_a_date(admin_client, events):
    forever, _ = events
    response = post_change(admin_client, forever, "2101-01-02", "03:04:05")
    assert response.status_code == 302, response.context["adminform"].form.errors
    forever.refresh_from_db()
    assert forever.time_expires == datetime(2101, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_an_empty_expiry_means_never(admin_client, events):
    _, dated = events
    response = post_change(admin_client, dated, "", "")
    assert response.status_code == 302, response.context["adminform"].form.errors
    dated.refresh_from_db()
    assert dated.time_expires == never_expires()


def test_saving_an_unchanged_never_logs_no_change_of_the_expiry(admin_client, events):
    from django.contrib.admin.models import LogEntry

    forever, _ = events
    post_change(admin_client, forever, "", "")
    assert "Expires" not in LogEntry.objects.get().get_change_message()


def test_without_time_zone_support(client, admin_user, photo_source):
    with override_settings(USE_TZ=False):
        event = Event.objects.create_event(source=photo_source, uuid=new_admin_event_uuid())
        client.force_login(admin_user)
        assert "9000" not in client.get(reverse("admin:entity_event_event_changelist")).content.decode()
        assert 'value="' not in str(change_form(client, event)["time_expires"])
