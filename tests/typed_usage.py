"""The public API as a typed project uses it. Never run: ``python -m mypy`` checks it with the
package (pyproject.toml lists it in ``[tool.mypy] files``; ``tests/project/test_typing.py`` runs mypy).

``assert_type`` fails the check when a result's type changes, or becomes ``Any``; each
``type: ignore[code]`` marks a call that must stay refused (strict mode reports an ignore that
is no longer needed), so that the keyword-only signatures stay keyword-only.
"""

from __future__ import annotations

from datetime import datetime
from typing import assert_type

from django.db.models import QuerySet
from entity.models import Entity, EntityKind

from entity_event.context_loader import get_default_rendering_style, load_contexts_and_renderers
from entity_event.context_serializer import DefaultContextSerializer
from entity_event.models import ContextRenderer, Event, Medium, RenderingStyle, Source, Subscription
from entity_event.models.querysets import EventArguments, EventManager, EventQuerySet, SubscriptionQuerySet
from entity_event.routing.explain import Explanation
from entity_event.validation import JSONValue


def query_methods(medium: Medium, entity: Entity, kind: EntityKind, since: datetime) -> None:
    """``events``, ``entity_events`` and ``events_targets``: keyword-only filters, typed results."""
    assert_type(medium.events(start_time=since, seen=False, mark_seen=True), EventQuerySet)
    assert_type(medium.entity_events(entity, end_time=since, actor=3), EventQuerySet)
    assert_type(medium.entity_events(7, include_expired=True), EventQuerySet)
    assert_type(medium.events_targets(kind, actor=entity), list[tuple[Event, list[Entity]]])
    assert_type(medium.events_targets(), list[tuple[Event, list[Entity]]])
    medium.events(since)  # type: ignore[misc]
    medium.entity_events(entity, since)  # type: ignore[misc]
    medium.events_targets(kind, since)  # type: ignore[misc]
    medium.events(start="yesterday")  # type: ignore[call-arg]


def explaining(medium: Medium, event: Event, entity: Entity) -> None:
    """``Medium.explain``: an ``Explanation`` with its deciding rows, typed."""
    explanation = medium.explain(event, entity)
    assert_type(explanation, Explanation)
    assert_type(medium.explain(3, 7).delivered, bool)
    assert_type(explanation.subscription, Subscription | None)
    assert_type(explanation.following_path, tuple[Entity, ...])
    assert_type(explanation.describe(), str)


def querysets_and_managers(medium: Medium) -> None:
    """``Event.objects`` has the queryset's methods, and chaining keeps ``EventQuerySet``."""
    assert_type(Event.objects, EventManager)
    assert_type(Event.objects.filter(source__name="photo"), EventQuerySet)
    assert_type(Event.objects.cache_related(), EventQuerySet)
    assert_type(medium.events().filter(time__gte=medium.time_created).cache_related(), EventQuerySet)
    assert_type(medium.events().first(), Event | None)
    assert_type(Event.objects.mark_seen(medium), None)
    assert_type(medium.events().mark_seen(medium), None)
    assert_type(Event.objects.load_contexts_and_renderers(medium), list[Event])
    assert_type(Subscription.objects.cache_related(), SubscriptionQuerySet)
    assert_type(Subscription.objects.filter(medium=medium).cache_related(), SubscriptionQuerySet)


def creating_events(source: Source, entity: Entity, when: datetime) -> None:
    """``create_event`` returns the event, or ``None`` only with ``ignore_duplicates``;
    ``create_events`` takes ``EventArguments``."""
    assert_type(Event.objects.create_event(source=source, context={"n": 1}, actors=[entity, 2]), Event)
    assert_type(Event.objects.create_event(source=1, uuid="u", time=when, time_expires=when), Event)
    assert_type(Event.objects.create_event(source=source, ignore_duplicates=True), Event | None)
    item: EventArguments = {"source": source, "context": {"n": 1}, "actors": [entity]}
    assert_type(Event.objects.create_events([item, {"source": 3}]), list[Event | None])
    Event.objects.create_event(source)  # type: ignore[call-overload]
    Event.objects.create_event(context={})  # type: ignore[call-overload]
    Event.objects.create_events([{"source": 1, "contxt": {}}])  # type: ignore[typeddict-unknown-key]


def rendering(medium: Medium, events: EventQuerySet, event: Event, entity: Entity) -> None:
    """Rendering and following: what they take and give."""
    assert_type(medium.render(events, observing_entity=entity), dict[Event, tuple[str, str]])
    assert_type(medium.render([event]), dict[Event, tuple[str, str]])
    assert_type(event.render(medium, entity), tuple[str, str])
    assert_type(medium.followed_by(entity), QuerySet[Entity])
    assert_type(medium.followers_of([entity, 4]), QuerySet[Entity])
    assert_type(medium.subset_subscriptions(Subscription.objects.all(), entity), QuerySet[Subscription])


def package_level_names() -> None:
    """The models imported from the package itself (lazily at run time) are the models."""
    import entity_event

    assert_type(entity_event.Event.objects, EventManager)
    assert_type(entity_event.Medium, type[Medium])
    _ = entity_event.Evnt  # type: ignore[attr-defined]


def names_of_3x(medium: Medium, renderer: ContextRenderer, events: EventQuerySet, since: datetime) -> None:
    """The names code written for 3.x calls (docs/upgrading.rst), typed like the rest."""
    assert_type(medium.get_filtered_events(start_time=since, seen=False, mark_seen=True), EventQuerySet)
    assert_type(medium.get_filtered_events(actor=3, limit=10), EventQuerySet)
    medium.get_filtered_events(since)  # type: ignore[misc]
    assert_type(renderer.get_serialized_context({"n": 1}), JSONValue)
    assert_type(load_contexts_and_renderers(events, [medium]), list[Event])
    assert_type(get_default_rendering_style(), RenderingStyle | None)
    assert_type(DefaultContextSerializer({"a": [1]}).serialize_dict({"a": 1}), JSONValue)
    assert_type(DefaultContextSerializer(None).serialize_list((1, 2)), JSONValue)
    assert_type(DefaultContextSerializer(None).serialize_json_string("[1]"), JSONValue)
