"""The context hints example of docs/advanced_features.rst, run by tests/project/test_docs_examples.py.

The hinted models are the test app's ``Account`` (with a ``team`` foreign key) and ``Photo``
(``owner`` and ``tagged`` point at accounts; its primary key is a UUID).
"""

from __future__ import annotations

from entity_event.models import ContextRenderer, Event, Medium, RenderingStyle, Source

CONTEXT_HINTS = {
    "account": {
        "app_name": "testapp",
        "model_name": "Account",
        "select_related": ["team"],  # optional: {{ account.team.name }} costs no query
        "prefetch_related": ["photos"],  # optional: one more query for the whole batch
    },
    "photo": {"app_name": "testapp", "model_name": "Photo"},
}

TEMPLATE = (
    "{% for item in items %}{{ item.account.name }} ({{ item.account.team.name }}, "
    "{{ item.account.photos.all|length }} photos){% if not forloop.last %}; {% endif %}{% endfor %}"
    " - {{ photo.title }}"
)


def render_with_hints(source: Source, medium: Medium, style: RenderingStyle) -> dict[Event, tuple[str, str]]:
    ContextRenderer.objects.create(
        name="account-summary",
        rendering_style=style,
        source=source,
        text_template=TEMPLATE,
        context_hints=CONTEXT_HINTS,
    )
    events = Event.objects.filter(source=source)
    # Contexts such as {"items": [{"account": 4}, {"account": 7}], "photo": "6f1c..."}: the hinted
    # keys are found at any depth, and the rows of all the events are loaded together.
    return medium.render(events)
