"""The admin of delivery records: failed deliveries are queued again by an action, which takes
the change permission (tests/delivery/test_deliver_command.py runs it after a real delivery)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.contrib.messages import get_messages
from django.urls import reverse

from entity_event.models import Delivery, Event
from tests.entities import make_entity

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:entity_event_delivery_changelist"


@pytest.fixture
def deliveries(photo_source, email) -> dict[str, Delivery]:
    """A failed, a sent and a pending delivery of one event to three people."""
    event = Event.objects.create_event(source=photo_source, context={"n": 1})
    return {
        status: Delivery.objects.create(
            event=event, medium=email, target=make_entity(status), status=status, attempts=3
        )
        for status in ("failed", "sent", "pending")
    }


def test_queue_again_makes_only_the_failed_deliveries_pending(admin_client, deliveries):
    response = admin_client.post(
        reverse(CHANGELIST),
        {"action": "queue_again", "_selected_action": [delivery.pk for delivery in deliveries.values()]},
    )
    assert response.status_code == 302
    assert [str(message) for message in get_messages(response.wsgi_request)] == [
        "1 failed delivery queued again."
    ]
    for delivery in deliveries.values():
        delivery.refresh_from_db()
    states = {status: (delivery.status, delivery.attempts) for status, delivery in deliveries.items()}
    assert states == {"failed": ("pending", 0), "sent": ("sent", 3), "pending": ("pending", 3)}


def test_a_user_who_may_only_view_deliveries_has_no_such_action(client, deliveries):
    user = User.objects.create_user("viewer", is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="entity_event", codename="view_delivery")
    )
    client.force_login(user)
    response = client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    assert b"queue_again" not in response.content
