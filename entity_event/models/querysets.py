"""QuerySets and managers of the models: chainable queries, and the public methods of the 0.7
API that work on many events at once. Those delegate to the services (``creation``, ``claims``,
``rendering``); the import inside each is the one accepted upward import."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Literal, Required, Self, TypedDict, Unpack, overload
from uuid import UUID

from django.db import models, router
from entity.models import Entity

from entity_event.validation import JSONObject

if TYPE_CHECKING:
    from entity_event.models import Event, Medium, Source, Subscription  # noqa: F401 (base classes)


class NewEventArguments(TypedDict, total=False):
    """The keyword arguments of ``create_event`` that describe the event (``source`` required):
    ``source`` a ``Source`` or its id, ``context`` a JSON-serialisable dict, ``uuid`` a unique
    string (generated when not given), ``time`` when it happened (now, when not given),
    ``time_expires`` when it stops being shown (never, when not given), ``actors`` ``Entity``
    objects or ids."""

    source: Required[Source | int]
    context: JSONObject | None
    uuid: str | UUID | None
    time: datetime | None
    time_expires: datetime | None
    actors: Iterable[Entity | int] | None


#: The names of ``NewEventArguments``, for the check of unknown ones.
NEW_EVENT_ARGUMENTS = frozenset(NewEventArguments.__annotations__)


class EventArguments(NewEventArguments, total=False):
    """The arguments of one event of ``create_events``: those of ``create_event``."""

    ignore_duplicates: bool


class EventQuerySet(models.QuerySet["Event"]):
    """Chainable queries on events."""

    def mark_seen(self, medium: Medium) -> None:
        """Record that the events of this queryset were seen on ``medium``.

        Idempotent: events already seen on the medium keep their first ``time_seen``. Costs two
        queries whatever the number of events.
        """
        from entity_event.routing.claims import mark_seen

        mark_seen(self, medium)

    def cache_related(self) -> Self:
        """Load each event's source and source group in the same query, and its actors' entities
        in two more queries for the whole queryset."""
        return self.select_related("source__group").prefetch_related("eventactor_set__entity")

    def load_contexts_and_renderers(self, medium: Medium) -> list[Event]:
        """Evaluate the queryset, choose each event's context renderer for ``medium`` and load
        its context; return the list of events, ready for ``Event.render(medium)`` and
        ``Event.get_serialized_context(medium)``.

        Each event gets ``event.loaded_renderings[medium.pk]``: a ``LoadedRendering`` with the
        loaded context (hinted primary keys replaced by rows, a copy) and the chosen renderer
        (``None`` when none matches). Costs a number of queries that does not depend on the number
        of events (see ``entity_event.rendering.renderers``).
        """
        from entity_event.rendering.renderers import load_contexts_and_renderers

        return load_contexts_and_renderers(self, medium)


#: The manager's base: Django copies the queryset's methods onto it, so that
#: ``Event.objects.mark_seen(medium)``, ``Event.objects.cache_related()`` and the chaining of
#: ``Event.objects.filter(...)`` return what ``EventQuerySet`` returns, and django-stubs types them.
_EventManagerFromQuerySet = models.Manager.from_queryset(EventQuerySet)


class EventManager(_EventManagerFromQuerySet["Event"]):
    """Creates events with their actors; the query methods (``mark_seen``, ``cache_related``,
    ``load_contexts_and_renderers``, ``filter``...) are ``EventQuerySet``'s."""

    # Without ignore_duplicates the event is always returned (a duplicate raises); with it, the
    # result is None for a duplicate.
    @overload
    def create_event(
        self, *, ignore_duplicates: Literal[False] = False, **event: Unpack[NewEventArguments]
    ) -> Event: ...

    @overload
    def create_event(
        self, *, ignore_duplicates: bool, **event: Unpack[NewEventArguments]
    ) -> Event | None: ...

    def create_event(
        self, *, ignore_duplicates: bool = False, **event: Unpack[NewEventArguments]
    ) -> Event | None:
        """Create one event and its actors in one transaction, from the keyword arguments
        ``NewEventArguments`` describes (``source``, ``context``, ``uuid``, ``time``,
        ``time_expires``, ``actors``).

        Returns the event, or ``None`` when ``ignore_duplicates`` is true and an event with this
        ``uuid`` exists already (also when a concurrent writer created it first). Without
        ``ignore_duplicates`` a duplicate ``uuid`` raises ``IntegrityError`` and writes nothing.
        """
        for name in event:
            if name not in NEW_EVENT_ARGUMENTS:
                raise TypeError(f"create_event() got an unexpected keyword argument {name!r}")
        return self.create_events([{**event, "ignore_duplicates": ignore_duplicates}])[0]

    def create_events(self, kwargs_list: Iterable[EventArguments]) -> list[Event | None]:
        """Create many events, each described by the keyword arguments of ``create_event``.

        All the events and their actors are written in one transaction, with a number of queries
        that does not depend on how many events or actors there are. Returns a list aligned with
        the input: the created event, or ``None`` for an ignored duplicate. Nothing is written
        when any input is invalid. They are written where ``using()`` says, else where the
        routers send writes of ``Event`` (never to a read replica).
        """
        from entity_event.models.creation import create_events

        return create_events(self.model, self._db or router.db_for_write(self.model), kwargs_list)


class SubscriptionQuerySet(models.QuerySet["Subscription"]):
    """Chainable queries on subscriptions."""

    def cache_related(self) -> Self:
        """Load each subscription's medium, source, entity and sub-entity kind in the same query."""
        return self.select_related("medium", "source", "entity", "sub_entity_kind")
