"""Every Python example of the documentation runs, and gives what the pages say.

The examples live in ``docs/examples/`` and are included in the pages with ``literalinclude``;
``test_no_untested_python_example`` keeps it so.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import re
import sys
import textwrap
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from unittest import mock

import django
import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.contenttypes.models import ContentType
from django.core import mail
from django.test import override_settings
from django.utils import timezone
from entity.models import Entity

from entity_event.models import (
    ContextRenderer,
    Event,
    EventSeen,
    Medium,
    RenderingStyle,
    Source,
    Subscription,
)
from example import quickstart
from tests.entities import make_entity
from tests.testapp.models import Account, Photo, Team

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
#: The email worker of the quickstart: measured, and the same for any batch size (with the savepoint
#: of its transaction inside the test's own). Its medium has only-following group subscriptions
#: only, so events_targets reads no group's members.
EMAIL_BATCH_QUERIES = 15


def load_example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, DOCS / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.django_db
def test_quickstart_example():
    result = quickstart.run_quickstart()

    # The newsfeed carries new products to every user but Dave, who unsubscribed; newest first.
    assert result["alice_feed"] == [
        "New on Yoursite: Hiking boots ($89).",
        "New on Yoursite: Espresso machine ($129).",
    ]
    assert result["dave_feed"] == []
    assert [event.context["product"] for event in result["events"]] == ["Hiking boots", "Espresso machine"]
    # Alice's bell: the two products and the photo she is tagged in (docs/notification_center.rst).
    assert result["alice_unread"] == 3

    # One email per photo and tagged user; the duplicate tag_photo call created nothing.
    assert result["first_batch"] == 2
    assert result["second_batch"] == 0
    sent = sorted((message.to, message.subject, message.body) for message in mail.outbox)
    assert sent == [
        (["alice@example.com"], "[Yoursite] Photo Tag", "bob tagged alice, carol in a photo at Lyon."),
        (["carol@example.com"], "[Yoursite] Photo Tag", "bob tagged alice, carol in a photo at Lyon."),
        (["dave@example.com"], "[Yoursite] Photo Tag", "carol tagged dave in a photo at the office party."),
    ]


@pytest.mark.django_db
def test_notification_center_example():
    example = load_example("notification_center_example")
    result = quickstart.run_quickstart()
    notifications = Medium.objects.get(name="notifications")
    alice = result["users"]["alice"]
    assert example.bell_count(notifications, alice) == 3
    newest = example.newest_unread(notifications, alice)
    assert [event.source.name for event in newest] == ["new-product", "photo-tag", "new-product"]
    example.open_notification(notifications, alice, newest[0])
    assert example.bell_count(notifications, alice) == 2
    example.keep_for_later(notifications, alice, newest[0])
    assert example.bell_count(notifications, alice) == 3
    example.clear_the_bell(notifications, alice)
    assert example.bell_count(notifications, alice) == 0
    quickstart.announce_product(Source.objects.get(name="new-product"), "Tent", "$199")
    assert [event.context["product"] for event in example.newest_unread(notifications, alice)] == ["Tent"]
    # Bob's state is his own.
    assert example.bell_count(notifications, result["users"]["bob"]) == 3


@pytest.mark.django_db
def test_notification_center_settings_and_urls():
    from django.urls import URLResolver, resolve
    from django.utils.module_loading import import_string

    from entity_event.checks import check_settings

    settings_example = load_example("notification_center_settings")
    values = {name: getattr(settings_example, name) for name in dir(settings_example) if name.isupper()}
    assert {"entity", "entity_event", "django_eventstream"} <= set(values["INSTALLED_APPS"])
    assert values["INSTALLED_APPS"][0] == "daphne"
    with override_settings(
        ENTITY_EVENT_NOTIFICATION_MEDIUM=values["ENTITY_EVENT_NOTIFICATION_MEDIUM"],
        EVENTSTREAM_CHANNELMANAGER_CLASS=values["EVENTSTREAM_CHANNELMANAGER_CLASS"],
    ):
        assert check_settings() == []
    assert import_string(values["EVENTSTREAM_CHANNELMANAGER_CLASS"]).__name__ == "NotificationChannelManager"
    # The block loads as it is, without the optional redis package (EVENTSTREAM_REDIS, which
    # needs it, is left for the reader to uncomment).
    assert "EVENTSTREAM_REDIS" not in values
    patterns = load_example("notification_center_urls").urlpatterns
    assert all(isinstance(pattern, URLResolver) for pattern in patterns)
    assert [str(pattern.pattern) for pattern in patterns] == ["accounts/", "notifications/"]
    assert resolve("/notifications/api/unread-count/").view_name == "entity_event:api_unread_count"


def smtp_connection_of(example: ModuleType) -> Any:
    """The connection ``send_email`` opens under the email settings of ``example`` alone (the
    suite's own ``MAILERS`` removed)."""
    from django.conf import settings

    from entity_event.delivery.email import mail_connection

    with override_settings():
        if hasattr(settings, "MAILERS"):
            del settings.MAILERS
        for name, value in vars(example).items():
            if name.isupper():
                setattr(settings, name, value)
        return mail_connection()


@pytest.mark.skipif(django.VERSION < (6, 1), reason="Django 5.2 and 6.0 have no mailers")
def test_the_mailers_of_the_delivery_page_reach_send_email(monkeypatch):
    monkeypatch.setenv("SMTP_PASSWORD", "from-the-environment")
    connection = smtp_connection_of(load_example("mailers_settings"))
    assert (connection.host, connection.port, connection.use_tls) == ("smtp.example.com", 587, True)
    assert (connection.username, connection.password) == ("mailer", "from-the-environment")


def test_the_older_email_settings_of_the_delivery_page_reach_send_email(monkeypatch):
    """On Django 5.2 and 6.0 they are the settings; 6.1 still reads them, and says they are
    deprecated."""
    monkeypatch.setenv("SMTP_PASSWORD", "from-the-environment")
    example = load_example("email_backend_settings")
    if django.VERSION >= (6, 1):
        with pytest.warns(PendingDeprecationWarning, match="Migrate to MAILERS"):
            connection = smtp_connection_of(example)
    else:
        connection = smtp_connection_of(example)
    assert (connection.host, connection.port, connection.use_tls) == ("smtp.example.com", 587, True)
    assert (connection.username, connection.password) == ("mailer", "from-the-environment")


@pytest.mark.django_db
def test_the_notification_center_of_the_docs_has_a_login_page(client, django_user_model, settings):
    """A fresh project has no login page: the URLs and the template of the docs give it one, and
    logging in there leads to the notifications (``LOGIN_REDIRECT_URL`` of the settings block)."""
    values = vars(load_example("notification_center_settings"))
    settings.ROOT_URLCONF = load_example("notification_center_urls")
    settings.LOGIN_URL = "login"  # Django's default, /accounts/login/, by its URL name
    settings.LOGIN_REDIRECT_URL = values["LOGIN_REDIRECT_URL"]
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [DOCS / "examples" / "templates"]}]
    page = client.get("/notifications/")
    assert (page.status_code, page["Location"]) == (302, "/accounts/login/?next=/notifications/")
    login = client.get(page["Location"])
    assert b'<form method="post" action="/accounts/login/">' in login.content
    django_user_model.objects.create_user("robin", password="secret-words")
    answer = client.post("/accounts/login/", {"username": "robin", "password": "secret-words"})
    assert (answer.status_code, answer["Location"]) == (302, "/notifications/")


