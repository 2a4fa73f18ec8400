"""One-click unsubscribe (RFC 8058, RFC 2369): the signed link of an email, and its page.

Every email of a source that is not required carries ``List-Unsubscribe: <URL>`` and
``List-Unsubscribe-Post: List-Unsubscribe=One-Click``, and a visible link to the same URL. The
URL holds a token signed with the site's ``SECRET_KEY`` for (recipient, medium, sources): a
mailbox provider ``POST``\\ s ``List-Unsubscribe=One-Click`` to it, with no session and no CSRF
token (what the RFC asks), and the recipient is unsubscribed; a ``GET`` (a person following the
link) shows a page with a button that does the same, and a link to the preference center, and
changes nothing. A tampered or foreign token is a 400 and changes nothing; so is a token of a
required source, which no email carries.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core import signing
from django.db import router, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.csrf import csrf_exempt
from entity.models import Entity

from entity_event.conf import app_settings
from entity_event.models import Medium, Source, Unsubscription
from entity_event.notifications.preferences import required_message
from entity_event.rendering.locales import activated, locale_of

__all__ = ["ONE_CLICK", "unsubscribe_token", "unsubscribe_url", "unsubscribe"]

#: The body of the one-click ``POST`` (RFC 8058), and the value of ``List-Unsubscribe-Post``.
ONE_CLICK = "List-Unsubscribe=One-Click"

#: What the tokens are signed for: a token of this link is nothing else's.
SALT = "entity_event.unsubscribe"


@dataclass(frozen=True)
class Unsubscribing:
    """What a valid token stands for."""

    entity: Entity
    medium: Medium
    sources: list[Source]


class InvalidToken(Exception):
    """A token this site did not sign for this link, or that names what no longer exists."""


def unsubscribe_token(entity_id: int, medium_id: int, source_ids: list[int]) -> str:
    """The signed token of unsubscribing ``entity_id`` from ``source_ids`` on ``medium_id``."""
    return signing.dumps({"e": entity_id, "m": medium_id, "s": sorted(set(source_ids))}, salt=SALT)


def unsubscribe_url(entity_id: int, medium_id: int, source_ids: list[int]) -> str:
    """The absolute URL of that link, under ``ENTITY_EVENT_BASE_URL``."""
    path = reverse("entity_event:unsubscribe", args=[unsubscribe_token(entity_id, medium_id, source_ids)])
    return f"{app_settings.BASE_URL}{path}"


def read_token(token: str) -> Unsubscribing:
    """What ``token`` stands for; ``InvalidToken`` for anything this site did not sign here, or
    that names an entity, medium or source that no longer exists."""
    try:
        payload = signing.loads(token, salt=SALT)
        entity_id, medium_id, source_ids = payload["e"], payload["m"], payload["s"]
    except (signing.BadSignature, KeyError, TypeError, ValueError) as error:
        raise InvalidToken(gettext("This unsubscribe link is not valid.")) from error
    entity = Entity.all_objects.filter(pk=entity_id).first()
    medium = Medium.objects.filter(pk=medium_id).first()
    sources = list(Source.objects.filter(pk__in=source_ids)) if isinstance(source_ids, list) else []
    if entity is None or medium is None or not sources or len(sources) != len(source_ids):
        raise InvalidToken(gettext("This unsubscribe link is no longer valid."))
    return Unsubscribing(entity, medium, sources)


@csrf_exempt
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """The page of an unsubscribe link: a confirmation on ``GET``, the unsubscription on a
    ``POST`` of ``List-Unsubscribe=One-Click`` (see the module docstring)."""
    template = "entity_event/notifications/unsubscribe.html"
    try:
        unsubscribing = read_token(token)
    except InvalidToken as error:
        return render(request, template, {"error": str(error)}, status=400)
    # The person who follows the link reads the page in the language their messages are in.
    with activated(locale_of(unsubscribing.entity)):
        return unsubscribe_page(request, template, unsubscribing)


def unsubscribe_page(request: HttpRequest, template: str, unsubscribing: Unsubscribing) -> HttpResponse:
    """The answer to a valid token (see ``unsubscribe``)."""
    context = {
        "unsubscribing": unsubscribing,
        "source_names": ", ".join(f"“{source}”" for source in unsubscribing.sources),
        "preferences_url": reverse("entity_event:preferences"),
    }
    required = [source for source in unsubscribing.sources if source.required]
    if required:
        return render(request, template, {**context, "error": required_message(required[0])}, status=400)
    if request.method == "GET":
        return render(request, template, {**context, "one_click": ONE_CLICK})
    if request.method != "POST" or request.POST.get("List-Unsubscribe") != "One-Click":
        return render(
            request,
            template,
            {**context, "error": gettext("Send %(body)s to unsubscribe.") % {"body": ONE_CLICK}},
            status=400,
        )
    with transaction.atomic(using=router.db_for_write(Unsubscription)):
        Unsubscription.objects.bulk_create(
            [
                Unsubscription(entity=unsubscribing.entity, medium=unsubscribing.medium, source=source)
                for source in unsubscribing.sources
            ],
            ignore_conflicts=True,
        )
    return render(request, template, {**context, "done": True})
