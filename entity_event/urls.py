"""URLs of the notification center: ``path("notifications/", include("entity_event.urls"))``.

Names, in the ``entity_event`` namespace: ``notifications`` (the HTML list), ``mark_all_read``,
``mark_read`` and ``mark_unread`` (its forms), ``live`` (the stream of live updates), and the
JSON API (``entity_event.notifications.api``): ``api_notifications``, ``api_unread_count``, ``api_mark_read``,
``api_mark_unread``, ``api_mark_all_read``; the preference center, ``preferences`` (the page),
``api_preferences`` and ``api_change_preferences``; and ``unsubscribe`` (the one-click link of
emails).
"""

from __future__ import annotations

from django.urls import path

from entity_event.notifications import api, live, preference_views, unsubscribe, views

app_name = "entity_event"

urlpatterns = [
    path("", views.notification_list, name="notifications"),
    path("mark-all-read/", views.mark_all_read, name="mark_all_read"),
    path("<int:event_id>/mark-read/", views.mark_read, name="mark_read"),
    path("<int:event_id>/mark-unread/", views.mark_unread, name="mark_unread"),
    path("live/", live.live_updates, name="live"),
    path("api/", api.notifications, name="api_notifications"),
    path("api/unread-count/", api.unread_count, name="api_unread_count"),
    path("api/mark-read/", api.mark_read, name="api_mark_read"),
    path("api/mark-unread/", api.mark_unread, name="api_mark_unread"),
    path("api/mark-all-read/", api.mark_all_read, name="api_mark_all_read"),
    path("preferences/", preference_views.preferences_page, name="preferences"),
    path("api/preferences/", preference_views.preferences, name="api_preferences"),
    path("api/preferences/change/", preference_views.change_preferences, name="api_change_preferences"),
    path("unsubscribe/<str:token>/", unsubscribe.unsubscribe, name="unsubscribe"),
]
