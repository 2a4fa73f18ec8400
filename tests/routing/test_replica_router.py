"""entity_event's replica router and read-your-writes middleware, on a second connection to the
test database (``replica``, tests/settings.py), and the library's own writes and the reads they
depend on staying on the primary whatever the router.

The same connection cannot lag: these tests check where each statement goes. What a real
standby a second behind does is tested in tests/deployment/test_standby.py.
"""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from io import StringIO
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.core.checks import run_checks
from django.core.management import call_command
from django.db import connections, router, transaction
from django.db.utils import load_backend
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from entity.models import Entity

from entity_event.checks import check_replica_router
from entity_event.conf import app_settings
from entity_event.db import replicas
from entity_event.db.replicas import ReplicaRouter, pin_reads_to_primary, reads_pinned_until
from entity_event.middleware import COOKIE_NAME, ReadYourWritesMiddleware, pinned_until
from entity_event.models import Delivery, Event, Medium, ReadMark
from tests.entities import make_user
from tests.routers import reads_from_replica

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica"])

ROUTER = "entity_event.db.replicas.ReplicaRouter"


def fresh(function: Callable[[], Any]) -> Any:
    """``function()`` in a context that wrote nothing (a new request's, another thread's)."""
    return contextvars.Context().run(function)


@contextmanager
def queries_by_database() -> Iterator[tuple[CaptureQueriesContext, CaptureQueriesContext]]:
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections["replica"]) as replica,
    ):
        yield primary, replica


def tables(captured: CaptureQueriesContext) -> str:
    return " ".join(query["sql"] for query in captured.captured_queries)


@pytest.fixture
def shipped_router():
    with override_settings(DATABASE_ROUTERS=[ROUTER]):
        yield
    replicas._unreachable_until.clear()


@pytest.fixture
def notifications(world) -> Medium:
    return Medium.objects.create(name="notifications", display_name="Notifications")


class TestWhereTheRouterSendsReads:
    def test_the_apps_models_to_the_replica_everything_else_to_the_primary(self):
        chosen = fresh(lambda: {model.__name__: ReplicaRouter().db_for_read(model) for model in MODELS})
        assert chosen == {
            "Event": "replica",
            "ReadMark": "replica",
            "Medium": "replica",
            "Entity": "replica",
            "Delivery": "default",  # only workers read delivery records, which must not lag
            "User": "default",
            "Session": "default",  # a lagging copy must not log anyone out
        }
        assert {ReplicaRouter().db_for_write(model) for model in MODELS} == {"default"}

    def test_a_write_to_the_app_pins_the_writers_reads_to_the_primary_for_a_while(self, settings):
        def after_writing(model: type) -> str:
            ReplicaRouter().db_for_write(model)
            return ReplicaRouter().db_for_read(Event)

        assert fresh(lambda: after_writing(ReadMark)) == "default"
        assert fresh(lambda: after_writing(Session)) == "replica"  # not a write of the app's
        settings.ENTITY_EVENT_READ_YOUR_WRITES_SECONDS = 0
        assert fresh(lambda: after_writing(ReadMark)) == "replica"

    def test_a_pin_ends_and_is_never_shortened(self):
        def pins() -> tuple[float, float, str]:
            pin_reads_to_primary(time.time() + 60)
            pin_reads_to_primary(time.time() + 1)
            kept = reads_pinned_until()
            pin_reads_to_primary(time.time() - 60)
            return kept, reads_pinned_until(), ReplicaRouter().db_for_read(Event)

        kept, still, chosen = fresh(pins)
        assert kept == still > time.time() + 30 and chosen == "default"
        assert fresh(
            lambda: (pin_reads_to_primary(time.time() - 1), ReplicaRouter().db_for_read(Event))[1]
        ) == ("replica")

    def test_reads_inside_a_transaction_of_the_primary_stay_on_it(self):
        def inside() -> str:
            with transaction.atomic():
                return ReplicaRouter().db_for_read(Event)

        assert fresh(inside) == "default"

    def test_rows_related_to_a_row_of_the_primary_come_from_the_primary(self, world):
        medium = Medium.objects.using("default").get(pk=world.email.pk)
        on_replica = Medium.objects.using("replica").get(pk=world.email.pk)
        assert fresh(lambda: ReplicaRouter().db_for_read(Event, instance=medium)) == "default"
        assert fresh(lambda: ReplicaRouter().db_for_read(Event, instance=on_replica)) == "replica"

    def test_migrations_never_run_on_the_replica_and_relations_span_both(self, world):
        router_ = ReplicaRouter()
        assert router_.allow_migrate("replica", "entity_event") is False
        assert router_.allow_migrate("default", "entity_event") is None
        primary_row = Medium.objects.using("default").get(pk=world.email.pk)
        replica_row = Event.objects.using("replica").first()
        assert router_.allow_relation(primary_row, replica_row) is True
        primary_row._state.db = "elsewhere"
        assert router_.allow_relation(primary_row, replica_row) is None


