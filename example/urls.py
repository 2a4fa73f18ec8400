"""URLs of the runnable project: the Django admin and the example site's pages."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from example import views

#: The example site's pages, under the ``example`` namespace.
example_patterns = ([path("feed/<int:entity_id>/", views.newsfeed, name="newsfeed")], "example")

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include(example_patterns)),
]
