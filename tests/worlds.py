"""The worlds that several tests share, each built by one function of this module.

``org_chart`` builds what most of them start from: an org, teams under it and users under their
teams and the org. The other functions build a world on it for one kind of test. They are plain
functions, so that a test can build several worlds (of several sizes) and forked processes can be
handed a world's ids; the fixtures that give them to tests are in the ``conftest.py`` of the
package that uses them, or in the test module when only one module does.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from django.conf import settings
from django.utils import timezone
from entity.models import Entity

from entity_event.models import (
    ContextRenderer,
    Event,
    EventSeen,
    Medium,
    RenderingStyle,
    Source,
    SourceGroup,
    Subscription,
    Unsubscription,
)
from tests.entities import entity_kind, make_entity

#: When the mediums of the routing worlds were created: they return no event older than this.
BASE = datetime(2026, 1, 1, tzinfo=UTC)


def day(n: float) -> datetime:
    """``n`` days after ``BASE``."""
    return BASE + timedelta(days=n)


def org_chart(
    org: str | None,
    teams: Sequence[str],
    members: Mapping[str, Sequence[str]],
    inactive: Collection[str] = (),
) -> dict[str, Entity]:
    """The entities by display name: ``org`` (kind ``org``, none when ``None``), the ``teams``
    (kind ``team``) under it, then each member (kind ``user``) under the teams its value names
    and under the org, deactivated when ``inactive`` names it.

    Relationships are flattened, as django-entity stores them: a member is a direct sub-entity
    of its teams and of the org. The entities are created in this order, so their ids follow it.
    """
    entities: dict[str, Entity] = {}
    top: tuple[Entity, ...] = ()
    if org is not None:
        entities[org] = make_entity(org, kind="org")
        top = (entities[org],)
    for team in teams:
        entities[team] = make_entity(team, kind="team", supers=top)
    for name, its_teams in members.items():
        supers = (*(entities[team] for team in its_teams), *top)
        entities[name] = make_entity(name, supers=supers, is_active=name not in inactive)
    return entities


def routing_world(source_group: SourceGroup) -> SimpleNamespace:
    """The small world of tests/routing/, whose expected results the tests write out literally
    (by uuid and entity name)::

        Org (org) ── Team A (team) ── Alice, Bob, Erin (inactive)
                  └─ Team B (team) ── Bob, Carol
                  └─ Dave (directly under Org)

    Email subscriptions:
        photo-tag    group: users under Org, only following
        photo-tag    individual: Team B, only following
        new-product  group: users under Team A, not only following
        new-product  individual: Carol, not only following
        Bob unsubscribed from new-product on email.
    Newsfeed: photo-tag, individual Alice, not only following.

    Both mediums were created at ``BASE``. The events, by uuid: photo-alice (day 1), photo-team-a
    (day 2), photo-org (day 3), photo-erin (day 4), product-dave (day 5), product-expired (day 6,
    expired at 6.5), photo-bob-carol (day 7, seen on email), photo-before-medium (day -1),
    photo-future (tomorrow), comment-alice (day 8, a source nobody subscribes to).

    The attributes: the entities (``org``, ``team_a``, ``alice``...), the sources (``photo``,
    ``product``, ``comment``) and the mediums (``email``, ``newsfeed``).
    """
    people = org_chart(
        "Org",
        ["Team A", "Team B"],
        {
            "Alice": ["Team A"],
            "Bob": ["Team A", "Team B"],
            "Carol": ["Team B"],
            "Dave": [],
            "Erin": ["Team A"],
        },
        inactive={"Erin"},
    )
    w = SimpleNamespace(**{name.lower().replace(" ", "_"): entity for name, entity in people.items()})
    user = entity_kind("user")

    w.photo = Source.objects.create(group=source_group, name="photo-tag", display_name="Photo Tag")
    w.product = Source.objects.create(group=source_group, name="new-product", display_name="New Product")
    w.comment = Source.objects.create(group=source_group, name="comment", display_name="Comment")
    w.email = Medium.objects.create(name="email", display_name="Email")
    w.newsfeed = Medium.objects.create(name="newsfeed", display_name="NewsFeed")
    Medium.objects.update(time_created=BASE)
    w.email.refresh_from_db()
    w.newsfeed.refresh_from_db()

    Subscription.objects.create(medium=w.email, source=w.photo, entity=w.org, sub_entity_kind=user)
    Subscription.objects.create(medium=w.email, source=w.photo, entity=w.team_b)
    Subscription.objects.create(
        medium=w.email, source=w.product, entity=w.team_a, sub_entity_kind=user, only_following=False
    )
    Subscription.objects.create(medium=w.email, source=w.product, entity=w.carol, only_following=False)
    Unsubscription.objects.create(medium=w.email, source=w.product, entity=w.bob)
    Subscription.objects.create(medium=w.newsfeed, source=w.photo, entity=w.alice, only_following=False)

    def event(uuid, source, actors, time, **kwargs):
        return Event.objects.create_event(uuid=uuid, source=source, actors=actors, time=time, **kwargs)

    event("photo-alice", w.photo, [w.alice], day(1))
    event("photo-team-a", w.photo, [w.team_a], day(2))
    event("photo-org", w.photo, [w.org], day(3))
    event("photo-erin", w.photo, [w.erin], day(4))
    event("product-dave", w.product, [w.dave], day(5))
    event("product-expired", w.product, [w.alice], day(6), time_expires=day(6.5))
    seen = event("photo-bob-carol", w.photo, [w.bob, w.carol], day(7))
    event("photo-before-medium", w.photo, [w.alice], day(-1))
    event("photo-future", w.photo, [w.alice], timezone.now() + timedelta(days=1))
    event("comment-alice", w.comment, [w.alice], day(8))
    EventSeen.objects.create(event=seen, medium=w.email)
    return w


def uuids(events: Iterable[Event]) -> list[str]:
    """The events by uuid, in their order."""
    return [event.uuid for event in events]


def named(pairs: Iterable[tuple[Event, list[Entity]]]) -> list[tuple[str, list[str]]]:
    """The (event, targets) pairs of ``events_targets`` by uuid and display name."""
    return [(event.uuid, [target.display_name for target in targets]) for event, targets in pairs]


def scaled_routing_world(source_group: SourceGroup, size: int) -> tuple[Medium, Entity]:
    """``size`` users in two teams under one Org, individual and group subscriptions with and
    without only-following, an unsubscription, and ``4 * size`` events with one or two actors;
    the names carry ``size``, so that worlds of two sizes live side by side. Returns the medium
    and the first user."""
    team_names = [f"Team {size}-{n}" for n in range(2)]
    members = {f"User {size}-{n}": [team_names[n % 2]] for n in range(size)}
    people = org_chart(f"Org {size}", team_names, members)
    org, *entities = people.values()
    teams, users = entities[:2], entities[2:]
    user = entity_kind("user")
    photo = Source.objects.create(group=source_group, name=f"photo-{size}", display_name="Photo")
    product = Source.objects.create(group=source_group, name=f"product-{size}", display_name="Product")
    medium = Medium.objects.create(name=f"email-{size}", display_name="Email")
    Medium.objects.filter(pk=medium.pk).update(time_created=BASE)
    medium.refresh_from_db()
    for team in teams:
        Subscription.objects.create(medium=medium, source=photo, entity=team, sub_entity_kind=user)
    Subscription.objects.create(
        medium=medium, source=product, entity=org, sub_entity_kind=user, only_following=False
    )
    Subscription.objects.create(medium=medium, source=photo, entity=users[0])
    Unsubscription.objects.create(medium=medium, source=product, entity=users[1])
    Event.objects.create_events(
        {
            "source": photo if n % 3 else product,
            "actors": [users[n % size], users[(n * 7) % size]] if n % 2 else [teams[n % 4 // 2], users[0]],
            "time": day(1 + n / 100),
        }
        for n in range(4 * size)
    )
    every_fifth = list(Event.objects.filter(source__in=[photo, product]).values_list("pk", flat=True))[::5]
    Event.objects.filter(pk__in=every_fifth).mark_seen(medium)
    return medium, users[0]


def delivery_world(source_group: SourceGroup) -> dict[str, Any]:
    """The world of the claiming processes, without events (the producers create them)::

        Org (org) ── Team A (team) ── A0 to A4, AB, Gone (inactive)
                  └─ Team B (team) ── B0 to B3, AB

    Email subscriptions of every kind: group and individual, only-following and not, plus an
    unsubscription and a source nobody subscribes to:
        photo-tag    group: users under Org, only following
        photo-tag    individual: Team B, only following
        new-product  group: users under Team A, not only following
        new-product  individual: B1, not only following
        comment      group: users under Team A, only following
        A1 unsubscribed from new-product.

    Returns ids only, which forked processes can use: the ``medium``, the ``sources`` (photo-tag,
    new-product, comment, quiet) and the ``actors`` (every entity).
    """
    members: dict[str, list[str]] = {f"A{n}": ["Team A"] for n in range(5)}
    members |= {f"B{n}": ["Team B"] for n in range(4)}
    members |= {"AB": ["Team A", "Team B"], "Gone": ["Team A"]}
    people = org_chart("Org", ["Team A", "Team B"], members, inactive={"Gone"})
    org, team_a, team_b = people["Org"], people["Team A"], people["Team B"]
    user = entity_kind("user")
    photo = Source.objects.create(group=source_group, name="photo-tag", display_name="Photo")
    product = Source.objects.create(group=source_group, name="new-product", display_name="Product")
    comment = Source.objects.create(group=source_group, name="comment", display_name="Comment")
    quiet = Source.objects.create(group=source_group, name="quiet", display_name="Nobody subscribes")
    email = Medium.objects.create(name="email", display_name="Email")
    Subscription.objects.create(medium=email, source=photo, entity=org, sub_entity_kind=user)
    Subscription.objects.create(medium=email, source=photo, entity=team_b)
    Subscription.objects.create(
        medium=email, source=product, entity=team_a, sub_entity_kind=user, only_following=False
    )
    Subscription.objects.create(medium=email, source=product, entity=people["B1"], only_following=False)
    Subscription.objects.create(medium=email, source=comment, entity=team_a, sub_entity_kind=user)
    Unsubscription.objects.create(medium=email, source=product, entity=people["A1"])
    return {
        "medium": email.pk,
        "sources": [photo.pk, product.pk, comment.pk, quiet.pk],
        "actors": [entity.pk for entity in people.values()],
    }


def newsfeed_world(
    sources: Sequence[Source],
    html_template: str,
    team: str,
    members: Mapping[str, Sequence[str]],
) -> SimpleNamespace:
    """The example site's newsfeed: the medium that ``settings.EXAMPLE_NEWSFEED_MEDIUM`` names,
    in a rendering style ``feed``; a context renderer ``feed-<source name>`` for the first of
    ``sources`` that shows the event's ``text`` (``html_template`` for HTML), none for the others;
    a ``team`` with its ``members`` (see ``org_chart``), whose users receive every event of
    ``sources`` there (a group subscription, not only following).

    The medium is created before any event: a medium never returns events older than itself.
    The attributes: ``medium``, ``style``, ``renderer``, ``team`` and ``members`` (by name).
    """
    style = RenderingStyle.objects.create(name="feed", display_name="Feed")
    medium = Medium.objects.create(
        name=settings.EXAMPLE_NEWSFEED_MEDIUM, display_name="NewsFeed", rendering_style=style
    )
    renderer = ContextRenderer.objects.create(
        name=f"feed-{sources[0].name}",
        rendering_style=style,
        source=sources[0],
        text_template="{{ text }}",
        html_template=html_template,
    )
    people = org_chart(None, [team], members)
    for source in sources:
        Subscription.objects.create(
            medium=medium,
            source=source,
            entity=people[team],
            sub_entity_kind=entity_kind("user"),
            only_following=False,
        )
    return SimpleNamespace(
        medium=medium,
        style=style,
        renderer=renderer,
        team=people[team],
        members={name: people[name] for name in members},
    )
