"""The custom following example of docs/advanced_features.rst, run by tests/project/test_docs_examples.py.

``FollowSubEntitiesMedium`` is defined in the test app (``tests/testapp/models.py``), since a
``Medium`` subclass is a model and needs an installed app and a migration.
"""

from __future__ import annotations

from entity.models import Entity

from entity_event.models import Event, Source, Subscription
from tests.testapp.models import FollowSubEntitiesMedium


def team_updates(work: Source, team: Entity, member: Entity, outsider: Entity) -> dict[str, object]:
    updates = FollowSubEntitiesMedium.objects.create(name="team-updates", display_name="Team updates")
    # The team follows itself and its members, so it receives the events of its members.
    Subscription.objects.create(medium=updates, source=work, entity=team, only_following=True)

    by_member = Event.objects.create_event(source=work, actors=[member], context={"done": "report"})
    Event.objects.create_event(source=work, actors=[outsider], context={"done": "lunch"})

    return {
        "team_feed": list(updates.entity_events(team)),
        "targets": updates.events_targets(),
        "by_member": by_member,
    }
