"""The import paths, URL names, settings and commands that code written for 0.7 or 3.x, and the
docs, name: they stay where they were when the package's modules moved into sub-packages."""

from __future__ import annotations

import importlib

import pytest
from django.core.management import get_commands
from django.urls import reverse

from entity_event.conf import SETTINGS

#: ``(module, names)`` a project imports, as the 0.7 and 3.x docs and this project's docs write them.
PUBLIC_NAMES = [
    (
        "entity_event",
        ["Event", "EventActor", "EventSeen", "AdminEvent", "Medium", "Source", "SourceGroup",
         "Subscription", "Unsubscription", "RenderingStyle", "ContextRenderer", "Delivery", "ReadMark",
         "ReadState"],
    ),
    (
        "entity_event.models",
        ["Event", "EventActor", "EventSeen", "AdminEvent", "Medium", "Source", "SourceGroup",
         "Subscription", "Unsubscription", "RenderingStyle", "ContextRenderer", "EventQuerySet",
         "EventManager"],
    ),
    ("entity_event.context_loader", ["get_default_rendering_style", "load_contexts_and_renderers"]),
    ("entity_event.context_serializer", ["DefaultContextSerializer"]),
    ("entity_event.delivery",
     ["send_email", "deliver_batch", "Batch", "BatchReport", "message_id", "queue_again"]),
    ("entity_event.delivery.tasks", ["deliver_events", "deliver_on_creation"]),
    ("entity_event.signals", ["events_created"]),
    ("entity_event.exceptions", ["ContextNotLoadedError", "NoContextRendererError"]),
    ("entity_event.timestamps", ["never_expires"]),
    ("entity_event.notifications.live_channels", ["NotificationChannelManager"]),
    ("entity_event.notifications.center", ["default_entity_for_user"]),
]  # fmt: skip


@pytest.mark.parametrize(("module", "names"), PUBLIC_NAMES, ids=[module for module, _ in PUBLIC_NAMES])
def test_public_names_import_from_their_documented_module(module, names):
    imported = importlib.import_module(module)
    missing = [name for name in names if not hasattr(imported, name)]
    assert missing == []


def test_the_handler_paths_the_docs_give_are_importable():
    from django.utils.module_loading import import_string

    from entity_event.delivery.email import send_email

    assert import_string("entity_event.delivery.send_email") is send_email
    assert import_string(SETTINGS["ENTITY_FOR_USER"].default).__name__ == "default_entity_for_user"


@pytest.mark.parametrize(
    "name",
    ["notifications", "mark_all_read", "live", "api_notifications", "api_unread_count", "api_mark_read",
     "api_mark_unread", "api_mark_all_read"],
)  # fmt: skip
def test_the_url_names_stay(name):
    assert reverse(f"entity_event:{name}").startswith("/notifications/")


def test_the_form_urls_take_an_event_id():
    assert reverse("entity_event:mark_read", args=[7]) == "/notifications/7/mark-read/"
    assert reverse("entity_event:mark_unread", args=[7]) == "/notifications/7/mark-unread/"


def test_the_settings_keep_their_names():
    assert {setting.name for setting in SETTINGS.values()} == {
        "DEFAULT_ENTITY_EVENT_RENDERING_STYLE",
        "ENTITY_EVENT_CONTEXT_HINT_MODELS",
        "ENTITY_EVENT_MAX_RENDERED_LENGTH",
        "ENTITY_EVENT_EMAIL_ADDRESS_KEY",
        "ENTITY_EVENT_MESSAGE_ID_DOMAIN",
        "ENTITY_EVENT_NOTIFICATION_MEDIUM",
        "ENTITY_EVENT_ENTITY_FOR_USER",
        "ENTITY_EVENT_LIVE_UPDATES",
        "ENTITY_EVENT_POLL_SECONDS",
        "ENTITY_EVENT_BASE_URL",
        "ENTITY_EVENT_LANGUAGE_KEY",
        "ENTITY_EVENT_TIME_ZONE_KEY",
        "ENTITY_EVENT_PRIMARY_DATABASE",
        "ENTITY_EVENT_REPLICA_DATABASE",
        "ENTITY_EVENT_READ_YOUR_WRITES_SECONDS",
        "ENTITY_EVENT_REPLICA_RETRY_SECONDS",
    }


def test_the_management_commands_stay():
    commands = get_commands()
    assert commands["deliver_entity_events"] == "entity_event"
    assert commands["prune_entity_events"] == "entity_event"
