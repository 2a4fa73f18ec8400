"""Every snippet of the documentation and the README says where its names come from.

A page that shows a function with ``literalinclude:: ... :pyobject:`` shows its body but not the
imports above it in the file: a reader who copies it meets ``NameError``. So each name a page's
Python code uses must be shown bound on the page (imported or defined by one of its
literalincludes, typically the file's import block) or named in ``double backquotes`` in the
paragraph just before the snippet that uses it (what the snippet assumes). The README's Python
example is inline: the names it does not define are those the paragraph before it introduces.
"""

from __future__ import annotations

import ast
import builtins
import re
import symtable
import textwrap
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

_INCLUDE = re.compile(r"^(\s*)\.\. literalinclude::\s*(\S+)\s*$")
_OPTION = re.compile(r"^\s*:([\w-]+):\s*(.*)$")


@dataclass
class Snippet:
    """What one ``literalinclude`` of a Python file shows, and the paragraph before it."""

    line: int
    text: str
    before: str


def pyobject_lines(source: str, name: str) -> list[str]:
    """The lines of the function or class ``name`` (``Class.method`` for a method), decorators
    included, as Sphinx's ``:pyobject:`` shows them."""
    body: list[ast.stmt] = ast.parse(source).body
    node: ast.stmt | None = None
    for part in name.split("."):
        node = next(
            item
            for item in body
            if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and item.name == part
        )
        body = node.body
    assert isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    first = min([node.lineno, *(decorator.lineno for decorator in node.decorator_list)])
    return source.splitlines()[first - 1 : node.end_lineno]


def included_text(path: Path, options: dict[str, str]) -> str:
    """The text Sphinx's ``literalinclude`` shows of ``path`` with ``options`` (its filters, in
    its order: pyobject, start, end, lines)."""
    source = path.read_text()
    lines = pyobject_lines(source, options["pyobject"]) if "pyobject" in options else source.splitlines()
    for option, after in (("start-after", True), ("start-at", False)):
        if option in options:
            index = next(i for i, line in enumerate(lines) if options[option] in line)
            lines = lines[index + 1 if after else index :]
    for option, before in (("end-before", True), ("end-at", False)):
        if option in options:
            index = next(i for i, line in enumerate(lines) if options[option] in line)
            lines = lines[: index if before else index + 1]
    if "lines" in options:
        first, _, last = options["lines"].partition("-")
        lines = lines[int(first) - 1 : int(last) if last else None]
    return textwrap.dedent("\n".join(lines))


def paragraph_before(lines: list[str], index: int) -> str:
    """The paragraph that ends just above line ``index`` (blank lines skipped)."""
    end = index
    while end > 0 and not lines[end - 1].strip():
        end -= 1
    start = end
    while start > 0 and lines[start - 1].strip():
        start -= 1
    return "\n".join(lines[start:end])


def python_snippets(page: Path) -> list[Snippet]:
    lines = page.read_text().splitlines()
    snippets = []
    for index, line in enumerate(lines):
        match = _INCLUDE.match(line)
        if not match or not match.group(2).endswith(".py"):
            continue
        options = {}
        for option_line in lines[index + 1 :]:
            option = _OPTION.match(option_line)
            if not option:
                break
            options[option.group(1)] = option.group(2).strip()
        text = included_text((page.parent / match.group(2)).resolve(), options)
        snippets.append(Snippet(index + 1, text, paragraph_before(lines, index)))
    return snippets


def bound_and_used(code: str) -> tuple[set[str], dict[str, int]]:
    """The names ``code`` binds at module level, and the names it uses without binding them
    (module level, or free in its functions and classes), with the first line using each."""
    table = symtable.symtable(code, "<snippet>", "exec")
    bound = {
        symbol.get_name() for symbol in table.get_symbols() if symbol.is_assigned() or symbol.is_imported()
    }
    bound |= {child.get_name() for child in table.get_children()}
    used: dict[str, int] = {}

    def visit(scope: symtable.SymbolTable) -> None:
        for symbol in scope.get_symbols():
            top_level = scope is table
            if not symbol.is_referenced():
                continue
            if (top_level and not (symbol.is_assigned() or symbol.is_imported())) or (
                not top_level and symbol.is_global()
            ):
                used.setdefault(symbol.get_name(), scope.get_lineno())
        for child in scope.get_children():
            visit(child)

    visit(table)
    return bound, used


def assumed(paragraph: str) -> set[str]:
    return set(re.findall(r"``([A-Za-z_][A-Za-z0-9_]*)``", paragraph))


def unexplained_names(snippets: list[Snippet]) -> list[str]:
    """The names the snippets of one page use that the page neither shows bound nor names in the
    paragraph before the snippet."""
    bound: set[str] = set()
    for snippet in snippets:
        bound |= bound_and_used(snippet.text)[0]
    problems = []
    for snippet in snippets:
        for name in bound_and_used(snippet.text)[1]:
            if name not in bound and name not in assumed(snippet.before) and not hasattr(builtins, name):
                problems.append(f"line {snippet.line}: {name}")
    return problems


def test_the_checker_finds_a_name_no_snippet_imports(tmp_path):
    (tmp_path / "example.py").write_text(
        "from x import shown_import, unshown_import\n\n\n@decorated\ndef f(a):\n"
        "    return shown_import(a) + unshown_import(a) + len(a) + assumed_name\n"
    )
    (tmp_path / "page.rst").write_text(
        ".. literalinclude:: example.py\n   :end-before: @decorated\n\n"
        "With ``assumed_name`` your own:\n\n.. literalinclude:: example.py\n   :pyobject: f\n"
    )
    snippets = python_snippets(tmp_path / "page.rst")
    assert snippets[1].text.startswith("@decorated\ndef f(a):")
    # The first include shows both imports; strip one and the checker names it.
    assert unexplained_names(snippets) == ["line 6: decorated"]
    snippets[0].text = "from x import shown_import\n"
    assert unexplained_names(snippets) == ["line 6: decorated", "line 6: unshown_import"]


def test_every_page_shows_what_its_python_snippets_use():
    problems = {
        page.name: names
        for page in sorted(DOCS.rglob("*.rst"))
        if (names := unexplained_names(python_snippets(page)))
    }
    assert problems == {}


def test_the_readme_example_says_what_it_assumes():
    from tests.project.test_docs_examples import literal_blocks

    lines = (ROOT / "README.rst").read_text().splitlines()
    blocks = [block for block in literal_blocks(ROOT / "README.rst") if block.language == "python"]
    example = blocks[-1]
    assert example.text.startswith("from ")
    bound, used = bound_and_used(example.text)
    introduced = assumed(paragraph_before(lines, example.line - 1))
    unexplained = sorted(
        name for name in used if name not in bound | introduced and not hasattr(builtins, name)
    )
    assert unexplained == []
