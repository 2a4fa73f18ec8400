"""The base classes of entity_event's admins: what every admin of the app does alike.

``EntityEventAdmin``, Django's ``ModelAdmin`` subclassed once, is what every model of the app is
registered with: its delete confirmation counts what goes instead of listing every row
(``entity_event.admin.deletion``), and it edits JSON fields with ``JSONTextField``.
``EntityEventInline``, Django's ``TabularInline`` subclassed once, is the base of the inlines of
the event's page.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest

from entity_event.admin.deletion import Confirmation, count_deleted_objects
from entity_event.admin.forms import JSONTextField

if TYPE_CHECKING:
    # django-stubs makes ModelAdmin and TabularInline generic (ModelAdmin[Event]); Django's
    # classes cannot be subscripted at run time, and the admins' own annotations name their models.
    _ModelAdmin = admin.ModelAdmin[Any]
    _TabularInline = admin.TabularInline[Any, Any]
else:
    _ModelAdmin = admin.ModelAdmin
    _TabularInline = admin.TabularInline


class EntityEventAdmin(_ModelAdmin):
    """The ``ModelAdmin`` of every model of entity_event.

    The delete confirmation (of one object and of "delete selected") shows counts per kind of
    related object instead of one line per row, and refuses, with counts, when protected objects
    are in the way (``count_deleted_objects``). JSON fields are edited with ``JSONTextField``,
    which can show any stored value.
    """

    formfield_overrides = {models.JSONField: {"form_class": JSONTextField}}

    # django-stubs types the first item as list[str]; Django's own nests lists as this does.
    def get_deleted_objects(  # type: ignore[override]
        self, objs: Iterable[models.Model], request: HttpRequest
    ) -> Confirmation:
        """Count what deleting ``objs`` (a list of objects or a queryset) takes along."""
        return count_deleted_objects(objs, request, self.admin_site)


class EntityEventInline(_TabularInline):
    """The ``TabularInline`` of the rows edited on their event's page (actors, seen records).

    No empty forms stand under the rows (Django adds three by default): the rows are written by
    code, and staff who need one more add it with "Add another".
    """

    extra = 0
