"""The URLs of docs/notification_center.rst, resolved by tests/project/test_docs_examples.py."""

from django.urls import include, path

urlpatterns = [
    # Django's login page: the notification center sends visitors who are not logged in there
    # (LOGIN_URL), and a fresh project has none.
    path("accounts/", include("django.contrib.auth.urls")),
    path("notifications/", include("entity_event.urls")),
]
