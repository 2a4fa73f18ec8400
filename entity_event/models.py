"""The data model: where events come from, who receives them, on which medium, and how they look.

Routing (which entity receives which event) lives in ``entity_event.routing`` and rendering in
``entity_event.rendering``; the model methods documented by the 0.7 API delegate to them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q, QuerySet
from django.utils import timezone
from entity.models import Entity, EntityKind

from entity_event import routing
from entity_event.querysets import EventManager, EventQuerySet, SubscriptionQuerySet
from entity_event.timestamps import never_expires
from entity_event.validation import (
    validate_additional_context,
    validate_context,
    validate_time,
    validate_time_expires,
    validate_uuid,
)


class SourceGroup(models.Model):
    """A high-level category of sources, such as all the events of one part of a site.

    Deleting a group deletes its sources with it, and is refused (``ProtectedError``) while one of
    them has events or the group or one of them has context renderers.
    """

    name = models.CharField(max_length=64, unique=True)
    display_name = models.CharField(max_length=64)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.display_name or self.name


class Source(models.Model):
    """A fine-grained category of events (``photo-tag``, ``new-product``); every event has one.

    Deleting a source deletes its subscriptions and unsubscriptions, and is refused
    (``ProtectedError``) while it has events or context renderers: delete those first.
    """

    name = models.CharField(max_length=64, unique=True)
    display_name = models.CharField(max_length=64)
    description = models.TextField(blank=True)
    group = models.ForeignKey(SourceGroup, on_delete=models.CASCADE, related_name="sources")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.display_name or self.name


class RenderingStyle(models.Model):
    """A way of rendering events (short, long, email...) that mediums and context renderers share.

    Deleting a style is refused (``ProtectedError``) while context renderers use it; the mediums
    that use it keep existing, without a style.
    """

    name = models.CharField(max_length=64, unique=True)
    display_name = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.display_name or self.name


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

    def render(self, events: Iterable[Event], observing_entity: Any = None) -> dict[Event, tuple[str, str]]:
        """Render events in this medium's rendering style: ``{event: (text, html)}``.

        ``events`` is a queryset or a list of events. Each event's context renderer is the most
        specific match (source, then source group, in the medium's style, then in the style of
        ``DEFAULT_ENTITY_EVENT_RENDERING_STYLE``); events that none matches are left out. The
        contexts of the whole batch are loaded with one query per hinted model. The templates see
        the loaded context, ``additional_context`` over it, and ``observing_entity``.
        """
        from entity_event.rendering import render_events

        return render_events(events, self, observing_entity)

    def followed_by(self, entities: Any) -> QuerySet[Entity]:
        """The entities that ``entities`` follow. By default an entity follows itself and its
        super-entities. ``entities``: an ``Entity``, an ``Entity`` queryset, or an iterable of
        entities or ids. Override it, with its inverse ``followers_of``, in a subclass to change
        what only-following subscriptions deliver; every query method honours the override."""
        return routing.default_followed_by(entities)

    def followers_of(self, entities: Any) -> QuerySet[Entity]:
        """The entities that follow ``entities``: by default themselves and their sub-entities.
        The inverse of ``followed_by``."""
        return routing.default_followers_of(entities)

    def subset_subscriptions(
        self, subscriptions: QuerySet[Subscription], entity: Entity | int | None = None
    ) -> QuerySet[Subscription]:
        """The ``subscriptions`` that ``entity`` is part of: its individual subscriptions and the
        group subscriptions over one of its super-entities for its entity kind. Without an entity,
        ``subscriptions`` unchanged."""
        return routing.subset_subscriptions(subscriptions, entity)

    def events(self, **event_filters: Any) -> EventQuerySet:
        """The events any subscription of this medium delivers, newest first, as a lazy queryset
        (one query). Unsubscriptions do not apply here: they belong to single entities.

        Filters: ``start_time``, ``end_time`` (inclusive), ``seen`` (``True``/``False``/``None``),
        ``include_expired`` (default ``False``), ``actor`` (an ``Entity`` or id) and
        ``mark_seen``. Events older than the medium's ``time_created`` are never returned. With
        ``mark_seen=True`` the query is evaluated, the events are marked seen on this medium and
        a queryset of exactly those events is returned; with ``seen=False`` too, it is a claim:
        concurrent callers never receive the same event (DESIGN.md point 6).
        """
        filters = routing.parse_filters("events", event_filters)
        return routing.evaluate(routing.medium_events(self, filters), self, filters)

    def entity_events(self, entity: Entity | int, **event_filters: Any) -> EventQuerySet:
        """The events ``entity`` receives on this medium through the subscriptions it is part of,
        minus the sources it unsubscribed from, newest first, as a lazy queryset (one query).
        Takes the filters of ``events()``."""
        filters = routing.parse_filters("entity_events", event_filters)
        return routing.evaluate(routing.entity_medium_events(self, entity, filters), self, filters)

    def events_targets(
        self, entity_kind: EntityKind | int | None = None, **event_filters: Any
    ) -> list[tuple[Event, list[Entity]]]:
        """``[(event, targets)]``: each event with the active entities that receive it on this
        medium, unsubscriptions applied, ordered by entity id, each at most once; only events with
        at least one target, newest first. ``entity_kind`` keeps only targets of that kind. Takes
        the filters of ``events()``; ``mark_seen`` marks exactly the returned events. Runs a
        constant number of queries with the default following rule; events with identical targets
        share one list object."""
        filters = routing.parse_filters("events_targets", event_filters)
        return routing.events_targets(self, entity_kind, filters)


class Subscription(models.Model):
    """An entity, or every sub-entity of a kind under it, receives a source's events on a medium.

    With ``only_following`` the subscribed entities only receive the events whose actors they
    follow (by default: themselves and their super-entities).
    """

    medium = models.ForeignKey(Medium, on_delete=models.CASCADE, related_name="subscriptions")
    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="subscriptions")
    entity = models.ForeignKey("entity.Entity", on_delete=models.CASCADE, related_name="+")
    sub_entity_kind = models.ForeignKey(
        "entity.EntityKind", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    only_following = models.BooleanField(default=True)

    objects = SubscriptionQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["medium", "source", "entity"],
                condition=Q(sub_entity_kind__isnull=True),
                name="entity_event_subscription_unique_individual",
            ),
            models.UniqueConstraint(
                fields=["medium", "source", "entity", "sub_entity_kind"],
                condition=Q(sub_entity_kind__isnull=False),
                name="entity_event_subscription_unique_group",
            ),
        ]
        indexes = [models.Index(fields=["source", "medium"], name="entity_event_sub_source_medium")]

    def __str__(self) -> str:
        audience = str(self.entity)
        if self.sub_entity_kind_id is not None:
            audience = f"every {self.sub_entity_kind} under {audience}"
        following = " (only following)" if self.only_following else ""
        return f"{audience}: {self.source} on {self.medium}{following}"

    def subscribed_entities(self) -> QuerySet[Entity]:
        """The entities this subscription covers: its entity for an individual subscription, the
        active sub-entities of ``sub_entity_kind`` under it for a group subscription."""
        return routing.subscribed_entities(self)


class Unsubscription(models.Model):
    """One entity opts out of one source on one medium, whatever subscriptions include it."""

    entity = models.ForeignKey("entity.Entity", on_delete=models.CASCADE, related_name="+")
    medium = models.ForeignKey(Medium, on_delete=models.CASCADE, related_name="unsubscriptions")
    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="unsubscriptions")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["entity", "medium", "source"], name="entity_event_unsubscription_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.entity} unsubscribed from {self.source} on {self.medium}"


class Event(models.Model):
    """Something that happened: its source, who did it (actors) and what (the JSON ``context``).

    ``uuid`` identifies the event for idempotent creation; ``time_expires`` hides it from the
    queries after that instant (by default it never expires, see DESIGN.md point 1).
    """

    # Events are history: a source that has events cannot be deleted until they are deleted or
    # pruned (docs/models.rst).
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="events")
    # The validators are the checks of create_event, for the admin's forms (same messages).
    context = models.JSONField(
        default=dict, blank=True, encoder=DjangoJSONEncoder, validators=[validate_context]
    )
    time = models.DateTimeField(default=timezone.now, db_index=True, validators=[validate_time])
    time_expires = models.DateTimeField(
        default=never_expires, db_index=True, validators=[validate_time_expires]
    )
    uuid = models.CharField(max_length=512, unique=True, validators=[validate_uuid])

    objects = EventManager.from_queryset(EventQuerySet)()

    class Meta:
        ordering = ["-time", "-id"]

    def __str__(self) -> str:
        return f"{self.source} event {self.uuid}"

    def render(self, medium: Medium, observing_entity: Any = None) -> tuple[str, str]:
        """Render this event on ``medium`` as ``(text, html)``.

        The context and renderer must have been loaded for that medium (by ``Medium.render`` or
        ``load_contexts_and_renderers``), otherwise ``ContextNotLoadedError`` (a ``RuntimeError``)
        is raised; ``NoContextRendererError`` when no context renderer matches the event. Like
        ``Medium.render`` it never writes: it runs in a read-only scope, whose few statements it
        pays on every call, so render a batch with ``Medium.render``.
        """
        from entity_event.rendering import render_event

        return render_event(self, medium, observing_entity)

    def get_serialized_context(self, medium: Medium) -> Any:
        """A JSON-safe version of the context this event renders with on ``medium``.

        It is the loaded context (hinted rows as dicts, with their loaded relations) with the
        medium's ``additional_context`` over it, serialised by ``DefaultContextSerializer``. The
        context must have been loaded for that medium, as for ``render``.
        """
        from entity_event.context_serializer import DefaultContextSerializer
        from entity_event.rendering import merged_context

        return DefaultContextSerializer(merged_context(self, medium)).data


class AdminEvent(Event):
    """A proxy of ``Event`` whose admin form creates one-off events (announcements) by hand."""

    class Meta:
        proxy = True
        verbose_name = "admin event"


class EventActor(models.Model):
    """An entity that took part in an event; only-following subscriptions route on actors."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE)
    entity = models.ForeignKey("entity.Entity", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "entity"], name="entity_event_eventactor_unique"),
        ]
        # "The events of these actors" (routing) reads (entity, event) from the index alone.
        indexes = [models.Index(fields=["entity", "event"], name="entity_event_actor_ent_evt")]

    def __str__(self) -> str:
        return f"{self.entity} in {self.event}"


