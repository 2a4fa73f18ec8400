"""QuerySets and managers: creating events in bulk, marking them seen, caching their relations."""

from __future__ import annotations

import uuid as uuid_module
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, models, transaction
from entity.models import Entity

from entity_event.validation import (
    check_context,
    check_flag,
    check_iterable,
    check_time,
    check_uuid,
    model_pk,
)

if TYPE_CHECKING:
    from entity_event.models import Event, Medium

#: The keyword arguments ``create_event`` accepts; anything else is a ``TypeError``.
CREATE_EVENT_ARGUMENTS = frozenset(
    {"source", "context", "uuid", "time", "time_expires", "actors", "ignore_duplicates"}
)


def _check_medium(medium: Any) -> None:
    from entity_event.models import Medium

    if not isinstance(medium, Medium) or medium.pk is None:
        raise TypeError(f"medium: expected a saved Medium, got {medium!r}")


@dataclass
class _PendingEvent:
    """One event of a ``create_events`` call on its way to the database."""

    event: Event
    actor_ids: list[int]
    ignore_duplicates: bool
    duplicate: bool = False
    source_id_to_check: int | None = field(default=None)


class EventManager(models.Manager):
    """Creates events with their actors; the query methods come from ``EventQuerySet``."""

    def create_event(
        self, actors: Iterable[Entity | int] | None = None, ignore_duplicates: bool = False, **kwargs: Any
    ) -> Event | None:
        """Create one event and its actors in one transaction.

        ``kwargs`` are the event's fields: ``source`` (required, a ``Source`` or its id),
        ``context`` (a JSON-serialisable dict), ``uuid`` (generated when not given), ``time`` and
        ``time_expires`` (never, when not given). ``actors`` are ``Entity`` objects or ids.

        Returns the event, or ``None`` when ``ignore_duplicates`` is true and an event with this
        ``uuid`` exists already (also when a concurrent writer created it first). Without
        ``ignore_duplicates`` a duplicate ``uuid`` raises ``IntegrityError`` and writes nothing.
        """
        return self.create_events([{**kwargs, "actors": actors, "ignore_duplicates": ignore_duplicates}])[0]

    def create_events(self, kwargs_list: Iterable[Mapping[str, Any]]) -> list[Event | None]:
        """Create many events, each described by the keyword arguments of ``create_event``.

        All the events and their actors are written in one transaction, with a number of queries
        that does not depend on how many events or actors there are. Returns a list aligned with
        the input: the created event, or ``None`` for an ignored duplicate. Nothing is written
        when any input is invalid.
        """
        check_iterable(kwargs_list, "create_events", "dicts of create_event arguments")
        pending = [self._prepare(position, kwargs) for position, kwargs in enumerate(kwargs_list)]
        if not pending:
            return []
        self._check_sources_exist(pending)
        self._check_actors_exist(pending)
        self._mark_duplicates_within_batch(pending)

        from entity_event.models import EventActor

        with transaction.atomic(using=self.db):
            self._insert_events(pending)
            EventActor.objects.using(self.db).bulk_create(
                EventActor(event=item.event, entity_id=actor_id)
                for item in pending
                if not item.duplicate
                for actor_id in item.actor_ids
            )
        return [None if item.duplicate else item.event for item in pending]

    def _prepare(self, position: int, kwargs: Mapping[str, Any]) -> _PendingEvent:
        """Validate one event's arguments and build its unsaved ``Event``."""
        where = f"create_events[{position}]"
        if not isinstance(kwargs, Mapping):
            raise TypeError(
                f"{where}: expected a dict of create_event arguments, got {type(kwargs).__name__}"
            )
        unknown = sorted(set(kwargs) - CREATE_EVENT_ARGUMENTS)
        if unknown:
            raise TypeError(f"{where}: unexpected argument(s) {', '.join(unknown)}")
        if kwargs.get("source") is None:
            raise TypeError(f"{where}: the source argument is required")

        from entity_event.models import Source

        source = kwargs["source"]
        source_id = model_pk(source, Source, f"{where}: source")
        context = kwargs.get("context")
        context = {} if context is None else check_context(context, f"{where}: context")
        event_uuid = kwargs.get("uuid")
        if event_uuid is None:
            event_uuid = uuid_module.uuid4().hex
        else:
            max_length = self.model._meta.get_field("uuid").max_length
            event_uuid = check_uuid(event_uuid, f"{where}: uuid", max_length)

        fields: dict[str, Any] = {"context": context, "uuid": event_uuid}
        for name in ("time", "time_expires"):
            if check_time(kwargs.get(name), f"{where}: {name}") is not None:
                fields[name] = kwargs[name]
        if isinstance(source, Source):
            fields["source"] = source
        else:
            fields["source_id"] = source_id

        actors = kwargs.get("actors")
        actors = [] if actors is None else check_iterable(actors, f"{where}: actors", "Entity objects or ids")
        actor_ids = list(dict.fromkeys(model_pk(actor, Entity, f"{where}: actors") for actor in actors))
        ignore_duplicates = check_flag(kwargs.get("ignore_duplicates", False), f"{where}: ignore_duplicates")

        return _PendingEvent(
            event=self.model(**fields),
            actor_ids=actor_ids,
            ignore_duplicates=ignore_duplicates,
            source_id_to_check=None if isinstance(source, Source) else source_id,
        )

    def _check_sources_exist(self, pending: list[_PendingEvent]) -> None:
        """Sources given as ids must exist: one query for the whole batch, none for instances."""
        from entity_event.models import Source

        wanted = {item.source_id_to_check for item in pending} - {None}
        if wanted:
            found = set(Source.objects.using(self.db).filter(pk__in=wanted).values_list("pk", flat=True))
            if wanted - found:
                raise ValueError(f"source: no Source with id(s) {sorted(wanted - found)}")

    def _check_actors_exist(self, pending: list[_PendingEvent]) -> None:
        """Every actor must be an existing entity (active or not): one query for the whole batch."""
        wanted = {actor_id for item in pending for actor_id in item.actor_ids}
        if wanted:
            found = set(Entity.all_objects.using(self.db).filter(pk__in=wanted).values_list("pk", flat=True))
            if wanted - found:
                raise ValueError(f"actors: no Entity with id(s) {sorted(wanted - found)}")

    @staticmethod
    def _mark_duplicates_within_batch(pending: list[_PendingEvent]) -> None:
        """A uuid repeated in one batch: the first wins, the others are duplicates."""
        seen: set[str] = set()
        for item in pending:
            if item.event.uuid in seen:
                if not item.ignore_duplicates:
                    raise IntegrityError(f"duplicate uuid {item.event.uuid!r} in one create_events call")
                item.duplicate = True
            seen.add(item.event.uuid)

    def _existing_uuids(self, items: list[_PendingEvent]) -> set[str]:
        uuids = [item.event.uuid for item in items if item.ignore_duplicates]
        if not uuids:
            return set()
        return set(self.using(self.db).filter(uuid__in=uuids).values_list("uuid", flat=True))

    def _insert_events(self, pending: list[_PendingEvent]) -> None:
        """Insert the events that are not duplicates, with one INSERT when nothing races.

        Events created with ``ignore_duplicates`` first skip the uuids that exist already. A
        concurrent writer may still insert one of them before our INSERT: the INSERT then fails
        inside a savepoint, and we look again and retry without the uuids that now exist. Each
        retry removes at least one event, so the loop ends. An error that is not such a race
        (a duplicate without ``ignore_duplicates``) propagates and the transaction writes nothing.
        """
        existing = self._existing_uuids([item for item in pending if not item.duplicate])
        while True:
            for item in pending:
                if item.event.uuid in existing and item.ignore_duplicates:
                    item.duplicate = True
            to_insert = [item for item in pending if not item.duplicate]
            if not to_insert:
                return
            if not any(item.ignore_duplicates for item in to_insert):
                self.using(self.db).bulk_create([item.event for item in to_insert])
                return
            try:
                with transaction.atomic(using=self.db):
                    # Concurrent writers may share uuids: inserting them in one global order makes
                    # a writer wait for another instead of each holding a uuid the other needs
                    # (a deadlock, which PostgreSQL breaks by failing one of the writers).
                    self.using(self.db).bulk_create(
                        sorted((item.event for item in to_insert), key=attrgetter("uuid"))
                    )
                return
            except IntegrityError:
                existing = self._existing_uuids(to_insert)
                if not existing:
                    raise


class EventQuerySet(models.QuerySet):
    """Chainable queries on events."""

    def mark_seen(self, medium: Medium) -> None:
        """Record that the events of this queryset were seen on ``medium``.

        Idempotent: events already seen on the medium keep their first ``time_seen``. Costs two
        queries whatever the number of events.
        """
        _check_medium(medium)
        from entity_event.models import EventSeen

        EventSeen.objects.using(self.db).bulk_create(
            [EventSeen(event_id=pk, medium=medium) for pk in self.values_list("pk", flat=True)],
            ignore_conflicts=True,
        )

    def cache_related(self) -> EventQuerySet:
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
        of events (see ``entity_event.rendering``).
        """
        from entity_event.rendering import load_contexts_and_renderers

        return load_contexts_and_renderers(self, medium)


class SubscriptionQuerySet(models.QuerySet):
    """Chainable queries on subscriptions."""

    def cache_related(self) -> SubscriptionQuerySet:
        """Load each subscription's medium, source, entity and sub-entity kind in the same query."""
        return self.select_related("medium", "source", "entity", "sub_entity_kind")
