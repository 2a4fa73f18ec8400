"""The admin's answers to "why does (or doesn't) this entity receive this event?" (issue #28).

``EventExplanationAdmin`` is the base of the event admin (``entity_event.admin.events``): it adds

* the **Explain** page (``admin:entity_event_event_explain``): a form of an event and an entity
  (with the admin's autocomplete, when the admin registers ``Entity`` with search fields) and
  optionally a medium; it shows ``Medium.explain`` on that medium or on every medium, with the
  rows that decide;
* on each event's page, **who receives it** on a medium chosen among every medium: the targets
  ``events_targets()`` gives it, a page at a time, each with its reason.

Both are read-only and take the view permission of events and of entities (a superuser has
them): a staff user without them gets HTTP 403 from the page and no recipients on the event's
page. Their queries do not depend on the number of recipients: a page of recipients is
explained at once (``explain_entities``). docs/troubleshooting.rst shows both.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from django import forms
from django.contrib.admin import AdminSite
from django.contrib.admin.widgets import AutocompleteSelect
from django.contrib.auth import get_permission_codename
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from entity.models import Entity

from entity_event.admin.base import EntityEventAdmin
from entity_event.models import Event, EventActor, Medium
from entity_event.routing.audience import own_class, recipient_ids
from entity_event.routing.explain import REASONS, Explanation, explain_entities

#: How many recipients a page of the event's recipients lists (each page explained at once).
RECIPIENTS_PER_PAGE = 50

#: The query parameters of the recipients on the event's page.
MEDIUM_PARAMETER = "recipients_medium"
PAGE_PARAMETER = "recipients_page"

#: An id the autocomplete may look up (the form says what is wrong with anything else).
WELL_FORMED_ID = re.compile(r"[1-9][0-9]{0,17}")


class IdAutocomplete(AutocompleteSelect):
    """The admin's autocomplete, which shows the chosen row by its name: only well-formed ids
    are looked up (Django's widget would pass ``"abc"`` to the database, a server error)."""

    def optgroups(self, name: str, value: Sequence[str], attrs: dict[str, Any] | None = None) -> Any:
        ids = [item for item in value if WELL_FORMED_ID.fullmatch(str(item))]
        return super().optgroups(name, ids, attrs)


def id_widget(site: AdminSite, field: models.ForeignKey[Any, Any]) -> forms.Widget:
    """The admin's autocomplete for the rows ``field`` points at, when the admin lets staff
    search them; a field for the id otherwise."""
    model = field.remote_field.model
    if not site.is_registered(model) or not site.get_model_admin(model).search_fields:
        return forms.NumberInput(attrs={"min": 1})
    return IdAutocomplete(field, site)


class ExplainForm(forms.Form):
    """An event, an entity (any, active or not) and a medium (none for every medium)."""

    def __init__(self, site: AdminSite, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, label, queryset, message in [
            (
                "event",
                _("Event"),
                Event.objects.select_related("source"),
                _("No event has the id %(value)s."),
            ),
            ("entity", _("Entity"), Entity.all_objects.all(), _("No entity has the id %(value)s.")),
        ]:
            self.fields[name] = forms.ModelChoiceField(
                queryset,
                label=label,
                widget=id_widget(site, EventActor._meta.get_field(name)),  # type: ignore[arg-type]
                error_messages={"invalid_choice": message},
            )
        self.fields["medium"] = forms.ModelChoiceField(
            Medium.objects.order_by("name"),
            required=False,
            label=_("Medium"),
            empty_label=_("Every medium"),
            error_messages={"invalid_choice": _("No medium has the id %(value)s.")},
        )

    def mediums(self) -> list[Medium]:
        """The chosen medium, or every medium, each as its own class (its own following rule)."""
        chosen = self.cleaned_data["medium"]
        mediums = Medium.objects.order_by("name")
        return own_class(mediums if chosen is None else mediums.filter(pk=chosen.pk))


def admin_link(site: AdminSite, row: models.Model | None) -> SafeString | str:
    """``row`` as a link to its admin page, or its parent model's (a ``Medium`` subclass is
    edited as a medium), when the admin has one; as text otherwise."""
    if row is None:
        return ""
    for model in [type(row), *row._meta.get_parent_list()]:
        opts = model._meta
        try:
            url = reverse(f"{site.name}:{opts.app_label}_{opts.model_name}_change", args=[row.pk])
        except NoReverseMatch:
            continue
        return format_html('<a href="{}">{}</a>', url, row)
    return str(row)


def explanation_row(site: AdminSite, why: Explanation, heading: SafeString | str) -> dict[str, Any]:
    """What the table of explanations shows of ``why``, under ``heading`` (its medium or entity)."""
    return {
        "heading": heading,
        "delivered": why.delivered,
        "reason": why.reason,
        "description": REASONS[why.reason],
        "sentence": why.describe(),
        "subscription": admin_link(site, why.subscription),
        "group": admin_link(site, why.group),
        "following_path": format_html_join(
            " \N{RIGHTWARDS ARROW} ", "{}", ((admin_link(site, entity),) for entity in why.following_path)
        ),
        "unsubscription": admin_link(site, why.unsubscription),
    }


def recipients(site: AdminSite, request: HttpRequest, event: Event) -> dict[str, Any]:
    """The recipients of ``event`` on the medium the request chooses (the first by name when it
    chooses none, or one that does not exist), a page of them, each with its explanation."""
    mediums = own_class(Medium.objects.order_by("name"))
    chosen = request.GET.get(MEDIUM_PARAMETER, "")
    medium = next((medium for medium in mediums if str(medium.pk) == chosen), None)
    if medium is None and mediums:
        medium = mediums[0]
    context: dict[str, Any] = {
        "mediums": [(item, page_query(item, 1), item == medium) for item in mediums],
        "medium": medium,
    }
    if medium is None:
        return context
    page = Paginator(recipient_ids(medium, event), RECIPIENTS_PER_PAGE).get_page(
        request.GET.get(PAGE_PARAMETER)
    )
    explanations = explain_entities(medium, event, page.object_list)
    return {
        **context,
        "page": page,
        "pages": page_links(medium, page),
        "rows": [explanation_row(site, why, admin_link(site, why.entity)) for why in explanations],
    }


def page_query(medium: Medium, number: int | str) -> str:
    """The query string of a page of the recipients on ``medium``."""
    return "?" + urlencode({MEDIUM_PARAMETER: medium.pk, PAGE_PARAMETER: number})


def page_links(medium: Medium, page: Page[Any]) -> list[tuple[int | str, str | None]]:
    """``(label, query string)`` of each page link, ``None`` for the current page and the gaps."""
    numbers: Iterable[int | str] = page.paginator.get_elided_page_range(page.number, on_each_side=2)
    return [
        (number, None if number in (page.number, page.paginator.ELLIPSIS) else page_query(medium, number))
        for number in numbers
    ]


class EventExplanationAdmin(EntityEventAdmin):
    """The event admin's Explain page, and the recipients on each event's page (see the module)."""

    change_form_template = "admin/entity_event/event/change_form.html"
    change_list_template = "admin/entity_event/event/change_list.html"
    explain_template = "admin/entity_event/event/explain.html"

    def may_explain(self, request: HttpRequest) -> bool:
        """Whether the user may view events and entities (view or change permission of each)."""
        opts = Entity._meta
        return self.has_view_permission(request) and any(
            request.user.has_perm(f"{opts.app_label}.{get_permission_codename(action, opts)}")
            for action in ("view", "change")
        )

    def get_urls(self) -> list[URLPattern]:
        """The admin's URLs and the Explain page's."""
        info = self.opts.app_label, self.opts.model_name
        view = self.admin_site.admin_view(self.explain_view)
        return [path("explain/", view, name="{}_{}_explain".format(*info)), *super().get_urls()]

    def explain_view(self, request: HttpRequest) -> HttpResponse:
        """The Explain page: the form (sent by GET, so that an explanation has an address), and
        the explanations of its event to its entity on its mediums when it is valid."""
        if not self.may_explain(request):
            raise PermissionDenied
        form = ExplainForm(self.admin_site, request.GET or None)
        rows = None
        if form.is_valid():
            event, entity = form.cleaned_data["event"], form.cleaned_data["entity"]
            rows = [
                explanation_row(
                    self.admin_site, medium.explain(event, entity), admin_link(self.admin_site, medium)
                )
                for medium in form.mediums()
            ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Explain a delivery"),
            "form": form,
            "media": self.media + form.media,
            "rows": rows,
        }
        return TemplateResponse(request, self.explain_template, context)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """The event list, with a link to the Explain page for those who may open it."""
        return super().changelist_view(
            request, {**(extra_context or {}), "can_explain": self.may_explain(request)}
        )

    def render_change_form(
        self, request: HttpRequest, context: dict[str, Any], add: bool = False, change: bool = False,
        form_url: str = "", obj: Event | None = None,
    ) -> HttpResponse:  # fmt: skip
        """The event's page, with its recipients (and the Explain link) for those who may see them."""
        context["can_explain"] = obj is not None and self.may_explain(request)
        if context["can_explain"]:
            context["recipients"] = recipients(self.admin_site, request, obj)  # type: ignore[arg-type]
        return super().render_change_form(request, context, add, change, form_url, obj)
