"""The admin's security model (docs/security.rst) and its validation of stored values.

* Finding "privilege escalation through the admin": a staff user with the view and change
  permissions of ContextRenderer set the hints to ``contenttypes.ContentType``, looped over
  ``get_all_objects_for_this_type`` in the template, and the preview (rendered on a plain GET,
  for view-only users too) printed every session key and password hash. Templates and hints are
  code now: editing them takes ``entity_event.edit_templates``, and the preview is an explicit
  POST for those who may edit.
* Finding "admin crashes on bad context": the Event form stored contexts ``create_event``
  refuses, after which pages returned HTTP 500. The forms now refuse exactly what the API
  refuses, with the same messages, and rows stored around them are shown flagged.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from entity_event.admin.forms import AdminEventForm
from entity_event.models import ContextRenderer, Event, Medium, RenderingStyle
from entity_event.validation import MAX_TIME

pytestmark = pytest.mark.django_db

#: The finding's template: every session key with its data.
SESSION_DUMP = (
    "{% for s in type.get_all_objects_for_this_type %}{{ s.session_key }}={{ s.session_data }};{% endfor %}"
)
CONTENT_TYPE_HINT = {"type": {"app_name": "contenttypes", "model_name": "ContentType"}}


def staff(username: str, *codenames: str) -> Client:
    """A logged-in client of a staff user holding the given entity_event permissions."""
    user = User.objects.create_user(username, password="pw", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="entity_event", codename__in=codenames)
    )
    client = Client()
    client.force_login(user)
    return client


def every_default_permission() -> list[str]:
    """add/change/view/delete of every entity_event model, not ``edit_templates``."""
    return [
        codename
        for codename in Permission.objects.filter(content_type__app_label="entity_event").values_list(
            "codename", flat=True
        )
        if codename.split("_")[0] in {"add", "change", "view", "delete"}
    ]


@pytest.fixture
def renderer(photo_source) -> ContextRenderer:
    style = RenderingStyle.objects.create(name="short")
    return ContextRenderer.objects.create(
        name="photo", rendering_style=style, source=photo_source, text_template="{{ type }}"
    )


@pytest.fixture
def secrets(photo_source):
    """A session of a superuser, and an event whose context names the session content type."""
    session = SessionStore()
    session["_auth_user_id"] = "1"
    session.create()
    Event.objects.create_event(
        source=photo_source, context={"type": ContentType.objects.get_for_model(Session).pk}
    )
    return session.session_key


def form_data(renderer: ContextRenderer, **changes) -> dict[str, str]:
    data = {
        "name": renderer.name,
        "rendering_style": renderer.rendering_style_id,
        "source": renderer.source_id or "",
        "source_group": "",
        "text_template": renderer.text_template,
        "html_template": "",
        "text_template_path": "",
        "html_template_path": "",
        "context_hints": json.dumps(renderer.context_hints),
    }
    return {**data, **changes}


def change_url(renderer: ContextRenderer) -> str:
    return reverse("admin:entity_event_contextrenderer_change", args=[renderer.pk])


def preview_url(renderer: ContextRenderer) -> str:
    return reverse("admin:entity_event_contextrenderer_preview", args=[renderer.pk])


class TestTemplatesAreCode:
    def test_the_finding_a_change_permission_no_longer_edits_hints_or_previews(self, renderer, secrets):
        client = staff("limited", "view_contextrenderer", "change_contextrenderer")
        hostile = form_data(renderer, text_template=SESSION_DUMP, context_hints=json.dumps(CONTENT_TYPE_HINT))
        assert client.post(change_url(renderer), hostile).status_code == 403
        assert client.post(preview_url(renderer), hostile).status_code == 403
        renderer.refresh_from_db()
        assert (renderer.text_template, renderer.context_hints) == ("{{ type }}", {})
        page = client.get(change_url(renderer)).content.decode()
        assert secrets not in page
        assert "Preview with the latest events" not in page  # read-only: no button
        assert 'name="text_template"' not in page  # shown, not editable

    def test_every_default_permission_of_every_model_is_not_enough(self, renderer, secrets, photo_source):
        client = staff("all-defaults", *every_default_permission())
        hostile = form_data(renderer, text_template=SESSION_DUMP, context_hints=json.dumps(CONTENT_TYPE_HINT))
        assert client.post(change_url(renderer), hostile).status_code == 403
        assert client.post(preview_url(renderer), hostile).status_code == 403
        add = reverse("admin:entity_event_contextrenderer_add")
        assert client.get(add).status_code == 403
        assert client.post(add, {**hostile, "name": "new"}).status_code == 403
        new_preview = reverse("admin:entity_event_contextrenderer_preview_new")
        assert client.post(new_preview, {**hostile, "name": "new"}).status_code == 403
        assert ContextRenderer.objects.count() == 1
        # They still delete renderers (that renders nothing) and manage everything else.
        assert (
            client.get(reverse("admin:entity_event_contextrenderer_delete", args=[renderer.pk])).status_code
            == 200
        )

    def test_the_edit_templates_permission_edits_and_previews(self, renderer, secrets):
        client = staff("editor", "view_contextrenderer", "change_contextrenderer", "edit_templates")
        page = client.get(change_url(renderer)).content.decode()
        assert "Preview with the latest events" in page and secrets not in page
        # Templates are code: someone trusted with them reaches what the code reaches.
        hostile = form_data(renderer, text_template=SESSION_DUMP, context_hints=json.dumps(CONTENT_TYPE_HINT))
        assert secrets in client.post(preview_url(renderer), hostile).content.decode()
        assert client.post(change_url(renderer), hostile).status_code == 302

    def test_the_hint_models_setting_limits_even_editors(self, renderer, secrets, settings):
        settings.ENTITY_EVENT_CONTEXT_HINT_MODELS = ["testapp.Account"]
        client = staff("editor", "view_contextrenderer", "change_contextrenderer", "edit_templates")
        hostile = form_data(renderer, text_template=SESSION_DUMP, context_hints=json.dumps(CONTENT_TYPE_HINT))
        page = client.post(preview_url(renderer), hostile).content.decode()
        assert secrets not in page
        assert "which the ENTITY_EVENT_CONTEXT_HINT_MODELS setting does not allow" in page
        assert client.post(change_url(renderer), hostile).status_code == 200  # the form, with the error
        renderer.refresh_from_db()
        assert renderer.context_hints == {}

    def test_the_preview_never_runs_on_a_plain_page_view(self, admin_client, renderer, secrets):
        renderer.text_template = SESSION_DUMP
        renderer.context_hints = CONTENT_TYPE_HINT
        renderer.save()
        assert secrets not in admin_client.get(change_url(renderer)).content.decode()
        assert admin_client.get(preview_url(renderer)).status_code == 405

    def test_view_only_users_see_the_renderer_and_cannot_preview(self, renderer):
        client = staff("viewer", "view_contextrenderer")
        assert client.get(change_url(renderer)).status_code == 200
        assert client.post(preview_url(renderer), form_data(renderer)).status_code == 403

    def test_the_preview_is_csrf_protected(self, renderer):
        user = User.objects.create_superuser("root", "root@example.com", "pw")
        client = Client(enforce_csrf_checks=True)
        client.force_login(user)
        assert client.post(preview_url(renderer), form_data(renderer)).status_code == 403

    def test_an_unknown_renderer_is_not_found(self, admin_client):
        url = reverse("admin:entity_event_contextrenderer_preview", args=[987654])
        assert admin_client.post(url, {}).status_code == 404


EVENT_CHANGE = "admin:entity_event_event_change"


def event_form(event: Event, **changes) -> dict[str, str]:
    """The Event admin form as the browser posts it (inlines empty)."""
    data = {
        "source": event.source_id,
        "context": json.dumps(event.context),
        "time_0": event.time.strftime("%Y-%m-%d"),
        "time_1": event.time.strftime("%H:%M:%S"),
        "time_expires_0": "2999-01-01",
        "time_expires_1": "00:00:00",
        "uuid": event.uuid,
    }
    for prefix in ("eventactor_set", "eventseen_set"):
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    return {**data, **changes}


class TestOneValidationForEveryWayIn:
    @pytest.mark.parametrize(
        ("changes", "message"),
        [
            ({"context": "[1, 2]"}, "context must be a dict, got list"),
            ({"context": '{"price": NaN}'}, "context cannot be stored as JSON: it contains nan"),
            ({"context": '{"x": "\\ud800"}'}, "it contains the lone surrogate"),
            ({"context": '{"x": "a\\u0000"}'}, "it contains a NUL character"),
            ({"context": '{"a": ' + "[" * 20 + "1" + "]" * 20 + "}"}, "more than 20 levels deep"),
            (
                {"time_expires_0": "9999-12-31", "time_expires_1": "12:00:00"},
                "time_expires 9999-12-31T12:00:00+00:00 is out of range",
            ),
            ({"time_0": "0001-01-01", "time_1": "00:00:00"}, "time 0001-01-01T00:00:00+00:00 is out of"),
        ],
    )  # fmt: skip
    def test_the_event_form_refuses_what_create_event_refuses(
        self, admin_client, photo_source, changes, message
    ):
        event = Event.objects.create_event(source=photo_source, context={"x": 1})
        response = admin_client.post(reverse(EVENT_CHANGE, args=[event.pk]), event_form(event, **changes))
        assert response.status_code == 200
        assert message in str(response.context["adminform"].form.errors)
        stored = Event.objects.get(pk=event.pk)
        assert (stored.context, stored.time_expires) == (event.context, event.time_expires)

    def test_the_event_form_accepts_a_valid_context(self, admin_client, photo_source):
        event = Event.objects.create_event(source=photo_source, context={"x": 1})
        response = admin_client.post(
            reverse(EVENT_CHANGE, args=[event.pk]), event_form(event, context='{"x": 2}')
        )
        assert response.status_code == 302
        assert Event.objects.get(pk=event.pk).context == {"x": 2}

    def test_the_same_message_as_create_event(self, photo_source):
        with pytest.raises(TypeError) as raised:
            Event.objects.create_event(source=photo_source, context=[1, 2])
        assert str(raised.value) == "create_events[0]: context must be a dict, got list"

    def test_a_medium_s_additional_context_is_checked_too(self, admin_client):
        response = admin_client.post(
            reverse("admin:entity_event_medium_add"),
            {
                "name": "m",
                "display_name": "M",
                "additional_context": '{"x": Infinity}',
                "rendering_style": "",
            },
        )
        assert response.status_code == 200
        assert "additional_context cannot be stored as JSON: it contains inf" in str(
            response.context["adminform"].form.errors
        )
        assert not Medium.objects.exists()

    def test_the_admin_event_form_checks_the_context_its_text_makes(self, photo_source):
        # A browser cannot send a lone surrogate; code using the form can.
        form = AdminEventForm(
            {"source": photo_source.pk, "text": "a\ud800", "expires_date": "", "expires_time": ""}
        )
        assert form.errors["text"] == [
            "context cannot be stored as JSON: it contains the lone surrogate '\\ud800', which is not valid "
            "Unicode text"
        ]

    def test_the_admin_event_form_refuses_an_expiry_out_of_range(self, admin_client, photo_source):
        response = admin_client.post(
            reverse("admin:entity_event_adminevent_add"),
            {"source": photo_source.pk, "text": "hi", "expires_date": "9999-12-31", "expires_time": "23:59"},
        )
        assert response.status_code == 200
        assert "time_expires 9999-12-31T23:59:00+00:00 is out of range" in str(
            response.context["adminform"].form.errors
        )
        assert not Event.objects.exists()


class TestRowsStoredWithBadValues:
    """Written around create_event (here ``Event.objects.create``, as raw SQL or an older version
    could): every admin page still answers, and shows the problem."""

    @pytest.fixture
    def bad(self, photo_source) -> Event:
        return Event.objects.create(source=photo_source, context=[1, 2], uuid="admin-bad")

    def test_the_admin_event_changelist_flags_it(self, admin_client, bad):
        response = admin_client.get(reverse("admin:entity_event_adminevent_changelist"))
        assert response.status_code == 200
        assert "the stored context is a list, not a dict" in response.content.decode()

    def test_the_admin_event_form_opens_and_saving_repairs_it(self, admin_client, bad):
        url = reverse("admin:entity_event_adminevent_change", args=[bad.pk])
        assert admin_client.get(url).status_code == 200
        response = admin_client.post(
            url, {"source": bad.source_id, "text": "fixed", "expires_date": "", "expires_time": ""}
        )
        assert response.status_code == 302
        assert Event.objects.get(pk=bad.pk).context == {"text": "fixed"}

    def test_the_event_page_flags_it(self, admin_client, bad):
        page = admin_client.get(reverse(EVENT_CHANGE, args=[bad.pk])).content.decode()
        assert '<ul class="errorlist"><li>context must be a dict, got list</li></ul>' in page

    def test_a_valid_event_is_shown_as_valid(self, admin_client, photo_source):
        event = Event.objects.create_event(source=photo_source)
        response = admin_client.get(reverse(EVENT_CHANGE, args=[event.pk]))
        assert response.context["adminform"].form.instance == event
        assert '<div class="readonly">valid</div>' in response.content.decode()

    def test_the_renderer_page_and_its_preview_answer(self, admin_client, renderer, bad):
        assert admin_client.get(change_url(renderer)).status_code == 200
        page = admin_client.post(preview_url(renderer), form_data(renderer)).content.decode()
        assert "TypeError: the stored context of the event" in page
        assert "is a list, not a dict" in page

    def test_rendering_leaves_it_out_and_says_why(self, renderer, bad, caplog):
        medium = Medium.objects.create(name="m", display_name="M", rendering_style=renderer.rendering_style)
        assert medium.render([bad]) == {}
        assert "is a list, not a dict" in caplog.text


def test_the_limits_are_a_day_inside_the_calendar():
    assert datetime(9999, 12, 30, 23, 59, 59, 999999, tzinfo=UTC) == MAX_TIME
    assert timezone.now() + timedelta(days=365) < MAX_TIME
