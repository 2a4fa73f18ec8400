"""Time fields with ``USE_TZ = True`` (Django's default) and ``USE_TZ = False`` (docs/differences.rst)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from entity_event.models import Event, EventSeen
from entity_event.timestamps import NEVER_EXPIRES_UTC, never_expires

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("use_tz", [True, False])
def test_time_fields_round_trip(use_tz, photo_source, email):
    with override_settings(USE_TZ=use_tz):
        event = Event.objects.create_event(source=photo_source)
        EventSeen.objects.create(event=event, medium=email)
        event = Event.objects.get(pk=event.pk)
        seen = EventSeen.objects.get()

        assert timezone.is_aware(event.time) is use_tz
        assert timezone.is_aware(event.time_expires) is use_tz
        assert timezone.is_aware(seen.time_seen) is use_tz
        assert event.time_expires == never_expires()
        assert abs(timezone.now() - event.time) < timedelta(minutes=1)
        assert abs(timezone.now() - seen.time_seen) < timedelta(minutes=1)
        # "never" compares as later than any real instant, in the database too.
        assert Event.objects.filter(time_expires__gt=timezone.now() + timedelta(days=365 * 1000)).count() == 1


def test_never_expires_is_naive_without_use_tz():
    with override_settings(USE_TZ=False):
        assert never_expires() == datetime(9000, 1, 1)
    assert never_expires() is NEVER_EXPIRES_UTC


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Pacific/Pago_Pago"])
def test_never_expires_survives_time_zone_conversion(zone, photo_source):
    with override_settings(TIME_ZONE=zone), timezone.override(zone):
        Event.objects.create_event(source=photo_source)
        local = timezone.localtime(Event.objects.get().time_expires)
        assert local.year in (8999, 9000)