@pytest.mark.django_db
def test_entity_for_user_example(django_user_model, client):
    example = load_example("entity_for_user_example")
    account = Account.objects.create(name="robin")
    entity = make_entity("Robin")
    Entity.all_objects.filter(pk=entity.pk).update(
        entity_type=ContentType.objects.get_for_model(Account), entity_id=account.pk
    )
    robin = django_user_model.objects.create_user("robin")
    assert example.entity_of_account(robin) == entity
    assert example.entity_of_account(django_user_model.objects.create_user("nobody")) is None
    assert example.entity_of_account(AnonymousUser()) is None
    Medium.objects.create(name="notifications", display_name="Notifications")
    client.force_login(robin)
    setting = override_settings(ENTITY_EVENT_ENTITY_FOR_USER="entity_for_user_example.entity_of_account")
    with setting, mock.patch.dict(sys.modules, {"entity_for_user_example": example}):
        assert client.get("/notifications/api/unread-count/").json() == {"unread_count": 0}


@pytest.mark.django_db
def test_quickstart_newsfeed_page_query_count(django_assert_num_queries, read_only_statements):
    example = quickstart
    result = example.run_quickstart()
    # One query for the page of events, one for their context renderers (no hinted model), and
    # the statements of the read-only scope the page is rendered in.
    with django_assert_num_queries(2 + read_only_statements):
        texts = example.newsfeed_page(result["newsfeed"], result["users"]["bob"])
    assert texts == result["alice_feed"]


