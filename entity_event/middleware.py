"""``ReadYourWritesMiddleware``: a person who just wrote reads from the primary for a few seconds.

With ``entity_event.db.replicas.ReplicaRouter``, a write to one of the app's models sends the
rest of its request's reads to the primary. This middleware carries that over to the person's
next requests: a response whose request wrote sets a cookie saying until when
(``ENTITY_EVENT_READ_YOUR_WRITES_SECONDS`` from the write), and a request that brings it back
reads from the primary until then. The page that follows "mark all read" (a redirect, a fetch
of the unread count) so shows the write, however far the standby is behind. Put it anywhere in
``MIDDLEWARE``; it costs no query.

The cookie only decides which database serves its bearer's reads (a forged one can at most
send them to the primary for a few seconds), so it is not signed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase

from entity_event.conf import app_settings
from entity_event.db.replicas import ReadPin

__all__ = ["COOKIE_NAME", "ReadYourWritesMiddleware"]

#: The cookie that holds until when (seconds since the epoch) its bearer reads from the primary.
COOKIE_NAME = "entity_event_primary_until"

Handler = Callable[[HttpRequest], HttpResponseBase]
AsyncHandler = Callable[[HttpRequest], Awaitable[HttpResponseBase]]


class ReadYourWritesMiddleware:
    """See the module docstring."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Handler | AsyncHandler) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        if self.is_async:
            return self.__acall__(request)
        pin = ReadPin(pinned_until(request))
        try:
            response = self.get_response(request)
        finally:
            written = pin.release()
        return remember(request, response, pin.until, written)  # type: ignore[arg-type]

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        pin = ReadPin(pinned_until(request))
        try:
            response = await self.get_response(request)  # type: ignore[misc]
        finally:
            written = pin.release()
        return remember(request, response, pin.until, written)


def pinned_until(request: HttpRequest) -> float:
    """Until when the request's cookie pins its reads, at most the setting's seconds from now
    (0 without a valid cookie)."""
    try:
        until = float(request.COOKIES.get(COOKIE_NAME, ""))
    except ValueError:
        return 0.0
    if not math.isfinite(until):
        return 0.0
    return min(until, time.time() + app_settings.READ_YOUR_WRITES_SECONDS)


def remember(
    request: HttpRequest, response: HttpResponseBase, pinned: float, written: float
) -> HttpResponseBase:
    """Give the response the cookie when its request wrote (its pin moved on)."""
    if written > pinned:
        response.set_cookie(
            COOKIE_NAME,
            f"{written:.3f}",
            max_age=max(1, math.ceil(written - time.time())),
            secure=request.is_secure(),
            httponly=True,
            samesite="Lax",
        )
    return response
