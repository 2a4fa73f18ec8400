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


#: Name of the setting that lists the models context hints may name (``"app_label.ModelName"``).
#: ``None`` (the default) allows every installed model.
CONTEXT_HINT_MODELS_SETTING = "ENTITY_EVENT_CONTEXT_HINT_MODELS"

#: Name of the setting that caps the length of one rendered text or HTML output, in characters.
MAX_RENDERED_LENGTH_SETTING = "ENTITY_EVENT_MAX_RENDERED_LENGTH"
DEFAULT_MAX_RENDERED_LENGTH = 1_000_000


def context_hint_models() -> frozenset[str] | None:
    """The lowercased labels (``"testapp.account"``) of the models context hints may name, or
    ``None`` when the setting is unset (every model allowed).

    Templates can read whatever is reachable from the rows their hints load; listing the models
    a site's renderers need limits where they can start. Raises ``ImproperlyConfigured`` when the
    setting is not ``None`` or a list of ``"app_label.ModelName"`` strings (system check
    ``entity_event.E003``).
    """
    value = getattr(settings, CONTEXT_HINT_MODELS_SETTING, None)
    if value is None:
        return None
    if not isinstance(value, (list, tuple, set, frozenset)) or not all(
        isinstance(label, str) and label.count(".") == 1 and all(label.split(".")) for label in value
    ):
        raise ImproperlyConfigured(
            f'{CONTEXT_HINT_MODELS_SETTING} must be None or a list of "app_label.ModelName" strings, '
            f"got {value!r}"
        )
    return frozenset(label.lower() for label in value)


def max_rendered_length() -> int:
    """The longest text or HTML output one rendering may produce, in characters (default
    1,000,000); a longer one is an error, so that a template looping out of control cannot fill
    an email or a page. Raises ``ImproperlyConfigured`` for anything but a positive integer
    (system check ``entity_event.E004``)."""
    value = getattr(settings, MAX_RENDERED_LENGTH_SETTING, DEFAULT_MAX_RENDERED_LENGTH)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ImproperlyConfigured(f"{MAX_RENDERED_LENGTH_SETTING} must be a positive integer, got {value!r}")
    return value


#: Name of the setting that names the key of ``Entity.entity_meta`` holding a target's email
#: address, for the email handler of the delivery command (default ``"email"``).
EMAIL_ADDRESS_KEY_SETTING = "ENTITY_EVENT_EMAIL_ADDRESS_KEY"

#: Name of the setting that names the domain of the ``Message-ID`` of delivered emails.
MESSAGE_ID_DOMAIN_SETTING = "ENTITY_EVENT_MESSAGE_ID_DOMAIN"


def email_address_key() -> str:
    """The ``entity_meta`` key that holds a target's email address (``"email"`` by default);
    ``ImproperlyConfigured`` for anything but a non-empty string (system check E005)."""
    value = getattr(settings, EMAIL_ADDRESS_KEY_SETTING, "email")
    if not isinstance(value, str) or not value:
        raise ImproperlyConfigured(f"{EMAIL_ADDRESS_KEY_SETTING} must be a non-empty string, got {value!r}")
    return value


def message_id_domain() -> str:
    """The domain of the ``Message-ID`` headers of delivered emails: the setting, else the domain of
    ``DEFAULT_FROM_EMAIL``. It must be the same for every worker, so that the header, built from
    the event and the target, identifies a message whichever worker sent it (system check E005)."""
    value = getattr(settings, MESSAGE_ID_DOMAIN_SETTING, None)
    if value is None:
        value = str(settings.DEFAULT_FROM_EMAIL).rpartition("@")[2].rstrip(">") or "localhost"
    if not isinstance(value, str) or not value or any(character in value for character in "<>@ \t\r\n"):
        raise ImproperlyConfigured(f"{MESSAGE_ID_DOMAIN_SETTING} must be a domain name, got {value!r}")
    return value


#: Name of the setting that names the medium of the notification center (its views, JSON API,
#: template tags and live updates); default ``"notifications"``.
NOTIFICATION_MEDIUM_SETTING = "ENTITY_EVENT_NOTIFICATION_MEDIUM"

#: Name of the setting that names the function from a user to their entity (a dotted path);
#: default ``entity_event.notification_center.default_entity_for_user``.
ENTITY_FOR_USER_SETTING = "ENTITY_EVENT_ENTITY_FOR_USER"
DEFAULT_ENTITY_FOR_USER = "entity_event.notification_center.default_entity_for_user"

#: Name of the setting that turns the live updates of the notification center off (``False``);
#: they are on when django-eventstream is installed.
LIVE_UPDATES_SETTING = "ENTITY_EVENT_LIVE_UPDATES"


def notification_medium_name() -> str:
    """The name of the notification center's medium (``"notifications"`` by default);
    ``ImproperlyConfigured`` for anything but a non-empty string (system check E006)."""
    value = getattr(settings, NOTIFICATION_MEDIUM_SETTING, "notifications")
    if not isinstance(value, str) or not value:
        raise ImproperlyConfigured(
            f"{NOTIFICATION_MEDIUM_SETTING} must be the name of a Medium (a non-empty string), got {value!r}"
        )
    return value


def entity_for_user_path() -> str:
    """The dotted path of the function that gives a user's entity; ``ImproperlyConfigured`` for
    anything but a dotted path (system check E006)."""
    value = getattr(settings, ENTITY_FOR_USER_SETTING, DEFAULT_ENTITY_FOR_USER)
    if not isinstance(value, str) or "." not in value.strip("."):
        raise ImproperlyConfigured(
            f"{ENTITY_FOR_USER_SETTING} must be the dotted path of a function, got {value!r}"
        )
    return value


#: Name of the setting that says how often, in seconds, a page checks for new notifications when
#: live updates are off or their stream is down (default 15).
POLL_SECONDS_SETTING = "ENTITY_EVENT_POLL_SECONDS"


def poll_seconds() -> int:
    """Seconds between two checks of a page that cannot use live updates (default 15);
    ``ImproperlyConfigured`` for anything but a positive integer (system check E006)."""
    value = getattr(settings, POLL_SECONDS_SETTING, 15)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ImproperlyConfigured(
            f"{POLL_SECONDS_SETTING} must be a positive number of seconds, got {value!r}"
        )
    return value


def live_updates_enabled() -> bool:
    """Whether the notification center pushes new events to open pages: django-eventstream is
    installed and ``ENTITY_EVENT_LIVE_UPDATES`` is not ``False``."""
    from django.apps import apps

    value = getattr(settings, LIVE_UPDATES_SETTING, True)
    if not isinstance(value, bool):
        raise ImproperlyConfigured(f"{LIVE_UPDATES_SETTING} must be True or False, got {value!r}")
    return value and apps.is_installed("django_eventstream")
