"""The world the read-state tests share: ``routing_world`` of tests/worlds.py, which draws it."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.worlds import routing_world


@pytest.fixture
def world(source_group) -> SimpleNamespace:
    return routing_world(source_group)
