"""The settings entity_event reads, with their defaults and their checks, in one place.

``app_settings`` reads each setting when asked (so that ``override_settings`` in tests and
settings changed after start-up are honoured), checks its value, and raises
``ImproperlyConfigured`` naming the setting when the value is of the wrong kind. ``SETTINGS``
lists them, each with the id of the system check that reports it (``manage.py check``; one id
per setting, so that silencing one silences no other).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

__all__ = ["AppSettings", "SETTINGS", "Setting", "app_settings"]

T = TypeVar("T")


def is_name(value: object) -> bool:
    return isinstance(value, str) and bool(value)


def is_optional_name(value: object) -> bool:
    return value is None or is_name(value)


def is_positive_integer(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def is_model_labels(value: object) -> bool:
    return value is None or (
        isinstance(value, (list, tuple, set, frozenset))
        and all(isinstance(label, str) and label.count(".") == 1 and all(label.split(".")) for label in value)
    )


def is_dotted_path(value: object) -> bool:
    return isinstance(value, str) and "." in value.strip(".")


def is_domain(value: object) -> bool:
    return value is None or (
        is_name(value) and not any(character in str(value) for character in "<>@ \t\r\n")
    )


def is_seconds(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < float("inf")


def is_flag(value: object) -> bool:
    return isinstance(value, bool)


def is_base_url(value: object) -> bool:
    if value is None:
        return True
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and not (parts.query or parts.fragment)


@dataclass(frozen=True)
class Setting:
    """A setting: its name in the project's settings, its default, what its value must be (a
    test and the words of the error), and the id of the system check that reports a bad one."""

    name: str
    default: Any
    valid: Callable[[object], bool]
    expected: str
    check_id: str

    def read(self) -> Any:
        """The project's value, or the default; ``ImproperlyConfigured`` for a bad one."""
        value = getattr(settings, self.name, self.default)
        if not self.valid(value):
            raise ImproperlyConfigured(f"{self.name} must be {self.expected}, got {value!r}")
        return value


#: Every setting, by the name ``app_settings`` gives it. The check ``entity_event.E001`` (the
#: default rendering style exists) is a database check of its own (``entity_event.checks``).
SETTINGS = {
    "DEFAULT_RENDERING_STYLE": Setting(
        "DEFAULT_ENTITY_EVENT_RENDERING_STYLE",
        None,
        is_optional_name,
        "the name of a RenderingStyle (a non-empty string) or None",
        "entity_event.E002",
    ),
    "CONTEXT_HINT_MODELS": Setting(
        "ENTITY_EVENT_CONTEXT_HINT_MODELS",
        None,
        is_model_labels,
        'None or a list of "app_label.ModelName" strings',
        "entity_event.E003",
    ),
    "MAX_RENDERED_LENGTH": Setting(
        "ENTITY_EVENT_MAX_RENDERED_LENGTH",
        1_000_000,
        is_positive_integer,
        "a positive integer",
        "entity_event.E004",
    ),
    "EMAIL_ADDRESS_KEY": Setting(
        "ENTITY_EVENT_EMAIL_ADDRESS_KEY", "email", is_name, "a non-empty string", "entity_event.E005"
    ),
    "MESSAGE_ID_DOMAIN": Setting(
        "ENTITY_EVENT_MESSAGE_ID_DOMAIN", None, is_domain, "a domain name", "entity_event.E006"
    ),
    "NOTIFICATION_MEDIUM": Setting(
        "ENTITY_EVENT_NOTIFICATION_MEDIUM",
        "notifications",
        is_name,
        "the name of a Medium (a non-empty string)",
        "entity_event.E007",
    ),
    "ENTITY_FOR_USER": Setting(
        "ENTITY_EVENT_ENTITY_FOR_USER",
        "entity_event.notifications.center.default_entity_for_user",
        is_dotted_path,
        "the dotted path of a function",
        "entity_event.E008",
    ),
    "LIVE_UPDATES": Setting("ENTITY_EVENT_LIVE_UPDATES", True, is_flag, "True or False", "entity_event.E009"),
    "BASE_URL": Setting(
        "ENTITY_EVENT_BASE_URL",
        None,
        is_base_url,
        'the absolute URL of the site, such as "https://www.example.com", or None',
        "entity_event.E011",
    ),
    "LANGUAGE_KEY": Setting(
        "ENTITY_EVENT_LANGUAGE_KEY", "language", is_name, "a non-empty string", "entity_event.E012"
    ),
    "TIME_ZONE_KEY": Setting(
        "ENTITY_EVENT_TIME_ZONE_KEY", "time_zone", is_name, "a non-empty string", "entity_event.E013"
    ),
    "POLL_SECONDS": Setting(
        "ENTITY_EVENT_POLL_SECONDS",
        15,
        is_positive_integer,
        "a positive number of seconds",
        "entity_event.E010",
    ),
    "PRIMARY_DATABASE": Setting(
        "ENTITY_EVENT_PRIMARY_DATABASE",
        "default",
        is_name,
        "the alias of a database of DATABASES",
        "entity_event.E014",
    ),
    "REPLICA_DATABASE": Setting(
        "ENTITY_EVENT_REPLICA_DATABASE",
        "replica",
        is_name,
        "the alias of a database of DATABASES",
        "entity_event.E015",
    ),
    "READ_YOUR_WRITES_SECONDS": Setting(
        "ENTITY_EVENT_READ_YOUR_WRITES_SECONDS",
        5,
        is_seconds,
        "a number of seconds, 0 or more",
        "entity_event.E016",
    ),
    "REPLICA_RETRY_SECONDS": Setting(
        "ENTITY_EVENT_REPLICA_RETRY_SECONDS",
        30,
        is_seconds,
        "a number of seconds, 0 or more",
        "entity_event.E017",
    ),
}


