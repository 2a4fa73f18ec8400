"""Each recipient's language and time zone: what each message to them is rendered in.

A recipient's ``entity_meta`` names them (``ENTITY_EVENT_LANGUAGE_KEY``, ``"language"`` by
default: a code of the site's ``LANGUAGES``, its closest variant taken; and
``ENTITY_EVENT_TIME_ZONE_KEY``, ``"time_zone"``: an IANA name); anything else falls back to the
site's ``LANGUAGE_CODE`` and ``TIME_ZONE``. A chunk renders each event once per (language, time
zone) among its recipients, not once per recipient.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.utils import timezone, translation

from entity_event.conf import app_settings

__all__ = ["Locale", "activated", "locale_of"]

#: A (language code, time zone name) pair.
Locale = tuple[str, str]


def locale_of(target: Any) -> Locale:
    """The language and time zone ``target`` (a ``Recipient`` or an ``Entity``) reads in."""
    meta = target.entity_meta if isinstance(target.entity_meta, dict) else {}
    return language_of(meta.get(app_settings.LANGUAGE_KEY)), zone_of(meta.get(app_settings.TIME_ZONE_KEY))


def language_of(value: object) -> str:
    """The site's language closest to ``value``, or the site's own."""
    if isinstance(value, str) and value:
        try:
            return str(translation.get_supported_language_variant(value))
        except LookupError:
            pass
    return str(settings.LANGUAGE_CODE)


def zone_of(value: object) -> str:
    """``value`` when it names a time zone, else the site's."""
    if isinstance(value, str) and value:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            pass
        else:
            return value
    return str(settings.TIME_ZONE)


@contextmanager
def activated(locale: Locale) -> Iterator[None]:
    """Within the block, ``locale``'s language and time zone are the active ones."""
    language, zone = locale
    with translation.override(language), timezone.override(zoneinfo.ZoneInfo(zone)):
        yield
