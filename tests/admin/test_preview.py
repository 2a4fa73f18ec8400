"""The context renderer's preview: the form's renderer (saved or not) rendered on the latest events
of its source, by an explicit POST from the admin change form (docs/security.rst says who may)."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from entity_event.models import ContextRenderer, Event, Source
from entity_event.rendering.preview import preview_renderer
from tests.entities import make_entity
from tests.testapp.models import Account

pytestmark = pytest.mark.django_db

HINTS = {"account": {"app_name": "testapp", "model_name": "Account"}}


def form_data(renderer: ContextRenderer, **changes) -> dict[str, str]:
    """The renderer as its admin form posts it, with ``changes``."""
    data = {
        "name": renderer.name,
        "rendering_style": renderer.rendering_style_id,
        "source": renderer.source_id or "",
        "source_group": renderer.source_group_id or "",
        "text_template": renderer.text_template,
        "html_template": renderer.html_template,
        "text_template_path": renderer.text_template_path,
        "html_template_path": renderer.html_template_path,
        "context_hints": json.dumps(renderer.context_hints),
    }
    return {**data, **changes}


def preview_page(client, renderer: ContextRenderer, **changes) -> str:
    """POST the renderer's form (with ``changes``) to its preview URL; the page's HTML."""
    if renderer.pk is None:
        url = reverse("admin:entity_event_contextrenderer_preview_new")
    else:
        url = reverse("admin:entity_event_contextrenderer_preview", args=[renderer.pk])
    response = client.post(url, form_data(renderer, **changes))
    assert response.status_code == 200
    return response.content.decode()


def test_renders_the_latest_events_with_hints_and_escapes_the_html(admin_client, style, photo_source):
    renderer = ContextRenderer.objects.create(
        name="r",
        rendering_style=style,
        source=photo_source,
        context_hints=HINTS,
        text_template="{{ account.name }} said {{ said }}",
        html_template="<b>{{ account.name }}</b> said {{ said }}",
    )
    ann = Account.objects.create(name="Ann")
    Event.objects.create_event(source=photo_source, context={"account": ann.pk, "said": "<script>x</script>"})
    page = preview_page(admin_client, renderer)
    assert "<pre>Ann said <script>x</script></pre>" not in page  # the text output is escaped too
    assert "<pre>Ann said &lt;script&gt;x&lt;/script&gt;</pre>" in page
    # The HTML output is shown as its source: its tags are escaped once, its escaped value twice.
    assert "<pre>&lt;b&gt;Ann&lt;/b&gt; said &amp;lt;script&amp;gt;x&amp;lt;/script&amp;gt;</pre>" in page
    assert "<b>Ann</b>" not in page


def test_group_renderer_uses_the_events_of_the_group_newest_first_up_to_the_limit(
    style, source_group, photo_source, product_source, django_assert_num_queries, read_only_statements
):
    renderer = ContextRenderer.objects.create(
        name="g", rendering_style=style, source_group=source_group, text_template="{{ n }}"
    )
    other_group_source = Source.objects.create(
        name="elsewhere", display_name="Elsewhere", group=type(source_group).objects.create(name="other")
    )
    Event.objects.create_event(source=other_group_source, context={"n": "other"})
    for number in range(7):
        Event.objects.create_event(source=(photo_source, product_source)[number % 2], context={"n": number})
    # events with their sources; no hinted model, so no other query but the read-only scope's
    with django_assert_num_queries(1 + read_only_statements):
        previews = preview_renderer(renderer, limit=5)
    assert [preview.text for preview in previews] == ["6", "5", "4", "3", "2"]


def test_a_template_error_is_shown_instead_of_output(admin_client, style, photo_source):
    renderer = ContextRenderer.objects.create(
        name="r", rendering_style=style, source=photo_source, text_template="{{ n|divisibleby:0 }}"
    )
    Event.objects.create_event(source=photo_source, context={"n": 4})
    page = preview_page(admin_client, renderer)
    assert 'class="errornote">ZeroDivisionError:' in page


def test_invalid_hints_saved_in_the_database_are_reported(style, photo_source):
    renderer = ContextRenderer.objects.create(
        name="r",
        rendering_style=style,
        source=photo_source,
        text_template="x",
        context_hints={"account": {"app_name": "nope", "model_name": "Nothing"}},
    )
    event = Event.objects.create_event(source=photo_source)
    [preview] = preview_renderer(renderer)
    assert preview.event == event and preview.text == ""
    assert preview.error.startswith("invalid context hints:")


def test_a_mistyped_prefetch_lookup_saved_in_the_database_is_reported(admin_client, style, photo_source):
    hints = {"account": {**HINTS["account"], "prefetch_related": ["fotos"]}}
    renderer = ContextRenderer.objects.create(
        name="r", rendering_style=style, source=photo_source, text_template="x", context_hints=hints
    )
    Event.objects.create_event(source=photo_source, context={"account": Account.objects.create(name="a").pk})
    [preview] = preview_renderer(renderer)
    assert preview.error == (
        "invalid context hints: context hint 'account': prefetch_related: 'fotos': "
        "testapp.Account has no relation 'fotos'"
    )
    # Posted from the form, the same hints are a form error (ContextRenderer.clean).
    page = preview_page(admin_client, renderer)
    assert "The form has errors" in page
    assert "testapp.Account has no relation &#x27;fotos&#x27;" in page


def test_a_loading_error_is_reported_instead_of_raised(admin_client, style, photo_source):
    # Hints that pass validation and still fail to load: what follows a generic foreign key
    # (Entity.entity) cannot be checked without rows, and the account has no relation "fotos".
    hints = {"owner": {"app_name": "entity", "model_name": "Entity", "prefetch_related": ["entity__fotos"]}}
    renderer = ContextRenderer.objects.create(
        name="r", rendering_style=style, source=photo_source, text_template="x", context_hints=hints
    )
    renderer.full_clean()
    owner = make_entity("Owner")
    owner.entity_id = Account.objects.create(name="a").pk
    owner.save()
    Event.objects.create_event(source=photo_source, context={"owner": owner.pk})
    [preview] = preview_renderer(renderer)
    assert preview.text == ""
    assert preview.error.startswith(
        "loading entity.Entity for the context hints of the context renderer 'r' failed: AttributeError"
    )
    assert "loading entity.Entity for the context hints of" in preview_page(admin_client, renderer)


def test_without_events(admin_client, style, photo_source):
    renderer = ContextRenderer.objects.create(
        name="r", rendering_style=style, source=photo_source, text_template="x"
    )
    assert "No events of this source yet." in preview_page(admin_client, renderer)


def test_the_posted_form_is_previewed_without_being_saved(admin_client, style, photo_source):
    renderer = ContextRenderer.objects.create(
        name="r", rendering_style=style, source=photo_source, text_template="old {{ n }}"
    )
    Event.objects.create_event(source=photo_source, context={"n": 1})
    page = preview_page(admin_client, renderer, text_template="new {{ n }}")
    assert "<pre>new 1</pre>" in page
    renderer.refresh_from_db()
    assert renderer.text_template == "old {{ n }}"


def test_a_new_renderer_is_previewed_before_it_is_saved(admin_client, style, photo_source):
    Event.objects.create_event(source=photo_source, context={"n": 2})
    unsaved = ContextRenderer(
        name="new", rendering_style=style, source=photo_source, text_template="n={{ n }}"
    )
    assert "<pre>n=2</pre>" in preview_page(admin_client, unsaved)
    assert not ContextRenderer.objects.exists()


def test_a_form_with_errors_shows_them_instead_of_a_preview(admin_client, style, photo_source):
    renderer = ContextRenderer.objects.create(
        name="r", rendering_style=style, source=photo_source, text_template="x"
    )
    page = preview_page(admin_client, renderer, text_template="{% if %}")
    assert "The form has errors" in page
    assert "This template does not compile" in page


def test_the_change_page_has_the_preview_button_and_renders_nothing(admin_client, style, photo_source):
    renderer = ContextRenderer.objects.create(
        name="r", rendering_style=style, source=photo_source, text_template="rendered {{ n }}"
    )
    Event.objects.create_event(source=photo_source, context={"n": 1})
    page = admin_client.get(reverse("admin:entity_event_contextrenderer_change", args=[renderer.pk]))
    assert page.status_code == 200
    preview_url = reverse("admin:entity_event_contextrenderer_preview", args=[renderer.pk])
    assert f'formaction="{preview_url}"' in page.content.decode()
    assert "rendered 1" not in page.content.decode()
    add_page = admin_client.get(reverse("admin:entity_event_contextrenderer_add")).content.decode()
    assert f'formaction="{reverse("admin:entity_event_contextrenderer_preview_new")}"' in add_page
