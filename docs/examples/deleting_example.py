"""The deletion example of docs/models.rst, run by tests/project/test_docs_examples.py."""

from __future__ import annotations

from entity_event.models import ContextRenderer, Event, Source


def delete_source_with_its_events(name: str) -> None:
    source = Source.objects.get(name=name)
    Event.objects.filter(source=source).delete()  # with their actors and seen records
    ContextRenderer.objects.filter(source=source).delete()  # its templates, if they may go too
    source.delete()  # with its subscriptions and unsubscriptions
