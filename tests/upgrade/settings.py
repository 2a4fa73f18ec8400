"""Settings of a site that reads an upgraded 3.x database (tests/upgrade/read_back.py): the test
suite's, with the 3.x site's time zone and ``USE_TZ`` from ``ENTITY_EVENT_TEST_USE_TZ``."""

from __future__ import annotations

import os

from tests.settings import *  # noqa: F403

USE_TZ = os.environ.get("ENTITY_EVENT_TEST_USE_TZ", "1") == "1"
TIME_ZONE = "America/Chicago"