def tag_more_photos(example, result, count: int, location: str = "Paris") -> None:
    users = result["users"]
    photo_source = Event.objects.get(uuid="photo-tag-1").source
    for number in range(100, 100 + count):
        example.tag_photo(photo_source, number, users["bob"], [users["alice"]], location)


@pytest.mark.django_db
@pytest.mark.parametrize("count", [3, 30])
def test_quickstart_email_batch_query_count(count, django_assert_num_queries, read_only_statements):
    example = quickstart
    result = example.run_quickstart()
    tag_more_photos(example, result, count)
    mail.outbox.clear()
    # Measured; what matters is that the events' sources (the subjects) and the hinted users
    # are loaded once for the batch: the same for 3 events as for 30.
    with django_assert_num_queries(EMAIL_BATCH_QUERIES + read_only_statements):
        assert example.send_email_batch(result["email"]) == count
    assert len(mail.outbox) == count
    assert {message.subject for message in mail.outbox} == {"[Yoursite] Photo Tag"}


@pytest.mark.django_db
def test_quickstart_email_batch_skips_events_that_did_not_render():
    example = quickstart
    result = example.run_quickstart()
    tag_more_photos(example, result, 2)
    boom = example.tag_photo(
        Event.objects.get(uuid="photo-tag-1").source,
        200,
        result["users"]["bob"],
        [result["users"]["alice"]],
        "boom",
    )
    renderer = ContextRenderer.objects.get(name="short-photo-tag")
    renderer.text_template = (
        "{% if location == 'boom' %}{{ 1|divisibleby:0 }}{% endif %}" + renderer.text_template
    )
    renderer.save()
    mail.outbox.clear()
    # Three events claimed; the one whose template raises is left out, the two others are sent.
    assert example.send_email_batch(result["email"]) == 3
    assert sorted(message.body for message in mail.outbox) == ["bob tagged alice in a photo at Paris."] * 2
    assert EventSeen.objects.filter(event=boom).exists()


@pytest.mark.django_db
def test_rendering_example():
    result = load_example("rendering_example").run_example()

    assert result["texts"] == ["jeff logged in at January 1, 2015", "wes logged in at February 28, 2015"]
    assert result["htmls"] == [
        "🔔 <b>jeff</b> logged in at January 1, 2015",
        "🔔 <b>wes</b> logged in at February 28, 2015 [admins]",
    ]
    assert result["first"] == (
        "jeff logged in at January 1, 2015",
        "🔔 <b>jeff</b> logged in at January 1, 2015",
    )
    serialized = result["serialized"]
    assert serialized["login_time"] == "February 28, 2015"
    assert serialized["prefix"] == "🔔 "
    assert serialized["user"]["username"] == "wes"
    assert [group["name"] for group in serialized["user"]["groups"]] == ["admins"]


@pytest.mark.django_db
def test_upgrading_3x_example(photo_source, source_group, django_assert_num_queries, read_only_statements):
    example = load_example("upgrading_3x_example")
    short, long = RenderingStyle.objects.create(name="short"), RenderingStyle.objects.create(name="long")
    feed = Medium.objects.create(name="feed", display_name="Feed", rendering_style=short)
    mail = Medium.objects.create(name="mail", display_name="Mail")
    ContextRenderer.objects.create(
        name="feed", rendering_style=short, source=photo_source, text_template="{{ who }} on the feed"
    )
    ContextRenderer.objects.create(
        name="fallback", rendering_style=long, source_group=source_group, text_template="{{ who }} by mail"
    )
    assert example.fallback_style_name() is None
    since = timezone.now()
    for who in ("ann", "ben"):
        Event.objects.create_event(
            source=photo_source, context={"who": who, "_token": "t", "photos": [{"_url": "u", "n": 1}]}
        )

    # Not seen on the feed yet: both, once; after catching up on mail, nothing new there.
    assert [event.context["who"] for event in example.new_events(feed, since)] == ["ben", "ann"]
    assert list(example.new_events(feed, since)) == []
    example.catch_up(mail)
    assert list(example.new_events(mail, since)) == []
    with override_settings(DEFAULT_ENTITY_EVENT_RENDERING_STYLE="long"):
        assert example.fallback_style_name() == "long"
        # The events (with source and group) and their actor rows, then per medium the default
        # style and the renderers; each Event.render runs in its own read-only scope.
        with django_assert_num_queries(2 + 2 * 2 + 4 * read_only_statements):
            rendered = example.render_everywhere([feed, mail])
    assert rendered == {
        "feed": ["ben on the feed", "ann on the feed"],
        "mail": ["ben by mail", "ann by mail"],
    }
    Subscription.objects.create(
        medium=feed, source=photo_source, entity=make_entity("Ann"), only_following=False
    )
    assert example.public_contexts(feed) == [{"who": who, "photos": [{"n": 1}]} for who in ("ben", "ann")]


