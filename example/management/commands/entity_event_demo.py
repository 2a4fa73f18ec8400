"""``manage.py entity_event_demo``: build the quickstart's world with its own code, and show it work.

The world is the one docs/quickstart.rst builds, with the very functions the page shows
(``example.quickstart``): two sources, two mediums, four users under an all-users group,
subscriptions, one unsubscription, a rendering style with its context renderers, and a few
events; and, for the events written in the admin, an "announcement" source whose renderer shows
their text. The command then prints one user's newsfeed, delivers the emails with
``manage.py deliver_entity_events --medium email`` (through the project's mailer: the
runnable project writes them as files in ``sent-mail/``) and prints them, and runs the delivery
again, to show nothing is sent twice.

It runs on a database without entity_event data. ``--reset`` first deletes what an earlier run
created (the quickstart's source group, sources, mediums, style, renderers, their events and
subscriptions, and its users and their entities), so the demo can be run again. This command
belongs to the example project, not to the app: sites that install entity_event do not get it.
"""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

from django.contrib.auth.models import Group, User
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from entity.models import Entity, EntityKind

from entity_event.delivery import email_address
from entity_event.models import (
    ContextRenderer,
    Delivery,
    Event,
    Medium,
    RenderingStyle,
    Source,
    SourceGroup,
    Subscription,
    Unsubscription,
)
from example import quickstart

#: The users of the quickstart's world.
DEMO_USERS = ["alice", "bob", "carol", "dave"]
#: The password of the demo users and of the demo's staff user, for the example site on a
#: developer's machine (the demo refuses to run on a database that holds data already).
DEMO_PASSWORD = "demo-password"
DEMO_ADMIN = "demo-admin"


class Command(BaseCommand):
    """``manage.py entity_event_demo [--reset] [--json]`` (see the module docstring)."""

    help = "Build the quickstart's world of sources, mediums, subscriptions and events, and show it."

    def add_arguments(self, parser: CommandParser) -> None:
        """``--reset`` and ``--json``."""
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Delete what an earlier run of the demo created, then build it again.",
        )
        parser.add_argument("--json", action="store_true", dest="as_json", help="Print the results as JSON.")

    def handle(self, *args: Any, reset: bool = False, as_json: bool = False, **options: Any) -> None:
        """Build the world in one transaction, run the scenario and print the report."""
        with transaction.atomic():
            if reset:
                delete_world()
            if Source.objects.exists() or Medium.objects.exists() or Event.objects.exists():
                raise CommandError(
                    "This database already holds entity_event data. Run `manage.py entity_event_demo "
                    "--reset` (in a clone: `bash scripts/demo --reset`) to delete what an earlier demo "
                    "created and build it again, or delete the database file (db.sqlite3 by default)."
                )
            world = build_world()
        report = run_scenario(world)
        self.stdout.write(json.dumps(report, indent=2) if as_json else format_report(report))


def build_world() -> dict[str, Any]:
    """The quickstart's world and events, built by the quickstart's own steps."""
    photo_source, product_source = quickstart.create_sources()
    email_medium, newsfeed_medium = quickstart.create_mediums()
    all_users, users = quickstart.create_entities(DEMO_USERS)
    quickstart.subscribe(email_medium, newsfeed_medium, photo_source, product_source, all_users)
    quickstart.unsubscribe(users["dave"], newsfeed_medium, product_source)
    quickstart.set_up_rendering(email_medium, newsfeed_medium, photo_source, product_source)
    notifications = quickstart.create_notification_center(photo_source, product_source, all_users)
    create_announcements(photo_source.group, [newsfeed_medium, notifications], all_users)
    create_logins()
    quickstart.announce_product(product_source, "Espresso machine", "$129")
    quickstart.tag_photo(photo_source, 1, users["bob"], [users["alice"], users["carol"]], "Lyon")
    quickstart.announce_product(product_source, "Hiking boots", "$89")
    quickstart.tag_photo(photo_source, 2, users["carol"], [users["dave"]], "the office party")
    return {
        "email": email_medium,
        "newsfeed": newsfeed_medium,
        "notifications": notifications,
        "users": users,
    }


def create_announcements(group: SourceGroup, mediums: list[Medium], all_users: Entity) -> Source:
    """The source for the events written in the admin ("Admin events": a source and a text): its
    renderer shows the text, which the form stores in the context as ``{"text": ...}`` (the
    quickstart's sources render other keys), and every user receives it on ``mediums``."""
    announcement = Source.objects.create(
        group=group,
        name="announcement",
        display_name="Announcement",
        description="Announcements written in the admin",
    )
    ContextRenderer.objects.create(
        name="short-announcement",
        rendering_style=RenderingStyle.objects.get(name="short"),
        source=announcement,
        text_template="Announcement: {{ text }}",
        html_template="<p><b>Announcement:</b> {{ text }}</p>",
    )
    user_kind = EntityKind.objects.get(name="user")
    for medium in mediums:
        Subscription.objects.create(
            medium=medium,
            source=announcement,
            entity=all_users,
            sub_entity_kind=user_kind,
            only_following=False,
        )
    return announcement


