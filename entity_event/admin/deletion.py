"""Delete confirmations that count what goes instead of listing every row.

Django's admin builds its delete confirmation with the deletion collector: it loads every row
that a deletion would take along and prints one line per row, so the page grows with the
related tables, in queries, in list items and in time, until it outlasts a request on a big
site (docs/admin.rst has the figures). ``count_deleted_objects``, which every admin of this app
uses (``EntityEventAdmin``), shows instead, per kind of object, how many rows go ("30 events
seen"), and refuses with counts when a protected relation is in the way ("3 events, which
protect their source").

``DeletionPlan`` does the counting. It walks the schema, not the rows: from the deleted rows, as
a subquery, through every reverse relation whose ``on_delete`` is ``CASCADE`` (including the
child rows of multi-table inheritance, such as a ``Medium`` subclass, and the parent rows of a
deleted child), and counts each kind of row once with a ``COUNT`` over the union of the
subqueries that reach it. The number of queries depends on the schema only, never on the number
of rows. Django's own collector cannot count: it loads the rows, and its fast path, which
deletes without loading, is ruled out here since django-entity listens to the deletion of every
model.
"""

from __future__ import annotations

import operator
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import reduce
from typing import TypeAlias

from django.contrib.admin import AdminSite
from django.contrib.admin.utils import model_ngettext, quote
from django.db import models, router
from django.db.models import Q, QuerySet
from django.db.models.deletion import get_candidate_relations_to_delete
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext, ngettext

#: How many relations away from the deleted objects the plan follows cascades. This app's own
#: cascades are two relations deep (a source group, its sources, their subscriptions); deeper
#: chains can only come from a project's models hanging off them.
#: Rows further away are not counted, and the admin refuses the deletion rather than guess.
MAX_DEPTH = 8

#: How many of the selected objects the "delete selected" confirmation names one by one.
LISTED_OBJECTS = 20

#: The lines of a delete confirmation: a line, or the nested lines of what a line takes along.
DeletionLines: TypeAlias = list["str | DeletionLines"]

#: The primary keys of the deleted objects: a ``values("pk")`` subquery, or a list.
Selection: TypeAlias = QuerySet[models.Model, Mapping[str, object]] | list[object]

#: What a delete confirmation shows, as Django's ``get_deleted_objects`` returns it: the nested
#: lines, the counts per model, the models the user may not delete, the protected lines.
Confirmation: TypeAlias = tuple[DeletionLines, dict[str, int], set[str], list[str]]


def plural(count: int, model: type[models.Model], more: bool = False) -> str:
    """``"1 event seen"``, ``"12,345 events seen"``: a count with the model's verbose name
    (``"5 more events seen"`` with ``more``)."""
    # The verbose name or the plural one, as Django's admin chooses them (in the active language).
    params = {"count": f"{count:,}", "name": model_ngettext(model._meta, count)}
    return (gettext("%(count)s more %(name)s") if more else gettext("%(count)s %(name)s")) % params


def concrete_model(model: type[models.Model]) -> type[models.Model]:
    """The concrete model of ``model`` (itself, or the model a proxy stands for). django-stubs
    types ``Options.concrete_model`` as optional: it is set when the model class is created."""
    concrete = model._meta.concrete_model
    assert concrete is not None
    return concrete


def pointing_model(relation: models.ForeignObjectRel) -> type[models.Model]:
    """The model whose foreign key ``relation`` is the reverse of: its rows point at the deleted
    ones. (It is ``relation.related_model``, which django-stubs types as possibly ``"self"``.)"""
    return relation.field.model


@dataclass(eq=False)
class Deleted:
    """The rows of one model that the deletion takes along, as subqueries (``pieces``);
    ``parent`` is the kind of row through which the walk first reached them."""

    model: type[models.Model]
    parent: Deleted | None
    pieces: list[Q] = field(default_factory=list)
    too_deep: list[Q] = field(default_factory=list)
    count: int = 0


@dataclass(eq=False)
class Affected:
    """The rows of ``model`` that point at deleted rows through ``relation`` and are not deleted
    with them: protected (the deletion is refused) or updated (``SET_NULL`` and the like)."""

    model: type[models.Model]
    relation: models.ForeignObjectRel
    parent: Deleted
    pieces: list[Q] = field(default_factory=list)
    count: int = 0


