"""Bad rendering configuration fails early (DESIGN.md point 8): ContextRenderer.clean, the
DEFAULT_ENTITY_EVENT_RENDERING_STYLE setting and its system checks."""

from __future__ import annotations

from unittest import mock

import pytest
from django.core import checks
from django.core.exceptions import NON_FIELD_ERRORS, ImproperlyConfigured, ValidationError
from django.db import ProgrammingError
from django.db.models import QuerySet
from django.test import override_settings

from entity_event.checks import check_default_rendering_style, check_settings
from entity_event.conf import default_rendering_style_name
from entity_event.models import ContextRenderer, RenderingStyle

pytestmark = pytest.mark.django_db


@pytest.fixture
def style(db) -> RenderingStyle:
    return RenderingStyle.objects.create(name="short")


def errors_of(renderer: ContextRenderer) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as raised:
        renderer.clean()
    return raised.value.message_dict


class TestContextRendererClean:
    def test_valid_renderers(self, style, photo_source, source_group):
        ContextRenderer(
            name="a",
            rendering_style=style,
            source=photo_source,
            text_template="{{ x }}",
            context_hints={"x": {"app_name": "testapp", "model_name": "Team"}},
        ).clean()
        ContextRenderer(
            name="b",
            rendering_style=style,
            source_group=source_group,
            html_template_path="entity_event_tests/account.html",
        ).full_clean()

    def test_needs_a_template(self, style, photo_source):
        assert errors_of(ContextRenderer(name="a", rendering_style=style, source=photo_source)) == {
            NON_FIELD_ERRORS: [
                "A context renderer needs at least one template: a text or HTML template path, or an "
                "inline text or HTML template."
            ]
        }

    def test_needs_exactly_one_of_source_and_group(self, style, photo_source, source_group):
        message = ["A context renderer needs exactly one of source and source group."]
        expected = {"source": message, "source_group": message}
        assert errors_of(ContextRenderer(name="a", rendering_style=style, text_template="x")) == expected
        both = ContextRenderer(
            name="a", rendering_style=style, text_template="x", source=photo_source, source_group=source_group
        )
        assert errors_of(both) == expected
        # full_clean reports it once, not again through the database constraint
        with pytest.raises(ValidationError) as raised:
            both.full_clean()
        assert raised.value.message_dict == expected

    def test_context_hints(self, style, photo_source):
        renderer = ContextRenderer(
            name="a",
            rendering_style=style,
            source=photo_source,
            text_template="x",
            context_hints={"a": {"app_name": "testapp", "model_name": "Nope"}, "b": []},
        )
        assert errors_of(renderer) == {
            "context_hints": [
                "context hint 'a' names the model testapp.Nope, which is not installed",
                "context hint 'b' must be a dict, got list",
            ]
        }

    def test_mistyped_prefetch_lookup(self, style, photo_source):
        renderer = ContextRenderer(
            name="a",
            rendering_style=style,
            source=photo_source,
            text_template="x",
            context_hints={
                "a": {"app_name": "testapp", "model_name": "Account", "prefetch_related": ["fotos"]}
            },
        )
        assert errors_of(renderer) == {
            "context_hints": [
                "context hint 'a': prefetch_related: 'fotos': testapp.Account has no relation 'fotos'"
            ]
        }

    def test_inline_templates_must_compile(self, style, photo_source):
        renderer = ContextRenderer(
            name="a",
            rendering_style=style,
            source=photo_source,
            text_template="{% if %}",
            html_template="{{ x|nofilter }}",
        )
        errors = errors_of(renderer)
        assert set(errors) == {"text_template", "html_template"}
        assert errors["text_template"][0].startswith("This template does not compile: ")
        assert "nofilter" in errors["html_template"][0]

    def test_template_paths_must_exist_and_compile(self, style, photo_source):
        renderer = ContextRenderer(
            name="a",
            rendering_style=style,
            source=photo_source,
            text_template_path="entity_event_tests/missing.txt",
            html_template_path="entity_event_tests/broken.html",
        )
        errors = errors_of(renderer)
        assert errors["text_template_path"] == ["No template 'entity_event_tests/missing.txt' was found."]
        assert errors["html_template_path"][0].startswith("This template does not compile: ")


class TestDefaultRenderingStyleSetting:
    def test_unset(self, settings):
        del settings.DEFAULT_ENTITY_EVENT_RENDERING_STYLE
        assert default_rendering_style_name() is None
        assert check_settings() == []
        assert check_default_rendering_style(databases=["default"]) == []

    @pytest.mark.parametrize("value", [3, "", ["short"]])
    def test_wrong_type(self, settings, value):
        settings.DEFAULT_ENTITY_EVENT_RENDERING_STYLE = value
        with pytest.raises(ImproperlyConfigured, match="DEFAULT_ENTITY_EVENT_RENDERING_STYLE must be"):
            default_rendering_style_name()
        [error] = check_settings()
        assert error.id == "entity_event.E002"
        assert check_default_rendering_style(databases=["default"]) == []

    def test_existing_style(self, style):
        with override_settings(DEFAULT_ENTITY_EVENT_RENDERING_STYLE="short"):
            assert default_rendering_style_name() == "short"
            assert check_default_rendering_style(databases=["default"]) == []

    def test_unknown_style_is_reported_by_the_system_check(self, db):
        with override_settings(DEFAULT_ENTITY_EVENT_RENDERING_STYLE="fancy"):
            # registered as a database check: run_checks gives it the databases
            errors = checks.run_checks(databases=["default"], tags=[checks.Tags.database])
            # without databases it does not query
            assert check_default_rendering_style() == []
        [error] = [e for e in errors if e.id.startswith("entity_event")]
        assert error.id == "entity_event.E001"
        assert "DEFAULT_ENTITY_EVENT_RENDERING_STYLE names the rendering style 'fancy'" in error.msg

    def test_check_skips_a_database_without_tables(self, db):
        # Before ``migrate`` has created the tables the check cannot know: it reports nothing.
        missing_table = ProgrammingError("relation entity_event_renderingstyle does not exist")
        with (
            override_settings(DEFAULT_ENTITY_EVENT_RENDERING_STYLE="fancy"),
            mock.patch.object(QuerySet, "exists", side_effect=missing_table),
        ):
            assert check_default_rendering_style(databases=["default"]) == []
