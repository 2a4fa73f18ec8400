"""Read state under concurrent calls (PostgreSQL, one real connection per thread): marking never
fails on the unique constraints, the watermark never moves back, and the last call wins."""

from __future__ import annotations

import random
import threading

import pytest
from django.db import connection

from entity_event.models import Event, ReadMark, ReadState
from tests.worlds import day

pytestmark = [pytest.mark.reliability, pytest.mark.database_server, pytest.mark.django_db(transaction=True)]

THREADS = 8
ROUNDS = 15


def run_in_threads(work) -> list[BaseException]:
    """Run ``work(n)`` in ``THREADS`` threads started together; the exceptions they raised."""
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def thread(n: int) -> None:
        try:
            start.wait()
            work(n)
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=thread, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return errors


def test_concurrent_marks_never_fail_and_the_watermark_only_moves_forward(world):
    feed = list(world.email.entity_events(world.alice).values_list("pk", flat=True))
    watermarks: list[int] = []

    def work(n: int) -> None:
        rng = random.Random(n)
        for round_ in range(ROUNDS):
            action = rng.choice(["everything", "read", "unread", "create"])
            if action == "everything":
                world.email.mark_read(world.alice)
                watermarks.append(ReadState.objects.get(medium=world.email, entity=world.alice).read_up_to)
            elif action == "create":
                Event.objects.create_event(
                    uuid=f"new-{n}-{round_}", source=world.photo, actors=[world.alice], time=day(10)
                )
            else:
                marked = rng.sample(feed, 2)
                getattr(world.email, f"mark_{action}")(world.alice, marked)

    assert run_in_threads(work) == []
    assert ReadState.objects.count() == 1
    assert (
        ReadMark.objects.filter(event_id__in=feed).values("event_id").distinct().count()
        == ReadMark.objects.filter(event_id__in=feed).count()
    )
    # Each call saw a watermark at least as new as the one any call had written before it read.
    state = ReadState.objects.get()
    assert state.read_up_to >= max(watermarks, default=0)
    world.email.mark_read(world.alice)
    assert world.email.unread_count(world.alice) == 0


def test_the_first_mark_everything_read_of_many_callers_creates_one_row(world):
    assert run_in_threads(lambda n: world.email.mark_read(world.alice)) == []
    assert ReadState.objects.get().read_up_to == Event.objects.latest("pk").pk


def test_the_last_mark_wins(world):
    event = Event.objects.get(uuid="photo-org")

    def work(n: int) -> None:
        for _ in range(ROUNDS):
            world.email.mark_read(world.alice, [event])
            world.email.mark_unread(world.alice, [event])

    assert run_in_threads(work) == []
    # Every thread ended with mark_unread, so whichever ran last, the event is unread.
    assert ReadMark.objects.get().read is False
    assert "photo-org" in [e.uuid for e in world.email.entity_events(world.alice, read=False)]
