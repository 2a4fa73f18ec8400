"""The rendering example of the documentation, run by tests/project/test_docs_examples.py."""

from __future__ import annotations

import json

from django.contrib.auth.models import Group, User
from django.core.serializers.json import DjangoJSONEncoder

from entity_event.models import ContextRenderer, Event, Medium, RenderingStyle, Source, SourceGroup


def set_up_rendering() -> tuple[Medium, Source]:
    """One source of login events, a short rendering style, its renderer and a medium using it."""
    accounts = SourceGroup.objects.create(name="accounts", display_name="Accounts")
    logins = Source.objects.create(name="user_logged_in", display_name="User logged in", group=accounts)
    short = RenderingStyle.objects.create(name="short", display_name="Short Rendering Style")
    ContextRenderer.objects.create(
        name="short_login_renderer",
        rendering_style=short,
        source=logins,
        # Inline templates; text_template_path / html_template_path name template files instead.
        text_template="{{ user.username }} logged in at {{ login_time }}",
        html_template=(
            "{{ prefix }}<b>{{ user.username }}</b> logged in at {{ login_time }}"
            "{% for group in user.groups.all %} [{{ group.name }}]{% endfor %}"
        ),
        # The "user" key of the contexts holds the primary key of an auth.User; load the users'
        # groups too, with one more query for the whole batch.
        context_hints={"user": {"app_name": "auth", "model_name": "User", "prefetch_related": ["groups"]}},
    )
    notification = Medium.objects.create(
        name="notification",
        display_name="Notification bar",
        rendering_style=short,
        additional_context={"prefix": "🔔 "},
    )
    return notification, logins


def run_example() -> dict[str, object]:
    notification, logins = set_up_rendering()
    jeff = User.objects.create(username="jeff")
    wes = User.objects.create(username="wes")
    wes.groups.add(Group.objects.create(name="admins"))
    Event.objects.create_event(source=logins, context={"user": jeff.pk, "login_time": "January 1, 2015"})
    Event.objects.create_event(source=logins, context={"user": wes.pk, "login_time": "February 28, 2015"})

    # In an application the events come from notification.events() or entity_events(...).
    events = Event.objects.filter(source=logins).order_by("id")
    rendered = notification.render(events)  # {event: (text, html)}
    texts = [text for text, html in rendered.values()]
    htmls = [html for text, html in rendered.values()]

    # Rendering one event, or serialising its context, needs its context loaded for the medium.
    [first, second] = events.load_contexts_and_renderers(notification)
    serialized = second.get_serialized_context(notification)
    return {
        "texts": texts,
        "htmls": htmls,
        "first": first.render(notification),
        "serialized": json.loads(json.dumps(serialized, cls=DjangoJSONEncoder)),
    }
