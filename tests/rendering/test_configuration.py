"""Bad rendering configuration fails early: ContextRenderer.clean, the settings
(DEFAULT_ENTITY_EVENT_RENDERING_STYLE, ENTITY_EVENT_CONTEXT_HINT_MODELS,
ENTITY_EVENT_MAX_RENDERED_LENGTH) and their system checks."""

from __future__ import annotations

import pytest
from django.core import checks
from django.core.exceptions import NON_FIELD_ERRORS, ImproperlyConfigured, ValidationError
from django.db import ProgrammingError
from django.test import override_settings

from entity_event.admin.forms import JSONTextField
from entity_event.checks import check_default_rendering_style, check_settings
from entity_event.conf import app_settings
from entity_event.exceptions import RenderedOutputTooLongError
from entity_event.models import ContextRenderer, Event, Medium
from entity_event.models.hints import context_hints_problems
from tests.faults import failing_statement, selects_from

pytestmark = pytest.mark.django_db


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
        assert app_settings.DEFAULT_RENDERING_STYLE is None
        assert check_settings() == []
        assert check_default_rendering_style(databases=["default"]) == []

    @pytest.mark.parametrize("value", [3, "", ["short"]])
    def test_wrong_type(self, settings, value):
        settings.DEFAULT_ENTITY_EVENT_RENDERING_STYLE = value
        with pytest.raises(ImproperlyConfigured, match="DEFAULT_ENTITY_EVENT_RENDERING_STYLE must be"):
            app_settings.DEFAULT_RENDERING_STYLE  # noqa: B018 (reading the setting is the test)
        [error] = check_settings()
        assert error.id == "entity_event.E002"
        assert check_default_rendering_style(databases=["default"]) == []

    def test_existing_style(self, style):
        with override_settings(DEFAULT_ENTITY_EVENT_RENDERING_STYLE="short"):
            assert app_settings.DEFAULT_RENDERING_STYLE == "short"
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
            failing_statement(selects_from("entity_event_renderingstyle"), missing_table) as selects,
        ):
            assert check_default_rendering_style(databases=["default"]) == []
        assert len(selects) == 1


def test_each_setting_has_a_check_id_of_its_own():
    """Silencing the check of one setting (``SILENCED_SYSTEM_CHECKS``) silences no other."""
    from entity_event.conf import SETTINGS

    ids = [setting.check_id for setting in SETTINGS.values()]
    assert len(set(ids)) == len(ids) == len(SETTINGS)
    assert "entity_event.E001" not in ids  # the database check of the default rendering style


class TestSecuritySettings:
    """``ENTITY_EVENT_CONTEXT_HINT_MODELS`` (E003) and ``ENTITY_EVENT_MAX_RENDERED_LENGTH`` (E004)."""

    def test_defaults(self):
        assert app_settings.CONTEXT_HINT_MODELS is None
        assert app_settings.MAX_RENDERED_LENGTH == 1_000_000
        assert check_settings() == []

    @pytest.mark.parametrize(
        "value", ["testapp.Account", ["testapp"], ["a.b.c"], [".Account"], [3], {"a.b": 1}]
    )
    def test_hint_models_of_the_wrong_shape(self, settings, value):
        settings.ENTITY_EVENT_CONTEXT_HINT_MODELS = value
        with pytest.raises(ImproperlyConfigured, match='must be None or a list of "app_label.ModelName"'):
            app_settings.CONTEXT_HINT_MODELS  # noqa: B018 (reading the setting is the test)
        assert [error.id for error in check_settings()] == ["entity_event.E003"]

    def test_hint_models_are_matched_without_case(self, settings):
        settings.ENTITY_EVENT_CONTEXT_HINT_MODELS = ("testapp.Account", "Entity.ENTITY")
        assert {"testapp.account", "entity.entity"} == app_settings.CONTEXT_HINT_MODELS
        assert context_hints_problems({"a": {"app_name": "testapp", "model_name": "Account"}}) == []

    @pytest.mark.parametrize("value", [0, -5, "100", 2.5, True])
    def test_max_rendered_length_of_the_wrong_kind(self, settings, value):
        settings.ENTITY_EVENT_MAX_RENDERED_LENGTH = value
        with pytest.raises(ImproperlyConfigured, match="ENTITY_EVENT_MAX_RENDERED_LENGTH must be a positive"):
            app_settings.MAX_RENDERED_LENGTH  # noqa: B018 (reading the setting is the test)
        assert [error.id for error in check_settings()] == ["entity_event.E004"]

    def test_the_output_limit_applies_to_text_and_html(self, settings, style, photo_source):
        settings.ENTITY_EVENT_MAX_RENDERED_LENGTH = 5
        medium = Medium.objects.create(name="m", display_name="M", rendering_style=style)
        ContextRenderer.objects.create(
            name="r",
            rendering_style=style,
            source=photo_source,
            text_template="12345",
            html_template="123456",
        )
        event = Event.objects.create_event(source=photo_source)
        assert medium.render([event]) == {}
        [loaded] = Event.objects.filter(pk=event.pk).load_contexts_and_renderers(medium)
        with pytest.raises(RenderedOutputTooLongError, match="6 characters long, over the limit of 5"):
            loaded.render(medium)


@pytest.mark.parametrize(
    ("value", "shown"),
    [({"x": "\u00e9t\u00e9"}, '{"x": "\u00e9t\u00e9"}'), ({"x": "\ud800"}, '{"x": "\\ud800"}')],
)
def test_the_admin_json_field_shows_any_value(value, shown):
    # A lone surrogate cannot be written to the UTF-8 page: it is shown escaped, not as an HTTP 500.
    assert JSONTextField().prepare_value(value) == shown