class Read(Generic[T]):
    """An attribute of ``AppSettings`` that reads a setting of ``SETTINGS``, checked, each time
    it is read."""

    def __init__(self, key: str) -> None:
        self.setting = SETTINGS[key]

    def __get__(self, instance: object, owner: type | None = None) -> T:
        value: T = self.setting.read()
        return value


class AppSettings:
    """entity_event's settings, typed, read when asked (see the module docstring)."""

    #: The name of the rendering style whose context renderers are used when a medium's own
    #: style has none for an event (the 0.7 setting ``DEFAULT_ENTITY_EVENT_RENDERING_STYLE``);
    #: ``None`` for no fallback. Whether a style of that name exists is a database question,
    #: answered at render time and by the check ``entity_event.E001``.
    DEFAULT_RENDERING_STYLE = Read[str | None]("DEFAULT_RENDERING_STYLE")
    #: The longest text or HTML output one rendering may produce, in characters; a longer one is
    #: an error, so that a template looping out of control cannot fill an email or a page.
    MAX_RENDERED_LENGTH = Read[int]("MAX_RENDERED_LENGTH")
    #: The ``Entity.entity_meta`` key that holds a target's email address.
    EMAIL_ADDRESS_KEY = Read[str]("EMAIL_ADDRESS_KEY")
    #: The name of the notification center's medium (its views, JSON API, template tags and live
    #: updates).
    NOTIFICATION_MEDIUM = Read[str]("NOTIFICATION_MEDIUM")
    #: The dotted path of the function that gives a user's entity.
    ENTITY_FOR_USER = Read[str]("ENTITY_FOR_USER")
    #: The ``Entity.entity_meta`` keys of a recipient's language (a code of ``LANGUAGES``) and
    #: time zone (an IANA name), which each message to them is rendered in.
    LANGUAGE_KEY = Read[str]("LANGUAGE_KEY")
    TIME_ZONE_KEY = Read[str]("TIME_ZONE_KEY")
    #: Seconds between two checks of a page that cannot use live updates.
    POLL_SECONDS = Read[int]("POLL_SECONDS")
    #: The databases of ``entity_event.db.replicas.ReplicaRouter``: the primary, and the hot
    #: standby the app's reads go to.
    PRIMARY_DATABASE = Read[str]("PRIMARY_DATABASE")
    REPLICA_DATABASE = Read[str]("REPLICA_DATABASE")
    #: How long after a write its writer's reads stay on the primary, in seconds.
    READ_YOUR_WRITES_SECONDS = Read[float]("READ_YOUR_WRITES_SECONDS")
    #: How long the replica is left alone after it could not be reached, in seconds.
    REPLICA_RETRY_SECONDS = Read[float]("REPLICA_RETRY_SECONDS")

    @property
    def CONTEXT_HINT_MODELS(self) -> frozenset[str] | None:
        """The lowercased labels (``"testapp.account"``) of the models context hints may name,
        or ``None`` when the setting is unset (every model allowed): templates can read whatever
        is reachable from the rows their hints load, and listing the models a site's renderers
        need limits where they can start."""
        labels = SETTINGS["CONTEXT_HINT_MODELS"].read()
        return None if labels is None else frozenset(label.lower() for label in labels)

    @property
    def MESSAGE_ID_DOMAIN(self) -> str:
        """The domain of the ``Message-ID`` of delivered emails: the setting, else the domain of
        ``DEFAULT_FROM_EMAIL``. It must be the same for every worker, so that the header, built
        from the event and the target, identifies a message whichever worker sent it."""
        domain: str | None = SETTINGS["MESSAGE_ID_DOMAIN"].read()
        if domain is None:
            domain = str(settings.DEFAULT_FROM_EMAIL).rpartition("@")[2].rstrip(">") or "localhost"
        return domain

    @property
    def BASE_URL(self) -> str:
        """The absolute URL of the site, without a trailing slash, that the links of emails
        start with (one-click unsubscribe, the preference center); ``ImproperlyConfigured`` when
        it is not set, since an email of a source that is not required must carry such a link."""
        url: str | None = SETTINGS["BASE_URL"].read()
        if url is None:
            raise ImproperlyConfigured(
                "ENTITY_EVENT_BASE_URL is not set: emails need it for their unsubscribe link "
                '(set it to the absolute URL of the site, such as "https://www.example.com")'
            )
        return url.rstrip("/")

    @property
    def LIVE_UPDATES(self) -> bool:
        """Whether the notification center pushes new events to open pages: django-eventstream is
        installed and ``ENTITY_EVENT_LIVE_UPDATES`` is not ``False``."""
        wanted: bool = SETTINGS["LIVE_UPDATES"].read()
        return wanted and apps.is_installed("django_eventstream")


app_settings = AppSettings()
