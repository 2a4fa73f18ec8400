"""Delivery as a task (``entity_event.delivery.tasks``): the task form of the command, enqueued after a
committed ``create_event``. The suite's ``TASKS`` backend is the immediate one, which runs a task
as it is enqueued: Django's own (``django.tasks``) from 6.0 on, django-tasks' on 5.2."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import django
import pytest
from django.core import mail
from django.db import transaction

from entity_event.delivery.tasks import deliver_events, deliver_on_creation
from entity_event.models import Delivery, Event, EventSeen
from entity_event.signals import events_created
from tests.delivery.test_deliver_command import RecordingHandler
from tests.mail import email_backend

if django.VERSION >= (6, 0):
    from django.tasks import Task, TaskResultStatus
else:
    from django_tasks import TaskResultStatus
    from django_tasks.base import Task

pytestmark = pytest.mark.django_db


@pytest.fixture
def on_creation():
    """``deliver_on_creation("email")``, undone after the test."""
    yield deliver_on_creation
    assert events_created.disconnect(dispatch_uid="entity_event.delivery.tasks:email")


class TestTask:
    def test_is_a_task_of_the_framework_of_the_django_version(self):
        """Django's own tasks framework where Django has one (6.0+), else the backport."""
        assert isinstance(deliver_events, Task)
        assert type(deliver_events).__module__.startswith(
            "django.tasks" if django.VERSION >= (6, 0) else "django_tasks"
        )

    def test_runs_batches_until_one_is_idle(self, world):
        result = deliver_events.enqueue("email", batch_size=4)
        assert result.status == TaskResultStatus.SUCCESSFUL
        # 10 events for 3 users: 30 records; batches of 4 events that send 4 records, until a
        # batch finds nothing. The user without an address is skipped 10 times.
        assert result.return_value == {
            "claimed": 10, "recorded": 30, "sent": 20, "retried": 0, "failed": 0, "skipped": 10,
            "batches": 9,
        }  # fmt: skip
        assert len(mail.outbox) == 20
        assert EventSeen.objects.count() == 10

    def test_max_attempts_retry_delay_and_chunk_size_as_the_command_takes_them(self, world, settings):
        """The mail server refuses every message: with one attempt allowed, the task fails the
        records for good at once, in chunks of the size asked."""
        settings.ENTITY_EVENT_EMAIL_ADDRESS_KEY = "email"
        with email_backend("tests.delivery.test_deliver_command.RefusingBackend"):
            result = deliver_events.enqueue(
                "email", batch_size=100, chunk_size=7, max_attempts=1, retry_delay=0
            )
        assert (result.return_value["failed"], result.return_value["skipped"]) == (20, 10)
        assert Delivery.objects.filter(status="failed").count() == 20
        assert Delivery.objects.filter(status="pending").count() == 0

    def test_max_batches(self, world):
        result = deliver_events.enqueue("email", batch_size=2, max_batches=1)
        assert result.return_value["batches"] == 1
        assert result.return_value["claimed"] == 2

    @pytest.mark.parametrize(
        ("arguments", "message"),
        [
            # The command's checks and messages, with the task's names of the options.
            ({"medium": "fax"}, "deliver_events(): medium: no medium named 'fax'"),
            ({"medium": "email", "batch_size": 0}, "deliver_events(): batch_size must be 1 or more, got 0"),
            ({"medium": "email", "max_batches": 0}, "deliver_events(): max_batches must be 1 or more, got 0"),
            ({"medium": "email", "max_attempts": 0}, "deliver_events(): max_attempts must be 1 or more"),
            ({"medium": "email", "retry_delay": -1}, "deliver_events(): retry_delay must be 0 or more"),
            ({"medium": "email", "handler": "no.such.handler"}, "deliver_events(): handler: cannot import"),
        ],
    )
    def test_bad_arguments_fail_the_task_and_claim_nothing(self, world, arguments, message):
        result = deliver_events.enqueue(**arguments)
        assert result.status == TaskResultStatus.FAILED
        assert message in result.errors[0].traceback
        assert not EventSeen.objects.exists()


class TestOnCreation:
    def test_delivers_once_the_events_are_committed(
        self, world, on_creation, django_capture_on_commit_callbacks
    ):
        on_creation("email")
        mail.outbox = []
        source = world["source"]
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            Event.objects.create_event(source=source, uuid="late", context={"n": 11})
        assert mail.outbox == []  # nothing before the commit
        for callback in callbacks:
            callback()
        # The ten events of the world and the new one, to the two users with an address.
        assert len(mail.outbox) == 22
        assert Delivery.objects.filter(event__uuid="late", status="sent").count() == 2

    def test_nothing_runs_for_events_rolled_back(
        self, world, on_creation, django_capture_on_commit_callbacks
    ):
        on_creation("email", batch_size=5)
        mail.outbox = []
        with (
            django_capture_on_commit_callbacks(execute=True),
            pytest.raises(RuntimeError),
            transaction.atomic(),
        ):
            Event.objects.create_event(source=world["source"], uuid="gone")
            raise RuntimeError("rolled back")
        assert mail.outbox == []
        assert not EventSeen.objects.exists()

    def test_options_are_passed_to_the_task(self, world, on_creation, django_capture_on_commit_callbacks):
        on_creation("email", handler="tests.delivery.test_deliver_command.recording_handler", max_batches=1)
        RecordingHandler.batches, RecordingHandler.failing, RecordingHandler.raising = [], set(), False
        with django_capture_on_commit_callbacks(execute=True):
            Event.objects.create_event(source=world["source"], uuid="new")
        assert len(RecordingHandler.batches) == 1  # max_batches=1
        assert mail.outbox == []

    def test_the_example_of_the_docs(self, world, on_creation, django_capture_on_commit_callbacks):
        path = Path(__file__).resolve().parents[2] / "docs" / "examples" / "delivery_task_example.py"
        spec = importlib.util.spec_from_file_location("yoursite", path)
        example = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(example)
        example.YourSiteConfig("yoursite", example).ready()
        mail.outbox = []
        with django_capture_on_commit_callbacks(execute=True):
            Event.objects.create_event(source=world["source"], uuid="new", context={"n": 11})
        assert len(mail.outbox) == 22

    @pytest.mark.parametrize(
        ("arguments", "options", "message"),
        [
            ((None,), {}, "medium must be the name of a medium"),
            (("",), {}, "medium must be the name of a medium"),
            (("email",), {"batchsize": 3}, "unexpected options ['batchsize']"),
        ],
    )
    def test_bad_arguments_are_refused(self, arguments, options, message):
        with pytest.raises(TypeError) as error:
            deliver_on_creation(*arguments, **options)
        assert message in str(error.value)
        assert not events_created.disconnect(dispatch_uid="entity_event.delivery.tasks:email")
