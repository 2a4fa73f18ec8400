"""The quickstart of the documentation (docs/quickstart.rst), one function per step.

The page shows these functions with ``literalinclude``, the tests run them, and
``manage.py entity_event_demo`` builds its world with them: a source group with ``photo-tag`` and
``new-product`` sources, ``email``, ``newsfeed`` and ``notifications`` mediums, users and an
all-users group as django-entity entities, subscriptions, one unsubscription, events and their
rendering.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, User
from django.contrib.contenttypes.models import ContentType
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import prefetch_related_objects
from entity.models import Entity, EntityKind, EntityRelationship

from entity_event import (
    ContextRenderer,
    Event,
    Medium,
    RenderingStyle,
    Source,
    SourceGroup,
    Subscription,
    Unsubscription,
)


def create_sources() -> tuple[Source, Source]:
    yoursite = SourceGroup.objects.create(
        name="yoursite",
        display_name="Yoursite",
        description="Events on Yoursite",
    )
    photo_source = Source.objects.create(
        group=yoursite,
        name="photo-tag",
        display_name="Photo Tag",
        description="You have been tagged in a photo",
    )
    product_source = Source.objects.create(
        group=yoursite,
        name="new-product",
        display_name="New Product",
        description="There is a new product on Yoursite",
    )
    return photo_source, product_source


def create_mediums() -> tuple[Medium, Medium]:
    email_medium = Medium.objects.create(
        name="email",
        display_name="Email",
        description="Email notifications",
    )
    newsfeed_medium = Medium.objects.create(
        name="newsfeed",
        display_name="NewsFeed",
        description="Your personal feed of events",
    )
    return email_medium, newsfeed_medium


def create_entities(usernames: list[str]) -> tuple[Entity, dict[str, Entity]]:
    # django-entity usually keeps these rows in sync with your models (entity.config,
    # sync_entities); here they are created by hand to show what they hold.
    user_kind, _ = EntityKind.objects.get_or_create(name="user", defaults={"display_name": "User"})
    group_kind, _ = EntityKind.objects.get_or_create(name="group", defaults={"display_name": "Group"})
    user_type = ContentType.objects.get_for_model(User)
    everyone = Group.objects.create(name="all-users")
    all_users = Entity.objects.create(
        entity_type=ContentType.objects.get_for_model(Group),
        entity_id=everyone.pk,
        entity_kind=group_kind,
        display_name="All users",
    )
    users = {}
    for username in usernames:
        user = User.objects.create(username=username, email=f"{username}@example.com")
        users[username] = Entity.objects.create(
            entity_type=user_type,
            entity_id=user.pk,
            entity_kind=user_kind,
            display_name=username.title(),
            entity_meta={"email": user.email},
        )
        # Every user is a sub-entity of the all-users group entity.
        EntityRelationship.objects.create(sub_entity=users[username], super_entity=all_users)
    return all_users, users


def subscribe(
    email_medium: Medium,
    newsfeed_medium: Medium,
    photo_source: Source,
    product_source: Source,
    all_users: Entity,
) -> None:
    # Every user gets every new product in their newsfeed...
    Subscription.objects.create(
        medium=newsfeed_medium,
        source=product_source,
        entity=all_users,
        sub_entity_kind=EntityKind.objects.get(name="user"),
        only_following=False,
    )
    # ...and an email about the photos they are tagged in.
    Subscription.objects.create(
        medium=email_medium,
        source=photo_source,
        entity=all_users,
        sub_entity_kind=EntityKind.objects.get(name="user"),
        only_following=True,
    )


def unsubscribe(unsubscriber: Entity, newsfeed_medium: Medium, product_source: Source) -> None:
    Unsubscription.objects.create(
        entity=unsubscriber,
        source=product_source,
        medium=newsfeed_medium,
    )


def tag_photo(
    photo_source: Source, photo_id: int, owner: Entity, tagged: list[Entity], location: str
) -> Event:
    # Called by the photo-tagging code of the site.
    return Event.objects.create_event(
        source=photo_source,
        actors=tagged,
        context={
            "owner": owner.entity_id,  # the pk of an auth.User
            "tagged": [entity.entity_id for entity in tagged],
            "location": location,
        },
        uuid=f"photo-tag-{photo_id}",  # optional; makes creating the event idempotent
        ignore_duplicates=True,
    )


def announce_product(product_source: Source, name: str, price: str) -> Event:
    return Event.objects.create_event(
        source=product_source,
        context={"product": name, "price": price},
    )


def set_up_rendering(
    email_medium: Medium, newsfeed_medium: Medium, photo_source: Source, product_source: Source
) -> None:
    short = RenderingStyle.objects.create(name="short", display_name="Short")
    ContextRenderer.objects.create(
        name="short-photo-tag",
        rendering_style=short,
        source=photo_source,
        text_template=(
            "{{ owner.username }} tagged "
            "{% for user in tagged %}{{ user.username }}{% if not forloop.last %}, {% endif %}{% endfor %}"
            " in a photo at {{ location }}."
        ),
        # "owner" and "tagged" hold auth.User primary keys: load the rows before rendering.
        context_hints={
            "owner": {"app_name": "auth", "model_name": "User"},
            "tagged": {"app_name": "auth", "model_name": "User"},
        },
    )
    ContextRenderer.objects.create(
        name="short-new-product",
        rendering_style=short,
        source=product_source,
        text_template="New on {{ site_name }}: {{ product }} ({{ price }}).",
        html_template="<p>New on {{ site_name }}: <b>{{ product }}</b> ({{ price }}).</p>",
    )
    for medium in (email_medium, newsfeed_medium):
        medium.rendering_style = short
        medium.additional_context = {"site_name": "Yoursite"}
        medium.save()


def create_notification_center(photo_source: Source, product_source: Source, all_users: Entity) -> Medium:
    # The medium of the notification bar: the shipped views, JSON API and template tags show the
    # medium that ENTITY_EVENT_NOTIFICATION_MEDIUM names ("notifications" by default).
    notifications_medium = Medium.objects.create(
        name="notifications",
        display_name="Notifications",
        description="The bell of the site's navigation bar",
        rendering_style=RenderingStyle.objects.get(name="short"),
        additional_context={"site_name": "Yoursite"},
    )
    user_kind = EntityKind.objects.get(name="user")
    # Everyone hears of new products, and of the photos they are tagged in.
    Subscription.objects.create(
        medium=notifications_medium,
        source=product_source,
        entity=all_users,
        sub_entity_kind=user_kind,
        only_following=False,
    )
    Subscription.objects.create(
        medium=notifications_medium,
        source=photo_source,
        entity=all_users,
        sub_entity_kind=user_kind,
        only_following=True,
    )
    return notifications_medium


def newsfeed_page(newsfeed_medium: Medium, user_entity: Entity) -> list[str]:
    events = list(newsfeed_medium.entity_events(user_entity)[:20])  # newest first, one query
    rendered = newsfeed_medium.render(events)  # {event: (text, html)}
    return [rendered[event][0] for event in events if event in rendered]


def send_email_batch(email_medium: Medium) -> int:
    # Run periodically by a worker: each call claims up to 100 events not sent yet, oldest
    # first. The claim and the sending share one transaction: if sending fails, the claim is
    # rolled back and the next call sends these events again (at-least-once delivery).
    with transaction.atomic():
        batch = email_medium.events_targets(seen=False, mark_seen=True, limit=100)
        events = [event for event, targets in batch]
        prefetch_related_objects(events, "source")  # the subjects' sources, in one query
        rendered = email_medium.render(events)
        for event, targets in batch:
            if event not in rendered:
                continue  # no renderer, or its template failed (logged): send the other emails
            for target in targets:  # one message per recipient: nobody sees the others' address
                if target.entity_meta.get("email"):
                    send_mail(
                        subject=f"[Yoursite] {event.source.display_name}",
                        message=rendered[event][0],
                        from_email=None,
                        recipient_list=[target.entity_meta["email"]],
                    )
    return len(batch)


def run_quickstart() -> dict[str, Any]:
    """The whole quickstart, in order; returns what the test checks."""
    photo_source, product_source = create_sources()
    email_medium, newsfeed_medium = create_mediums()
    all_users, users = create_entities(["alice", "bob", "carol", "dave"])
    subscribe(email_medium, newsfeed_medium, photo_source, product_source, all_users)
    unsubscribe(users["dave"], newsfeed_medium, product_source)
    set_up_rendering(email_medium, newsfeed_medium, photo_source, product_source)
    notifications_medium = create_notification_center(photo_source, product_source, all_users)

    announce_product(product_source, "Espresso machine", "$129")
    tag_photo(photo_source, 1, users["bob"], [users["alice"], users["carol"]], "Lyon")
    tag_photo(photo_source, 1, users["bob"], [users["alice"], users["carol"]], "Lyon")  # ignored
    announce_product(product_source, "Hiking boots", "$89")
    tag_photo(photo_source, 2, users["carol"], [users["dave"]], "the office party")

    return {
        "users": users,
        "email": email_medium,
        "newsfeed": newsfeed_medium,
        "events": newsfeed_medium.events(),
        "alice_feed": newsfeed_page(newsfeed_medium, users["alice"]),
        "dave_feed": newsfeed_page(newsfeed_medium, users["dave"]),
        "alice_unread": notifications_medium.unread_count(users["alice"]),
        "first_batch": send_email_batch(email_medium),
        "second_batch": send_email_batch(email_medium),
    }
