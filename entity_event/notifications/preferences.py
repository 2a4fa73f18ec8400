"""A person's preferences: every source that reaches them on each medium, and the switches that
turn it off and on again, saved as unsubscriptions.

A source reaches an entity on a medium when one of the medium's subscriptions to it covers the
entity: an individual one of the entity, or a group one over one of its super-entities for its
kind (only-following ones included: they reach the entity for the events of those it follows).
The entity receives it unless it unsubscribed from it there, or always when the source is
required (which cannot be switched off). Reading the preferences costs three queries whatever
the number of sources, groups and mediums; saving them adds one ``DELETE`` and one ``INSERT``,
in one transaction.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import reduce

from django.db import router, transaction
from django.db.models import Q
from django.utils.translation import gettext
from entity.models import Entity

from entity_event.models import Subscription, Unsubscription
from entity_event.routing.following import subset_subscriptions

__all__ = ["Change", "PreferenceError", "SourcePreference", "apply_changes", "preferences_of"]


class PreferenceError(ValueError):
    """A change that cannot be made: an unknown medium, source or group, one that does not reach
    the person, or a required source; the message says which."""


@dataclass(frozen=True)
class SourcePreference:
    """One source on one medium: whether the person receives it, and whether they may choose."""

    medium_id: int
    medium: str
    medium_display_name: str
    group: str
    group_display_name: str
    source_id: int
    source: str
    source_display_name: str
    required: bool
    receiving: bool

    def as_json(self) -> dict[str, object]:
        return {
            "source": self.source,
            "display_name": self.source_display_name,
            "required": self.required,
            "receiving": self.receiving,
        }


@dataclass
class GroupPreferences:
    """The sources of one source group on one medium."""

    group: str
    display_name: str
    sources: list[SourcePreference] = field(default_factory=list)

    @property
    def receiving(self) -> bool | None:
        """``True`` when every source of the group is received, ``False`` when none is, ``None``
        for some."""
        received = {source.receiving for source in self.sources}
        return received.pop() if len(received) == 1 else None

    @property
    def locked(self) -> bool:
        """Every source of the group is required: the group cannot be switched."""
        return all(source.required for source in self.sources)


@dataclass
class MediumPreferences:
    """What reaches the person on one medium, by source group."""

    medium: str
    display_name: str
    groups: list[GroupPreferences] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {
            "medium": self.medium,
            "display_name": self.display_name,
            "groups": [
                {
                    "group": group.group,
                    "display_name": group.display_name,
                    "receiving": group.receiving,
                    "locked": group.locked,
                    "sources": [source.as_json() for source in group.sources],
                }
                for group in self.groups
            ],
        }


def preferences_of(entity: Entity) -> list[MediumPreferences]:
    """Every source that reaches ``entity``, by medium and source group, in name order (two
    queries: the subscriptions that cover it, with their mediums, sources and groups, and its
    unsubscriptions)."""
    rows = (
        subset_subscriptions(Subscription.objects.all(), entity)
        .filter(entity__is_active=True)
        .values_list(
            "medium_id", "medium__name", "medium__display_name", "source__group__name",
            "source__group__display_name", "source_id", "source__name", "source__display_name",
            "source__required",
        )
        .distinct()
        .order_by("medium__name", "source__group__name", "source__name")
    )  # fmt: skip
    unsubscribed = set(
        Unsubscription.objects.filter(entity_id=entity.pk).values_list("medium_id", "source_id")
    )
    mediums: dict[int, MediumPreferences] = {}
    for medium_id, medium, medium_name, group, group_name, source_id, source, source_name, required in rows:
        preference = SourcePreference(
            medium_id, medium, medium_name, group, group_name, source_id, source, source_name, required,
            receiving=required or (medium_id, source_id) not in unsubscribed,
        )  # fmt: skip
        by_medium = mediums.setdefault(medium_id, MediumPreferences(medium, medium_name))
        if not by_medium.groups or by_medium.groups[-1].group != group:
            by_medium.groups.append(GroupPreferences(group, group_name))
        by_medium.groups[-1].sources.append(preference)
    return list(mediums.values())


@dataclass(frozen=True)
class Change:
    """Receive (``receive``) or not a source, or every source of a group, on a medium (by
    names)."""

    medium: str
    receive: bool
    source: str | None = None
    group: str | None = None


def changed_sources(
    preferences: Iterable[MediumPreferences], changes: Iterable[Change]
) -> dict[tuple[int, int], bool]:
    """``{(medium id, source id): receive}`` that ``changes`` ask for; ``PreferenceError`` for a
    change that names what does not reach the person, or asks to turn a required source off (a
    group's change leaves its required sources as they are)."""
    by_name: dict[tuple[str, str], SourcePreference] = {}
    by_group: dict[tuple[str, str], list[SourcePreference]] = {}
    for medium in preferences:
        for group in medium.groups:
            by_group[(medium.medium, group.group)] = group.sources
            for source in group.sources:
                by_name[(medium.medium, source.source)] = source
    wanted: dict[tuple[int, int], bool] = {}
    for change in changes:
        for source in chosen_sources(change, by_name, by_group):
            wanted[(source.medium_id, source.source_id)] = change.receive
    return wanted


def chosen_sources(
    change: Change,
    by_name: Mapping[tuple[str, str], SourcePreference],
    by_group: Mapping[tuple[str, str], list[SourcePreference]],
) -> list[SourcePreference]:
    """The sources ``change`` switches (see ``changed_sources``)."""
    if change.source is None:
        group_sources = by_group.get((change.medium, change.group or ""))
        if group_sources is None:
            raise PreferenceError(
                gettext("The source group %(group)r does not reach you on %(medium)r.")
                % {"group": change.group, "medium": change.medium}
            )
        return [source for source in group_sources if not source.required]
    found = by_name.get((change.medium, change.source))
    if found is None:
        raise PreferenceError(
            gettext("The source %(source)r does not reach you on %(medium)r.")
            % {"source": change.source, "medium": change.medium}
        )
    if found.required and not change.receive:
        raise PreferenceError(required_message(found.source_display_name))
    return [found]


def required_message(source: object) -> str:
    """What a person reads when trying to stop receiving the required ``source``."""
    return gettext("%(source)s is required: nobody can stop receiving it.") % {"source": source}


def apply_changes(entity: Entity, changes: Iterable[Change]) -> list[MediumPreferences]:
    """Make ``changes`` to ``entity``'s preferences, all or none (one transaction: the
    unsubscriptions turned off are deleted, those turned on inserted), and return the
    preferences as they are then."""
    using = router.db_for_write(Unsubscription)
    with transaction.atomic(using=using):
        wanted = changed_sources(preferences_of(entity), changes)
        save(entity, wanted, using)
    return preferences_of(entity)


def save(entity: Entity, wanted: Mapping[tuple[int, int], bool], using: str) -> None:
    """Write ``wanted``: an unsubscription for each source not to receive, none for the others
    (one ``DELETE`` and one ``INSERT`` at most; the ``DELETE`` sends no signal per row, as
    unsubscriptions have no dependants)."""
    resumed = [pair for pair, receive in wanted.items() if receive]
    stopped = [pair for pair, receive in wanted.items() if not receive]
    if resumed:
        pairs = reduce(operator.or_, (Q(medium_id=medium, source_id=source) for medium, source in resumed))
        Unsubscription.objects.using(using).filter(pairs, entity_id=entity.pk)._raw_delete(using)
    if stopped:
        Unsubscription.objects.using(using).bulk_create(
            [
                Unsubscription(entity_id=entity.pk, medium_id=medium, source_id=source)
                for medium, source in stopped
            ],
            ignore_conflicts=True,
        )
