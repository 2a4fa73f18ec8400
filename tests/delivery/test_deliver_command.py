"""Delivery that loses nothing: bounded claims (``limit``), claims inside the caller's
transaction (at-least-once), ``deliver_entity_events`` with per-recipient records, and the email
handler. The tests with several processes and a real SMTP server are in
tests/delivery/test_processes.py (PostgreSQL)."""

from __future__ import annotations

import signal
import warnings
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib import admin
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from entity_event.delivery import Batch, message_id
from entity_event.models import (
    ContextRenderer,
    Delivery,
    Event,
    EventSeen,
)
from tests.entities import make_entity
from tests.mail import email_backend

pytestmark = pytest.mark.django_db

#: The deliveries of the test's medium, as (event uuid, target display name, status, attempts).
CLAIM = {"seen": False, "mark_seen": True}


def uuids(events) -> list[str]:
    return [event.uuid for event in events]


class TestLimit:
    def test_feeds_get_the_newest(self, world):
        email, ann = world["medium"], world["users"][0]
        assert uuids(email.events(limit=3)) == ["e9", "e8", "e7"]
        assert uuids(email.entity_events(ann, limit=2)) == ["e9", "e8"]
        assert uuids(event for event, _ in email.events_targets(limit=4)) == ["e9", "e8", "e7", "e6"]

    def test_a_claim_takes_the_oldest_first_so_a_backlog_drains_in_order(self, world):
        email = world["medium"]
        first = email.events_targets(**CLAIM, limit=4)
        assert uuids(event for event, _ in first) == ["e0", "e1", "e2", "e3"]
        assert uuids(email.events(**CLAIM, limit=3)) == ["e4", "e5", "e6"]
        assert uuids(email.entity_events(world["users"][0], **CLAIM, limit=10)) == ["e7", "e8", "e9"]
        assert EventSeen.objects.count() == 10
        assert email.events_targets(**CLAIM, limit=4) == []

    def test_marking_without_claiming_marks_the_newest(self, world):
        email = world["medium"]
        assert uuids(email.events(mark_seen=True, limit=2)) == ["e9", "e8"]
        assert set(EventSeen.objects.values_list("event__uuid", flat=True)) == {"e9", "e8"}

    def test_a_claim_costs_the_same_queries_whatever_the_backlog(self, world, django_assert_num_queries):
        email = world["medium"]
        Event.objects.create_events([{"source": world["source"], "context": {"n": n}} for n in range(50)])
        # subscriptions, members, unsubscriptions, the locked events, the re-check, the entities,
        # the seen records; and the savepoint of the claim's transaction.
        with django_assert_num_queries(9):
            assert len(email.events_targets(**CLAIM, limit=5)) == 5

    @pytest.mark.parametrize(
        ("limit", "error", "message"),
        [
            (0, ValueError, "limit must be between 1 and"),
            (-3, ValueError, "limit must be between 1 and"),
            (2**64, ValueError, "limit must be between 1 and"),
            (True, TypeError, "limit must be a positive integer or None, got True"),
            ("5", TypeError, "limit must be a positive integer or None, got '5'"),
        ],
    )
    def test_bad_limits_are_refused_before_any_query(
        self, world, limit, error, message, django_assert_num_queries
    ):
        email, ann = world["medium"], world["users"][0]
        for method, call in {
            "events": lambda: email.events(limit=limit),
            "entity_events": lambda: email.entity_events(ann, limit=limit),
            "events_targets": lambda: email.events_targets(limit=limit),
        }.items():
            with django_assert_num_queries(0), pytest.raises(error, match=rf"{method}\(\): {message}"):
                call()


class TestAtLeastOnce:
    """Inside the caller's transaction a claim commits with the caller's work: a failure on the
    way out rolls the seen marks back, and the next claim hands the events out again."""

    def test_a_failing_send_rolls_the_claim_back(self, world):
        email = world["medium"]
        with pytest.raises(ConnectionRefusedError), transaction.atomic():
            batch = email.events_targets(**CLAIM, limit=5)
            assert len(batch) == 5
            raise ConnectionRefusedError("the SMTP server refused the connection")
        assert not EventSeen.objects.exists()
        assert uuids(event for event, _ in email.events_targets(**CLAIM, limit=5)) == [
            "e0",
            "e1",
            "e2",
            "e3",
            "e4",
        ]

    def test_the_quickstart_worker_delivers_everything_after_a_failure(self, world):
        from example import quickstart

        email = world["medium"]
        with (
            email_backend("tests.delivery.test_deliver_command.RefusingBackend"),
            pytest.raises(OSError),
        ):
            quickstart.send_email_batch(email)
        assert not EventSeen.objects.exists()
        mail.outbox = []
        while quickstart.send_email_batch(email):
            pass
        # One message per event and recipient with an address: 10 events x 2 recipients.
        assert len(mail.outbox) == 20
        assert {tuple(message.to) for message in mail.outbox} == {("ann@example.com",), ("bea@example.com",)}