@pytest.mark.django_db
def test_following_example(photo_source):
    team = make_entity("Team", kind="team")
    member = make_entity("Member", supers=(team,))
    outsider = make_entity("Outsider")

    result = load_example("following_example").team_updates(photo_source, team, member, outsider)

    # The team follows its member, not the outsider: only the member's event reaches it.
    assert result["team_feed"] == [result["by_member"]]
    assert result["targets"] == [(result["by_member"], [team])]


@pytest.mark.django_db
def test_context_hints_example(photo_source, newsfeed, django_assert_num_queries, read_only_statements):
    example = load_example("context_hints_example")
    blue, red = Team.objects.create(name="Blue"), Team.objects.create(name="Red")
    ann, ben = Account.objects.create(name="Ann", team=blue), Account.objects.create(name="Ben", team=red)
    beach = Photo.objects.create(uuid=uuid.uuid4(), title="Beach", owner=ann)
    Photo.objects.create(uuid=uuid.uuid4(), title="Party", owner=ann)
    first = Event.objects.create_event(
        source=photo_source,
        context={"items": [{"account": ann.pk}, {"account": ben.pk}], "photo": str(beach.pk)},
    )
    second = Event.objects.create_event(source=photo_source, context={"items": [{"account": ben.pk}]})
    style = RenderingStyle.objects.create(name="short")
    newsfeed.rendering_style = style
    newsfeed.save()

    # 1 renderer creation, then: the events, the renderers, the accounts (with their teams),
    # their photos, the photos hinted by "photo"; and the read-only scope's statements.
    with django_assert_num_queries(6 + read_only_statements):
        rendered = example.render_with_hints(photo_source, newsfeed, style)

    assert rendered[first][0] == "Ann (Blue, 2 photos); Ben (Red, 0 photos) - Beach"
    assert rendered[second][0] == "Ben (Red, 0 photos) -"
    assert first.context == {"items": [{"account": ann.pk}, {"account": ben.pk}], "photo": str(beach.pk)}


@pytest.mark.django_db
def test_deleting_example(photo_source, product_source, email, alice):
    Event.objects.create_event(source=photo_source, actors=[alice])
    EventSeen.objects.create(event=Event.objects.get(), medium=email)
    ContextRenderer.objects.create(
        name="photo", rendering_style=RenderingStyle.objects.create(name="short"), source=photo_source
    )
    Subscription.objects.create(medium=email, source=photo_source, entity=alice)
    kept = Event.objects.create_event(source=product_source, actors=[alice])

    load_example("deleting_example").delete_source_with_its_events("photo-tag")

    assert list(Source.objects.all()) == [product_source]
    assert list(Event.objects.all()) == [kept]
    assert not ContextRenderer.objects.exists() and not Subscription.objects.exists()
    assert not EventSeen.objects.exists()


def readme_python_blocks() -> list[str]:
    return [block.text for block in literal_blocks(ROOT / "README.rst") if block.language == "python"]


def test_readme_example_is_the_tested_code():
    source = (DOCS / "examples" / "readme_example.py").read_text()
    region = source.split("# README example start\n")[1].split("# README example end")[0]
    settings_block, example_block = readme_python_blocks()
    assert settings_block.startswith("INSTALLED_APPS = [")
    assert example_block == textwrap.dedent(region).strip()


