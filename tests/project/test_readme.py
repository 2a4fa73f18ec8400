"""The README leads to the documentation (every page of the table of contents, in its order,
with its title, its source and where the build puts it), and the contributing guide to every
test package."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def toctree_pages() -> list[str]:
    index = (ROOT / "docs" / "index.rst").read_text()
    entries = index.split(".. toctree::", 1)[1]
    return [line.strip() for line in entries.splitlines() if re.fullmatch(r"   [\w/]+", line)]


def test_the_readme_lists_every_page_of_the_documentation():
    readme = (ROOT / "README.rst").read_text()
    rows = re.findall(
        r"   \* - (.+)\n     - ``docs/(.+)\.rst``\n     - ``docs/_build/html/(.+)\.html``", readme
    )
    assert [source for _, source, _ in rows] == toctree_pages()
    for title, source, built in rows:
        assert source == built
        assert (ROOT / "docs" / f"{source}.rst").read_text().splitlines()[0] == title
    assert "docs/_build/html/index.html" in readme


def test_contributing_says_where_each_test_package_goes():
    contributing = (ROOT / "docs" / "contributing.rst").read_text()
    packages = sorted(path.name for path in (ROOT / "tests").iterdir() if (path / "__init__.py").exists())
    assert [name for name in packages if f"``tests/{name}/``" not in contributing] == []
