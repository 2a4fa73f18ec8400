"""How events look: rendering styles, and the context renderers that hold templates and hints."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.template import Template, TemplateDoesNotExist, TemplateSyntaxError
from django.template.loader import get_template
from django.utils.translation import gettext_lazy as _

from entity_event.models.hints import context_hints_problems
from entity_event.models.sources import Source, SourceGroup

if TYPE_CHECKING:
    from entity_event.validation import JSONObject, JSONValue


class RenderingStyle(models.Model):
    """A way of rendering events (short, long, email...) that mediums and context renderers share.

    Deleting a style is refused (``ProtectedError``) while context renderers use it; the mediums
    that use it keep existing, without a style.
    """

    name = models.CharField(verbose_name=_("name"), max_length=64, unique=True)
    display_name = models.CharField(verbose_name=_("display name"), max_length=64, blank=True, default="")

    class Meta:
        ordering = ["name"]
        verbose_name = _("rendering style")
        verbose_name_plural = _("rendering styles")

    def __str__(self) -> str:
        return self.display_name or self.name


class ContextRenderer(models.Model):
    """Templates and context hints that render a source's (or source group's) events in a style.

    Exactly one of ``source`` and ``source_group`` is set. A template path wins over an inline
    template. ``context_hints`` maps context keys to the models whose primary keys they hold, so
    that a batch of events loads those rows with one query per model. Templates and hints are
    code: editing them takes the ``edit_templates`` permission (docs/security.rst).
    """

    name = models.CharField(verbose_name=_("name"), max_length=256, unique=True)
    text_template_path = models.CharField(
        verbose_name=_("text template path"), max_length=256, blank=True, default=""
    )
    html_template_path = models.CharField(
        verbose_name=_("html template path"), max_length=256, blank=True, default=""
    )
    text_template = models.TextField(verbose_name=_("text template"), blank=True, default="")
    html_template = models.TextField(verbose_name=_("html template"), blank=True, default="")
    # Renderers hold templates, which are code: deleting the style, source or group they belong
    # to does not take them along silently (docs/models.rst).
    rendering_style = models.ForeignKey(
        RenderingStyle,
        on_delete=models.PROTECT,
        related_name="context_renderers",
        verbose_name=_("rendering style"),
    )
    context_hints = models.JSONField(
        verbose_name=_("context hints"), default=dict, blank=True, encoder=DjangoJSONEncoder
    )
    source = models.ForeignKey(
        Source,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="context_renderers",
        verbose_name=_("source"),
    )
    source_group = models.ForeignKey(
        SourceGroup,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="context_renderers",
        verbose_name=_("source group"),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("context renderer")
        verbose_name_plural = _("context renderers")
        # Templates, template paths and context hints are code (templates reach whatever their
        # context's rows lead to): editing them takes this permission on top of the change one.
        permissions = [("edit_templates", _("Can edit templates and context hints (as powerful as code)"))]
        # The unique constraints hold for the renderers that have a source (or a group): rows whose
        # source is NULL are never equal to each other, on every database, so no condition is
        # needed, and MariaDB (which has no partial indexes) enforces them too.
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(source__isnull=False, source_group__isnull=True)
                    | Q(source__isnull=True, source_group__isnull=False)
                ),
                name="entity_event_contextrenderer_source_xor_group",
                violation_error_message=_("A context renderer needs exactly one of source and source group."),
            ),
            models.UniqueConstraint(
                fields=["source", "rendering_style"],
                name="entity_event_contextrenderer_unique_source_style",
                violation_error_message=_("This source already has a context renderer for this style."),
            ),
            models.UniqueConstraint(
                fields=["source_group", "rendering_style"],
                name="entity_event_contextrenderer_unique_group_style",
                violation_error_message=_("This source group already has a context renderer for this style."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_serialized_context(self, context: JSONObject) -> JSONValue:
        """``context`` made JSON-safe by ``DefaultContextSerializer``, for a client that renders
        with this renderer's data itself (the 3.x name, docs/upgrading.rst).

        ``context`` is a loaded context (``event.loaded_renderings[medium.pk].context``, where the
        hinted keys hold model rows) or any dict: rows become dicts of their fields and loaded
        relations, without a query. A context that is not a dict raises ``TypeError``, as the
        stored context of an event does when it renders. ``Event.get_serialized_context(medium)``
        gives the context an event renders with on a medium, ``additional_context`` included.
        """
        from entity_event.context_serializer import serialized_context

        return serialized_context(context)

    def clean(self) -> None:
        """Reject a renderer that cannot render: no template at all, not exactly one of source
        and source group, malformed context hints or hints naming a model that is not installed,
        and templates that do not compile (or, for paths, cannot be found)."""
        errors: dict[str, list[ValidationError]] = {}
        if not any(
            (self.text_template_path, self.html_template_path, self.text_template, self.html_template)
        ):
            errors.setdefault(NON_FIELD_ERRORS, []).append(
                ValidationError(
                    _(
                        "A context renderer needs at least one template: a text or HTML template path, "
                        "or an inline text or HTML template."
                    ),
                    code="no_template",
                )
            )
        if (self.source_id is None) == (self.source_group_id is None):
            message = _("A context renderer needs exactly one of source and source group.")
            errors["source"] = [ValidationError(message, code="source_xor_group")]
            errors["source_group"] = [ValidationError(message, code="source_xor_group")]
        problems = context_hints_problems(self.context_hints)
        if problems:
            errors["context_hints"] = [ValidationError(problem, code="context_hints") for problem in problems]
        for name in ("text_template", "html_template"):
            try:
                Template(getattr(self, name))
            except TemplateSyntaxError as error:
                errors[name] = [self._does_not_compile(error)]
        for name in ("text_template_path", "html_template_path"):
            if getattr(self, name):
                try:
                    get_template(getattr(self, name))
                except TemplateDoesNotExist:
                    errors[name] = [
                        ValidationError(
                            _("No template %(path)s was found."),
                            code="template_not_found",
                            params={"path": repr(getattr(self, name))},
                        )
                    ]
                except TemplateSyntaxError as error:
                    errors[name] = [self._does_not_compile(error)]
        if errors:
            raise ValidationError(errors)

    @staticmethod
    def _does_not_compile(error: TemplateSyntaxError) -> ValidationError:
        """The error of a template that does not compile, with the compiler's message."""
        return ValidationError(
            _("This template does not compile: %(error)s"), code="template_syntax", params={"error": error}
        )
