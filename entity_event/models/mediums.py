"""Mediums: the ways events are consumed (email, newsfeed, notification bar), and the entry point
of the event queries of the 0.7 API. Their methods are thin delegates to the services (routing,
targets, rendering): the import inside each is the one accepted upward import."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Unpack

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from entity.models import Entity, EntityKind

from entity_event.models.filters import EntityEventFilterArguments, EventFilterArguments, EventFilters
from entity_event.models.renderers import RenderingStyle
from entity_event.validation import check_optional_flag, validate_additional_context

if TYPE_CHECKING:
    from entity_event.models.events import Event
    from entity_event.models.querysets import EventQuerySet
    from entity_event.models.subscriptions import Subscription
    from entity_event.routing.explain import Explanation
    from entity_event.routing.following import Entities


class Medium(models.Model):
    """A way of consuming events (email, newsfeed, notification bar).

    Subscriptions and unsubscriptions name a medium; the medium is the entry point of the event
    queries. Concrete subclasses (multi-table inheritance) may override the following rule.
    """

    name = models.CharField(verbose_name=_("name"), max_length=64, unique=True)
    display_name = models.CharField(verbose_name=_("display name"), max_length=64)
    description = models.TextField(verbose_name=_("description"), blank=True)
    time_created = models.DateTimeField(verbose_name=_("time created"), auto_now_add=True)
    rendering_style = models.ForeignKey(
        RenderingStyle,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="mediums",
        verbose_name=_("rendering style"),
    )
    additional_context = models.JSONField(
        verbose_name=_("additional context"),
        default=dict,
        blank=True,
        encoder=DjangoJSONEncoder,
        validators=[validate_additional_context],
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("medium")
        verbose_name_plural = _("mediums")

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
        from entity_event.rendering.renderers import render_events

        return render_events(events, self, observing_entity)

    def followed_by(self, entities: Entities) -> QuerySet[Entity]:
        """The entities that ``entities`` follow. By default an entity follows itself and its
        super-entities. ``entities``: an ``Entity``, an ``Entity`` queryset, or an iterable of
        entities or ids. Override it, with its inverse ``followers_of``, in a subclass to change
        what only-following subscriptions deliver; every query method honours the override."""
        from entity_event.routing.following import default_followed_by

        return default_followed_by(entities)

    def followers_of(self, entities: Entities) -> QuerySet[Entity]:
        """The entities that follow ``entities``: by default themselves and their sub-entities.
        The inverse of ``followed_by``."""
        from entity_event.routing.following import default_followers_of

        return default_followers_of(entities)

    def subset_subscriptions(
        self, subscriptions: QuerySet[Subscription], entity: Entity | int | None = None
    ) -> QuerySet[Subscription]:
        """The ``subscriptions`` that ``entity`` is part of: its individual subscriptions and the
        group subscriptions over one of its super-entities for its entity kind. Without an entity,
        ``subscriptions`` unchanged."""
        from entity_event.routing.following import subset_subscriptions

        return subset_subscriptions(subscriptions, entity)

    def events(self, **filters: Unpack[EventFilterArguments]) -> EventQuerySet:
        """The events any subscription of this medium delivers, newest first, as a lazy queryset
        (one query). Unsubscriptions do not apply here: they belong to single entities.

        Takes the filters of every query method (``EventFilterArguments``: ``start_time``,
        ``end_time``, ``seen``, ``include_expired``, ``actor``, ``mark_seen``, ``limit``). Events
        older than the medium's ``time_created`` are never returned. With ``mark_seen=True`` the
        query is evaluated, the events are marked seen on this medium and a queryset of exactly
        those events is returned. With ``limit``, a sliced queryset, which can be evaluated but
        not filtered further.
        """
        from entity_event.routing.feeds import medium_events

        return medium_events(self, EventFilters.checked("events", filters))

    def get_filtered_events(self, **filters: Unpack[EventFilterArguments]) -> EventQuerySet:
        """The events that ``events()`` starts from, before any subscription applies: every event
        since the medium's ``time_created`` that passes the filters (those of ``events()``, with
        the same meaning and checks), newest first, as a lazy queryset (one query). The 3.x name
        (docs/upgrading.rst); a feed wants ``events()``.
        """
        from entity_event.routing.feeds import medium_filtered_events

        return medium_filtered_events(self, EventFilters.checked("get_filtered_events", filters))

    def entity_events(
        self, entity: Entity | int, **filters: Unpack[EntityEventFilterArguments]
    ) -> EventQuerySet:
        """The events ``entity`` receives on this medium through the subscriptions it is part of,
        minus the sources it unsubscribed from, newest first, as a lazy queryset (one query).
        Takes the filters of ``events()``, and ``read``, which keeps the events the entity has
        read (``True``) or not (``False``) on this medium (see ``mark_read``); it reads the
        entity's read state when called (one query).
        """
        from entity_event.routing.feeds import entity_medium_events

        read = check_optional_flag(filters.pop("read", None), "entity_events(): read")
        return entity_medium_events(self, entity, EventFilters.checked("entity_events", filters), read=read)

    def explain(self, event: Event | int, entity: Entity | int) -> Explanation:
        """Why ``entity`` receives ``event`` on this medium, or why not: an ``Explanation`` whose
        ``delivered`` is exactly whether the event is in ``entity_events(entity)`` (default
        filters), with a ``reason`` code and the rows that decide (the subscription, the group,
        the followed actor, the unsubscription). ``event`` and ``entity`` are saved instances or
        ids of existing rows. Seven queries at most, plus what an overridden ``followed_by``
        runs itself (docs/troubleshooting.rst lists the reasons)."""
        from entity_event.routing.explain import explain

        return explain(self, event, entity)

    def mark_read(self, entity: Entity | int, events: Iterable[Event | int] | None = None) -> None:
        """Mark events of ``entity``'s feed on this medium read, for that entity only (``seen``
        is unchanged). ``events=None`` marks everything up to now: events created afterwards are
        unread. Otherwise ``events`` is a queryset or a list of events or ids; the ones outside
        the entity's feed are ignored. Idempotent; safe under concurrent calls (the last wins);
        a constant number of queries."""
        from entity_event.notifications.marking import mark_read

        mark_read(self, entity, events)

    def mark_unread(self, entity: Entity | int, events: Iterable[Event | int]) -> None:
        """Mark events of ``entity``'s feed on this medium unread again, for that entity only.
        ``events`` as for ``mark_read``."""
        from entity_event.notifications.marking import mark_unread

        mark_unread(self, entity, events)

    def unread_count(self, entity: Entity | int) -> int:
        """How many events of ``entity``'s feed on this medium (``entity_events(entity)``:
        unexpired, unsubscriptions applied) it has not read. Two queries; the cost follows the
        unread events, not the size of the event table."""
        from entity_event.notifications.marking import unread_count

        return unread_count(self, entity)

    def events_targets(
        self, entity_kind: EntityKind | int | None = None, **filters: Unpack[EventFilterArguments]
    ) -> list[tuple[Event, list[Entity]]]:
        """``[(event, targets)]``: each event with the active entities that receive it on this
        medium, unsubscriptions applied, ordered by entity id, each at most once; only events with
        at least one target, newest first. ``entity_kind`` keeps only targets of that kind. Takes
        the filters of ``events()`` (a claim with a ``limit`` returns the oldest events, oldest
        first); ``mark_seen`` marks exactly the returned events, except that a claim
        (``seen=False``) consumes every event it claimed: one without targets (of
        ``entity_kind``, when given) is marked seen too, not returned, so that claims in batches
        move past it. Runs a constant number of queries with the default following rule; events
        with identical targets share one list object."""
        from entity_event.routing.targets import events_targets

        return events_targets(self, entity_kind, EventFilters.checked("events_targets", filters))
