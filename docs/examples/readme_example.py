"""The example of README.rst, run by tests/project/test_docs_examples.py.

The test checks that the README's Python block is the text between the two markers below, so
the README shows exactly the code that runs.
"""

from __future__ import annotations

from typing import Any


def readme_example(all_users: Any, user_kind: Any, tagged: list[Any], owner: Any, photo: Any) -> None:
    # README example start
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

    # An email worker: each event not sent yet, once, with the entities to notify.
    for event, targets in email.events_targets(seen=False, mark_seen=True):
        print(event.context["photo_location"], [target.entity_meta["email"] for target in targets])
    # README example end