class EventSeen(models.Model):
    """Records that an event was seen on a medium; seen state is per (event, medium)."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE)
    medium = models.ForeignKey(Medium, on_delete=models.CASCADE, related_name="+")
    time_seen = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "medium"], name="entity_event_eventseen_unique"),
        ]
        verbose_name_plural = "events seen"

    def __str__(self) -> str:
        return f"{self.event} seen on {self.medium} at {self.time_seen:%Y-%m-%d %H:%M}"


class ContextRenderer(models.Model):
    """Templates and context hints that render a source's (or source group's) events in a style.

    Exactly one of ``source`` and ``source_group`` is set. A template path wins over an inline
    template. ``context_hints`` maps context keys to the models whose primary keys they hold, so
    that a batch of events loads those rows with one query per model (DESIGN.md point 7).
    """

    name = models.CharField(max_length=256, unique=True)
    text_template_path = models.CharField(max_length=256, blank=True, default="")
    html_template_path = models.CharField(max_length=256, blank=True, default="")
    text_template = models.TextField(blank=True, default="")
    html_template = models.TextField(blank=True, default="")
    # Renderers hold templates, which are code: deleting the style, source or group they belong
    # to does not take them along silently (docs/models.rst).
    rendering_style = models.ForeignKey(
        RenderingStyle, on_delete=models.PROTECT, related_name="context_renderers"
    )
    context_hints = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    source = models.ForeignKey(
        Source, null=True, blank=True, on_delete=models.PROTECT, related_name="context_renderers"
    )
    source_group = models.ForeignKey(
        SourceGroup, null=True, blank=True, on_delete=models.PROTECT, related_name="context_renderers"
    )

    class Meta:
        ordering = ["name"]
        # Templates, template paths and context hints are code (templates reach whatever their
        # context's rows lead to): editing them takes this permission on top of the change one.
        permissions = [("edit_templates", "Can edit templates and context hints (as powerful as code)")]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(source__isnull=False, source_group__isnull=True)
                    | Q(source__isnull=True, source_group__isnull=False)
                ),
                name="entity_event_contextrenderer_source_xor_group",
                violation_error_message="A context renderer needs exactly one of source and source group.",
            ),
            models.UniqueConstraint(
                fields=["source", "rendering_style"],
                condition=Q(source__isnull=False),
                name="entity_event_contextrenderer_unique_source_style",
                violation_error_message="This source already has a context renderer for this style.",
            ),
            models.UniqueConstraint(
                fields=["source_group", "rendering_style"],
                condition=Q(source_group__isnull=False),
                name="entity_event_contextrenderer_unique_group_style",
                violation_error_message="This source group already has a context renderer for this style.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """Reject a renderer that cannot render: no template at all, not exactly one of source
        and source group, malformed context hints or hints naming a model that is not installed,
        and templates that do not compile (or, for paths, cannot be found)."""
        from django.template import Template, TemplateDoesNotExist, TemplateSyntaxError
        from django.template.loader import get_template

        from entity_event.context_loader import context_hints_problems

        errors: dict[str, list[str]] = {}
        if not any(
            (self.text_template_path, self.html_template_path, self.text_template, self.html_template)
        ):
            errors.setdefault(NON_FIELD_ERRORS, []).append(
                "A context renderer needs at least one template: a text or HTML template path, or an "
                "inline text or HTML template."
            )
        if (self.source_id is None) == (self.source_group_id is None):
            message = "A context renderer needs exactly one of source and source group."
            errors["source"] = [message]
            errors["source_group"] = [message]
        problems = context_hints_problems(self.context_hints)
        if problems:
            errors["context_hints"] = problems
        for name in ("text_template", "html_template"):
            try:
                Template(getattr(self, name))
            except TemplateSyntaxError as error:
                errors[name] = [f"This template does not compile: {error}"]
        for name in ("text_template_path", "html_template_path"):
            if getattr(self, name):
                try:
                    get_template(getattr(self, name))
                except TemplateDoesNotExist:
                    errors[name] = [f"No template {getattr(self, name)!r} was found."]
                except TemplateSyntaxError as error:
                    errors[name] = [f"This template does not compile: {error}"]
        if errors:
            raise ValidationError(errors)
