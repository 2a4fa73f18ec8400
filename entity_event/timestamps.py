"""Time helpers shared by the models: the "never expires" instant.

The 0.7 release used ``datetime.max`` for events that never expire, which
overflows as soon as Django converts it between time zones (``USE_TZ = True``). We use the first
instant of the year 9000 instead: far beyond any real expiry, and far enough from the end of the
calendar that converting it to any time zone cannot overflow, on every database.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.conf import settings

__all__ = ["NEVER_EXPIRES_UTC", "never_expires"]

NEVER_EXPIRES_UTC = datetime(9000, 1, 1, tzinfo=UTC)


def never_expires() -> datetime:
    """Return the "never expires" instant, aware when ``USE_TZ`` is on and naive otherwise."""
    if settings.USE_TZ:
        return NEVER_EXPIRES_UTC
    return NEVER_EXPIRES_UTC.replace(tzinfo=None)
