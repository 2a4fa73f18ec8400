"""The settings entity_event reads, with their defaults, in one place.

Read the settings through these functions (not at import time) so that ``override_settings`` in
tests and settings changed after start-up are honoured.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

#: Name of the setting that names the rendering style used when a medium's own style has no
#: context renderer for an event (the 0.7 name). ``None`` (the default) means no fallback.
DEFAULT_RENDERING_STYLE_SETTING = "DEFAULT_ENTITY_EVENT_RENDERING_STYLE"


def default_rendering_style_name() -> str | None:
    """Return the name of the default rendering style, or ``None`` when the setting is unset.

    Raises ``ImproperlyConfigured`` when the setting is neither a non-empty string nor ``None``.
    Whether a style of that name exists is a database question, answered at render time and by the
    system check ``entity_event.E001``.
    """
    value = getattr(settings, DEFAULT_RENDERING_STYLE_SETTING, None)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ImproperlyConfigured(
            f"{DEFAULT_RENDERING_STYLE_SETTING} must be the name of a RenderingStyle (a non-empty "
            f"string) or None, got {value!r}"
        )
    return value
