"""``events_targets`` pauses Python's cyclic garbage collector while it assembles its result, and
always leaves it as it found it (see ``routing._garbage_collector_paused``)."""

from __future__ import annotations

import gc
from unittest import mock

import pytest

from entity_event import routing
from entity_event.models import Event, Subscription
from tests.entities import make_entity

pytestmark = pytest.mark.django_db


@pytest.fixture
def delivered(email, photo_source):
    """One subscribed user and one event for them."""
    alice = make_entity("Alice")
    Subscription.objects.create(medium=email, source=photo_source, entity=alice, only_following=False)
    Event.objects.create_event(source=photo_source, uuid="e1")
    return alice


def spy_on_collector_state():
    """Patch the follower computation (run inside the paused block) to record gc.isenabled()."""
    states = []
    real = routing._DefaultFollowers.__init__

    def recording(self, actor_rows):
        states.append(gc.isenabled())
        real(self, actor_rows)

    return states, mock.patch.object(routing._DefaultFollowers, "__init__", recording)


def test_paused_during_the_call_and_enabled_after(email, delivered):
    states, spy = spy_on_collector_state()
    with spy:
        result = email.events_targets()
    delivered_pairs = [(event.uuid, [t.display_name for t in targets]) for event, targets in result]
    assert delivered_pairs == [("e1", ["Alice"])]
    assert states == [False]
    assert gc.isenabled()


def test_a_disabled_collector_stays_disabled(email, delivered):
    gc.disable()
    try:
        email.events_targets()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_enabled_again_after_an_error(email, delivered):
    with (
        mock.patch.object(routing._DefaultFollowers, "__init__", side_effect=RuntimeError("boom")),
        pytest.raises(RuntimeError, match="boom"),
    ):
        email.events_targets()
    assert gc.isenabled()
