"""What the admin modules of entity_event share: ``ModelAdmin`` and ``TabularInline`` usable as
generics by type checkers, and the JSON form field of the admin's forms."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.db import models

from entity_event.forms import JSONTextField

if TYPE_CHECKING:
    from django.contrib.admin import ModelAdmin as ModelAdmin
    from django.contrib.admin import TabularInline as TabularInline
else:

    class _Subscriptable:
        """django-stubs makes ``ModelAdmin`` and ``TabularInline`` generic (``ModelAdmin[Event]``),
        which Django's classes cannot be at run time; rather than monkeypatching Django for the
        whole project (django-stubs-ext), the subscript here gives Django's class itself."""

        def __init__(self, cls: type) -> None:
            self.cls = cls

        def __getitem__(self, parameters: object) -> type:
            return self.cls

    ModelAdmin = _Subscriptable(admin.ModelAdmin)
    TabularInline = _Subscriptable(admin.TabularInline)

#: The admins of models with JSON fields show them with ``JSONTextField``.
JSON_FORM_FIELD: Mapping[type[models.Field[Any, Any]], Mapping[str, Any]] = {
    models.JSONField: {"form_class": JSONTextField}
}
