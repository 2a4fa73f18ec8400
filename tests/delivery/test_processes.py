"""Delivery with several processes against a real SMTP server (PostgreSQL, real connections).

An ``aiosmtpd`` server on 127.0.0.1 stands in for the outside world: it refuses a random part of
the messages (a 451 answer, as a busy server does), and records every message it accepts with
its ``Message-ID``. Worker processes run ``manage.py deliver_entity_events`` against it. The
promises checked: every (event, target) pair arrives at least once and none is lost, whatever
the refusals and even when a worker is killed in the middle of a batch; duplicates are counted
(with per-recipient records, a pair is sent twice only when a worker dies between the server's
answer and its commit). Also: ``prune_entity_events`` runs beside claiming workers without
failing, and concurrent ``create_events`` calls that list the same uuids in different orders
fail with ``IntegrityError``, never a deadlock.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import socket
import threading
import time
from collections import Counter
from email import message_from_bytes
from io import StringIO
from typing import Any

import aiosmtpd.controller
import pytest
from django.core.management import call_command
from django.db import IntegrityError, OperationalError, connections

from entity_event.delivery import message_id
from entity_event.models import (
    ContextRenderer,
    Delivery,
    Event,
    EventSeen,
    Medium,
    RenderingStyle,
    Subscription,
)
from tests.entities import entity_kind, make_entity
from tests.mail import email_backend

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.database_server, pytest.mark.reliability]

TIMEOUT = 240


class FlakySMTPServer:
    """An aiosmtpd handler that refuses ``refusal`` of the messages at random (451) and keeps the
    ``(Message-ID, recipient)`` of those it accepts; ``delay`` seconds per message."""

    def __init__(self, refusal: float = 0.0, delay: float = 0.0, seed: int = 1) -> None:
        self.refusal, self.delay = refusal, delay
        self.random = random.Random(seed)
        self.accepted: list[tuple[str, str]] = []
        self.refused = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        if self.delay:
            time.sleep(self.delay)
        with self.lock:
            if self.random.random() < self.refusal:
                self.refused += 1
                return "451 4.3.0 try again later"
            message = message_from_bytes(envelope.content)
            self.accepted.extend((message["Message-ID"], recipient) for recipient in envelope.rcpt_tos)
        return "250 OK"


@pytest.fixture
def smtp_server():
    """Start a server for the test (``.handler`` is the FlakySMTPServer to configure)."""
    handler = FlakySMTPServer()
    with socket.socket() as probe:  # a free port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = aiosmtpd.controller.Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    controller.handler_object = handler
    try:
        yield controller
    finally:
        controller.stop()


def build_world(source_group, events: int, users: int = 2) -> dict[str, Any]:
    """An email medium with a renderer; ``users`` users in a group subscribed to every event of
    the source; ``events`` events."""
    from entity_event.models import Source

    style = RenderingStyle.objects.create(name="mail")
    email = Medium.objects.create(name="email", display_name="Email", rendering_style=style)
    source = Source.objects.create(group=source_group, name="news", display_name="News")
    ContextRenderer.objects.create(
        name="news", rendering_style=style, source=source, text_template="News {{ n }}"
    )
    group = make_entity("Group", kind="group")
    members = [make_entity(f"User {n}", supers=(group,)) for n in range(users)]
    Subscription.objects.create(
        medium=email, source=source, entity=group, sub_entity_kind=entity_kind("user"), only_following=False
    )
    for start in range(0, events, 1000):
        Event.objects.create_events(
            [
                {"source": source, "uuid": f"e{n}", "context": {"n": n}}
                for n in range(start, min(events, start + 1000))
            ]
        )
    return {"medium": email, "members": members, "source": source}


def expected_message_ids() -> dict[str, tuple[int, int]]:
    """``{Message-ID: (event id, target id)}`` of every pair the world must deliver."""
    return {
        message_id([event], target): (event.pk, target.pk)
        for event in Event.objects.all()
        for target in Subscription.objects.get().subscribed_entities()
    }


def _worker(port: int, arguments: list[str]) -> None:
    """A worker process: its own database connection, the delivery command on the test server."""
    connections.close_all()
    with email_backend("django.core.mail.backends.smtp.EmailBackend", host="127.0.0.1", port=port):
        call_command(
            "deliver_entity_events", "--medium", "email", *arguments, stdout=StringIO(), stderr=StringIO()
        )
    connections.close_all()


def start_workers(count: int, port: int, arguments: list[str]) -> list[multiprocessing.Process]:
    connections.close_all()
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=_worker, args=(port, arguments)) for _ in range(count)]
    for process in processes:
        process.start()
    return processes


def wait_until_everything_is_sent(expected: int) -> None:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if Delivery.objects.filter(status="sent").count() == expected:
            return
        time.sleep(0.5)
    raise AssertionError(
        f"not everything was sent: {dict(Counter(Delivery.objects.values_list('status', flat=True)))}"
    )


def stop(processes: list[multiprocessing.Process]) -> list[int | None]:
    for process in processes:
        if process.is_alive():
            os.kill(process.pid, signal.SIGTERM)
    for process in processes:
        process.join(timeout=60)
    return [process.exitcode for process in processes]


def test_eight_workers_deliver_every_pair_through_a_server_that_refuses_a_fifth(source_group, smtp_server):
    build_world(source_group, events=2000)
    smtp_server.handler_object.refusal = 0.2
    expected = expected_message_ids()
    started = time.monotonic()
    workers = start_workers(
        8,
        smtp_server.port,
        ["--batch-size", "50", "--retry-delay", "0", "--max-attempts", "30", "--loop", "--interval", "0.1"],
    )
    try:
        wait_until_everything_is_sent(len(expected))
    finally:
        exit_codes = stop(workers)
    arrivals = Counter(message_id for message_id, _ in smtp_server.handler_object.accepted)
    duplicates = sum(count - 1 for count in arrivals.values())
    print(
        f"\n8 workers, {len(expected)} pairs in {time.monotonic() - started:.1f} s: "
        f"{smtp_server.handler_object.refused} refusals, {duplicates} duplicates"
    )
    assert exit_codes == [0] * 8
    assert set(arrivals) == set(expected)  # every pair arrived, nothing else did
    assert EventSeen.objects.count() == Event.objects.count() == 2000
    # Every refusal was retried, and no worker died: no pair was sent twice.
    assert duplicates == 0
    assert not Delivery.objects.exclude(status="sent").exists()


def test_a_worker_killed_in_the_middle_of_a_batch_loses_nothing(source_group, smtp_server):
    build_world(source_group, events=60)
    expected = expected_message_ids()
    smtp_server.handler_object.delay = 0.05
    [victim] = start_workers(1, smtp_server.port, ["--batch-size", "40"])
    deadline = time.monotonic() + TIMEOUT
    while len(smtp_server.handler_object.accepted) < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(victim.pid, signal.SIGKILL)  # in the middle of its first batch: no cleanup at all
    victim.join(timeout=60)
    time.sleep(0.5)  # a message on the wire when the worker died may still be accepted
    sent_before = len(smtp_server.handler_object.accepted)
    assert 5 <= sent_before < len(expected)
    smtp_server.handler_object.delay = 0
    # Its locks went with its connection: the next worker takes the batch over.
    [rescuer] = start_workers(1, smtp_server.port, ["--batch-size", "40"])
    rescuer.join(timeout=TIMEOUT)
    assert rescuer.exitcode == 0
    arrivals = Counter(message_id for message_id, _ in smtp_server.handler_object.accepted)
    assert set(arrivals) == set(expected)
    assert not Delivery.objects.exclude(status="sent").exists()
    # Only messages of the killed batch were sent twice (accepted, but not recorded as sent):
    # at most those accepted before the kill, and never more than a batch.
    duplicates = sum(count - 1 for count in arrivals.values())
    print(f"\nkilled after {sent_before} accepted messages; {duplicates} sent twice")
    assert duplicates <= min(sent_before, 40)


def one_announcement(source_group, members: int) -> dict[str, Any]:
    """One event of a source a group of ``members`` users is subscribed to."""
    world = build_world(source_group, events=0, users=members)
    Event.objects.create_event(source=world["source"], uuid="announcement", context={"n": 0})
    return world


def test_a_worker_killed_again_and_again_sends_again_at_most_its_chunk_in_flight(source_group, smtp_server):
    """One announcement to 150 people, chunks of 10, the worker killed three times in the middle
    of a chunk: nothing is lost, and each kill sends again at most the chunk it had in flight."""
    one_announcement(source_group, members=150)
    expected = expected_message_ids()
    smtp_server.handler_object.delay = 0.02
    chunk = 10
    kills = 3
    for kill in range(kills):
        [victim] = start_workers(1, smtp_server.port, ["--chunk-size", str(chunk), "--batch-size", "1000"])
        deadline = time.monotonic() + TIMEOUT
        target = (kill + 1) * 25
        while len(smtp_server.handler_object.accepted) < target and time.monotonic() < deadline:
            time.sleep(0.005)
        os.kill(victim.pid, signal.SIGKILL)
        victim.join(timeout=60)
        time.sleep(0.3)  # a message on the wire may still be accepted
    smtp_server.handler_object.delay = 0
    [rescuer] = start_workers(1, smtp_server.port, ["--chunk-size", str(chunk), "--batch-size", "1000"])
    rescuer.join(timeout=TIMEOUT)
    assert rescuer.exitcode == 0
    arrivals = Counter(message_id for message_id, _ in smtp_server.handler_object.accepted)
    assert set(arrivals) == set(expected)  # nothing lost, nothing else
    duplicates = sum(count - 1 for count in arrivals.values())
    print(f"\n{kills} kills, chunks of {chunk}: {duplicates} messages sent twice")
    assert duplicates <= kills * chunk
    assert not Delivery.objects.exclude(status="sent").exists()


def pid_recording_handler(batch: Any) -> Any:
    """``send_email``, noting which process sent each chunk (in the file ``PIDS``)."""
    from entity_event.delivery import send_email

    with open(os.environ["ENTITY_EVENT_TEST_PIDS"], "a") as pids:
        pids.write(f"{os.getpid()} {len(batch.pairs)}\n")
    return send_email(batch)


def test_workers_share_the_chunks_of_one_fan_out(source_group, smtp_server, tmp_path, monkeypatch):
    """Two workers on one announcement to 400 people: both send chunks of it (each locks its
    chunk, skipping those the other holds: PostgreSQL and MariaDB), each person gets one
    message."""
    one_announcement(source_group, members=400)
    expected = expected_message_ids()
    smtp_server.handler_object.delay = 0.005
    monkeypatch.setenv("ENTITY_EVENT_TEST_PIDS", str(tmp_path / "pids"))
    handler = ["--handler", "tests.delivery.test_processes.pid_recording_handler"]
    workers = start_workers(
        2, smtp_server.port, [*handler, "--chunk-size", "20", "--loop", "--interval", "0.05"]
    )
    try:
        wait_until_everything_is_sent(len(expected))
    finally:
        stop(workers)
    arrivals = Counter(message_id for message_id, _ in smtp_server.handler_object.accepted)
    assert set(arrivals) == set(expected) and max(arrivals.values()) == 1
    sent_by = Counter()
    for line in (tmp_path / "pids").read_text().splitlines():
        pid, count = line.split()
        sent_by[pid] += int(count)
    assert len(sent_by) == 2 and sum(sent_by.values()) == 400, sent_by


def _claim_in_a_loop(stop_at: float, queue: Any) -> None:
    connections.close_all()
    medium = Medium.objects.get(name="email")
    claimed, errors = 0, []
    while time.monotonic() < stop_at:
        try:
            claimed += len(medium.events_targets(seen=False, mark_seen=True, limit=20))
        except Exception as error:  # reported to the test
            errors.append(repr(error))
        time.sleep(0.005)
    queue.put((claimed, errors))
    connections.close_all()


def test_prune_runs_beside_claiming_workers(source_group):
    source = build_world(source_group, events=3000)["source"]
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    connections.close_all()
    stop_at = time.monotonic() + 8
    workers = [context.Process(target=_claim_in_a_loop, args=(stop_at, queue)) for _ in range(4)]
    for worker in workers:
        worker.start()
    pruned = 0
    while time.monotonic() < stop_at - 1:
        output = StringIO()
        # Every event is older than -1 days: prune deletes what the workers claim, in small batches.
        call_command("prune_entity_events", "--older-than-days", "0", "--batch-size", "50", stdout=output)
        pruned += int(output.getvalue().splitlines()[-1].split()[1].replace(",", ""))
        Event.objects.create_events([{"source": source, "context": {}}] * 200)
    results = [queue.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    print(f"\npruned {pruned} events beside 4 workers that claimed {sum(c for c, _ in results)}")
    assert all(errors == [] for _, errors in results), results
    assert pruned > 0


def _create_in_order(uuids: list[str], source_id: int, barrier: Any, queue: Any) -> None:
    connections.close_all()
    barrier.wait(timeout=30)
    try:
        Event.objects.create_events([{"source": source_id, "uuid": uuid} for uuid in uuids])
        queue.put("created")
    except IntegrityError:
        queue.put("IntegrityError")
    except OperationalError as error:  # a deadlock would land here
        queue.put(f"OperationalError: {error}")
    connections.close_all()


def test_writers_with_the_same_uuids_in_different_orders_get_integrity_errors_not_deadlocks(source_group):
    from entity_event.models import Source

    source = Source.objects.create(group=source_group, name="race", display_name="Race")
    context = multiprocessing.get_context("fork")
    outcomes = []
    for round_number in range(5):
        uuids = [f"r{round_number}-{n}" for n in range(200)]
        queue, barrier = context.Queue(), context.Barrier(4)
        connections.close_all()
        writers = []
        for number in range(4):
            shuffled = uuids[:]
            random.Random(number).shuffle(shuffled)
            writers.append(
                context.Process(target=_create_in_order, args=(shuffled, source.pk, barrier, queue))
            )
        for writer in writers:
            writer.start()
        outcomes += [queue.get(timeout=60) for _ in writers]
        for writer in writers:
            writer.join(timeout=60)
    assert Counter(outcomes) == {"created": 5, "IntegrityError": 15}
