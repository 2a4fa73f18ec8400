"""Clickjacking: the pages of the runnable project (settings.py) and of the test suite's
(tests/settings.py) may not be shown in a frame of another site (docs/deployment.rst)."""

from __future__ import annotations

import pytest
from django.test import override_settings
from django.urls import reverse

import settings as project_settings
from entity_event.models import Medium
from tests.entities import make_entity, make_user
from tests.notifications.conftest import logged_in

pytestmark = pytest.mark.django_db

CLICKJACKING_MIDDLEWARE = "django.middleware.clickjacking.XFrameOptionsMiddleware"


@pytest.fixture(params=["tests", "project"])
def middleware(request):
    """The middleware of the test suite, then of the runnable project."""
    if request.param == "tests":
        yield
    else:
        with override_settings(MIDDLEWARE=project_settings.MIDDLEWARE):
            yield


@pytest.mark.usefixtures("middleware")
class TestFraming:
    def test_the_notification_center_is_denied(self, db):
        Medium.objects.create(name="notifications", display_name="Notifications")
        alice = make_user("alice", make_entity("Alice"))
        response = logged_in(alice).get(reverse("entity_event:notifications"))
        assert response.status_code == 200
        assert response["X-Frame-Options"] == "DENY"

    def test_the_admin_login_page_is_denied(self, client):
        response = client.get(reverse("admin:login"))
        assert response.status_code == 200
        assert response["X-Frame-Options"] == "DENY"

    def test_the_admin_is_denied(self, db):
        admin = make_user("admin", make_entity("Admin"), is_staff=True, is_superuser=True)
        response = logged_in(admin).get(reverse("admin:index"))
        assert response.status_code == 200
        assert response["X-Frame-Options"] == "DENY"


def test_both_settings_install_the_middleware():
    from django.conf import settings

    assert CLICKJACKING_MIDDLEWARE in project_settings.MIDDLEWARE
    assert CLICKJACKING_MIDDLEWARE in settings.MIDDLEWARE
