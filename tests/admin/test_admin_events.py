"""Events created by hand: the ``AdminEvent`` form, its changelist, and who may use it."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from unittest import mock

import pytest
from django.contrib.auth.models import Permission, User
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from entity_event.admin.forms import ADMIN_EVENT_UUID_PREFIX, AdminEventForm
from entity_event.models import AdminEvent, Event
from entity_event.timestamps import never_expires

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:entity_event_adminevent_add")
CHANGELIST_URL = reverse("admin:entity_event_adminevent_changelist")


def change_url(event: Event) -> str:
    return reverse("admin:entity_event_adminevent_change", args=[event.pk])


def next_year() -> int:
    return timezone.now().year + 1


def post_event(client, source, text="Maintenance tonight", expires_date="", expires_time=""):
    return client.post(
        ADD_URL,
        {"source": source.pk, "text": text, "expires_date": expires_date, "expires_time": expires_time},
    )


def form_errors(response) -> dict[str, list[str]]:
    assert response.status_code == 200, "the form was accepted"
    return response.context["adminform"].form.errors


def test_creates_an_event_that_never_expires(admin_client, photo_source):
    with mock.patch.object(Event.objects, "create_event", wraps=Event.objects.create_event) as create_event:
        response = post_event(admin_client, photo_source)
    assert response.status_code == 302
    event = Event.objects.get()
    create_event.assert_called_once()
    assert response["Location"] == CHANGELIST_URL
    assert event.source == photo_source
    assert event.context == {"text": "Maintenance tonight"}
    assert event.uuid.startswith(ADMIN_EVENT_UUID_PREFIX)
    assert len(event.uuid) > len(ADMIN_EVENT_UUID_PREFIX) + 16
    assert event.time_expires == never_expires()
    assert abs(timezone.now() - event.time) < timedelta(minutes=1)
    assert not event.eventactor_set.exists()


def test_each_event_gets_a_fresh_uuid(admin_client, photo_source):
    post_event(admin_client, photo_source, text="one")
    post_event(admin_client, photo_source, text="two")
    assert len(set(Event.objects.values_list("uuid", flat=True))) == 2


def test_expiry_is_read_in_utc(admin_client, photo_source):
    with override_settings(TIME_ZONE="Pacific/Kiritimati"), timezone.override("Pacific/Kiritimati"):
        response = post_event(
            admin_client, photo_source, expires_date=f"{next_year()}-03-04", expires_time="05:06:07"
        )
    assert response.status_code == 302
    assert Event.objects.get().time_expires == datetime(next_year(), 3, 4, 5, 6, 7, tzinfo=UTC)


def test_expiry_without_time_zone_support(client, admin_user, photo_source):
    """With ``USE_TZ = False`` the UTC expiry is stored as naive local time of ``TIME_ZONE``."""
    with override_settings(USE_TZ=False, TIME_ZONE="America/New_York"):
        client.force_login(admin_user)
        response = post_event(client, photo_source, expires_date=f"{next_year()}-07-01", expires_time="12:00")
        assert response.status_code == 302
        event = Event.objects.get()
        assert event.time_expires == datetime(next_year(), 7, 1, 8, 0)  # UTC-4 in summer
        form = AdminEventForm(instance=AdminEvent.objects.get())
        assert form.initial["expires_date"] == datetime(next_year(), 7, 1).date()
        assert form.initial["expires_time"] == time(12, 0)


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"expires_date": "2999-01-01"}, "expires_time", "Give the expiry time too"),
        ({"expires_time": "10:00"}, "expires_date", "Give the expiry date too"),
        ({"expires_date": "2001-01-01", "expires_time": "10:00"}, "expires_date", "must be in the future"),
        ({"expires_date": "not a date", "expires_time": "10:00"}, "expires_date", "Enter a valid date"),
        ({"expires_date": "2999-01-01", "expires_time": "25:00"}, "expires_time", "Enter a valid time"),
        ({"text": ""}, "text", "This field is required"),
    ],
)
def test_bad_input_is_a_form_error_and_writes_nothing(admin_client, photo_source, data, field, message):
    response = post_event(admin_client, photo_source, **data)
    errors = form_errors(response)
    assert message in " ".join(errors[field])
    assert not Event.objects.exists()


def test_unknown_source_is_a_form_error(admin_client, photo_source):
    response = admin_client.post(ADD_URL, {"source": photo_source.pk + 100, "text": "hello"})
    assert "source" in form_errors(response)
    assert not Event.objects.exists()


def test_changelist_shows_the_events_created_by_hand(admin_client, photo_source, product_source):
    Event.objects.create_event(source=photo_source, uuid="by-code", context={"text": "from code"})
    post_event(admin_client, product_source, text="Sale on Friday")
    response = admin_client.get(CHANGELIST_URL)
    rows = list(response.context["cl"].result_list)
    assert [row.context["text"] for row in rows] == ["Sale on Friday"]
    assert "Sale on Friday" in response.content.decode()
    # Searching by text and by source.
    response = admin_client.get(CHANGELIST_URL, {"q": "friday"})
    assert len(response.context["cl"].result_list) == 1
    response = admin_client.get(CHANGELIST_URL, {"q": "Photo Tag"})
    assert len(response.context["cl"].result_list) == 0
    # The event is an ordinary event for the rest of the app.
    assert Event.objects.filter(context__text="Sale on Friday").count() == 1


def test_change_form_edits_text_and_expiry(admin_client, photo_source, product_source):
    post_event(admin_client, photo_source, text="Old text")
    event = Event.objects.get()
    response = admin_client.get(change_url(event))
    form = response.context["adminform"].form
    assert form.initial["text"] == "Old text"
    assert "expires_date" not in form.initial  # never expires: both fields empty

    response = admin_client.post(
        change_url(event),
        {
            "source": product_source.pk,
            "text": "New text",
            "expires_date": f"{next_year()}-01-02",
            "expires_time": "03:04",
        },
    )
    assert response.status_code == 302
    changed = Event.objects.get()
    assert (changed.pk, changed.uuid) == (event.pk, event.uuid)
    assert changed.source == product_source
    assert changed.context == {"text": "New text"}
    assert changed.time_expires == datetime(next_year(), 1, 2, 3, 4, tzinfo=UTC)

    form = admin_client.get(change_url(event)).context["adminform"].form
    assert form.initial["expires_date"] == datetime(next_year(), 1, 2).date()
    assert form.initial["expires_time"] == time(3, 4)


def test_change_form_keeps_a_past_expiry_and_other_context_keys(admin_client, photo_source):
    past = timezone.now().replace(microsecond=0) - timedelta(days=3)
    event = Event.objects.create_event(
        source=photo_source,
        uuid=f"{ADMIN_EVENT_UUID_PREFIX}old",
        context={"text": "a", "link": "/x"},
        time_expires=past,
    )
    response = admin_client.post(
        change_url(event),
        {
            "source": photo_source.pk,
            "text": "b",
            "expires_date": past.date().isoformat(),
            "expires_time": past.time().isoformat(),
        },
    )
    assert response.status_code == 302
    event.refresh_from_db()
    assert event.context == {"text": "b", "link": "/x"}
    assert event.time_expires == past


def test_form_save_outside_the_admin(photo_source):
    """``save()`` writes through ``create_event``; ``save(commit=False)`` writes nothing."""
    form = AdminEventForm(data={"source": photo_source.pk, "text": "hi"})
    assert form.is_valid(), form.errors
    unsaved = form.save(commit=False)
    assert unsaved.pk is None
    assert not Event.objects.exists()

    event = AdminEventForm(data={"source": photo_source.pk, "text": "hi"}).save()
    assert event.pk == Event.objects.get().pk
    assert event.uuid == Event.objects.get().uuid
    assert not event._state.adding


@pytest.fixture
def staff_user(db) -> User:
    return User.objects.create_user("staff", password="pw", is_staff=True)


def test_non_staff_is_sent_to_the_login_page(client, photo_source):
    client.force_login(User.objects.create_user("visitor", password="pw"))
    for url in (ADD_URL, CHANGELIST_URL, reverse("admin:entity_event_event_changelist")):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))
    response = post_event(client, photo_source)
    assert response.status_code == 302
    assert not Event.objects.exists()


def test_staff_without_the_add_permission_cannot_create(client, staff_user, photo_source):
    client.force_login(staff_user)
    assert client.get(ADD_URL).status_code == 403
    assert post_event(client, photo_source).status_code == 403
    assert not Event.objects.exists()


def test_staff_with_the_add_permission_can_create(client, staff_user, photo_source):
    staff_user.user_permissions.add(
        Permission.objects.get(content_type__app_label="entity_event", codename="add_adminevent")
    )
    client.force_login(staff_user)
    assert client.get(ADD_URL).status_code == 200
    response = post_event(client, photo_source, text="Allowed")
    assert response.status_code == 302
    assert Event.objects.get().context == {"text": "Allowed"}