MODELS = [Event, ReadMark, Medium, Entity, Delivery, User, Session]


@contextmanager
def unreachable_database(alias: str) -> Iterator[None]:
    """A database alias nothing answers at (a closed port, or a file in a missing folder)."""
    settings_dict = dict(connections["default"].settings_dict)
    if connections["default"].vendor == "sqlite":
        settings_dict["NAME"] = "/nonexistent-folder/entity-event/replica.sqlite3"
    else:
        settings_dict.update(HOST="127.0.0.1", PORT="1")
    # A connection made at run time, as Django's tests allow (not one of DATABASES).
    connections[alias] = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, alias)
    try:
        yield
    finally:
        connections[alias].close()
        del connections[alias]
        replicas._unreachable_until.pop(alias, None)


class TestAReplicaOutOfReach:
    def test_reads_go_to_the_primary_and_it_is_tried_again_later(self, settings, caplog):
        settings.ENTITY_EVENT_REPLICA_DATABASE = "unreachable"
        with (
            unreachable_database("unreachable"),
            caplog.at_level(logging.WARNING, "entity_event.db.replicas"),
        ):
            assert fresh(lambda: ReplicaRouter().db_for_read(Event)) == "default"
            assert fresh(lambda: ReplicaRouter().db_for_read(Event)) == "default"
            # One attempt to connect, then none until ENTITY_EVENT_REPLICA_RETRY_SECONDS passed.
            assert len(caplog.records) == 1
            assert "The replica 'unreachable' cannot be reached" in caplog.records[0].getMessage()
            settings.ENTITY_EVENT_REPLICA_RETRY_SECONDS = 0
            replicas._unreachable_until["unreachable"] = 0.0
            assert fresh(lambda: ReplicaRouter().db_for_read(Event)) == "default"
            assert len(caplog.records) == 2

    def test_a_reachable_replica_is_connected_to_once(self):
        connections["replica"].close()
        assert fresh(lambda: ReplicaRouter().db_for_read(Event)) == "replica"
        connection = connections["replica"].connection
        assert connection is not None
        assert fresh(lambda: ReplicaRouter().db_for_read(Event)) == "replica"
        assert connections["replica"].connection is connection

    def test_a_feed_is_read_from_the_primary_while_the_replica_is_down(self, world, shipped_router, settings):
        settings.ENTITY_EVENT_REPLICA_DATABASE = "unreachable"
        with unreachable_database("unreachable"), CaptureQueriesContext(connections["default"]) as primary:
            feed = fresh(lambda: list(world.email.entity_events(world.alice)))
        assert feed and "entity_event_event" in tables(primary)