class RefusingBackend(BaseEmailBackend):
    """An email backend whose server refuses every connection."""

    def send_messages(self, email_messages):
        raise ConnectionRefusedError("connection refused")


def deliver(*args: str) -> str:
    out = StringIO()
    call_command("deliver_entity_events", "--medium", "email", *args, stdout=out)
    return out.getvalue()


def delivery_states() -> set[tuple[str, str, str, int]]:
    return set(Delivery.objects.values_list("event__uuid", "target__display_name", "status", "attempts"))


class RecordingHandler:
    """A handler that records its batches and fails the pairs it is told to."""

    batches: list[Batch] = []
    failing: set[str] = set()  # display names of the targets that fail
    raising: bool = False

    def __call__(self, batch: Batch):
        type(self).batches.append(batch)
        if type(self).raising:
            raise RuntimeError("the handler broke")
        return {
            (event, target): "refused" for event, target in batch.pairs if target.display_name in self.failing
        }


recording_handler = RecordingHandler()


HANDLER = ["--handler", "tests.delivery.test_deliver_command.recording_handler"]


class TestDeliverCommand:
    def test_claims_records_and_sends_batch_by_batch(self, world, recorder):
        output = deliver(*HANDLER, "--batch-size", "4")
        # 10 events x 3 targets = 30 records; each batch claims 4 events and sends 4 records.
        assert "batch 1: 4 events claimed, 12 deliveries recorded, 4 sent, 0 to retry, 0 failed" in output
        assert Delivery.objects.filter(status="sent").count() == 30
        assert EventSeen.objects.count() == 10
        sent_pairs = [
            (event.uuid, target.display_name) for batch in recorder.batches for event, target in batch.pairs
        ]
        assert len(sent_pairs) == len(set(sent_pairs)) == 30
        assert deliver(*HANDLER) == ""  # nothing left: the first batch is idle and the command stops

    def test_the_handler_gets_event_targets_pairs_or_digests(self, world, recorder):
        deliver(*HANDLER, "--batch-size", "30", "--max-batches", "1")
        [batch] = recorder.batches
        assert not batch.digest and len(batch.items) == 10
        event, targets = batch.items[0]
        assert event.uuid == "e0" and [t.display_name for t in targets] == ["Ann", "Bea", "Cid"]
        Delivery.objects.update(status="pending")
        deliver(*HANDLER, "--batch-size", "30", "--digest", "--max-batches", "1")
        digest = recorder.batches[-1]
        assert digest.digest and {target.display_name: len(events) for target, events in digest.items} == {
            "Ann": 10, "Bea": 10, "Cid": 10,
        }  # fmt: skip

    def test_a_failed_recipient_is_retried_alone_and_fails_for_good_after_the_last_attempt(
        self, world, recorder
    ):
        recorder.failing = {"Cid"}
        deliver(*HANDLER, "--batch-size", "30", "--retry-delay", "0", "--max-attempts", "3")
        cid = Delivery.objects.filter(target__display_name="Cid")
        assert set(cid.values_list("status", "attempts", "last_error")) == {("failed", 3, "refused")}
        others = Delivery.objects.exclude(target__display_name="Cid")
        assert set(others.values_list("status", "attempts")) == {("sent", 1)}
        # Only Cid's records came back in the retries.
        assert {target.display_name for batch in recorder.batches[1:] for _, target in batch.pairs} == {"Cid"}

    def test_a_failed_attempt_waits_twice_as_long_each_time(self, world, recorder):
        recorder.failing = {"Ann"}
        before = timezone.now()
        deliver(*HANDLER, "--batch-size", "30", "--max-batches", "1", "--retry-delay", "100")
        ann = Delivery.objects.filter(target__display_name="Ann").first()
        assert (ann.status, ann.attempts) == ("pending", 1)
        assert (
            before + timedelta(seconds=100)
            <= ann.time_next_attempt
            <= timezone.now() + timedelta(seconds=100)
        )
        Delivery.objects.filter(pk=ann.pk).update(time_next_attempt=timezone.now())
        deliver(*HANDLER, "--batch-size", "1", "--max-batches", "1", "--retry-delay", "100")
        ann.refresh_from_db()
        assert ann.attempts == 2 and ann.time_next_attempt >= timezone.now() + timedelta(seconds=199)

    def test_a_handler_exception_fails_its_chunk_alike_and_the_next_chunks_go_on(
        self, world, recorder, caplog
    ):
        """A handler that raises for a whole chunk: its records each count a failed attempt with
        the error (logged), the command goes on with the next chunks, and a chunk that always
        fails is failed for good after the last attempt: it cannot stop the queue."""
        recorder.raising = True
        output = deliver(*HANDLER, "--batch-size", "4", "--chunk-size", "2", "--retry-delay", "0",
                         "--max-attempts", "2")  # fmt: skip
        assert "the handler failed for chunk 1 of the medium 'email'" in caplog.text
        assert "batch 1: 4 events claimed, 12 deliveries recorded, 0 sent, 4 to retry, 0 failed" in output
        # Every record was tried twice (the retry delay is 0), then failed for good.
        assert set(Delivery.objects.values_list("status", "attempts", "last_error")) == {
            ("failed", 2, "the handler failed: RuntimeError: the handler broke"),
        }
        assert Delivery.objects.count() == 30
        recorder.raising = False
        Delivery.objects.update(status="pending", attempts=0)
        deliver(*HANDLER, "--batch-size", "100")
        assert Delivery.objects.filter(status="sent").count() == 30

    def test_what_the_handler_wrote_is_rolled_back_when_it_raises(self, world):
        def writes_then_raises(batch):
            Event.objects.filter(uuid="e0").update(uuid="changed")
            raise RuntimeError("after writing")

        global recording_handler
        saved, recording_handler = recording_handler, writes_then_raises
        try:
            deliver(*HANDLER, "--batch-size", "1", "--max-batches", "1")
        finally:
            recording_handler = saved
        assert Event.objects.filter(uuid="e0").exists()
        assert set(Delivery.objects.values_list("attempts", flat=True)) == {1, 0}

    def test_writing_the_records_costs_the_same_queries_for_any_batch(
        self, world, recorder, django_assert_num_queries, recipients_queries
    ):
        # The medium; in a savepoint the claim (the locked events, the re-check, the seen
        # records) and the records, one INSERT ... SELECT; then in a savepoint the chunk: its
        # records, locked, with their recipients (apart on MariaDB), their events, and one UPDATE
        # of the sent ones (no failure: no other UPDATE).
        for size in ("2", "9"):
            Delivery.objects.all().delete()
            EventSeen.objects.all().delete()
            with django_assert_num_queries(12 + recipients_queries):
                deliver(*HANDLER, "--batch-size", size, "--max-batches", "1")

    def test_sigterm_finishes_the_current_batch_and_stops(self, world, recorder):
        def stop_during_the_batch(batch):
            signal.raise_signal(signal.SIGTERM)
            return None

        RecordingHandler.raising = False
        out, err = StringIO(), StringIO()
        global recording_handler
        saved, recording_handler = recording_handler, stop_during_the_batch
        try:
            call_command(
                "deliver_entity_events",
                "--medium",
                "email",
                *HANDLER,
                "--batch-size",
                "2",
                "--loop",
                stdout=out,
                stderr=err,
            )
        finally:
            recording_handler = saved
        assert "SIGTERM: stopping after the current batch" in err.getvalue()
        assert out.getvalue().count("batch ") == 1
        assert Delivery.objects.filter(status="sent").count() == 2
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL

    def test_loop_waits_when_idle_until_the_batch_limit(self, world, recorder):
        output = deliver(*HANDLER, "--batch-size", "100", "--loop", "--interval", "0", "--max-batches", "3")
        assert output.count("batch ") == 1  # one busy batch, then two idle ones
        assert len(recorder.batches) == 1

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["--medium", "fax"], "--medium: no medium named 'fax'"),
            (["--handler", "tests.nowhere.handler"], "--handler: cannot import 'tests.nowhere.handler'"),
            (
                ["--handler", "tests.delivery.test_deliver_command.CLAIM"],
                "--handler: 'tests.delivery.test_deliver_command.CLAIM' is not callable",
            ),
            (["--batch-size", "0"], "--batch-size must be 1 or more, got 0"),
            (["--batch-size", "100001"], "--batch-size must be at most 100,000, got 100,001"),
            (["--max-attempts", "0"], "--max-attempts must be 1 or more"),
            (["--max-batches", "0"], "--max-batches must be 1 or more"),
            (["--interval", "-1"], "--interval must be 0 or more"),
            (["--retry-delay", "-5"], "--retry-delay must be 0 or more"),
            (["--batch-size", "lots"], "argument --batch-size: invalid int value: 'lots'"),
        ],
    )
    def test_bad_arguments(self, world, args, message, django_assert_max_num_queries):
        with django_assert_max_num_queries(1), pytest.raises(CommandError, match=message):
            call_command("deliver_entity_events", "--medium", "email", *args, stdout=StringIO())
        assert not Delivery.objects.exists()