class DeletionPlan:
    """What deleting the rows ``selection`` (a pk subquery or list) of ``model`` does, counted.

    After construction, ``deleted`` lists the kinds of row that go, the root first, and
    ``children()`` nests them as the walk reached them; ``protected`` lists the rows that refuse
    the deletion, ``too_deep`` the kinds of row whose own dependants lie beyond ``MAX_DEPTH``.
    Each kind of row is counted once, even when several paths reach it.
    """

    def __init__(self, model: type[models.Model], selection: Selection, using: str) -> None:
        self.using = using
        self._deleted: dict[type[models.Model], Deleted] = {}
        self._protected: dict[models.ForeignObjectRel, Affected] = {}
        self._updated: dict[models.ForeignObjectRel, Affected] = {}
        self._queue: deque[tuple[Deleted, Q, int, bool]] = deque()
        self.root = self._reach(model, Q(pk__in=selection), None, 0)
        while self._queue:
            self._walk(*self._queue.popleft())
        entries: list[Deleted | Affected] = [
            *self._deleted.values(), *self._protected.values(), *self._updated.values()
        ]  # fmt: skip
        for entry in entries:
            entry.count = self._rows(entry.model, entry.pieces).count()
        for node in self.too_deep:
            if not self._rows(node.model, node.too_deep).exists():
                node.too_deep = []

    @property
    def deleted(self) -> list[Deleted]:
        """Every kind of row that goes, the root first, in the order the walk found them (by
        distance, then by model label)."""
        return [node for node in self._deleted.values() if node.count]

    @property
    def protected(self) -> list[Affected]:
        """The rows whose protecting foreign key refuses the deletion."""
        return [entry for entry in self._protected.values() if entry.count]

    @property
    def too_deep(self) -> list[Deleted]:
        """The kinds of row beyond ``MAX_DEPTH`` whose own dependants were not counted."""
        return [node for node in self._deleted.values() if node.too_deep]

    def children(self, node: Deleted) -> list[Deleted | Affected]:
        """What the rows of ``node`` take along (first reached through them), then the rows
        that stay but change with them."""
        return [child for child in self._deleted.values() if child.parent is node] + [
            entry for entry in self._updated.values() if entry.parent is node
        ]

    def _rows(self, model: type[models.Model], pieces: Iterable[Q]) -> QuerySet[models.Model]:
        return model._base_manager.using(self.using).filter(reduce(operator.or_, pieces))

    def _reach(
        self,
        model: type[models.Model],
        piece: Q,
        parent: Deleted | None,
        depth: int,
        *,
        walk: bool = True,
        via_parent_link: bool = False,
    ) -> Deleted:
        node = self._deleted.setdefault(concrete_model(model), Deleted(model, parent))
        node.pieces.append(piece)
        if walk:
            if depth < MAX_DEPTH:
                self._queue.append((node, piece, depth, via_parent_link))
            elif self._dependants(model, via_parent_link) or model._meta.parents:
                node.too_deep.append(piece)
        return node

    @staticmethod
    def _dependants(model: type[models.Model], via_parent_link: bool) -> list[models.ForeignObjectRel]:
        """The reverse relations through which deleting rows of ``model`` reaches other rows.
        Reached through its parent link, a child model's inherited relations are left to the
        parent, which follows them for all its rows. Sorted by model label and field name, so
        that the confirmation lists them in an order that does not depend on import order.

        The candidates are reverse relations (``ForeignObjectRel``), which django-stubs types as
        fields: the ``isinstance`` says so to mypy and keeps them all."""
        candidates: Iterable[object] = get_candidate_relations_to_delete(model._meta)
        relations = [
            relation
            for relation in candidates
            if isinstance(relation, models.ForeignObjectRel)
            and relation.on_delete is not models.DO_NOTHING
            and not (via_parent_link and relation.model in model._meta.all_parents)
        ]
        return sorted(
            relations, key=lambda relation: (pointing_model(relation)._meta.label, relation.field.name)
        )

    def _walk(self, node: Deleted, piece: Q, depth: int, via_parent_link: bool) -> None:
        rows = self._rows(node.model, [piece])
        if not via_parent_link:
            # Deleting a child row of multi-table inheritance deletes its parent row; the parent's
            # relations are the child's inherited ones, followed below.
            for parent, link in concrete_model(node.model)._meta.parents.items():
                # A parent link is a OneToOneField (django-stubs allows a GenericForeignKey).
                assert isinstance(link, models.Field)
                self._reach(parent, Q(pk__in=rows.values(link.attname)), node, depth + 1, walk=False)
        for relation in self._dependants(node.model, via_parent_link):
            fk = relation.field
            pointing = Q(**{f"{fk.attname}__in": rows.values(fk.target_field.attname)})
            if relation.on_delete is models.CASCADE:
                self._reach(
                    pointing_model(relation),
                    pointing,
                    node,
                    depth + 1,
                    via_parent_link=fk.remote_field.parent_link,
                )
            else:
                # RESTRICT is refused like PROTECT: Django allows it only when the same rows are
                # also deleted through another cascade, which a count cannot tell.
                refused = relation.on_delete in (models.PROTECT, models.RESTRICT)
                entries = self._protected if refused else self._updated
                entry = entries.setdefault(relation, Affected(pointing_model(relation), relation, node))
                entry.pieces.append(pointing)