@pytest.mark.django_db
def test_readme_example():
    all_users = make_entity("All users", kind="group")
    alice = make_entity("Alice", supers=(all_users,))
    bob = make_entity("Bob", supers=(all_users,))
    make_entity("Carol", supers=(all_users,))
    owner, photo = Team.objects.create(name="owner"), Team.objects.create(name="photo")

    example = load_example("readme_example")
    example.readme_example(all_users, alice.entity_kind, [alice, bob], owner, photo)

    assert sorted((message.to, message.body) for message in mail.outbox) == [
        (["alice@example.com"], "Paris"),
        (["bob@example.com"], "Paris"),
    ]
    # The uuid makes the creation idempotent: the same photo again creates no second event.
    assert Event.objects.get().uuid == f"photo-tag-{photo.pk}"


# -- No untested Python example in the documentation -------------------------------------------


@dataclass
class LiteralBlock:
    path: Path
    line: int
    language: str  # "python", "sh", ... or "" for a ``::`` block
    text: str


#: Python blocks that only show configuration, allowed inline: (file name, first line).
INLINE_PYTHON_ALLOWED = {
    ("installation.rst", "INSTALLED_APPS = ["),
    # Checked against the runnable project's settings by test_the_mariadb_settings_of_the_docs.
    ("installation.rst", "DATABASES = {"),
    ("README.rst", "INSTALLED_APPS = ["),
    ("security.rst", 'ENTITY_EVENT_CONTEXT_HINT_MODELS = ["auth.User", "photos.Photo", "entity.Entity"]'),
    # Checked against the test suite's settings by test_the_language_settings_of_the_docs.
    ("people.rst", "MIDDLEWARE = ["),
    # Checked against the task queue tests' settings by test_the_task_queue_settings_of_the_docs.
    ("deployment.rst", "INSTALLED_APPS = ["),
}

#: Python files outside docs/examples/ that pages may include, with the test that runs them.
INCLUDES_ALLOWED = {
    "../tests/testapp/models.py": "tests/routing/test_semantics.py::TestFollowSubEntitiesMedium",
    "../example/quickstart.py": "tests/project/test_docs_examples.py::test_quickstart_example",
    "examples/templates/registration/login.html": (
        "tests/project/test_docs_examples.py::test_the_notification_center_of_the_docs_has_a_login_page"
    ),
}

_DIRECTIVE = re.compile(r"^(\s*)\.\. (code-block|code|sourcecode|literalinclude)::\s*(\S*)\s*$")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _body(lines: list[str], start: int, parent_indent: int) -> tuple[list[str], int]:
    """The indented lines after ``start`` (options and content), and where they end."""
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or _indent(lines[end]) > parent_indent):
        end += 1
    return lines[start + 1 : end], end


def literal_blocks(path: Path) -> list[LiteralBlock]:
    """Every code block of an .rst file: directives and ``::`` literal blocks, with their text."""
    lines = path.read_text().splitlines()
    blocks = []
    index = 0
    while index < len(lines):
        line = lines[index]
        match = _DIRECTIVE.match(line)
        if match and match.group(2) != "literalinclude":
            body, end = _body(lines, index, len(match.group(1)))
            content = [row for row in body if not row.strip().startswith(":")]
            text = textwrap.dedent("\n".join(content)).strip()
            blocks.append(LiteralBlock(path, index + 1, match.group(3).lower(), text))
            index = end
            continue
        if line.rstrip().endswith("::") and not line.lstrip().startswith(".."):
            body, end = _body(lines, index, _indent(line))
            blocks.append(LiteralBlock(path, index + 1, "", textwrap.dedent("\n".join(body)).strip()))
            index = end
            continue
        index += 1
    return blocks


def is_python(block: LiteralBlock) -> bool:
    if block.language in ("python", "py", "python3", "pycon", "default"):
        return True
    if block.language:
        return False
    try:
        ast.parse(block.text)
    except SyntaxError:
        return False  # shell commands, program output
    return True


def rst_files() -> list[Path]:
    return [*sorted(DOCS.rglob("*.rst")), ROOT / "README.rst"]


def test_the_scanner_finds_python_blocks(tmp_path):
    page = tmp_path / "page.rst"
    page.write_text(
        "Intro::\n\n    x = compute()\n\nShell::\n\n    pip install thing\n\n"
        ".. code-block:: python\n   :caption: c\n\n   import os\n\n.. code-block:: sh\n\n   ls\n"
    )
    blocks = literal_blocks(page)
    assert [(block.line, block.language, block.text) for block in blocks] == [
        (1, "", "x = compute()"),
        (5, "", "pip install thing"),
        (9, "python", "import os"),
        (14, "sh", "ls"),
    ]
    assert [is_python(block) for block in blocks] == [True, False, True, False]


