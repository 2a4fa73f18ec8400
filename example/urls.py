"""URLs of the runnable project: the Django admin, logging in, the notification center and the
example site's pages."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from example import views

#: The example site's pages, under the ``example`` namespace.
example_patterns = (
    [
        path("", RedirectView.as_view(pattern_name="entity_event:notifications"), name="home"),
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
