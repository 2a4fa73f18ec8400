"""Mediums: the ways events are consumed (email, newsfeed, notification bar), and the entry point
of the event queries of the 0.7 API. Their methods are thin delegates to the services (routing,
targets, rendering): the import inside each is the one accepted upward import."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import QuerySet
from entity.models import Entity, EntityKind

from entity_event.event_filters import EventFilters
from entity_event.models.renderers import RenderingStyle
from entity_event.validation import check_optional_flag, validate_additional_context

if TYPE_CHECKING:
    from entity_event.following import Entities
    from entity_event.models.events import Event
    from entity_event.models.subscriptions import Subscription
    from entity_event.querysets import EventQuerySet


class Medium(models.Model):
    """A way of consuming events (email, newsfeed, notification bar).

    Subscriptions and unsubscriptions name a medium; the medium is the entry point of the event
    queries. Concrete subclasses (multi-table inheritance) may override the following rule.
    """

    name = models.CharField(max_length=64, unique=True)
    display_name = models.CharField(max_length=64)
    description = models.TextField(blank=True)
    time_created = models.DateTimeField(auto_now_add=True)
    rendering_style = models.ForeignKey(
        RenderingStyle, null=True, blank=True, on_delete=models.SET_NULL, related_name="mediums"
    )
    additional_context = models.JSONField(
        default=dict, blank=True, encoder=DjangoJSONEncoder, validators=[validate_additional_context]
    )

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "mediums"

    def __str__(self) -> str:
        return self.display_name or self.name

    def render(
        self, events: Iterable[Event], observing_entity: Entity | None = None
    ) -> dict[Event, tuple[str, str]]:
        """Render events in this medium's rendering style: ``{event: (text, html)}``.

        ``events`` is a queryset or a list of events. Each event's context renderer is the most
        specific match (source, then source group, in the medium's style, then in the style of
        ``DEFAULT_ENTITY_EVENT_RENDERING_STYLE``); events that none matches are left out. The
        contexts of the whole batch are loaded with one query per hinted model. The templates see
        the loaded context, ``additional_context`` over it, and ``observing_entity``. Rendering
        never writes (docs/security.rst).
        """
        from entity_event.rendering import render_events

        return render_events(events, self, observing_entity)

    def followed_by(self, entities: Entities) -> QuerySet[Entity]:
        """The entities that ``entities`` follow. By default an entity follows itself and its
        super-entities. ``entities``: an ``Entity``, an ``Entity`` queryset, or an iterable of
        entities or ids. Override it, with its inverse ``followers_of``, in a subclass to change
        what only-following subscriptions deliver; every query method honours the override."""
        from entity_event.following import default_followed_by

        return default_followed_by(entities)

    def followers_of(self, entities: Entities) -> QuerySet[Entity]:
        """The entities that follow ``entities``: by default themselves and their sub-entities.
        The inverse of ``followed_by``."""
        from entity_event.following import default_followers_of

        return default_followers_of(entities)

    def subset_subscriptions(
        self, subscriptions: QuerySet[Subscription], entity: Entity | int | None = None
    ) -> QuerySet[Subscription]:
        """The ``subscriptions`` that ``entity`` is part of: its individual subscriptions and the
        group subscriptions over one of its super-entities for its entity kind. Without an entity,
        ``subscriptions`` unchanged."""
        from entity_event.following import subset_subscriptions

        return subset_subscriptions(subscriptions, entity)

    def events(
        self,
        *,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        seen: bool | None = None,
        include_expired: bool = False,
        actor: Entity | int | None = None,
        mark_seen: bool = False,
        limit: int | None = None,
    ) -> EventQuerySet:
        """The events any subscription of this medium delivers, newest first, as a lazy queryset
        (one query). Unsubscriptions do not apply here: they belong to single entities.

        ``start_time`` and ``end_time`` bound the event time (inclusive); ``seen`` keeps the
        events seen (``True``) or not seen (``False``) on this medium; expired events are left
        out unless ``include_expired``; ``actor`` (an ``Entity`` or id) keeps the events it took
        part in. Events older than the medium's ``time_created`` are never returned. With
        ``mark_seen=True`` the query is evaluated, the events are marked seen on this medium and
        a queryset of exactly those events is returned; with ``seen=False`` too, it is a claim:
        concurrent callers never receive the same event (docs/guarantees.rst).

        ``limit`` returns at most that many events: the newest (a sliced queryset, which can be
        evaluated but not filtered further), or, for a claim, the oldest, oldest first, so that a
        backlog drains in order and a call holds at most ``limit`` events in memory.
        """
        from entity_event.routing import medium_events

        filters = EventFilters.checked(
            "events", start_time=start_time, end_time=end_time, seen=seen,
            include_expired=include_expired, actor=actor, mark_seen=mark_seen, limit=limit,
        )  # fmt: skip
        return medium_events(self, filters)

    def get_filtered_events(
        self,
        *,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        seen: bool | None = None,
        include_expired: bool = False,
        actor: Entity | int | None = None,
        mark_seen: bool = False,
        limit: int | None = None,
    ) -> EventQuerySet:
        """The events that ``events()`` starts from, before any subscription applies: every event
        since the medium's ``time_created`` that passes the filters, newest first, as a lazy
        queryset (one query). The 3.x name (docs/upgrading.rst); a feed wants ``events()``.

        Takes the keyword arguments of ``events()``, with the same meaning and checks:
        ``start_time``, ``end_time``, ``seen`` (on this medium), ``include_expired``, ``actor``,
        ``limit``, and ``mark_seen``, which marks exactly the returned events seen on this
        medium (with ``seen=False`` too, a claim: docs/guarantees.rst).
        """
        from entity_event.routing import medium_filtered_events

        filters = EventFilters.checked(
            "get_filtered_events", start_time=start_time, end_time=end_time, seen=seen,
            include_expired=include_expired, actor=actor, mark_seen=mark_seen, limit=limit,
        )  # fmt: skip
        return medium_filtered_events(self, filters)

    def entity_events(
        self,
        entity: Entity | int,
        *,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        seen: bool | None = None,
        include_expired: bool = False,
        actor: Entity | int | None = None,
        mark_seen: bool = False,
        limit: int | None = None,
        read: bool | None = None,
    ) -> EventQuerySet:
        """The events ``entity`` receives on this medium through the subscriptions it is part of,
        minus the sources it unsubscribed from, newest first, as a lazy queryset (one query).
        Takes the filters of ``events()``, and its ``limit``.

        ``read`` keeps the events the entity has read (``True``) or not (``False``) on this
        medium (see ``mark_read``); it reads the entity's read state when called (one query).
        """
        from entity_event.routing import entity_medium_events

        filters = EventFilters.checked(
            "entity_events", start_time=start_time, end_time=end_time, seen=seen,
            include_expired=include_expired, actor=actor, mark_seen=mark_seen, limit=limit,
        )  # fmt: skip
        return entity_medium_events(
            self, entity, filters, read=check_optional_flag(read, "entity_events(): read")
        )

    def mark_read(self, entity: Entity | int, events: Iterable[Event | int] | None = None) -> None:
        """Mark events of ``entity``'s feed on this medium read, for that entity only (``seen``
        is unchanged). ``events=None`` marks everything up to now: events created afterwards are
        unread. Otherwise ``events`` is a queryset or a list of events or ids; the ones outside
        the entity's feed are ignored. Idempotent; safe under concurrent calls (the last wins);
        a constant number of queries."""
        from entity_event.reading import mark_read

        mark_read(self, entity, events)

    def mark_unread(self, entity: Entity | int, events: Iterable[Event | int]) -> None:
        """Mark events of ``entity``'s feed on this medium unread again, for that entity only.
        ``events`` as for ``mark_read``."""
        from entity_event.reading import mark_unread

        mark_unread(self, entity, events)

    def unread_count(self, entity: Entity | int) -> int:
        """How many events of ``entity``'s feed on this medium (``entity_events(entity)``:
        unexpired, unsubscriptions applied) it has not read. Two queries; the cost follows the
        unread events, not the size of the event table."""
        from entity_event.reading import unread_count

        return unread_count(self, entity)

    def events_targets(
        self,
        entity_kind: EntityKind | int | None = None,
        *,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        seen: bool | None = None,
        include_expired: bool = False,
        actor: Entity | int | None = None,
        mark_seen: bool = False,
        limit: int | None = None,
    ) -> list[tuple[Event, list[Entity]]]:
        """``[(event, targets)]``: each event with the active entities that receive it on this
        medium, unsubscriptions applied, ordered by entity id, each at most once; only events with
        at least one target, newest first. ``entity_kind`` keeps only targets of that kind. Takes
        the filters of ``events()`` and its ``limit`` (a claim with a limit returns the oldest
        events, oldest first); ``mark_seen`` marks exactly the returned events, except that a
        claim (``seen=False``) consumes every event it claimed: one without targets (of
        ``entity_kind``, when given) is marked seen too, not returned, so that claims in batches
        move past it. Runs a constant number of queries with the default following rule; events
        with identical targets share one list object."""
        from entity_event.targets import events_targets

        filters = EventFilters.checked(
            "events_targets", start_time=start_time, end_time=end_time, seen=seen,
            include_expired=include_expired, actor=actor, mark_seen=mark_seen, limit=limit,
        )  # fmt: skip
        return events_targets(self, entity_kind, filters)