def test_no_untested_python_example():
    """Python examples are literalincludes of docs/examples/ (run by this module), except the
    few configuration snippets of INLINE_PYTHON_ALLOWED."""
    untested = [
        f"{block.path.relative_to(ROOT)}:{block.line}: {block.text.splitlines()[0]}"
        for path in rst_files()
        for block in literal_blocks(path)
        if is_python(block)
        and (path.name, block.text.splitlines()[0]) not in INLINE_PYTHON_ALLOWED
        and not (path.name == "README.rst" and block.text == readme_python_blocks()[1])
    ]
    assert untested == []


def test_every_included_example_is_run_by_a_test():
    tests = "".join(path.read_text() for path in (ROOT / "tests").rglob("test_*.py"))
    included = set()
    for path in rst_files():
        for match in re.finditer(r"\.\. literalinclude:: (\S+)", path.read_text()):
            included.add(match.group(1))
    assert included, "no literalinclude found"
    for name in sorted(included):
        if name in INCLUDES_ALLOWED:
            test_file, _, test_name = INCLUDES_ALLOWED[name].partition("::")
            assert test_name in (ROOT / test_file).read_text()
            continue
        assert name.startswith("examples/") and name.endswith(".py"), name
        module = Path(name).stem
        assert (DOCS / name).exists(), name
        assert f'load_example("{module}")' in tests or f'"{module}.py"' in tests, f"{name} is run by no test"
    for example in (DOCS / "examples").glob("*.py"):
        if example.name == "readme_example.py":
            continue  # shown in README.rst, see test_readme_example_is_the_tested_code
        assert f"examples/{example.name}" in included, f"{example.name} is shown on no page"


def test_release_checklist_versions_agree():
    """The release checklist sets the version in two places; the docs show entity_event's."""
    import tomllib

    import entity_event

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["version"] == entity_event.__version__
    base_version = re.match(r"\d+\.\d+\.\d+", entity_event.__version__).group()
    notes = (DOCS / "release_notes.rst").read_text()
    assert f"Unreleased ({base_version})" in notes or f"\n{base_version}" in notes


@pytest.mark.django_db
def test_celery_delivery_example(photo_source, django_capture_on_commit_callbacks):
    """The Celery task and receiver of the deployment page, run by Celery's current app in eager
    mode (no broker; tests/delivery/test_task_queues.py runs the same few lines on RabbitMQ with
    real workers): a committed creation delivers, a rolled-back one enqueues nothing, and the task
    refuses what ``run_delivery`` refuses."""
    from celery import current_app
    from django.db import transaction

    from entity_event.signals import events_created

    style = RenderingStyle.objects.create(name="mail")
    email = Medium.objects.create(name="email", display_name="Email", rendering_style=style)
    ContextRenderer.objects.create(
        name="photo", rendering_style=style, source=photo_source, text_template="Photo {{ n }}"
    )
    group = make_entity("Group", kind="group")
    users = [make_entity(name, supers=(group,)) for name in ("Ann", "Bea")]
    Subscription.objects.create(
        medium=email,
        source=photo_source,
        entity=group,
        sub_entity_kind=users[0].entity_kind,
        only_following=False,
    )
    saved = (current_app.conf.task_always_eager, current_app.conf.task_eager_propagates)
    current_app.conf.task_always_eager = current_app.conf.task_eager_propagates = True
    try:
        example = load_example("celery_delivery")
        with django_capture_on_commit_callbacks(execute=True):
            Event.objects.create_event(source=photo_source, uuid="tagged", context={"n": 1})
        assert sorted(message.to[0] for message in mail.outbox) == ["ann@example.com", "bea@example.com"]
        assert mail.outbox[0].body.startswith("Photo 1")
        mail.outbox.clear()
        with (
            django_capture_on_commit_callbacks(execute=True) as callbacks,
            pytest.raises(RuntimeError),
            transaction.atomic(),
        ):
            Event.objects.create_event(source=photo_source, uuid="gone", context={"n": 2})
            raise RuntimeError("rolled back")
        assert callbacks == [] and mail.outbox == []
        with pytest.raises(ValueError, match=r"run_delivery\(\): batch_size must be 1 or more"):
            example.deliver_email.apply(kwargs={"batch_size": 0})
    finally:
        current_app.conf.task_always_eager, current_app.conf.task_eager_propagates = saved
        events_created.disconnect(dispatch_uid="yoursite.deliver_email")


