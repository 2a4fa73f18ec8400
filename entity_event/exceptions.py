"""Exceptions entity_event raises for misuse that Django has no exception class for."""

from __future__ import annotations

__all__ = [
    "ContextNotLoadedError",
    "NoContextRendererError",
    "RenderedOutputTooLongError",
    "RenderingWriteError",
]


class ContextNotLoadedError(RuntimeError):
    """An event was rendered or serialised for a medium without loading its context first.

    Load contexts and renderers for the medium with ``Medium.render(events)`` or
    ``Event.objects.filter(...).load_contexts_and_renderers(medium)`` before calling
    ``Event.render(medium)`` or ``Event.get_serialized_context(medium)``. It subclasses
    ``RuntimeError``, what 0.7 raised, so code that catches that keeps working (see
    docs/differences.rst).
    """


class NoContextRendererError(RuntimeError):
    """An event was rendered on a medium for which no context renderer matches it.

    ``Medium.render`` leaves such events out of its result; ``Event.render`` raises this error.
    """


class RenderingWriteError(RuntimeError):
    """A template, or code it called, tried to change the database while events were rendered.

    Rendering never writes: every statement but a plain ``SELECT`` (and the savepoints of nested
    transactions) is refused before it reaches the database, whatever the template called
    (see ``entity_event.db.read_only``). ``Medium.render`` leaves the event out and logs this error.
    """


class RenderedOutputTooLongError(ValueError):
    """A template produced more characters than ``ENTITY_EVENT_MAX_RENDERED_LENGTH`` allows.

    ``Medium.render`` leaves the event out and logs the error; ``Event.render`` raises it.
    """
