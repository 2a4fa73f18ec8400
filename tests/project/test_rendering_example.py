"""The rendering example of docs/advanced_features.rst runs and gives what the docs show."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "rendering_example.py"


@pytest.mark.django_db
def test_rendering_example():
    spec = importlib.util.spec_from_file_location("rendering_example", EXAMPLE)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)

    result = example.run_example()

    assert result["texts"] == ["jeff logged in at January 1, 2015", "wes logged in at February 28, 2015"]
    assert result["htmls"] == [
        "🔔 <b>jeff</b> logged in at January 1, 2015",
        "🔔 <b>wes</b> logged in at February 28, 2015 [admins]",
    ]
    assert result["first"] == (
        "jeff logged in at January 1, 2015",
        "🔔 <b>jeff</b> logged in at January 1, 2015",
    )
    serialized = result["serialized"]
    assert serialized["login_time"] == "February 28, 2015"
    assert serialized["prefix"] == "🔔 "
    assert serialized["user"]["username"] == "wes"
    assert [group["name"] for group in serialized["user"]["groups"]] == ["admins"]
