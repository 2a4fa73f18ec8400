"""The example of README.rst, run by tests/project/test_docs_examples.py.

The test checks that the README's Python block is the text between the two markers below, so
the README shows exactly the code that runs.
"""

from __future__ import annotations

from typing import Any


def readme_example(all_users: Any, user_kind: Any, tagged: list[Any], owner: Any, photo: Any) -> None:
    # README example start
    from django.core.mail import send_mail
    from django.db import transaction

    from entity_event import Event, Medium, Source, SourceGroup, Subscription

    site = SourceGroup.objects.create(name="yoursite", display_name="Yoursite")
    photo_tag = Source.objects.create(group=site, name="photo-tag", display_name="Photo Tag")
    email = Medium.objects.create(name="email", display_name="Email")

    # Every user under the all_users entity is emailed about the photos they are tagged in.
    Subscription.objects.create(
        medium=email, source=photo_tag, entity=all_users, sub_entity_kind=user_kind, only_following=True
    )

    # tagged: django-entity Entity objects (or their ids)
    Event.objects.create_event(
        source=photo_tag,
        actors=tagged,
        context={"photo_owner": owner.pk, "photo_location": "Paris"},
        uuid=f"photo-tag-{photo.pk}",  # optional: makes creation idempotent
        ignore_duplicates=True,
    )

    # An email worker: claim up to 100 events not sent yet, oldest first, with the entities to
    # notify. In one transaction with the sending: if sending fails, the claim is rolled back and
    # the next run claims these events again (at-least-once delivery).
    with transaction.atomic():
        for event, targets in email.events_targets(seen=False, mark_seen=True, limit=100):
            for target in targets:
                send_mail("Tagged", event.context["photo_location"], None, [target.entity_meta["email"]])
    # README example end