class TestTheRouterOnASite:
    def test_feeds_come_from_the_replica_and_the_writers_next_reads_from_the_primary(
        self, world, shipped_router
    ):
        def mark_then_read() -> tuple[str, str]:
            with queries_by_database() as (primary, replica):
                list(world.email.entity_events(world.alice, read=False))
            before = tables(replica)
            world.email.mark_read(world.alice)
            with queries_by_database() as (primary, replica):
                assert list(world.email.entity_events(world.alice, read=False)) == []
            assert tables(replica) == ""
            return before, tables(primary)

        before, after = fresh(mark_then_read)
        assert "entity_event_event" in before and "entity_event_readstate" in before
        assert "entity_event_event" in after and "entity_event_readstate" in after

    def test_sessions_are_read_from_the_primary(self, world, shipped_router, notifications):
        client = Client()
        client.force_login(make_user("ann", world.alice))
        with queries_by_database() as (primary, replica):
            assert fresh(lambda: client.get(reverse("entity_event:api_unread_count"))).status_code == 200
        assert "django_session" in tables(primary) and "django_session" not in tables(replica)
        assert "entity_event_event" in tables(replica)

    def test_a_page_costs_the_same_queries_with_the_router(self, world, shipped_router, notifications):
        client = Client()
        client.force_login(make_user("ann", world.alice))
        url = reverse("entity_event:notifications")
        with queries_by_database() as (primary, replica):
            fresh(lambda: client.get(url))
        routed = len(primary.captured_queries) + len(replica.captured_queries)
        with override_settings(DATABASE_ROUTERS=[]), queries_by_database() as (primary, replica):
            fresh(lambda: client.get(url))
        assert len(replica.captured_queries) == 0
        assert routed == len(primary.captured_queries)


class TestTheMiddleware:
    @pytest.fixture
    def client(self, world, shipped_router, notifications, settings):
        settings.MIDDLEWARE = [*settings.MIDDLEWARE, "entity_event.middleware.ReadYourWritesMiddleware"]
        client = Client()
        client.force_login(make_user("ann", world.alice))
        return client

    def test_after_a_write_the_persons_next_requests_read_from_the_primary(self, client, settings):
        assert COOKIE_NAME not in fresh(lambda: client.get(reverse("entity_event:api_unread_count"))).cookies
        response = fresh(lambda: client.post(reverse("entity_event:api_mark_all_read")))
        cookie = response.cookies[COOKIE_NAME]
        assert cookie["httponly"] and cookie["samesite"] == "Lax"
        assert 0 < float(cookie.value) - time.time() <= app_settings.READ_YOUR_WRITES_SECONDS
        with queries_by_database() as (primary, replica):
            assert fresh(lambda: client.get(reverse("entity_event:api_unread_count"))).json() == {
                "unread_count": 0
            }
        assert "entity_event_event" in tables(primary) and tables(replica) == ""
        del client.cookies[COOKIE_NAME]
        with queries_by_database() as (primary, replica):
            fresh(lambda: client.get(reverse("entity_event:api_unread_count")))
        assert "entity_event_event" in tables(replica)

    @pytest.mark.parametrize("value", ["", "soon", "nan", "inf", "-inf"])
    def test_a_cookie_that_is_not_a_time_pins_nothing(self, value):
        request = RequestFactory().get("/", headers={"cookie": f"{COOKIE_NAME}={value}"})
        assert pinned_until(request) == 0.0

    def test_a_cookie_pins_at_most_the_settings_seconds(self, settings):
        settings.ENTITY_EVENT_READ_YOUR_WRITES_SECONDS = 3
        request = RequestFactory().get("/", headers={"cookie": f"{COOKIE_NAME}={time.time() + 3600}"})
        assert pinned_until(request) <= time.time() + 3

    def test_the_middleware_works_in_async_stacks_too(self, shipped_router):
        async def view(request: HttpRequest) -> HttpResponse:
            router.db_for_write(ReadMark)  # what a write does
            return HttpResponse()

        def request() -> tuple[HttpResponse, float]:
            response = async_to_sync(ReadYourWritesMiddleware(view))(RequestFactory().post("/"))
            return response, reads_pinned_until()

        response, pinned_after = fresh(request)
        assert COOKIE_NAME in response.cookies
        assert pinned_after == 0.0  # the request's pin ended with it