class TestSendEmail:
    def test_one_message_per_recipient_with_a_stable_message_id(self, world):
        deliver("--batch-size", "100")
        assert len(mail.outbox) == 20  # Cid has no address
        assert all(len(message.to) == 1 for message in mail.outbox)
        first = mail.outbox[0]
        rendering, _, footer = first.body.partition("\n\n--\n")
        assert (first.subject, rendering, first.to) == ("Photo Tag", "Photo 0", ["ann@example.com"])
        assert footer.startswith("To stop receiving these messages: https://testserver/")
        assert first.alternatives[0].content.startswith('<b>Photo 0</b>\n<p><a href="https://testserver/')
        assert first.extra_headers["Message-ID"] == message_id([world["events"][0]], world["users"][0])
        assert len({message.extra_headers["Message-ID"] for message in mail.outbox}) == 20
        # A recipient without an address is skipped, not tried again.
        cid = Delivery.objects.filter(target__display_name="Cid").first()
        assert cid.status == "skipped" and "has no email address (entity_meta['email'])" in cid.last_error

    def test_sends_through_the_mail_api_of_the_django_version_without_a_warning(self, world):
        """Django 6.1 deprecates ``get_connection()`` for its mailers; each version is used with
        its own API (the suite's settings are ``MAILERS`` on 6.1, ``EMAIL_BACKEND`` before)."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            deliver("--batch-size", "100")
        assert len(mail.outbox) == 20
        assert [str(warning.message) for warning in caught] == []

    def test_the_message_id_depends_only_on_the_events_and_the_target(self, world):
        event, ann, bea = world["events"][0], world["users"][0], world["users"][1]
        assert message_id([event], ann) == message_id([Event.objects.get(pk=event.pk)], ann)
        assert message_id([event], ann) != message_id([event], bea)
        assert message_id([event], ann).endswith("@localhost>")
        with override_settings(ENTITY_EVENT_MESSAGE_ID_DOMAIN="mail.example.com"):
            assert message_id([event], ann).endswith(f".{ann.pk}@mail.example.com>")

    def test_a_digest_is_one_message_per_recipient(self, world):
        deliver("--batch-size", "100", "--digest")
        assert len(mail.outbox) == 2
        ann = next(message for message in mail.outbox if message.to == ["ann@example.com"])
        assert ann.subject == "10 new events"
        assert ann.body.partition("\n\n--\n")[0].split("\n\n") == [f"Photo {n}" for n in range(10)]

    def test_an_event_that_does_not_render_is_a_failure_for_its_recipients(self, world):
        ContextRenderer.objects.update(text_template="{{ n|divisibleby:0 }}", html_template="")
        deliver("--batch-size", "100", "--max-batches", "1")
        assert not mail.outbox
        assert "did not render" in Delivery.objects.first().last_error

    def test_a_refused_message_fails_alone(self, world):
        with email_backend("tests.delivery.test_deliver_command.RefusingBackend"):
            deliver("--batch-size", "100", "--max-batches", "1")
        assert set(Delivery.objects.values_list("attempts", "last_error")) == {
            (1, "ConnectionRefusedError: connection refused"),
            (1, f"the target {world['users'][2].pk} has no email address (entity_meta['email'])"),
        }

    @pytest.mark.parametrize(
        ("name", "value", "message"),
        [
            (
                "ENTITY_EVENT_EMAIL_ADDRESS_KEY",
                "",
                "ENTITY_EVENT_EMAIL_ADDRESS_KEY must be a non-empty string",
            ),
            ("ENTITY_EVENT_MESSAGE_ID_DOMAIN", "a b", "ENTITY_EVENT_MESSAGE_ID_DOMAIN must be a domain name"),
        ],
    )
    def test_the_settings_are_checked(self, name, value, message):
        from entity_event.checks import check_settings

        with override_settings(**{name: value}):
            [error] = check_settings()
        expected = {
            "ENTITY_EVENT_EMAIL_ADDRESS_KEY": "entity_event.E005",
            "ENTITY_EVENT_MESSAGE_ID_DOMAIN": "entity_event.E006",
        }
        assert error.id == expected[name] and message in error.msg

    def test_the_address_key_is_configurable(self, world):
        with override_settings(ENTITY_EVENT_EMAIL_ADDRESS_KEY="work_email"):
            for user in world["users"]:
                user.entity_meta = {"work_email": f"{user.display_name.lower()}@work.example"}
                user.save()
            deliver("--batch-size", "100")
        assert {message.to[0] for message in mail.outbox} == {
            "ann@work.example",
            "bea@work.example",
            "cid@work.example",
        }


class TestAdmin:
    def test_failed_deliveries_are_listed_and_queued_again(self, admin_client, world, recorder):
        recorder.failing = {"Cid"}
        deliver(*HANDLER, "--batch-size", "100", "--max-attempts", "1")
        url = reverse("admin:entity_event_delivery_changelist")
        page = admin_client.get(url, {"status__exact": "failed"})
        assert page.status_code == 200 and len(page.context["cl"].result_list) == 10
        response = admin_client.post(
            url,
            {
                "action": "queue_again",
                "_selected_action": list(Delivery.objects.values_list("pk", flat=True)),
            },
        )
        assert response.status_code == 302
        assert set(Delivery.objects.filter(target__display_name="Cid").values_list("status", "attempts")) == {
            ("pending", 0)
        }
        assert admin.site.is_registered(Delivery)


class TestParameterLimits:
    """Every IN list the library builds is split by the database's parameter limit: here the limit
    is made small (150), so that a few hundred rows cross it on every database. The run with
    300,000 rows on SQLite's real limit is tests/delivery/test_volume.py."""

    @pytest.fixture
    def small_limit(self, monkeypatch):
        from django.db import connection

        monkeypatch.setattr(connection.features, "max_query_params", 150)

    def test_claims_and_marks_beyond_the_limit(self, world, small_limit):
        email = world["medium"]
        Event.objects.create_events([{"source": world["source"], "context": {"n": n}} for n in range(290)])
        claimed = email.events_targets(**CLAIM)
        assert len(claimed) == 300 and EventSeen.objects.count() == 300
        assert email.events_targets(**CLAIM) == []

    def test_creates_events_with_more_actors_than_the_limit(self, world, small_limit):
        actors = [make_entity(f"Actor {n}") for n in range(200)]
        event = Event.objects.create_event(
            source=world["source"], actors=actors, uuid="many", ignore_duplicates=True
        )
        assert event.eventactor_set.count() == 200
        assert (
            Event.objects.create_events(
                [{"source": world["source"], "uuid": f"u{n}", "ignore_duplicates": True} for n in range(160)]
                + [{"source": world["source"].pk, "uuid": "many", "ignore_duplicates": True}]
            )[-1]
            is None
        )

    def test_loads_more_hinted_rows_than_the_limit(self, world, small_limit):
        from tests.testapp.models import Account

        accounts = Account.objects.bulk_create(Account(name=f"a{n}") for n in range(200))
        ContextRenderer.objects.update(
            text_template="{{ account.name }}",
            context_hints={"account": {"app_name": "testapp", "model_name": "Account"}},
        )
        events = Event.objects.create_events(
            [{"source": world["source"], "context": {"account": account.pk}} for account in accounts]
        )
        rendered = world["medium"].render(events)
        assert sorted(text for text, _ in rendered.values()) == sorted(f"a{n}" for n in range(200))


def test_an_event_without_html_is_sent_as_text_only(world):
    ContextRenderer.objects.update(html_template="")
    deliver("--batch-size", "100", "--max-batches", "1")
    assert mail.outbox and all(not message.alternatives for message in mail.outbox)


@pytest.mark.django_db(transaction=True)
def test_the_command_runs_outside_the_main_thread_without_signal_handlers(world, recorder):
    # Python installs signal handlers in the main thread only: elsewhere the command keeps the
    # signals' handlers as they are (a worker thread of a task queue, say).
    import threading

    errors = []

    def run():
        try:
            deliver(*HANDLER, "--batch-size", "100")
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            from django.db import connection

            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)
    assert errors == []
    assert len(recorder.batches) == 1
