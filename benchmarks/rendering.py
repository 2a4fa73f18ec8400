"""Benchmark: render a batch of events whose contexts reference rows of three hinted models.

Builds the data in a throwaway test database (created and destroyed by Django's test machinery,
on the backend that ``DATABASE_URL`` selects), then renders the batch several times and prints
the number of queries of one rendering and the median wall time. Not part of the test run::

    DATABASE_URL=sqlite:// /work/venv/bin/python benchmarks/rendering.py --events 200
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench /work/venv/bin/python benchmarks/rendering.py
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from entity_event.models import (  # noqa: E402
    ContextRenderer,
    Event,
    Medium,
    RenderingStyle,
    Source,
    SourceGroup,
)
from tests.testapp.models import Account, Photo, Team  # noqa: E402


def build(events: int) -> Medium:
    """A medium, a renderer hinting Account (+team), Photo (+tagged) and Team, and the events."""
    style = RenderingStyle.objects.create(name="short")
    medium = Medium.objects.create(name="feed", display_name="Feed", rendering_style=style)
    source = Source.objects.create(
        name="photo-tag",
        display_name="Photo tag",
        group=SourceGroup.objects.create(name="site", display_name="Site"),
    )
    ContextRenderer.objects.create(
        name="photo-tag",
        rendering_style=style,
        source=source,
        text_template=(
            "{{ account.name }} ({{ account.team.name }}) tagged "
            "{% for a in photo.tagged.all %}{{ a.name }} {% endfor %}in {{ photo.title }} for {{ team.name }}"
        ),
        html_template="<p>{{ account.name }} tagged {{ photo.title }}: {{ message }}</p>",
        context_hints={
            "account": {"app_name": "testapp", "model_name": "Account", "select_related": ["team"]},
            "photo": {"app_name": "testapp", "model_name": "Photo", "prefetch_related": ["tagged"]},
            "team": {"app_name": "testapp", "model_name": "Team"},
        },
    )
    teams = Team.objects.bulk_create(Team(name=f"team {i}") for i in range(10))
    accounts = Account.objects.bulk_create(
        Account(name=f"account {i}", team=teams[i % 10]) for i in range(50)
    )
    photos = Photo.objects.bulk_create(Photo(uuid=uuid.uuid4(), title=f"photo {i}") for i in range(50))
    Photo.tagged.through.objects.bulk_create(
        Photo.tagged.through(photo=photo, account=accounts[(i + k) % 50])
        for i, photo in enumerate(photos)
        for k in range(3)
    )
    Event.objects.create_events(
        {
            "source": source,
            "context": {
                "account": accounts[i % 50].pk,
                "photo": str(photos[(i * 7) % 50].uuid),
                "team": teams[i % 10].pk,
                "message": f"<event {i}>",
            },
        }
        for i in range(events)
    )
    return medium


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=7)
    arguments = parser.parse_args()

    old_name = connection.creation.create_test_db(verbosity=0)
    try:
        medium = build(arguments.events)
        timings = []
        for _ in range(arguments.repeat):
            with CaptureQueriesContext(connection) as queries:
                start = time.perf_counter()
                rendered = medium.render(Event.objects.all())
                timings.append(time.perf_counter() - start)
            assert len(rendered) == arguments.events
        print(
            f"{connection.vendor}: rendered {arguments.events} events with {len(queries)} queries, "
            f"median {statistics.median(timings):.4f} s over {arguments.repeat} runs"
        )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
