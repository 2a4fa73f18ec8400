"""``manage.py entity_event_demo``: build the quickstart's world with the real API and show it work.

The command creates a source group with the ``photo-tag`` and ``new-product`` sources, ``email``
and ``newsfeed`` mediums, demo users mirrored as django-entity entities under an all-users group,
the quickstart's subscriptions and one unsubscription, a handful of events, and a rendering style
with context renderers whose hints load user rows. It then prints one user's newsfeed, the email
batch a worker would send, and the same call again to show nothing is sent twice.

It refuses to run on a database that already holds entity_event data unless given ``--force``.
With ``--force`` every object it creates gets a ``demo-`` name prefix, so that it never reads,
changes or marks as seen the project's own sources, mediums and events; it never deletes.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import prefetch_related_objects
from entity.models import Entity, EntityKind, EntityRelationship

from entity_event.models import (
    ContextRenderer,
    Event,
    Medium,
    RenderingStyle,
    Source,
    SourceGroup,
    Subscription,
    Unsubscription,
)

DEMO_USERS = ("alice", "bob", "carol", "dave")

PHOTO_TAG_TEXT = (
    "{{ owner.first_name }} tagged "
    "{% for user in tagged %}{{ user.first_name }}{% if not forloop.last %}, {% endif %}{% endfor %}"
    " in a photo at {{ location }}."
)
PHOTO_TAG_HTML = (
    "<p><b>{{ owner.first_name }}</b> tagged "
    "{% for user in tagged %}<b>{{ user.first_name }}</b>{% if not forloop.last %}, {% endif %}{% endfor %}"
    " in a photo at {{ location }}.</p>"
)
NEW_PRODUCT_TEXT = "New on {{ site_name }}: {{ product }} ({{ price }})."
NEW_PRODUCT_HTML = "<p>New on {{ site_name }}: <b>{{ product }}</b> ({{ price }}).</p>"


class Command(BaseCommand):
    """``manage.py entity_event_demo [--force] [--json]`` (see the module docstring)."""

    help = "Build the quickstart's world of sources, mediums, subscriptions and events, and show it."

    def add_arguments(self, parser: CommandParser) -> None:
        """``--force`` and ``--json``."""
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run even if the database already holds entity_event data (nothing is deleted).",
        )
        parser.add_argument("--json", action="store_true", dest="as_json", help="Print the results as JSON.")

    def handle(self, *args: Any, force: bool = False, as_json: bool = False, **options: Any) -> None:
        """Build the world in one transaction, run the scenario and print the report."""
        if not apps.is_installed("django.contrib.auth"):
            raise CommandError("entity_event_demo needs django.contrib.auth in INSTALLED_APPS (demo users).")
        if not force and (Source.objects.exists() or Medium.objects.exists() or Event.objects.exists()):
            raise CommandError(
                "This database already holds entity_event data; the demo would add to it. "
                "Run it on an empty database, or pass --force to add the demo objects anyway."
            )
        has_data = Source.objects.exists() or Medium.objects.exists() or Event.objects.exists()
        with transaction.atomic():
            world = build_world(prefix="demo-" if has_data else "")
        report = run_scenario(world)
        if as_json:
            self.stdout.write(json.dumps(report, indent=2))
        else:
            self.stdout.write(format_report(report))


def build_world(prefix: str = "") -> dict[str, Any]:
    """Create (or reuse, by name) every object of the quickstart's world, with the real API.

    ``prefix`` starts the name of every source group, source, medium, style and renderer.
    """
    from django.contrib.auth.models import Group, User

    group, _ = SourceGroup.objects.get_or_create(
        name=f"{prefix}yoursite", defaults={"display_name": "Yoursite", "description": "Events on Yoursite"}
    )
    photo_tag, _ = Source.objects.get_or_create(
        name=f"{prefix}photo-tag",
        defaults={
            "group": group,
            "display_name": "Photo Tag",
            "description": "You have been tagged in a photo",
        },
    )
    new_product, _ = Source.objects.get_or_create(
        name=f"{prefix}new-product",
        defaults={
            "group": group,
            "display_name": "New Product",
            "description": "There is a new product on Yoursite",
        },
    )
    style, _ = RenderingStyle.objects.get_or_create(name=f"{prefix}short", defaults={"display_name": "Short"})
    email, _ = Medium.objects.get_or_create(
        name=f"{prefix}email",
        defaults={"display_name": "Email", "description": "Email notifications", "rendering_style": style},
    )
    newsfeed, _ = Medium.objects.get_or_create(
        name=f"{prefix}newsfeed",
        defaults={
            "display_name": "NewsFeed",
            "description": "Your personal feed of events",
            "rendering_style": style,
            "additional_context": {"site_name": "Yoursite"},
        },
    )
    ContextRenderer.objects.get_or_create(
        name=f"{prefix}short-photo-tag",
        defaults={
            "rendering_style": style,
            "source": photo_tag,
            "text_template": PHOTO_TAG_TEXT,
            "html_template": PHOTO_TAG_HTML,
            "context_hints": {
                "owner": {"app_name": "auth", "model_name": "User"},
                "tagged": {"app_name": "auth", "model_name": "User"},
            },
        },
    )
    ContextRenderer.objects.get_or_create(
        name=f"{prefix}short-new-product",
        defaults={
            "rendering_style": style,
            "source": new_product,
            "text_template": NEW_PRODUCT_TEXT,
            "html_template": NEW_PRODUCT_HTML,
        },
    )

    user_kind, _ = EntityKind.objects.get_or_create(name="user", defaults={"display_name": "User"})
    group_kind, _ = EntityKind.objects.get_or_create(name="group", defaults={"display_name": "Group"})
    all_users_group, _ = Group.objects.get_or_create(name="demo-all-users")
    all_users = mirror_entity(all_users_group, group_kind, "All users", {})
    users: dict[str, User] = {}
    entities: dict[str, Entity] = {}
    for name in DEMO_USERS:
        users[name], _ = User.objects.get_or_create(
            username=f"demo-{name}", defaults={"email": f"{name}@example.com", "first_name": name.title()}
        )
        entities[name] = mirror_entity(users[name], user_kind, name.title(), {"email": f"{name}@example.com"})
        EntityRelationship.objects.get_or_create(sub_entity=entities[name], super_entity=all_users)

    # Every user gets new products in the newsfeed; photo tags only when they follow an actor
    # (they are tagged themselves), by email and in the newsfeed.
    for medium, source, only_following in [
        (newsfeed, new_product, False),
        (email, photo_tag, True),
        (newsfeed, photo_tag, True),
    ]:
        Subscription.objects.get_or_create(
            medium=medium,
            source=source,
            entity=all_users,
            sub_entity_kind=user_kind,
            defaults={"only_following": only_following},
        )
    Unsubscription.objects.get_or_create(entity=entities["dave"], medium=newsfeed, source=new_product)

    run = uuid.uuid4().hex[:8]

    def tag(owner: str, tagged: list[str], location: str, number: int) -> dict[str, Any]:
        return {
            "source": photo_tag,
            "actors": [entities[name] for name in tagged],
            "context": {
                "owner": users[owner].pk,
                "tagged": [users[name].pk for name in tagged],
                "location": location,
            },
            "uuid": f"demo-{run}-{number}",
        }

    def product(name: str, price: str, number: int) -> dict[str, Any]:
        return {
            "source": new_product,
            "context": {"product": name, "price": price},
            "uuid": f"demo-{run}-{number}",
        }

    # Created in this order, so each event's default time (now) is later than the previous one's.
    Event.objects.create_events(
        [
            product("Espresso machine", "$129", 1),
            tag("bob", ["alice", "carol"], "Lyon", 2),
            product("Hiking boots", "$89", 3),
            tag("carol", ["dave"], "the office party", 4),
            tag("alice", ["bob"], "the beach", 5),
        ]
    )
    return {"email": email, "newsfeed": newsfeed, "entities": entities, "run": run}


def mirror_entity(instance: Any, kind: EntityKind, display_name: str, meta: dict[str, Any]) -> Entity:
    """Return the django-entity entity that mirrors ``instance``, creating it when missing."""
    entity, _ = Entity.all_objects.get_or_create(
        entity_type=ContentType.objects.get_for_model(instance),
        entity_id=instance.pk,
        defaults={"entity_kind": kind, "display_name": display_name, "entity_meta": meta},
    )
    return entity


def run_scenario(world: dict[str, Any]) -> dict[str, Any]:
    """Query and render the world as a newsfeed page and an email worker would."""
    email: Medium = world["email"]
    newsfeed: Medium = world["newsfeed"]
    reader = world["entities"]["alice"]

    feed_events = list(
        newsfeed.entity_events(reader)
        .filter(uuid__startswith=f"demo-{world['run']}-")
        .select_related("source")
    )
    rendered_feed = newsfeed.render(feed_events)
    newsfeed_items = [
        {"time": event.time.isoformat(), "source": event.source.name, "text": rendered_feed[event][0]}
        for event in feed_events
        if event in rendered_feed
    ]

    def email_batch() -> list[dict[str, Any]]:
        batch = email.events_targets(seen=False, mark_seen=True)
        events = [event for event, _ in batch]
        prefetch_related_objects(events, "source")  # the subjects' sources, in one query
        rendered = email.render(events)
        return [
            {
                "to": [target.entity_meta["email"] for target in targets],
                "subject": f"[Yoursite] {event.source.display_name}",
                "text": rendered[event][0] if event in rendered else "",
            }
            for event, targets in batch
        ]

    first = email_batch()
    second = email_batch()
    subscriptions = Subscription.objects.filter(medium__in=[email, newsfeed]).cache_related().order_by("pk")
    unsubscriptions = Unsubscription.objects.filter(medium__in=[email, newsfeed]).select_related(
        "entity", "medium", "source"
    )
    world_lines = [f"subscription: {subscription}" for subscription in subscriptions]
    world_lines += [f"unsubscription: {unsubscription}" for unsubscription in unsubscriptions]
    return {
        "world": world_lines,
        "newsfeed": {"entity": str(reader), "events": newsfeed_items},
        "emails": first,
        "emails_second_run": second,
    }


def format_report(report: dict[str, Any]) -> str:
    """The report of ``run_scenario`` as the text the command prints."""
    lines = ["The world:"]
    lines += [f"  - {line}" for line in report["world"]]
    lines += ["", f"Newsfeed of {report['newsfeed']['entity']} (newest first):"]
    lines += [f"  - {item['text']}" for item in report["newsfeed"]["events"]] or ["  (empty)"]
    lines += [
        "",
        f"Email batch: events_targets(seen=False, mark_seen=True) -> {len(report['emails'])} email(s)",
    ]
    for message in report["emails"]:
        lines += [
            f"  To: {', '.join(message['to'])}",
            f"  Subject: {message['subject']}",
            f"  {message['text']}",
            "",
        ]
    lines.append(
        f"Same call again -> {len(report['emails_second_run'])} email(s): every event was marked seen "
        "on the email medium by the first call, so nothing is sent twice."
    )
    return "\n".join(lines) + "\n"
