"""URLs of the runnable project: the Django admin, logging in, the notification center and the
example site's pages."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from example import views

#: The example site's pages, under the ``example`` namespace.
example_patterns = (
    [
        path("", views.home, name="home"),
        path("feed/<int:entity_id>/", views.newsfeed, name="newsfeed"),
    ],
    "example",
)

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("notifications/", include("entity_event.urls")),
    path("", include(example_patterns)),
]
