"""``manage.py explain_entity_event EVENT_ID ENTITY_ID [--medium NAME] [--json]``: why an entity
receives an event, or why not, from the shell (docs/troubleshooting.rst).

It prints ``Medium.explain`` on the medium named ``--medium``, or on every medium (by name):
whether the event is delivered, the reason code and its sentence, and the rows that decide (the
subscription, the group, the following path from the actor to the entity, the unsubscription),
each with its id. ``--json`` prints the same as a JSON list, one object per medium, the rows by
id. Each medium is its own class, so that a medium that overrides the following rule is
explained by its rule. An event, an entity or a medium that does not exist, and an id that is not
a database id, are a ``CommandError`` that says which.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import models

from entity_event.models import Medium
from entity_event.routing.audience import medium_named, own_class
from entity_event.routing.explain import REASONS, Explanation


class Command(BaseCommand):
    """``manage.py explain_entity_event`` (see the module docstring)."""

    help = (
        "Say why an entity receives an event, or why not: on the medium named --medium, or on every "
        "medium, with the reason and the subscription, group, following path and unsubscription that decide."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        """``EVENT_ID``, ``ENTITY_ID``, ``--medium NAME``, ``--json``."""
        parser.add_argument("event_id", type=int, metavar="EVENT_ID", help="the id of the event")
        parser.add_argument("entity_id", type=int, metavar="ENTITY_ID", help="the id of the entity")
        parser.add_argument("--medium", metavar="NAME", help="the name of the medium (default: every medium)")
        parser.add_argument(
            "--json", dest="in_json", action="store_true", help="print a JSON list, one object per medium"
        )

    def handle(
        self, *args: Any, event_id: int, entity_id: int, medium: str | None, in_json: bool, **options: Any
    ) -> None:
        """Explain the event to the entity on the mediums, and print the explanations."""
        mediums = self.mediums(medium)
        try:
            explanations = [each.explain(event_id, entity_id) for each in mediums]
        except (TypeError, ValueError) as error:
            # "explain(): event: no Event with id 7" and the like: the argument and what is wrong.
            raise CommandError(str(error).removeprefix("explain(): ")) from error
        if in_json:
            self.stdout.write(as_json(explanations))
        else:
            self.stdout.write("\n".join(as_text(why) for why in explanations))

    @staticmethod
    def mediums(name: str | None) -> list[Medium]:
        """The medium named ``name``, or every medium by name; a ``CommandError`` when none is."""
        if name is not None:
            found = medium_named(name)
            if found is None:
                known = ", ".join(Medium.objects.order_by("name").values_list("name", flat=True)) or "none"
                raise CommandError(f"--medium: no medium is named {name!r} (the mediums: {known}).")
            return [found]
        mediums = own_class(Medium.objects.order_by("name"))
        if not mediums:
            raise CommandError("There is no medium to explain the event on.")
        return mediums


def labelled(row: models.Model | None) -> str:
    """``#id row`` (its ``str()``), or ``-``."""
    return "-" if row is None else f"#{row.pk} {row}"


def as_text(why: Explanation) -> str:
    """The explanation on one medium, as lines: the verdict, the sentence, the deciding rows."""
    verdict = "delivered" if why.delivered else "not delivered"
    path = " -> ".join(labelled(entity) for entity in why.following_path) or "-"
    return "\n".join(
        [
            f"{why.medium.name}: {verdict} ({why.reason}: {REASONS[why.reason]})",
            f"  {why.describe()}",
            f"  subscription:   {labelled(why.subscription)}",
            f"  group:          {labelled(why.group)}",
            f"  following path: {path}",
            f"  unsubscription: {labelled(why.unsubscription)}",
        ]
    )


def as_json(explanations: list[Explanation]) -> str:
    """The explanations as a JSON list: one object per medium, the rows by id."""

    def pk(row: models.Model | None) -> Any:
        return None if row is None else row.pk

    return json.dumps(
        [
            {
                "medium": why.medium.name,
                "event": why.event.pk,
                "entity": why.entity.pk,
                "delivered": why.delivered,
                "reason": why.reason,
                "description": str(REASONS[why.reason]),
                "sentence": why.describe(),
                "subscription": pk(why.subscription),
                "group": pk(why.group),
                "following_path": [entity.pk for entity in why.following_path],
                "unsubscription": pk(why.unsubscription),
            }
            for why in explanations
        ],
        indent=2,
    )