@pytest.mark.django_db
def test_delivery_example(photo_source):
    from entity_event.delivery import deliver_batch
    from entity_event.models import Delivery, Medium, Subscription

    example = load_example("delivery_example")
    sent = []

    class FakePushService:
        def send(self, device: str, text: str, key: str) -> None:
            if device == "broken":
                raise example.PushError("device unknown")
            sent.append((device, text, key))

    example.push_service = FakePushService()
    medium = Medium.objects.create(name="push", display_name="Push")
    for name, meta in (("Ann", {"device": "phone-1"}), ("Bob", {"device": "broken"}), ("Cy", "not a dict")):
        target = make_entity(name)
        target.entity_meta = meta
        target.save()
        Subscription.objects.create(medium=medium, source=photo_source, entity=target, only_following=False)
    event = Event.objects.create_event(source=photo_source, context={"text": "Hello"})

    report = deliver_batch(medium, example.push)

    ann = Delivery.objects.get(target__display_name="Ann")
    assert sent == [
        ("phone-1", "Hello", f"{hashlib.sha256(event.uuid.encode()).hexdigest()[:32]}.{ann.target_id}")
    ]
    assert (report.sent, report.retried, report.skipped) == (1, 1, 1)
    assert Delivery.objects.get(target__display_name="Bob").last_error == "device unknown"
    assert Delivery.objects.get(target__display_name="Cy").status == "skipped"


def test_the_mariadb_settings_of_the_docs():
    """The MariaDB configuration of the installation page is the one the test suite runs with."""
    from settings import database_from_url

    [block] = [
        block
        for block in literal_blocks(ROOT / "docs" / "installation.rst")
        if block.text.startswith("DATABASES = {")
    ]
    namespace: dict[str, Any] = {}
    exec(block.text, namespace)
    documented = namespace["DATABASES"]["default"]
    tested = database_from_url("mysql://events:x@127.0.0.1/events")
    for key in ("ENGINE", "OPTIONS", "TEST"):
        assert documented[key] == tested[key]


def test_the_task_queue_settings_of_the_docs():
    """The django-tasks-db settings of the deployment page are those the workers of the task queue
    tests run with (tests/task_queue_settings.py), on the running Django (``django_tasks`` on 5.2
    only); the error the page quotes for the backend of django-tasks before 0.12 is the one the
    installed django-tasks gives, and the ``tasks`` extra installs django-tasks-db."""
    import tomllib

    from tests import task_queue_settings

    page = (DOCS / "deployment.rst").read_text()
    with pytest.raises(ModuleNotFoundError) as error:
        importlib.import_module("django_tasks.backends.database")
    assert f"``ModuleNotFoundError: {error.value}``" in page
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert {re.split(r"[<>=]", requirement)[0] for requirement in extras["tasks"]} == {
        "django-tasks",
        "django-tasks-db",
    }

    [block] = [
        block
        for block in literal_blocks(DOCS / "deployment.rst")
        if block.text.startswith("INSTALLED_APPS = [")
    ]
    namespace: dict[str, Any] = {}
    exec(block.text, namespace)
    assert namespace["TASKS"] == task_queue_settings.TASKS
    documented = [
        name for name in namespace["INSTALLED_APPS"] if name != "django_tasks" or django.VERSION < (6, 0)
    ]
    assert [name for name in task_queue_settings.INSTALLED_APPS if name in documented] == documented


def test_the_language_settings_of_the_docs(settings):
    """The middleware and languages the people page asks for are the test suite's, in its order."""
    [block] = [
        block for block in literal_blocks(DOCS / "people.rst") if block.text.startswith("MIDDLEWARE = [")
    ]
    namespace: dict[str, Any] = {}
    exec(block.text, namespace)
    documented = [name for name in namespace["MIDDLEWARE"] if isinstance(name, str)]
    assert [name for name in settings.MIDDLEWARE if name in documented] == documented
    assert namespace["LANGUAGES"] == settings.LANGUAGES