def count_deleted_objects(
    objs: Iterable[models.Model], request: HttpRequest, admin_site: AdminSite
) -> Confirmation:
    """What deleting ``objs`` (a list of objects or a queryset) takes along, counted.

    It takes and returns what Django's ``django.contrib.admin.utils.get_deleted_objects`` does, so
    that the admin's own templates and views work unchanged: the nested list of lines, the counts
    per model, the verbose names of the models the user may not delete (asked of each model's
    admin with ``has_delete_permission(request)``, without an object), and the protected lines.
    """
    # A queryset is evaluated once here; the "delete selected" page iterates the same one.
    roots = list(objs)
    if not roots:
        return [], {}, set(), []
    model = type(roots[0])
    selection = objs.values("pk") if isinstance(objs, QuerySet) else [obj.pk for obj in roots]
    plan = DeletionPlan(model, selection, using=router.db_for_write(model))

    root_lines: DeletionLines = [object_line(obj, admin_site) for obj in roots[:LISTED_OBJECTS]]
    if len(roots) > LISTED_OBJECTS:
        root_lines.append(
            gettext("and %(objects)s") % {"objects": plural(len(roots) - LISTED_OBJECTS, model, more=True)}
        )
    related_lines = nested_lines(plan, plan.root)
    if len(roots) == 1 and related_lines:
        deleted_objects = [*root_lines, related_lines]
    else:
        deleted_objects = [*root_lines, *related_lines]

    model_count = {str(node.model._meta.verbose_name_plural): node.count for node in plan.deleted}
    perms_needed = {
        str(node.model._meta.verbose_name)
        for node in plan.deleted
        if admin_site.is_registered(node.model)
        and not admin_site.get_model_admin(node.model).has_delete_permission(request)
    }
    protected = [protected_line(entry) for entry in plan.protected] + [
        gettext(
            "what depends on the %(name)s more than %(depth)s relations away, which this page does not "
            "count (delete it first)"
        )
        % {"name": node.model._meta.verbose_name_plural, "depth": MAX_DEPTH}
        for node in plan.too_deep
    ]
    return deleted_objects, model_count, perms_needed, protected


def object_line(obj: models.Model, admin_site: AdminSite) -> str:
    """A deleted object as Django shows it: its verbose name and a link to its change page."""
    opts = obj._meta
    try:
        url = reverse(f"{admin_site.name}:{opts.app_label}_{opts.model_name}_change", args=[quote(obj.pk)])
    except NoReverseMatch:
        return f"{capfirst(opts.verbose_name)}: {obj}"
    return format_html('{}: <a href="{}">{}</a>', capfirst(opts.verbose_name), url, obj)


def protected_line(entry: Affected) -> str:
    """``"3 events, which protect their source (delete them first)"``."""
    message = ngettext(
        "%(objects)s, which protects its %(field)s (delete it first)",
        "%(objects)s, which protect their %(field)s (delete them first)",
        entry.count,
    )
    return message % {"objects": plural(entry.count, entry.model), "field": entry.relation.field.verbose_name}


def nested_lines(plan: DeletionPlan, node: Deleted) -> DeletionLines:
    """The nested lines of what ``node``'s rows take along; kinds with no row are left out
    (what they would take along in turn moves up a level)."""
    lines: DeletionLines = []
    for child in plan.children(node):
        if isinstance(child, Affected):
            if child.count:
                if child.relation.on_delete is models.SET_NULL:
                    message = ngettext(
                        "%(objects)s stays, %(field)s set to null",
                        "%(objects)s stay, %(field)s set to null",
                        child.count,
                    )
                else:
                    message = ngettext(
                        "%(objects)s stays, %(field)s changed",
                        "%(objects)s stay, %(field)s changed",
                        child.count,
                    )
                params = {
                    "objects": plural(child.count, child.model),
                    "field": child.relation.field.verbose_name,
                }
                lines.append(message % params)
            continue
        below = nested_lines(plan, child)
        if child.count:
            lines.append(plural(child.count, child.model))
            if below:
                lines.append(below)
        else:
            lines.extend(below)
    return lines
