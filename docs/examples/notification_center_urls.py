"""The URLs of docs/notification_center.rst, resolved by tests/project/test_docs_examples.py."""

from django.urls import include, path

urlpatterns = [
    path("notifications/", include("entity_event.urls")),
]
