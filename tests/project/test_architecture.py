"""The package's structure, read from its source (docs/architecture.rst draws it).

Imports run one way: the bottom layer imports nothing of the app, the models only the bottom
layer, the services the models and the bottom layer (and each other, without a circle), the top
layer anything below it. Only module-level imports count: the 0.7 methods on the models import
their service inside the method (the one accepted upward import), and ``if TYPE_CHECKING:``
imports never run. No private name crosses a module, no module exceeds 400 lines and no function
50 lines.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "entity_event"

BOTTOM, MODELS, SERVICES, TOP = range(4)
LAYERS = {
    BOTTOM: {
        "conf",
        "exceptions",
        "validation",
        "event_filters",
        "context_hints",
        "read_only",
        "timestamps",
        "chunks",
        "backends",
        "signals",
        "paged_condition",
    },  # fmt: skip
    MODELS: {"models", "querysets"},
    SERVICES: {
        "bulk_writes",
        "creation",
        "following",
        "feed_sql",
        "routing",
        "claims",
        "targets",
        "rendering",
        "preview",
        "delivery",
        "read_state",
        "reading",
        "notification_center",
        "hinted_rows",
        "context_loader",
        "context_serializer",
        "upgrade",
    },  # fmt: skip
    TOP: {
        "admin",
        "admin_base",
        "admin_deletion",
        "admin_renderers",
        "admin_reads",
        "views",
        "api",
        "urls",
        "live",
        "live_channels",
        "tasks",
        "templatetags",
        "forms",
        "checks",
        "apps",
        "management",
    },
}


def modules() -> Iterator[tuple[str, Path]]:
    """``(dotted name, path)`` of every module of the package but its migrations."""
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        if "migrations" in relative.parts:
            continue
        parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
        yield ".".join(parts), path


def layer_of(module: str) -> int | None:
    """The layer of ``entity_event.x.y`` by its first part (``None`` for the package itself)."""
    parts = module.split(".")
    if len(parts) == 1:
        return None
    return next(layer for layer, names in LAYERS.items() if parts[1] in names)


def module_level_imports(path: Path) -> Iterator[ast.Import | ast.ImportFrom]:
    """The import statements that run when the module is imported: at module level, outside
    ``if TYPE_CHECKING:``."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If) and not (
            isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
        ):
            yield from (child for child in node.body if isinstance(child, (ast.Import, ast.ImportFrom)))


def imported_modules(path: Path) -> set[str]:
    targets = set()
    for node in module_level_imports(path):
        names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module or ""]
        if isinstance(node, ast.ImportFrom) and node.module == "entity_event":
            names = [f"entity_event.{alias.name}" for alias in node.names]
        targets |= {name for name in names if name.startswith("entity_event")}
    return targets


def graph() -> dict[str, set[str]]:
    return {name: imported_modules(path) for name, path in modules()}


def test_every_module_belongs_to_a_layer():
    for name, _ in modules():
        if name != "entity_event":
            assert layer_of(name) is not None, name


def test_imports_never_run_upward():
    upward = [
        f"{module} (layer {layer_of(module)}) imports {target} (layer {layer_of(target)})"
        for module, targets in graph().items()
        for target in targets
        if layer_of(module) is not None and (layer_of(target) or 0) > (layer_of(module) or 0)
    ]
    assert upward == []


def test_no_circle():
    edges = graph()
    visiting: list[str] = []
    done: set[str] = set()

    def visit(module: str) -> None:
        if module in done:
            return
        assert module not in visiting, " -> ".join([*visiting[visiting.index(module) :], module])
        visiting.append(module)
        for target in edges.get(module, ()):
            if target in edges:
                visit(target)
        visiting.pop()
        done.add(module)

    for module in edges:
        visit(module)


def test_no_private_name_crosses_a_module():
    crossing = [
        f"{name}: from {node.module} import {alias.name}"
        for name, path in modules()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("entity_event")
        for alias in node.names
        if alias.name.startswith("_")
    ]
    assert crossing == []


@pytest.mark.parametrize(("name", "path"), list(modules()), ids=[name for name, _ in modules()])
def test_modules_and_functions_stay_small(name, path):
    source = path.read_text()
    assert len(source.splitlines()) <= 400
    long_functions = [
        f"{node.name}: {node.end_lineno - node.lineno + 1} lines"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.end_lineno - node.lineno + 1 > 50
    ]
    assert long_functions == []


def test_the_reading_of_imports_sees_an_upward_import(tmp_path):
    # The checks above would pass on a reader that sees nothing: show that it sees.
    module = tmp_path / "m.py"
    module.write_text(
        "from typing import TYPE_CHECKING\n"
        "from entity_event import routing\n"
        "from entity_event.models import Event\n"
        "if TYPE_CHECKING:\n    from entity_event.admin import X\n"
        "def f():\n    from entity_event.targets import y\n"
    )
    assert imported_modules(module) == {"entity_event.routing", "entity_event.models"}


def test_shipped_text_points_only_to_what_readers_have():
    """Docstrings and docs cite the decisions themselves or the docs, never the project's
    private design notes, which neither the package nor the repository contains."""
    root = PACKAGE.parent
    files = [*PACKAGE.rglob("*.py"), *(root / "docs").rglob("*.rst"), root / "README.rst"]
    citing = [
        str(path.relative_to(root))
        for path in files
        if "DESIGN.md" in path.read_text() or "../shared" in path.read_text()
    ]
    assert citing == []
