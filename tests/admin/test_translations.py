"""The admin's strings are marked for translation: every model's verbose names, every field's
verbose name, and every action, column and fieldset title of the app's admins are lazy
translatable strings (``Promise``), so that nothing new is added unmarked. Their English is the
one the admin always showed."""

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin
from django.db import models
from django.test import RequestFactory
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import override

from entity_event.models import AdminEvent, Delivery, EventActor, EventSeen, Medium, Source, SourceGroup

MODELS = list(apps.get_app_config("entity_event").get_models())
ADMINS = [
    model_admin
    for model, model_admin in admin.site._registry.items()
    if model._meta.app_label == "entity_event"
]


def concrete_fields(model: type[models.Model]) -> list[models.Field[Any, Any]]:
    """The fields the model declares (the automatic ``id`` is Django's, named "ID")."""
    return [field for field in model._meta.concrete_fields if not field.auto_created]


def test_the_app_has_models_and_admins() -> None:
    assert len(MODELS) == 14
    # Actors are edited inline, on the event's page.
    assert {model_admin.model for model_admin in ADMINS} == set(MODELS) - {EventActor}


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
def test_verbose_names_of_every_model_are_marked(model: type[models.Model]) -> None:
    assert isinstance(model._meta.verbose_name, Promise)
    assert isinstance(model._meta.verbose_name_plural, Promise)


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
def test_verbose_names_of_every_field_are_marked_with_the_default_english(model: type[models.Model]) -> None:
    for field in concrete_fields(model):
        assert isinstance(field.verbose_name, Promise), field
        assert str(field.verbose_name) == field.name.replace("_", " ")
        if field.help_text:
            assert isinstance(field.help_text, Promise), field
        for _value, label in field.flatchoices:
            assert isinstance(label, Promise), field


def test_the_english_verbose_names_are_unchanged() -> None:
    names = {
        model: (str(model._meta.verbose_name), str(model._meta.verbose_name_plural))
        for model in (SourceGroup, Source, Medium, AdminEvent, EventSeen, Delivery)
    }
    assert names == {
        SourceGroup: ("source group", "source groups"),
        Source: ("source", "sources"),
        Medium: ("medium", "mediums"),
        AdminEvent: ("admin event", "admin events"),
        EventSeen: ("event seen", "events seen"),
        Delivery: ("delivery", "deliveries"),
    }
    assert [str(label) for _value, label in Delivery.Status.choices] == [
        "pending",
        "sent",
        "skipped",
        "failed",
    ]


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
def test_custom_permission_names_are_marked(model: type[models.Model]) -> None:
    for _codename, name in model._meta.permissions:
        assert isinstance(name, Promise)


@pytest.mark.parametrize("model_admin", ADMINS, ids=lambda model_admin: type(model_admin).__name__)
def test_actions_columns_and_fieldsets_of_every_admin_are_marked(model_admin: admin.ModelAdmin[Any]) -> None:
    request = RequestFactory().get("/")
    for action in model_admin.actions or ():
        function = getattr(model_admin, action) if isinstance(action, str) else action
        assert isinstance(function.short_description, Promise), action
    for name in dir(type(model_admin)):
        description = getattr(getattr(type(model_admin), name), "short_description", None)
        if description is not None:
            assert isinstance(description, Promise), name
    for title, _options in model_admin.fieldsets or ():
        assert title is None or isinstance(title, Promise), title
    for name in model_admin.get_list_display(request):
        if callable(getattr(model_admin, name, None)):
            assert isinstance(getattr(model_admin, name).short_description, Promise), name


def test_the_marked_strings_follow_the_active_language() -> None:
    with override("de"):
        assert str(Source._meta.verbose_name) == "Quelle"
        assert str(EventSeen._meta.verbose_name_plural) == "gesehene Ereignisse"
    with override("fr"):
        assert str(EventSeen._meta.verbose_name_plural) == "événements vus"
    # A language without a catalogue falls back to the English text.
    with override("es"):
        assert str(Source._meta.verbose_name) == "source"
        assert str(EventSeen._meta.verbose_name_plural) == "events seen"


def test_the_admin_speaks_the_language_the_browser_asks_for(admin_client) -> None:
    index = reverse("admin:app_list", kwargs={"app_label": "entity_event"})
    french = admin_client.get(index, headers={"accept-language": "fr"}).content.decode()
    assert "Événements d&#x27;entités" in french
    assert ">Envois<" in french and ">Styles de rendu<" in french
    english = admin_client.get(index).content.decode()
    assert ">Deliveries<" in english and ">Envois<" not in english