def create_logins() -> None:
    """Let the demo users log in to the example site, and create a staff user for its admin."""
    for user in User.objects.filter(username__in=DEMO_USERS):
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    User.objects.create_superuser(DEMO_ADMIN, f"{DEMO_ADMIN}@example.com", DEMO_PASSWORD)


def delete_world() -> None:
    """Delete what ``build_world`` creates, found by the quickstart's names: the events of its
    sources first (they protect their source), then the source group with its sources and their
    subscriptions, the renderers, the mediums, the style, and the demo users with their entities."""
    Event.objects.filter(source__group__name="yoursite").delete()
    ContextRenderer.objects.filter(
        name__in=["short-photo-tag", "short-new-product", "short-announcement"]
    ).delete()
    SourceGroup.objects.filter(name="yoursite").delete()
    Medium.objects.filter(name__in=["email", "newsfeed", "notifications"]).delete()
    User.objects.filter(username=DEMO_ADMIN).delete()
    RenderingStyle.objects.filter(name="short").delete()
    users = User.objects.filter(username__in=DEMO_USERS)
    groups = Group.objects.filter(name="all-users")
    for model, rows in ((User, users), (Group, groups)):
        Entity.all_objects.filter(
            entity_type=ContentType.objects.get_for_model(model), entity_id__in=rows.values("pk")
        ).delete(force=True)  # force: a real DELETE, not django-entity's deactivation
    users.delete()
    groups.delete()


def run_scenario(world: dict[str, Any]) -> dict[str, Any]:
    """Read and render the world as a newsfeed page does, then deliver the emails with the delivery
    command, twice: the second run finds nothing left to send."""
    newsfeed: Medium = world["newsfeed"]
    email: Medium = world["email"]
    reader = world["users"]["alice"]
    subscriptions = Subscription.objects.filter(medium__in=[email, newsfeed]).cache_related().order_by("pk")
    unsubscriptions = Unsubscription.objects.filter(medium__in=[email, newsfeed]).select_related(
        "entity", "medium", "source"
    )
    return {
        "world": [f"subscription: {subscription}" for subscription in subscriptions]
        + [f"unsubscription: {unsubscription}" for unsubscription in unsubscriptions],
        "newsfeed": {"entity": str(reader), "texts": quickstart.newsfeed_page(newsfeed, reader)},
        "emails": deliver_emails(email),
        "emails_second_run": deliver_emails(email),
        "notification_center": {
            "unread": {
                name: world["notifications"].unread_count(entity) for name, entity in world["users"].items()
            },
            "users": DEMO_USERS,
            "staff_user": DEMO_ADMIN,
            "password": DEMO_PASSWORD,
        },
    }


def deliver_emails(email: Medium) -> list[dict[str, Any]]:
    """Run ``manage.py deliver_entity_events --medium email`` (through the project's mailer: the
    runnable project keeps the messages as files in ``sent-mail/``); return
    what it sent: one message per recipient."""
    before = list(
        Delivery.objects.filter(medium=email, status=Delivery.Status.SENT).values_list("pk", flat=True)
    )
    call_command("deliver_entity_events", "--medium", email.name, stdout=StringIO())
    sent = list(
        Delivery.objects.filter(medium=email, status=Delivery.Status.SENT)
        .exclude(pk__in=before)
        .select_related("event__source", "target")
        .order_by("event__time", "target__display_name")
    )
    rendered = email.render(list({delivery.event_id: delivery.event for delivery in sent}.values()))
    return [
        {
            "to": [email_address(delivery.target)],
            "subject": delivery.event.source.display_name,
            "text": rendered[delivery.event][0],
        }
        for delivery in sent
    ]


def format_report(report: dict[str, Any]) -> str:
    """The report of ``run_scenario`` as the text the command prints."""
    lines = ["The world:"]
    lines += [f"  - {line}" for line in report["world"]]
    lines += ["", f"Newsfeed of {report['newsfeed']['entity']} (newest first):"]
    lines += [f"  - {text}" for text in report["newsfeed"]["texts"]] or ["  (empty)"]
    lines += [
        "",
        f"manage.py deliver_entity_events --medium email -> {len(report['emails'])} email(s)",
    ]
    for message in report["emails"]:
        lines += [
            f"  To: {', '.join(message['to'])}",
            f"  Subject: {message['subject']}",
            f"  {message['text']}",
            "",
        ]
    lines.append(
        f"Same command again -> {len(report['emails_second_run'])} email(s): the first run claimed every "
        "event on the email medium and recorded each delivery, so nothing is sent twice."
    )
    center = report["notification_center"]
    unread = ", ".join(f"{name} {count}" for name, count in center["unread"].items())
    lines += [
        "",
        f"Notification center: unread notifications: {unread}.",
        "  Run `python manage.py runserver` and open http://127.0.0.1:8000/, the start page; log in as",
        f"  {center['users'][0]} (password {center['password']}); create an event for the Announcement",
        f"  source in the admin (http://127.0.0.1:8000/admin/, user {center['staff_user']}) and watch it",
        "  arrive.",
    ]
    return "\n".join(lines) + "\n"
