"""The admin of rendering: rendering styles and context renderers, with the preview.

The templates and hints of context renderers are code (docs/security.rst): adding or changing a
context renderer takes the ``entity_event.edit_templates`` permission on top of Django's;
without it the renderer is read-only. A user who holds it previews the form's renderer (saved
or not) on the latest events of its source with a button under the form: an explicit POST,
never a plain page view, rendered in the read-only scope of ``Medium.render``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from entity_event.admin.base import EntityEventAdmin
from entity_event.models import ContextRenderer, RenderingStyle
from entity_event.rendering.preview import RendererPreview, preview_renderer

#: How many recent events the context renderer preview renders.
PREVIEW_EVENTS = 5
PREVIEW_OUTPUT_CELLS = "<td><pre>{}</pre></td><td><pre>{}</pre></td>"

#: The permission that editing (and previewing) templates and context hints takes.
EDIT_TEMPLATES_PERMISSION = "entity_event.edit_templates"


@admin.register(RenderingStyle)
class RenderingStyleAdmin(EntityEventAdmin):
    """Rendering styles, searchable by name."""

    list_display = ["name", "display_name"]
    search_fields = ["name", "display_name"]
    ordering = ["name"]


@admin.register(ContextRenderer)
class ContextRendererAdmin(EntityEventAdmin):
    """Context renderers, validated by ``ContextRenderer.clean()``.

    Templates, template paths and hints are code: adding or changing a renderer takes the
    ``entity_event.edit_templates`` permission too; without it the renderer is read-only. Such
    a user can preview the form's renderer (saved or not) on the latest events of its source
    with the button under the form: an explicit POST, never a plain page view.
    """

    list_display = ["name", "rendering_style", "source", "source_group"]
    list_filter = ["rendering_style", "source_group", "source"]
    list_select_related = ["rendering_style", "source", "source_group"]
    search_fields = [
        "name",
        "source__name",
        "source__display_name",
        "source_group__name",
        "source_group__display_name",
        "rendering_style__name",
    ]
    ordering = ["name"]
    fieldsets = [
        (None, {"fields": ["name", "rendering_style", "source", "source_group"]}),
        (_("Inline templates"), {"fields": ["text_template", "html_template"]}),
        (
            _("Template files (a path wins over the inline template)"),
            {"fields": ["text_template_path", "html_template_path"]},
        ),
        (_("Context"), {"fields": ["context_hints"]}),
    ]
    change_form_template = "admin/entity_event/contextrenderer/change_form.html"
    preview_template = "admin/entity_event/contextrenderer/preview.html"

    @staticmethod
    def may_edit_templates(request: HttpRequest) -> bool:
        """Whether the user holds ``entity_event.edit_templates`` (superusers do)."""
        return request.user.has_perm(EDIT_TEMPLATES_PERMISSION)

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Django's add permission and ``edit_templates``."""
        return super().has_add_permission(request) and self.may_edit_templates(request)

    def has_change_permission(self, request: HttpRequest, obj: ContextRenderer | None = None) -> bool:
        """Django's change permission and ``edit_templates``; without them the page is read-only
        (for users with the view or change permission)."""
        return super().has_change_permission(request, obj) and self.may_edit_templates(request)

    def get_urls(self) -> list[URLPattern]:
        """The admin's URLs and the two preview URLs (a new renderer's, a saved one's)."""
        preview = self.admin_site.admin_view(self.preview_view)
        info = self.opts.app_label, self.opts.model_name
        return [
            path("preview/", preview, name="{}_{}_preview_new".format(*info)),
            path("<path:object_id>/preview/", preview, name="{}_{}_preview".format(*info)),
            *super().get_urls(),
        ]

    def render_change_form(
        self, request: HttpRequest, context: dict[str, Any], add: bool = False, change: bool = False,
        form_url: str = "", obj: ContextRenderer | None = None,
    ) -> HttpResponse:  # fmt: skip
        """The change form, with the preview button when the user may edit the renderer."""
        context["can_preview"] = (
            self.has_add_permission(request) if add else self.has_change_permission(request, obj)
        )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def preview_view(self, request: HttpRequest, object_id: str | None = None) -> HttpResponse:
        """Render the posted form's renderer on the latest events of its source, without saving.

        POST only (with the admin's CSRF protection), for users who may add (a new renderer) or
        change (a saved one) renderers, that is, who hold ``edit_templates``.
        """
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        renderer = None
        if object_id is not None:
            renderer = self.get_object(request, unquote(object_id))
            if renderer is None:
                raise Http404(f"no context renderer with id {object_id!r}")
        allowed = (
            self.has_add_permission(request)
            if renderer is None
            else self.has_change_permission(request, renderer)
        )
        if not allowed:
            raise PermissionDenied
        form = self.get_form(request, renderer, change=renderer is not None)(request.POST, instance=renderer)
        previews = preview_renderer(form.instance, limit=PREVIEW_EVENTS) if form.is_valid() else None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": renderer,
            "title": (
                gettext("Preview of %(name)s") % {"name": form.instance.name}
                if form.instance.name
                else gettext("Preview of a new context renderer")
            ),
            "errors": form.errors,
            "preview_table": None if previews is None else preview_table(previews),
        }
        return TemplateResponse(request, self.preview_template, context)


def preview_table(previews: list[RendererPreview]) -> SafeString | str:
    """The previews as an HTML table: the text and the HTML output shown as escaped source (the
    HTML is never injected into the admin page), or the error an event's rendering raised."""
    if not previews:
        return gettext("No events of this source yet.")
    return format_html(
        '<table class="entity-event-preview"><tr><th>{}</th><th>{}</th><th>{}</th></tr>{}</table>',
        gettext("Event"),
        gettext("Text"),
        gettext("HTML (source)"),
        format_html_join(
            "",
            "<tr><td>{}</td>{}</tr>",
            (
                (
                    str(preview.event),
                    format_html('<td colspan="2" class="errornote">{}</td>', preview.error)
                    if preview.error
                    else format_html(PREVIEW_OUTPUT_CELLS, preview.text, preview.html),
                )
                for preview in previews
            ),
        ),
    )
