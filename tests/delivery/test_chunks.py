"""Sending in chunks: one bad recipient stops nothing, every reason can be stored, a digest keeps
its key when it is sent again, and the walk through the due records goes on from where it was."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import DataError, OperationalError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from entity_event.delivery import chunks, deliver_batch, send_email
from entity_event.delivery.chunks import Sweep, take_chunk
from entity_event.delivery.loop import BatchFailed, delivery_run, run_batches
from entity_event.delivery.outcomes import MAX_REASON_LENGTH
from entity_event.delivery.recipients import Skip
from entity_event.models import Delivery, Event
from tests.faults import failing_statement, quoted

pytestmark = pytest.mark.django_db


def deliver(*args: str) -> str:
    out = StringIO()
    call_command("deliver_entity_events", "--medium", "email", *args, stdout=out)
    return out.getvalue()


class TestABadRecipientStopsNothing:
    def test_an_entity_meta_that_is_not_an_object_is_skipped_and_the_others_are_sent(self, world):
        ann, bea, _cid = world["users"]
        type(ann).all_objects.filter(pk=ann.pk).update(entity_meta="ann@example.com")  # a JSON string
        deliver("--batch-size", "100", "--chunk-size", "7")
        assert {tuple(message.to) for message in mail.outbox} == {("bea@example.com",)}
        assert len(mail.outbox) == 10
        assert set(Delivery.objects.filter(target_id=ann.pk).values_list("status", flat=True)) == {"skipped"}
        assert Delivery.objects.filter(target_id=bea.pk, status="sent").count() == 10

    def test_a_message_that_cannot_be_built_fails_that_recipient_only(self, world):
        ann = world["users"][0]
        type(ann).all_objects.filter(pk=ann.pk).update(entity_meta={"email": "ann@example.com\nBcc: x@y"})
        deliver("--batch-size", "100", "--max-batches", "1")
        assert {tuple(message.to) for message in mail.outbox} == {("bea@example.com",)}
        failed = Delivery.objects.filter(target_id=ann.pk)
        assert set(failed.values_list("status", "attempts")) == {("pending", 1)}
        assert all(error for error in failed.values_list("last_error", flat=True))


def reasons_handler(batch):
    """Fails every delivery with a reason no database stores as it is, or skips it."""
    odd = "NUL\x00 here, a lone surrogate \ud800 there, " + "long " * 30_000
    return {pair: (Skip(odd) if pair[1].display_name == "Ann" else odd) for pair in batch.pairs}


class TestEveryReasonIsStorable:
    def test_nul_surrogates_and_any_length_are_stored_cleaned_and_cut_visibly(self, world):
        deliver("--handler", "tests.delivery.test_chunks.reasons_handler", "--batch-size", "100",
                "--max-batches", "1")  # fmt: skip
        reasons = set(Delivery.objects.values_list("status", "last_error"))
        assert {status for status, _ in reasons} == {"skipped", "pending"}
        for _, reason in reasons:
            assert reason.startswith("NUL\ufffd here, a lone surrogate \ufffd there, long long")
            assert len(reason) == MAX_REASON_LENGTH
            assert reason.endswith("... [cut: 150,037 characters]")


class TestDigests:
    def test_a_digest_sent_again_has_the_key_it_was_formed_with(self, world):
        """The first attempt fails (as a worker killed before recording would): the digest keeps
        its records and its key; an event that arrives meanwhile goes in a digest of its own."""
        keys: list[dict[str, str]] = []

        def first_attempt_fails(batch):
            keys.append(
                {target.display_name: batch.key_of(events[0], target) for target, events in batch.items}
            )
            if len(keys) == 1:
                raise ConnectionResetError("the connection dropped after the server took the digests")

        medium = world["medium"]
        deliver_batch(medium, first_attempt_fails, batch_size=100, digest=True, retry_delay=0)
        Event.objects.create_event(source=world["source"], uuid="late", context={"n": 99})
        deliver_batch(medium, first_attempt_fails, batch_size=100, digest=True, retry_delay=0)
        assert keys[0]["Ann"] == keys[1]["Ann"] and keys[0]["Bea"] == keys[1]["Bea"]
        late = Delivery.objects.filter(event__uuid="late").first()
        assert late.status == "sent" and late.digest_key not in {
            key.partition(".")[0] for key in keys[0].values()
        }

    def test_the_message_id_of_a_digest_is_its_key(self, world):
        deliver("--batch-size", "100", "--digest")
        ann = next(message for message in mail.outbox if message.to == ["ann@example.com"])
        [digest_key] = set(
            Delivery.objects.filter(target__display_name="Ann").values_list("digest_key", flat=True)
        )
        assert ann.extra_headers["Message-ID"].startswith(f"<entity-event.{digest_key}.")


class TestTheWalk:
    def test_each_chunk_starts_after_the_last_one_and_the_walk_starts_over_at_the_end(self, world):
        deliver_batch(world["medium"], lambda batch: None, batch_size=100, chunk_size=1, max_attempts=1)
        Delivery.objects.update(status="pending")
        sweep = Sweep(world["medium"], digest=False)
        seen = []
        with CaptureQueriesContext(connection) as queries:
            for _ in range(3):
                with take_chunk(sweep, 10) as chunk:
                    seen.extend(record.id for record in chunk.records)
        ordered = list(Delivery.objects.order_by("time_next_attempt", "id").values_list("id", flat=True))
        assert seen == ordered
        # The second and third chunks start from the cursor, a row comparison the index takes.
        locking = [
            query["sql"] for query in queries.captured_queries if "entity_event_delivery" in query["sql"]
        ]
        assert sum(") > (" in sql for sql in locking) == 2
        # At the end the walk starts over: a record due again is found.
        Delivery.objects.filter(pk=ordered[0]).update(time_next_attempt=timezone.now())
        with take_chunk(sweep, 10) as chunk:
            assert [record.id for record in chunk.records] == [ordered[0]]
        Delivery.objects.update(status="sent")
        with take_chunk(sweep, 10) as chunk:
            assert chunk is None

    def test_a_target_deactivated_since_its_record_was_written_still_receives_it(self, world):
        ann = world["users"][0]
        deliver_batch(world["medium"], lambda batch: dict.fromkeys(batch.pairs, "later"), batch_size=100)
        type(ann).all_objects.filter(pk=ann.pk).update(is_active=False)
        Delivery.objects.update(time_next_attempt=timezone.now())
        deliver_batch(world["medium"], send_email, batch_size=100)
        assert any(message.to == ["ann@example.com"] for message in mail.outbox)

    def test_the_recipients_are_plain_values(self, world):
        received = []
        deliver_batch(world["medium"], lambda batch: received.extend(batch.pairs), batch_size=3)
        recipient = received[0][1]
        assert (recipient.pk, recipient.id, str(recipient)) == (
            world["users"][0].pk,
            world["users"][0].pk,
            "Ann",
        )
        assert recipient == type(recipient)(recipient.pk, "other", None, 0)
        assert len({recipient, type(recipient)(recipient.pk, "other", None, 0)}) == 1
        assert recipient != world["users"][0]


def updates_of_the_status(sql: str) -> bool:
    return sql.startswith(f"UPDATE {quoted('entity_event_delivery')} SET {quoted('status')}")


@pytest.mark.django_db(transaction=True)
class TestTheRun:
    def run(self, **options):
        return delivery_run("email", "tests.delivery.test_deliver_command.recording_handler", **options)

    def test_a_looping_run_outlives_the_database_going_away(self, world, recorder, caplog):
        """The chunk in flight is rolled back when its outcome cannot be written, and sent again
        once the database answers: nothing is lost, one chunk is sent twice."""
        lost = OperationalError("server closed the connection unexpectedly")
        run = self.run(batch_size=100, chunk_size=5)
        with failing_statement(updates_of_the_status, lost):
            totals = run_batches(
                run, idle_wait=0, stopping=lambda: Delivery.objects.exclude(status="pending").count() == 30
            )
        assert "the database is unreachable (server closed the connection unexpectedly)" in caplog.text
        assert Delivery.objects.filter(status="sent").count() == 30
        sent = [pair for batch in recorder.batches for pair in batch.pairs]
        assert len(sent) == 35 and totals["sent"] == 30  # the first chunk twice

    @pytest.mark.parametrize(
        "error", [OperationalError("server closed the connection"), DataError("value too long")]
    )
    def test_a_run_that_does_not_loop_ends_with_the_batch_that_failed(self, world, recorder, error):
        with failing_statement(updates_of_the_status, error), pytest.raises(BatchFailed) as failed:
            run_batches(self.run(batch_size=100))
        assert str(failed.value) == f"batch 1 failed: {type(error).__name__}: {error}"
        assert not Delivery.objects.exclude(status="pending").exists()

    def test_the_command_ends_with_an_error_naming_the_batch_that_failed(self, world, recorder):
        error = DataError("value too long")
        with failing_statement(updates_of_the_status, error), pytest.raises(CommandError) as failed:
            call_command(
                "deliver_entity_events",
                "--medium",
                "email",
                "--handler",
                "tests.delivery.test_deliver_command.recording_handler",
                stdout=StringIO(),
            )
        assert str(failed.value) == "batch 1 failed: DataError: value too long"
        assert not Delivery.objects.exclude(status="pending").exists()


def test_a_run_keeps_a_bounded_number_of_events_loaded(world, recorder, monkeypatch):
    monkeypatch.setattr(chunks, "MAX_CACHED_EVENTS", 2)
    deliver("--handler", "tests.delivery.test_deliver_command.recording_handler", "--batch-size", "100",
            "--chunk-size", "3")  # fmt: skip
    assert Delivery.objects.filter(status="sent").count() == 30
