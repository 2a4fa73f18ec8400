"""URLs of the example site, included from the project's ``urls.py``."""

from __future__ import annotations

from django.urls import path

from example import views

app_name = "example"

urlpatterns = [
    path("feed/<int:entity_id>/", views.newsfeed, name="newsfeed"),
]
