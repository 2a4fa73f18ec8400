"""Why an entity receives an event on a medium, or why not: ``Medium.explain(event, entity)``.

``explain`` answers exactly what ``entity_events(entity)`` (with its default filters) answers
about one event, and says why, with the rows that decide: the subscription, the group, the
followed actor, the unsubscription. It asks the routing rules where they are kept rather than
restating them: the time span and expiry of ``filtered_events``, the subscriptions an entity
takes part in of ``following.subset_subscriptions``, the medium's own ``followed_by`` (the
default rule or an override) and the active actors of ``feeds.active_actor_rows``.

The checks run in this order, and the first that fails is the reason (docs/troubleshooting.rst):

#. ``before_medium``: the event is older than the medium's ``time_created``;
#. ``expired``: its ``time_expires`` has passed;
#. ``inactive_entity``: the entity is inactive;
#. ``no_subscription``: no subscription of the medium to the event's source covers the entity;
#. ``not_followed``: only only-following subscriptions cover it, and it follows none of the
   event's active actors;
#. ``unsubscribed``: it unsubscribed from the source (which is not required).

Otherwise it is delivered, and the reason is the most direct subscription that delivers (a
non-following one before an only-following one, an individual one before a group one, then
the lowest id): ``subscribed_directly``, ``through_group`` or ``followed_actor``; or
``required_source`` when the entity unsubscribed but the source is required.

``explain_entities`` explains one event to many entities at once, in the same seven queries at
most whatever their number (each query a ``UNION`` of one arm per entity), which the admin's
pages of recipients use; ``explain`` is that for one entity.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias, TypeVar

from django.db.models import Exists, IntegerField, Model, OuterRef, QuerySet, Value
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from entity.models import Entity

from entity_event.models import Event, Medium, Subscription, Unsubscription
from entity_event.models.filters import EventFilters
from entity_event.routing.feeds import active_actor_rows, check_saved_medium, filtered_events
from entity_event.routing.following import entity_id_of, entity_ids, subset_subscriptions
from entity_event.validation import model_pk

#: The reason codes: why an entity receives an event (the first four) or why not.
Reason: TypeAlias = Literal[
    "subscribed_directly",
    "through_group",
    "followed_actor",
    "required_source",
    "before_medium",
    "expired",
    "inactive_entity",
    "no_subscription",
    "not_followed",
    "unsubscribed",
]

#: Each reason code with a short description, delivered ones first, then the others in the
#: order they are checked.
REASONS: dict[Reason, Promise] = {
    "subscribed_directly": _("subscribed directly (an individual subscription, not only following)"),
    "through_group": _("through a group (a group subscription of a super-entity, not only following)"),
    "followed_actor": _("follows an actor (an only-following subscription)"),
    "required_source": _("required source (delivered although unsubscribed)"),
    "before_medium": _("older than the medium"),
    "expired": _("expired"),
    "inactive_entity": _("inactive entity"),
    "no_subscription": _("no subscription covers the entity"),
    "not_followed": _("follows none of the event's active actors"),
    "unsubscribed": _("unsubscribed from the source"),
}

ModelT = TypeVar("ModelT", bound=Model)

#: The most entities ``explain_entities`` takes at once: one ``UNION`` arm each, well within
#: SQLite's limit of 500 arms per statement.
MAX_ENTITIES = 100


@dataclass(frozen=True)
class Explanation:
    """Why ``entity`` receives ``event`` on ``medium``, or why not (``Medium.explain``).

    ``delivered`` is exactly whether the event is in ``medium.entity_events(entity)`` with the
    default filters; ``reason`` is one of ``REASONS``. The deciding rows:

    * ``subscription``: the subscription that delivers, or the one that would (if the entity did
      not unsubscribe, for ``unsubscribed``; if it followed an actor, for ``not_followed``);
    * ``group``: the super-entity through which that subscription, a group one, covers the entity;
    * ``following_path``: for a delivery through an only-following subscription, the followed
      actor first and the entity last: ``(entity,)`` when the entity is the actor itself,
      ``(actor, entity)`` otherwise (django-entity's relationships are flattened: a super-entity
      is a direct one); empty otherwise;
    * ``unsubscription``: the entity's unsubscription from the event's source on the medium, once
      a subscription covers it: the row that opts out, or that a required source overrides.
    """

    medium: Medium
    event: Event
    entity: Entity
    delivered: bool
    reason: Reason
    subscription: Subscription | None = None
    group: Entity | None = None
    following_path: tuple[Entity, ...] = ()
    unsubscription: Unsubscription | None = None

    @property
    def actor(self) -> Entity | None:
        """The followed actor of ``following_path``, if any."""
        return self.following_path[0] if self.following_path else None

    def describe(self) -> str:
        """The explanation as a sentence, in the active language."""
        names = {
            "entity": str(self.entity),
            "medium": str(self.medium),
            "source": str(self.event.source),
            "group": str(self.group),
            "actor": str(self.actor),
        }
        return SENTENCES[self.reason]() % names


#: The sentence of each reason (a function, so that it is translated when called).
SENTENCES = {
    "subscribed_directly": lambda: gettext(
        "Delivered: %(entity)s has a subscription of its own to %(source)s on %(medium)s."
    ),
    "through_group": lambda: gettext(
        "Delivered: %(entity)s is under %(group)s, whose group subscription to %(source)s on "
        "%(medium)s covers it."
    ),
    "followed_actor": lambda: gettext(
        "Delivered: %(entity)s follows %(actor)s, an actor of the event, and an only-following "
        "subscription to %(source)s on %(medium)s covers it."
    ),
    "required_source": lambda: gettext(
        "Delivered although %(entity)s unsubscribed: %(source)s is a required source."
    ),
    "before_medium": lambda: gettext("Not delivered: the event is older than the medium %(medium)s."),
    "expired": lambda: gettext("Not delivered: the event has expired."),
    "inactive_entity": lambda: gettext("Not delivered: %(entity)s is inactive."),
    "no_subscription": lambda: gettext(
        "Not delivered: no subscription to %(source)s on %(medium)s covers %(entity)s."
    ),
    "not_followed": lambda: gettext(
        "Not delivered: only only-following subscriptions cover %(entity)s, and it follows none "
        "of the event's active actors."
    ),
    "unsubscribed": lambda: gettext("Not delivered: %(entity)s unsubscribed from %(source)s on %(medium)s."),
}


def explain(medium: Medium, event: Event | int, entity: Entity | int) -> Explanation:
    """``Medium.explain``: see its docstring (seven queries at most)."""
    return explain_entities(medium, event, [entity], method="explain")[0]


def explain_entities(
    medium: Medium, event: Event | int, entities: Iterable[Entity | int], *, method: str = "explain_entities"
) -> list[Explanation]:
    """The explanations of one event to each of ``entities`` (at most ``MAX_ENTITIES``), in their
    order: seven queries at most whatever their number. Bad input is a ``TypeError`` or
    ``ValueError`` naming ``method`` and the argument, before any query but the lookups."""
    check_saved_medium(medium, method)
    event_id = model_pk(event, Event, f"{method}(): event")
    ids = [entity_id_of(entity, f"{method}(): entity") for entity in entities]
    if len(ids) > MAX_ENTITIES:
        raise ValueError(f"{method}(): at most {MAX_ENTITIES} entities at once, got {len(ids)}")
    row = event_row(medium, event_id, method)
    found = Entity.all_objects.in_bulk(ids) if ids else {}
    missing = sorted(set(ids) - set(found))
    if missing:
        raise ValueError(f"{method}(): entity: no Entity with id(s) {missing}")
    time_reason: Reason | None = (
        "before_medium" if not row.in_span else "expired" if not row.live else None  # type: ignore[attr-defined]
    )
    if time_reason is not None:
        return [Explanation(medium, row, found[pk], False, time_reason) for pk in ids]
    active = [pk for pk in dict.fromkeys(ids) if found[pk].is_active]
    covering = covering_subscriptions(medium, row, active)
    unsubscriptions = {
        opt_out.entity_id: with_known_rows(opt_out, medium, row, entity=found[opt_out.entity_id])
        for opt_out in Unsubscription.objects.filter(
            medium_id=medium.pk, source_id=row.source_id, entity_id__in=list(covering)
        )
    } if covering else {}  # fmt: skip
    needing_actors = [pk for pk, subscriptions in covering.items() if subscriptions[0].only_following]
    actors = followed_actors(medium, row, {pk: found[pk] for pk in needing_actors})
    return [
        decide(medium, row, found[pk], covering.get(pk, []), actors.get(pk), unsubscriptions.get(pk))
        for pk in ids
    ]


def event_row(medium: Medium, event_id: int, method: str) -> Event:
    """The event with its source, annotated with ``in_span`` (not older than the medium) and
    ``live`` (in span and not expired), as ``filtered_events`` decides them: one query."""
    same = OuterRef("pk")
    row = (
        Event.objects.select_related("source")
        .annotate(
            in_span=Exists(filtered_events(medium, EventFilters(include_expired=True)).filter(pk=same)),
            live=Exists(filtered_events(medium, EventFilters()).filter(pk=same)),
        )
        .filter(pk=event_id)
        .first()
    )
    if row is None:
        raise ValueError(f"{method}(): event: no Event with id {event_id}")
    return row


def union_of(arms: Sequence[QuerySet[ModelT, tuple[int, int]]]) -> list[tuple[int, int]]:
    """The rows of ``arms`` (``(entity id, row id)`` pairs) in one query, none when empty."""
    if not arms:
        return []
    first, *others = arms
    return list(first.union(*others, all=True) if others else first)


def covering_subscriptions(
    medium: Medium, event: Event, entity_ids_: list[int]
) -> dict[int, list[Subscription]]:
    """``{entity id: subscriptions}``: the medium's subscriptions to the event's source that each
    entity takes part in (``subset_subscriptions``), most direct first; entities without any are
    left out. Two queries (none without entities): which, then the rows with their entity."""
    base = Subscription.objects.filter(medium_id=medium.pk, source_id=event.source_id)
    pairs = union_of(
        [
            subset_subscriptions(base, pk)
            .annotate(explained=Value(pk, output_field=IntegerField()))
            .values_list("explained", "pk")
            for pk in entity_ids_
        ]
    )
    rows = Subscription.objects.select_related("entity", "sub_entity_kind").in_bulk(
        {subscription for _, subscription in pairs}
    ) if pairs else {}  # fmt: skip
    covering: dict[int, list[Subscription]] = {}
    for pk, subscription in pairs:
        covering.setdefault(pk, []).append(with_known_rows(rows[subscription], medium, event))
    for subscriptions in covering.values():
        subscriptions.sort(key=directness)
    return covering


RowT = TypeVar("RowT", Subscription, Unsubscription)


def with_known_rows(row: RowT, medium: Medium, event: Event, **related: Model) -> RowT:
    """``row`` (a subscription or an unsubscription of the event's source on the medium) with its
    medium, source and ``related`` rows set from those already read, so that showing it
    (``str()``, as the admin and the command do) runs no query."""
    row.medium = medium
    row.source = event.source
    for name, value in related.items():
        setattr(row, name, value)
    return row


def directness(subscription: Subscription) -> tuple[bool, bool, int]:
    """The order of preference among subscriptions that deliver: not only-following first, then
    individual before group, then the lowest id."""
    return subscription.only_following, subscription.sub_entity_kind_id is not None, subscription.pk


def followed_actors(medium: Medium, event: Event, entities: dict[int, Entity]) -> dict[int, Entity]:
    """``{entity id: actor}`` for the ``entities`` that follow an active actor of the event by the
    medium's rule (``followed_by``, asked as ``entity_events`` asks it): the entity itself when
    it is an actor, else the actor with the lowest id. Two queries at most (none without
    entities): the followed actors, then those of their entities not among ``entities``."""
    pairs = union_of(
        [
            active_actor_rows()
            .filter(
                event_id=event.pk,
                entity_id__in=entity_ids(medium.followed_by(Entity.all_objects.filter(pk=pk))),
            )
            .annotate(explained=Value(pk, output_field=IntegerField()))
            .values_list("explained", "entity_id")
            for pk in entities
        ]
    )
    followed: dict[int, list[int]] = {}
    for pk, actor in pairs:
        followed.setdefault(pk, []).append(actor)
    # The same choice whatever order the rows came in.
    chosen = {pk: pk if pk in ids else min(ids) for pk, ids in followed.items()}
    unknown = set(chosen.values()) - set(entities)
    actors = {**entities, **(Entity.all_objects.in_bulk(unknown) if unknown else {})}
    return {pk: actors[actor] for pk, actor in chosen.items()}


def decide(
    medium: Medium,
    event: Event,
    entity: Entity,
    covering: list[Subscription],
    actor: Entity | None,
    unsubscription: Unsubscription | None,
) -> Explanation:
    """The explanation of one entity, from the rows read for it (see the module's order)."""
    if not entity.is_active:
        return Explanation(medium, event, entity, False, "inactive_entity")
    if not covering:
        return Explanation(medium, event, entity, False, "no_subscription")
    subscription = covering[0]
    group = subscription.entity if subscription.sub_entity_kind_id is not None else None
    if subscription.only_following and actor is None:
        return Explanation(
            medium, event, entity, False, "not_followed", subscription, group, (), unsubscription
        )
    # actors are looked up only when the most direct subscription is an only-following one.
    path = () if actor is None else (actor,) if actor.pk == entity.pk else (actor, entity)
    if unsubscription is not None and not event.source.required:
        return Explanation(
            medium, event, entity, False, "unsubscribed", subscription, group, path, unsubscription
        )
    reason: Reason = (
        "required_source"
        if unsubscription is not None
        else "followed_actor"
        if subscription.only_following
        else "through_group"
        if group is not None
        else "subscribed_directly"
    )
    return Explanation(medium, event, entity, True, reason, subscription, group, path, unsubscription)
