"""Read the world of the 3.x database (tests/upgrade/legacy/) back through entity_event's public
API and print it as JSON, in the form of ``original-3.1.2-expected.json``, which 3.1.2 read
from the same database.

Run in a process of its own, as a site would, with ``DJANGO_SETTINGS_MODULE =
"tests.upgrade.settings"`` and ``DATABASE_URL`` naming the upgraded database:
``python -m tests.upgrade.read_back``.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import django


def read_back() -> dict[str, Any]:
    """Everything the expected JSON holds, read through the public API."""
    from entity.models import Entity

    from entity_event import models

    names = ("SourceGroup", "Source", "Medium", "Subscription", "Unsubscription", "Event")
    names += ("EventActor", "EventSeen", "RenderingStyle", "ContextRenderer")
    events = list(models.Event.objects.all())
    email = models.Medium.objects.get(name="email")
    newsfeed = models.Medium.objects.get(name="newsfeed")
    alice = Entity.objects.get(display_name="alice")
    return {
        "counts": {name: getattr(models, name).objects.count() for name in names},
        "contexts": sorted(json.dumps(event.context, sort_keys=True) for event in events),
        "uuids": sorted(event.uuid for event in events),
        "actors": sorted(
            [actor.event.uuid, actor.entity.display_name]
            for actor in models.EventActor.objects.select_related("event", "entity")
        ),
        "seen": sorted(
            [seen.event.uuid, seen.medium.name]
            for seen in models.EventSeen.objects.select_related("event", "medium")
        ),
        "feed_alice": sorted(event.uuid for event in newsfeed.entity_events(alice)),
        "email_targets": sorted(
            [event.uuid, sorted(target.display_name for target in targets)]
            for event, targets in email.events_targets(seen=False)
        ),
        "expiries": sorted([event.uuid, event.time_expires.year < 3000] for event in events),
        "renderers": sorted(
            [renderer.name, renderer.text_template, renderer.html_template, json.dumps(hints)]
            for renderer in models.ContextRenderer.objects.all()
            for hints in [renderer.context_hints]
        ),
    }


if __name__ == "__main__":
    django.setup()
    json.dump(read_back(), sys.stdout)
