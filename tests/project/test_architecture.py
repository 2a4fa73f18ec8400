"""The package's structure, read from its source: the tree is the architecture, and
docs/architecture.rst draws the same picture.

The package is layered by sub-package. A module imports, at module level, only modules of its
own sub-package or of a lower layer; only module-level imports count: the 0.7 methods on the
models import their service inside the method (the one accepted upward import), and
``if TYPE_CHECKING:`` imports never run. No circle, no private name across modules, no module
over 400 lines, no function over 50. The top of the package holds only what users import or
Django looks for by name.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "entity_event"
ARCHITECTURE = PACKAGE.parent / "docs" / "architecture.rst"

#: The layers, lowest first: each sub-package or top-level module (by its name under
#: ``entity_event``) in one of them.
LAYERS = {
    "base": {"conf", "exceptions", "validation", "timestamps", "signals"},
    "db": {"db"},
    "models": {"models"},
    "services": {"routing", "rendering"},
    "people": {"notifications"},
    "delivery": {"delivery"},
    "entry points": {
        "admin",
        "management",
        "templatetags",
        "urls",
        "middleware",
        "apps",
        "checks",
        "context_loader",
        "context_serializer",
    },
}
RANK = {part: rank for rank, parts in enumerate(LAYERS.values()) for part in parts}

#: What may stand at the top of the package besides sub-packages: what users import or Django
#: looks for by name.
MAX_TOP_LEVEL_MODULES = 16
MIN_SUB_PACKAGES = 5


def modules() -> Iterator[tuple[str, Path]]:
    """``(dotted name, path)`` of every module of the package but its migrations."""
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        if "migrations" in relative.parts:
            continue
        parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
        yield ".".join(parts), path


def part_of(module: str) -> str | None:
    """The sub-package or top-level module ``entity_event.x.y`` belongs to (``x``), ``None`` for
    the package itself."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def module_level_imports(path: Path) -> Iterator[ast.Import | ast.ImportFrom]:
    """The import statements that run when the module is imported: at module level, outside
    ``if TYPE_CHECKING:``."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif (
            isinstance(node, ast.If)
            and not (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING")
            or isinstance(node, ast.Try)
        ):
            yield from (child for child in node.body if isinstance(child, (ast.Import, ast.ImportFrom)))


def is_module(dotted: str) -> bool:
    path = PACKAGE.parent.joinpath(*dotted.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def imported_modules(path: Path) -> set[str]:
    """The modules of the app a module imports at module level (``from package import module``
    counts as importing the module)."""
    targets = set()
    for node in module_level_imports(path):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            module = node.module or ""
            names = [
                f"{module}.{alias.name}" if is_module(f"{module}.{alias.name}") else module
                for alias in node.names
            ]
        targets |= {name for name in names if name.startswith("entity_event")}
    return targets


def graph() -> dict[str, set[str]]:
    return {name: imported_modules(path) for name, path in modules()}


def test_every_part_of_the_package_is_in_a_layer():
    parts = {part_of(name) for name, _ in modules()} - {None}
    assert parts == set(RANK)


def test_imports_run_downward_or_within_a_sub_package():
    upward = [
        f"{module} ({LAYER_NAMES[RANK[part_of(module)]]}) imports {target} "
        f"({LAYER_NAMES[RANK[part_of(target)]]})"
        for module, targets in graph().items()
        if part_of(module) is not None
        for target in targets
        if part_of(target) is not None
        and part_of(target) != part_of(module)
        and RANK[part_of(target)] >= RANK[part_of(module)]
    ]
    assert upward == []


LAYER_NAMES = list(LAYERS)


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
            if target in edges and target != module:
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


def test_the_top_of_the_package_is_small_and_the_capabilities_are_rooms():
    top_modules = sorted(path.stem for path in PACKAGE.glob("*.py"))
    sub_packages = sorted(
        path.name
        for path in PACKAGE.iterdir()
        if (path / "__init__.py").exists() and path.name != "migrations"
    )
    assert len(top_modules) <= MAX_TOP_LEVEL_MODULES, top_modules
    own = [name for name in sub_packages if name not in {"management", "templatetags"}]
    assert len(own) >= MIN_SUB_PACKAGES, own


def drawn_layers() -> dict[str, set[str]]:
    """The layers docs/architecture.rst draws, from the top down: the names in each, from the
    text block of the drawing (a line ``name:`` starts a layer, then its parts: ``db/`` for a
    sub-package, ``conf.py`` for a module; lines of arrows, ``|``, are passed over)."""
    text = ARCHITECTURE.read_text()
    drawing = text.split(".. code-block:: text", 1)[1].split("\n\n", 2)[1]
    layers: dict[str, set[str]] = {}
    current = None
    for line in drawing.splitlines():
        heading = re.match(r"^    (\w[\w ]*\w):", line)
        if heading:
            current = heading.group(1)
            layers[current] = set()
            line = line[heading.end() :]
        if current is not None and not line.strip().startswith("|"):
            layers[current] |= set(re.findall(r"\b(\w+)(?:/|\.py)", line))
    return layers


def test_the_architecture_page_draws_the_tree():
    """The drawing names each layer's sub-packages (``db/``) and modules (``conf.py``), the same
    as the code has them; and every module of a sub-package is described on the page."""
    drawn = drawn_layers()
    assert list(drawn) == LAYER_NAMES[::-1]  # drawn from the top down
    for layer, parts in LAYERS.items():
        assert {part for part in drawn[layer] if part in RANK or is_module(f"entity_event.{part}")} == parts
    page = ARCHITECTURE.read_text()
    undescribed = [
        name
        for name, path in modules()
        if name.count(".") == 2 and path.name != "__init__.py" and f"``{path.stem}``" not in page
    ]
    assert undescribed == []


def test_the_reading_of_imports_sees_an_upward_import(tmp_path):
    # The checks above would pass on a reader that sees nothing: show that it sees.
    module = tmp_path / "m.py"
    module.write_text(
        "from typing import TYPE_CHECKING\n"
        "from entity_event.routing import feeds\n"
        "from entity_event.models import Event\n"
        "if TYPE_CHECKING:\n    from entity_event.admin import X\n"
        "def f():\n    from entity_event.routing.targets import y\n"
    )
    assert imported_modules(module) == {"entity_event.routing.feeds", "entity_event.models"}


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