class TestTheLibrarysWritesWhateverTheRouter:
    """With a router that sends every read to the replica (tests/routers.py)."""

    def test_a_queryset_given_to_mark_read_is_evaluated_on_the_primary(self, world):
        ids = list(world.email.entity_events(world.alice).values_list("pk", flat=True))
        with reads_from_replica(), queries_by_database() as (primary, replica):
            world.email.mark_read(world.alice, Event.objects.filter(pk__in=ids))
            world.email.mark_unread(world.alice, Event.objects.filter(pk__in=ids[:1]))
        assert tables(replica) == ""
        assert ReadMark.objects.filter(read=True).count() == len(ids) - 1

    def test_the_apis_answer_after_a_write_comes_from_the_primary(self, world, notifications):
        client = Client()
        client.force_login(make_user("ann", world.alice))
        with reads_from_replica(), CaptureQueriesContext(connections["replica"]) as replica:
            for name in ("api_mark_all_read", "api_mark_unread", "api_mark_read"):
                client.post(reverse(f"entity_event:{name}"), {"events": [1]})
        assert "COUNT" not in tables(replica)

    def test_using_applies_to_every_part_of_a_feed_read_state_included(self, world):
        world.email.mark_read(world.alice)
        unread = world.email.entity_events(world.alice, read=False)
        with queries_by_database() as (primary, replica):
            assert list(unread.using("replica")) == []
        assert tables(primary) == "" and "entity_event_readstate" in tables(replica)
        with reads_from_replica(), queries_by_database() as (primary, replica):
            assert world.email.entity_events(world.alice, read=False).using("default").count() == 0
        assert tables(replica) == ""

    def test_delivery_needs_no_replica(self, world):
        with reads_from_replica(), CaptureQueriesContext(connections["replica"]) as replica:
            call_command("deliver_entity_events", "--medium", "email", stdout=StringIO())
        assert Delivery.objects.exists() and tables(replica) == ""


class TestTheChecks:
    @pytest.fixture(autouse=True)
    def installed(self, settings):
        settings.DATABASE_ROUTERS = [ROUTER]

    def ids(self) -> list[str]:
        return sorted(message.id for message in run_checks() if message.id.startswith("entity_event"))

    def test_the_aliases_of_the_settings_exist(self, settings):
        assert self.ids() == []
        settings.ENTITY_EVENT_PRIMARY_DATABASE = "primary"
        settings.ENTITY_EVENT_REPLICA_DATABASE = "standby"
        assert self.ids() == ["entity_event.E014", "entity_event.E015"]

    def test_the_replica_is_another_database(self, settings):
        settings.ENTITY_EVENT_REPLICA_DATABASE = "default"
        [message] = [m for m in run_checks() if m.id == "entity_event.E015"]
        assert "the primary's alias too" in message.msg

    def test_a_bad_value_is_reported_once(self, settings):
        # Reported by the check of every setting (the router, which reads them, is left out: a
        # bad value raises ImproperlyConfigured, naming it, from wherever it is read).
        settings.DATABASE_ROUTERS = []
        settings.ENTITY_EVENT_REPLICA_DATABASE = ""
        settings.ENTITY_EVENT_READ_YOUR_WRITES_SECONDS = -1
        settings.ENTITY_EVENT_REPLICA_RETRY_SECONDS = True
        assert self.ids() == ["entity_event.E015", "entity_event.E016", "entity_event.E017"]

    def test_a_bad_value_is_left_to_the_check_of_every_setting(self, settings):
        settings.ENTITY_EVENT_PRIMARY_DATABASE = 42
        assert check_replica_router() == []

    def test_without_the_router_nothing_is_checked(self, settings):
        settings.DATABASE_ROUTERS = []
        settings.ENTITY_EVENT_REPLICA_DATABASE = "standby"
        assert self.ids() == []
