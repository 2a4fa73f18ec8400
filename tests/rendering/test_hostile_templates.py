"""Hostile templates: what each one can and cannot do when events are rendered.

Rendering never writes (``entity_event.db.read_only``): whatever a template calls, the database is
exactly as it was afterwards, on every database. What a template can read is decided by who may
edit templates and hints (the ``edit_templates`` permission, tests/admin/test_security.py) and by
the optional ``ENTITY_EVENT_CONTEXT_HINT_MODELS`` setting. The table ``HOSTILE_TEMPLATES`` lists
each attempt with its outcome; docs/security.rst points here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import connection, transaction
from django.test import override_settings
from entity.models import Entity, EntityKind, EntityRelationship

from entity_event.exceptions import RenderedOutputTooLongError, RenderingWriteError
from entity_event.models import (
    ContextRenderer,
    Event,
    EventActor,
    EventSeen,
    Medium,
    RenderingStyle,
    Source,
    Subscription,
)
from entity_event.rendering.preview import preview_renderer
from tests.databases import skip_on_mariadb
from tests.entities import make_entity, make_user
from tests.testapp.models import Account, Team

pytestmark = pytest.mark.django_db

#: The rows a hostile template could try to change, and, on PostgreSQL, the sequences.
WATCHED_MODELS = [
    (Entity, Entity.all_objects),
    (EntityKind, EntityKind.all_objects),
    (EntityRelationship, EntityRelationship.objects),
    (Event, Event.objects),
    (EventActor, EventActor.objects),
    (EventSeen, EventSeen.objects),
    (Account, Account.objects),
    (Team, Team.objects),
    (User, User.objects),
    (Session, Session.objects),
    (Source, Source.objects),
    (Medium, Medium.objects),
    (ContextRenderer, ContextRenderer.objects),
    (Subscription, Subscription.objects),
]

HINTS = {
    "owner": {"app_name": "entity", "model_name": "Entity"},
    "account": {"app_name": "testapp", "model_name": "Account"},
    "user": {"app_name": "auth", "model_name": "User"},
    "type": {"app_name": "contenttypes", "model_name": "ContentType"},
}
ALLOW_ENTITIES_AND_ACCOUNTS = {"ENTITY_EVENT_CONTEXT_HINT_MODELS": ["entity.Entity", "testapp.Account"]}


def database_state() -> dict[str, Any]:
    """Every watched row, and the sequences' positions on PostgreSQL (an INSERT that is rolled
    back still moves its sequence)."""
    state: dict[str, Any] = {
        model.__name__: list(manager.order_by("pk").values()) for model, manager in WATCHED_MODELS
    }
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT sequencename, last_value FROM pg_sequences ORDER BY sequencename")
            state["sequences"] = cursor.fetchall()
    return state


@dataclass(frozen=True)
class Hostile:
    """A template, what ``Medium.render`` makes of it, and the settings it runs under.

    ``renders``: the text output (the event is rendered); ``error``: the exception class whose
    name is logged when the event is left out; ``raises``: the exception ``Medium.render`` raises
    for the whole batch (a configuration refused at render time); ``refused_on_save``: part of
    the ``ValidationError`` that ``ContextRenderer.full_clean()`` raises; ``on_sqlite``: the text
    output on SQLite, where it differs; ``hints``: the keys of ``HINTS`` the renderer has.
    """

    template: str = ""
    template_path: str = ""
    renders: str | None = None
    error: type[BaseException] | None = None
    raises: type[BaseException] | None = None
    refused_on_save: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    secret_absent: bool = False
    on_sqlite: str | None = None
    hints: tuple[str, ...] = tuple(HINTS)

    def outcome(self) -> Hostile:
        """This row as it plays out on the database the tests run on."""
        if self.on_sqlite is not None and connection.vendor == "sqlite":
            return Hostile(self.template, renders=self.on_sqlite, hints=self.hints)
        return self


HOSTILE_TEMPLATES = {
    # Data-changing managers and querysets that are not marked alters_data (django-activatable-model).
    "deactivate every entity of a kind": Hostile(
        "{{ owner.entity_kind.entity_set.deactivate }}", error=RenderingWriteError
    ),
    "activate every entity of a kind": Hostile(
        "{{ owner.entity_kind.entity_set.activate }}", error=RenderingWriteError
    ),
    "deactivate through a queryset": Hostile(
        "{{ owner.entity_kind.entity_set.all.deactivate }}", error=RenderingWriteError
    ),
    "deactivate inside a with tag": Hostile(
        "{% with gone=owner.entity_kind.entity_set.deactivate %}{{ gone }}{% endwith %}",
        error=RenderingWriteError,
    ),
    # Methods Django marks alters_data: the template engine does not call them.
    "delete the row": Hostile("[{{ owner.delete }}]", renders="[]"),
    "save the row": Hostile("[{{ account.save }}]", renders="[]"),
    "delete a whole table": Hostile("[{{ owner.entity_kind.entity_set.all.delete }}]", renders="[]"),
    "delete through a reverse relation": Hostile("[{{ account.team.accounts.all.delete }}]", renders="[]"),
    "update a queryset": Hostile("[{{ owner.entity_kind.entity_set.update }}]", renders="[]"),
    "create through a manager": Hostile("[{{ owner.entity_kind.entity_set.create }}]", renders="[]"),
    "get_or_create through a manager": Hostile(
        "[{{ owner.entity_kind.entity_set.get_or_create }}]", renders="[]"
    ),
    # Site code that writes without being marked.
    "an ORM update in a model method": Hostile("{{ account.rename }}", error=RenderingWriteError),
    "an ORM insert in a model method": Hostile("{{ account.new_team }}", error=RenderingWriteError),
    "a write whose error the method swallows": Hostile("{{ account.rename_quietly }}", renders="not renamed"),
    "raw SQL through Django's cursor": Hostile("{{ account.rename_with_sql }}", error=RenderingWriteError),
    "raw SQL through the DB-API connection": Hostile(
        "{{ account.rename_through_the_driver }}",
        # The database refuses it: sqlite3.OperationalError, psycopg's ReadOnlySqlTransaction.
        error=Exception,
    ),
    "a row lock": Hostile(
        "{% for e in owner.entity_kind.entity_set.all.select_for_update %}{{ e }}{% endfor %}",
        error=RenderingWriteError,
        on_sqlite="Owner",  # SQLite has no row locks: Django sends a plain SELECT there
    ),
    # Reading: templates are code. What they reach depends on who may edit them and on the hints.
    "sessions through a content type hint": Hostile(
        "{% for s in type.get_all_objects_for_this_type %}{{ s.session_key }}{% endfor %}",
        renders="SESSION_KEY",
    ),
    "sessions through a content type hint, hints restricted": Hostile(
        "{% for s in type.get_all_objects_for_this_type %}{{ s.session_key }}{% endfor %}",
        raises=ImproperlyConfigured,
        refused_on_save="names the model contenttypes.ContentType, which the ENTITY_EVENT_CONTEXT_HINT",
        settings=ALLOW_ENTITIES_AND_ACCOUNTS,
    ),
    "password hashes through a user hint": Hostile("{{ user.password }}", renders="PASSWORD_HASH"),
    "password hashes through a user hint, hints restricted": Hostile(
        "{{ user.password }}",
        raises=ImproperlyConfigured,
        refused_on_save="names the model auth.User, which the ENTITY_EVENT_CONTEXT_HINT_MODELS setting",
        settings=ALLOW_ENTITIES_AND_ACCOUNTS,
    ),
    "every row of the entity's model through its content type": Hostile(
        "{% for a in owner.entity_type.get_all_objects_for_this_type %}{{ a.name }};{% endfor %}",
        renders="Ann;Ben;",
        settings=ALLOW_ENTITIES_AND_ACCOUNTS,
        hints=("owner",),
    ),
    "a model class through a content type": Hostile(
        "[{{ owner.entity_type.model_class.objects.all.delete }}]", renders="[]"
    ),
    # What is not in a template's context at all.
    "settings, the request, the user, permissions": Hostile(
        "[{{ settings.SECRET_KEY }}{{ request.user }}{{ perms }}{{ csrf_token }}{{ SECRET_KEY }}]",
        renders="[]",
    ),
    "the debug tag": Hostile("{% debug %}", secret_absent=True, settings={"DEBUG": True}),
    "private attributes": Hostile(
        "{{ owner._state.db }}",
        error=Exception,
        refused_on_save="Variables and attributes may not begin with",
    ),
    # Resource exhaustion.
    "a template that includes itself": Hostile(
        template_path="entity_event_tests/recursive.txt", error=RecursionError
    ),
    "huge output": Hostile('{{ 7|stringformat:"02000000d" }}', error=RenderedOutputTooLongError),
}


#: MariaDB has no read-only switch that works inside a transaction (entity_event.db.read_only): code
#: that goes around Django's cursor, straight to the driver, is not stopped there when the caller
#: has a transaction open (as these tests do); without one it is
#: (test_without_a_transaction_open_the_database_refuses_a_write_through_the_driver).
NO_READ_ONLY_SWITCH = skip_on_mariadb("no read-only transaction inside a transaction; DB-API writes pass")


def hostile_names() -> list[Any]:
    """The names of ``HOSTILE_TEMPLATES``, those that write through the DB-API skipped on MariaDB."""
    return [
        pytest.param(name, marks=NO_READ_ONLY_SWITCH) if "DB-API" in name else name
        for name in HOSTILE_TEMPLATES
    ]


@pytest.fixture
def world(photo_source):
    """A medium in a style, an event whose context points at an entity, an account, a user, the
    content type of sessions; a session and a superuser whose secrets a template could print."""
    style = RenderingStyle.objects.create(name="short")
    medium = Medium.objects.create(name="feed", display_name="Feed", rendering_style=style)
    team = Team.objects.create(name="Blue")
    ann = Account.objects.create(name="Ann", team=team)
    Account.objects.create(name="Ben", team=team)
    owner = make_entity("Owner")
    session = SessionStore()
    session["secret"] = "top secret"
    session.create()
    admin = User.objects.create_superuser("root", "root@example.com", "s3cret-password")
    event = Event.objects.create_event(
        source=photo_source,
        actors=[owner],
        context={
            "owner": owner.pk,
            "account": ann.pk,
            "user": admin.pk,
            "type": ContentType.objects.get_for_model(Session).pk,
        },
    )
    return {
        "style": style,
        "medium": medium,
        "event": event,
        "session_key": session.session_key,
        "password_hash": admin.password,
        "source": photo_source,
    }


def hostile_renderer(world, hostile: Hostile) -> ContextRenderer:
    """The renderer, stored without validation (as a trusted editor or a bug might have)."""
    return ContextRenderer.objects.create(
        name="hostile",
        rendering_style=world["style"],
        source=world["source"],
        text_template=hostile.template,
        text_template_path=hostile.template_path,
        context_hints={key: HINTS[key] for key in hostile.hints},
    )


def expected_text(world, hostile: Hostile) -> str | None:
    if hostile.renders is None:
        return None
    return hostile.renders.replace("SESSION_KEY", world["session_key"]).replace(
        "PASSWORD_HASH", world["password_hash"]
    )


@pytest.mark.parametrize("name", hostile_names())
def test_medium_render(world, name, caplog):
    hostile = HOSTILE_TEMPLATES[name].outcome()
    with override_settings(**hostile.settings):
        hostile_renderer(world, hostile)
        before = database_state()
        with caplog.at_level(logging.WARNING, logger="entity_event.rendering.renderers"):
            if hostile.raises is not None:
                with pytest.raises(hostile.raises):
                    world["medium"].render([world["event"]])
                rendered = None
            else:
                rendered = world["medium"].render([world["event"]])
        after = database_state()
    assert after == before
    if hostile.renders is not None:
        assert rendered == {world["event"]: (expected_text(world, hostile), "")}
    if hostile.error is not None:
        assert rendered == {}
        assert "failed: left out" in caplog.text
        assert hostile.error.__name__ in caplog.text or hostile.error is Exception
    if hostile.secret_absent:
        text = rendered[world["event"]][0]
        assert text  # it printed the context...
        for secret in ("s3cret", world["password_hash"], world["session_key"], "insecure-key"):
            assert secret not in text  # ... and none of the secrets


@pytest.mark.django_db(transaction=True)
def test_without_a_transaction_open_the_database_refuses_a_write_through_the_driver(world):
    # A view without ATOMIC_REQUESTS, a worker: the database itself refuses the write on every
    # database, MariaDB included (a read-only transaction from its first statement).
    hostile_renderer(world, HOSTILE_TEMPLATES["raw SQL through the DB-API connection"])
    before = database_state()
    assert not connection.in_atomic_block
    assert world["medium"].render([world["event"]]) == {}
    assert database_state() == before
    assert Account.objects.filter(name="driver").count() == 0


@pytest.mark.parametrize("name", hostile_names())
def test_event_render_and_the_preview_change_nothing_either(world, name):
    hostile = HOSTILE_TEMPLATES[name].outcome()
    with override_settings(**hostile.settings):
        renderer = hostile_renderer(world, hostile)
        before = database_state()
        if hostile.raises is None:
            [event] = Event.objects.filter(pk=world["event"].pk).load_contexts_and_renderers(world["medium"])
            try:
                event.render(world["medium"])
            except Exception as error:
                assert hostile.error is not None and isinstance(error, hostile.error)
        [preview] = preview_renderer(renderer)
        assert database_state() == before
    assert (preview.error == "") == (hostile.error is None and hostile.raises is None)


@pytest.mark.parametrize(
    "name", [name for name, hostile in HOSTILE_TEMPLATES.items() if hostile.refused_on_save]
)
def test_refused_when_the_renderer_is_saved(world, name):
    hostile = HOSTILE_TEMPLATES[name]
    renderer = ContextRenderer(
        name="hostile",
        rendering_style=world["style"],
        source=world["source"],
        text_template=hostile.template,
        context_hints=HINTS,
    )
    with override_settings(**hostile.settings), pytest.raises(ValidationError, match=hostile.refused_on_save):
        renderer.full_clean()


def test_the_table_is_long_enough():
    assert len(HOSTILE_TEMPLATES) >= 20


class TestReadOnlyScope:
    def test_the_callers_transaction_goes_on_afterwards(self, world):
        hostile_renderer(world, Hostile("{{ account.rename }}"))
        with transaction.atomic():
            Team.objects.create(name="before")
            assert world["medium"].render([world["event"]]) == {}
            Team.objects.create(name="after")  # the transaction is writable again
        assert set(Team.objects.values_list("name", flat=True)) == {"Blue", "before", "after"}

    @NO_READ_ONLY_SWITCH
    def test_events_after_a_database_error_still_render(self, world, photo_source):
        # On PostgreSQL the refused DB-API write aborts the read-only transaction: the scope is
        # rolled back and begun again, so the next event renders (as it does on SQLite).
        template = "{% if account %}{{ account.rename_through_the_driver }}{% else %}fine{% endif %}"
        hostile_renderer(world, Hostile(template))
        fine = Event.objects.create_event(source=photo_source, context={})
        rendered = world["medium"].render([world["event"], fine])
        assert rendered == {fine: ("fine", "")}
        assert Account.objects.get(name="Ann")

    def test_events_after_a_failed_read_still_render(self, world, photo_source):
        template = "{% if account %}{{ account.broken_query }}{% else %}fine{% endif %}"
        hostile_renderer(world, Hostile(template))
        fine = Event.objects.create_event(source=photo_source, context={})
        assert world["medium"].render([world["event"], fine]) == {fine: ("fine", "")}

    def test_a_backend_without_a_read_only_switch_keeps_the_statement_guard(self, world):
        # MariaDB has no switch that works inside a transaction: writes are still refused.
        hostile_renderer(world, HOSTILE_TEMPLATES["an ORM update in a model method"])
        before = database_state()
        with mock.patch.object(connection, "vendor", "mysql"):
            assert world["medium"].render([world["event"]]) == {}
        assert database_state() == before

    def test_writes_before_and_after_rendering_are_not_refused(self, world):
        hostile_renderer(world, Hostile("{{ account.name }}"))
        world["medium"].render([world["event"]])
        Team.objects.create(name="after rendering")
        world["event"].render  # noqa: B018 (an attribute, not a call: nothing is rendered)
        assert Team.objects.filter(name="after rendering").exists()
        assert not connection.execute_wrappers


def test_the_example_feed_page_changes_nothing(client, world):
    # The finding: the public feed page ran {{ owner.entity_kind.entity_set.deactivate }}. The page
    # is no longer public (an anonymous visitor is sent to log in), and its reader's visit renders
    # in the read-only scope.
    hostile_renderer(world, HOSTILE_TEMPLATES["deactivate every entity of a kind"])
    reader = make_entity("Reader")
    Subscription.objects.create(
        medium=world["medium"], source=world["source"], entity=reader, only_following=False
    )
    with override_settings(EXAMPLE_NEWSFEED_MEDIUM="feed"):
        assert client.get(f"/feed/{reader.pk}/").status_code == 302
        client.force_login(make_user("reader", reader))
        before = database_state()
        response = client.get(f"/feed/{reader.pk}/")
    assert response.status_code == 200
    assert database_state() == before
    assert Entity.objects.filter(pk=reader.pk).exists()  # still active
