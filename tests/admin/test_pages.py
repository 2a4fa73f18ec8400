"""The admin through the test client: registration, changelists, search, query counts, editing."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from entity_event.models import (
    AdminEvent,
    ContextRenderer,
    Event,
    EventActor,
    EventSeen,
    Medium,
    ReadMark,
    ReadState,
    RenderingStyle,
    Source,
    SourceGroup,
    Subscription,
    Unsubscription,
)
from tests.entities import entity_kind, make_entity

pytestmark = pytest.mark.django_db

ALL_MODELS = [
    SourceGroup,
    Source,
    Medium,
    Subscription,
    Unsubscription,
    Event,
    AdminEvent,
    EventSeen,
    RenderingStyle,
    ContextRenderer,
    ReadState,
    ReadMark,
]


def changelist_url(model: type) -> str:
    return reverse(f"admin:entity_event_{model._meta.model_name}_changelist")


def add_url(model: type) -> str:
    return reverse(f"admin:entity_event_{model._meta.model_name}_add")


def change_url(obj) -> str:
    return reverse(f"admin:entity_event_{obj._meta.model_name}_change", args=[obj.pk])


def changelist_ids(client, model: type, **params) -> set[int]:
    """The primary keys of the rows a changelist shows for the given query parameters."""
    response = client.get(changelist_url(model), params)
    assert response.status_code == 200
    return {obj.pk for obj in response.context["cl"].result_list}


@pytest.fixture
def world(source_group, photo_source, product_source, email, newsfeed, alice, bob, style):
    """One row of every model, with distinct names, so that searches can tell them apart."""
    other_group = SourceGroup.objects.create(name="shop", display_name="Shop")
    Source.objects.filter(pk=product_source.pk).update(group=other_group)
    product_source.refresh_from_db()
    newsfeed.rendering_style = style
    newsfeed.save()
    team = make_entity("Team Rocket", kind="team")
    photo_event = Event.objects.create_event(source=photo_source, uuid="photo-1", actors=[alice])
    product_event = Event.objects.create_event(source=product_source, uuid="product-1", actors=[bob])
    return {
        "other_group": other_group,
        "photo_event": photo_event,
        "product_event": product_event,
        "alice_subscription": Subscription.objects.create(
            medium=email, source=photo_source, entity=alice, only_following=False
        ),
        "team_subscription": Subscription.objects.create(
            medium=newsfeed, source=product_source, entity=team, sub_entity_kind=entity_kind("user")
        ),
        "alice_unsubscription": Unsubscription.objects.create(
            entity=alice, medium=email, source=photo_source
        ),
        "bob_unsubscription": Unsubscription.objects.create(
            entity=bob, medium=newsfeed, source=product_source
        ),
        "photo_seen": EventSeen.objects.create(event=photo_event, medium=email),
        "product_seen": EventSeen.objects.create(event=product_event, medium=newsfeed),
        "alice_read_state": ReadState.objects.create(medium=email, entity=alice, read_up_to=photo_event.pk),
        "bob_read_mark": ReadMark.objects.create(medium=newsfeed, entity=bob, event=product_event, read=True),
        "photo_renderer": ContextRenderer.objects.create(
            name="photo short", rendering_style=style, source=photo_source, text_template="{{ a }}"
        ),
        "shop_renderer": ContextRenderer.objects.create(
            name="shop short", rendering_style=style, source_group=other_group, text_template="{{ b }}"
        ),
    }


def test_every_model_is_registered():
    for model in ALL_MODELS:
        assert admin.site.is_registered(model), model
    # Actors and seen records are edited on their event's page.
    inline_models = {inline.model for inline in admin.site.get_model_admin(Event).inlines}
    assert inline_models == {EventActor, EventSeen}


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda model: model.__name__)
def test_every_changelist_and_add_page_loads(admin_client, world, model):
    assert admin_client.get(changelist_url(model)).status_code == 200
    assert admin_client.get(add_url(model)).status_code == 200


@pytest.mark.parametrize(
    "model, query, expected",
    [
        (SourceGroup, "shop", ["other_group"]),
        (Source, "Photo Tag", ["photo_source"]),
        (Source, "shop", ["product_source"]),  # by the group's name
        (Medium, "NewsFeed", ["newsfeed"]),
        (RenderingStyle, "Short", ["style"]),
        (Subscription, "Alice", ["alice_subscription"]),
        (Subscription, "Team Rocket", ["team_subscription"]),
        (Subscription, "New Product", ["team_subscription"]),
        (Subscription, "email", ["alice_subscription"]),
        (Unsubscription, "Bob", ["bob_unsubscription"]),
        (Unsubscription, "photo-tag", ["alice_unsubscription"]),
        (Unsubscription, "NewsFeed", ["bob_unsubscription"]),
        (Event, "product-1", ["product_event"]),
        (Event, "Photo Tag", ["photo_event"]),
        (Event, "Bob", ["product_event"]),  # by an actor's display name
        (ReadState, "Alice", ["alice_read_state"]),
        (ReadMark, "Bob", ["bob_read_mark"]),
        (ReadMark, "product-1", ["bob_read_mark"]),
        (EventSeen, "photo-1", ["photo_seen"]),
        (EventSeen, "New Product", ["product_seen"]),
        (EventSeen, "newsfeed", ["product_seen"]),
        (ContextRenderer, "shop short", ["shop_renderer"]),
        (ContextRenderer, "Photo Tag", ["photo_renderer"]),
        (ContextRenderer, "Shop", ["shop_renderer"]),  # by the source group's display name
    ],
)
def test_search(admin_client, world, request, model, query, expected):
    objects = {**world, **{name: request.getfixturevalue(name) for name in expected if name not in world}}
    assert changelist_ids(admin_client, model, q=query) == {objects[name].pk for name in expected}


def test_search_matches_nothing(admin_client, world):
    for model in ALL_MODELS:
        assert changelist_ids(admin_client, model, q="no such thing anywhere") == set(), model


def test_filters_and_date_hierarchy(admin_client, world, email, photo_source):
    event = world["photo_event"]
    assert changelist_ids(admin_client, Event, source__group__id__exact=world["other_group"].pk) == {
        world["product_event"].pk
    }
    assert changelist_ids(admin_client, Event, source__id__exact=photo_source.pk) == {event.pk}
    assert changelist_ids(admin_client, Event, time__year=event.time.year, time__month=event.time.month) == {
        event.pk,
        world["product_event"].pk,
    }
    assert changelist_ids(admin_client, Event, time__year=event.time.year - 1) == set()
    assert changelist_ids(admin_client, EventSeen, medium__id__exact=email.pk) == {world["photo_seen"].pk}
    assert changelist_ids(admin_client, Subscription, only_following__exact=1) == {
        world["team_subscription"].pk
    }


def test_changelists_are_ordered(admin_client, photo_source):
    first = Event.objects.create_event(source=photo_source, uuid="first")
    second = Event.objects.create_event(source=photo_source, uuid="second")
    rows = admin_client.get(changelist_url(Event)).context["cl"].result_list
    assert [event.pk for event in rows] == [second.pk, first.pk]


def test_entity_foreign_keys_are_raw_ids(admin_client, world, alice):
    """No ``<select>`` of every entity: the entity is typed in by id (with a lookup popup)."""
    subscription = world["alice_subscription"]
    for url in (add_url(Subscription), change_url(subscription), add_url(Unsubscription)):
        content = admin_client.get(url).content.decode()
        assert '<select name="entity"' not in content
        assert 'name="entity"' in content
        assert "vForeignKeyRawIdAdminField" in content
    content = admin_client.get(change_url(world["photo_event"])).content.decode()
    assert '<select name="eventactor_set-0-entity"' not in content
    assert 'name="eventactor_set-0-entity"' in content


def test_event_page_shows_actors_and_seen_records(admin_client, world, alice, email):
    response = admin_client.get(change_url(world["photo_event"]))
    assert response.status_code == 200
    formsets = {inline.formset.prefix: inline.formset for inline in response.context["inline_admin_formsets"]}
    actors = formsets["eventactor_set"]
    seen = formsets["eventseen_set"]
    assert [form.instance.entity_id for form in actors.initial_forms] == [alice.pk]
    assert [form.instance.medium_id for form in seen.initial_forms] == [email.pk]


def test_subscription_created_through_the_admin(admin_client, email, photo_source, alice):
    response = admin_client.post(
        add_url(Subscription),
        {"medium": email.pk, "source": photo_source.pk, "entity": alice.pk, "only_following": "on"},
    )
    assert response.status_code == 302
    subscription = Subscription.objects.get()
    assert (subscription.entity, subscription.medium, subscription.only_following) == (alice, email, True)


def test_rendering_style_and_context_renderer_are_editable(admin_client, world, style, product_source):
    response = admin_client.post(add_url(RenderingStyle), {"name": "long", "display_name": "Long"})
    assert response.status_code == 302
    long_style = RenderingStyle.objects.get(name="long")

    renderer = world["photo_renderer"]
    response = admin_client.post(
        change_url(renderer),
        {
            "name": "photo long",
            "rendering_style": long_style.pk,
            "source": product_source.pk,
            "source_group": "",
            "text_template": "Tagged {{ photo }}",
            "html_template": "<b>{{ photo }}</b>",
            "text_template_path": "",
            "html_template_path": "",
            "context_hints": '{"photo": {"app_name": "testapp", "model_name": "Photo"}}',
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    renderer.refresh_from_db()
    assert renderer.name == "photo long"
    assert renderer.rendering_style == long_style
    assert renderer.source == product_source
    assert renderer.text_template == "Tagged {{ photo }}"
    assert renderer.context_hints == {"photo": {"app_name": "testapp", "model_name": "Photo"}}


def test_context_renderer_constraints_show_as_form_errors(admin_client, style, photo_source, source_group):
    """Model validation (constraints now, ``clean()`` later) reaches the admin as form errors."""
    response = admin_client.post(
        add_url(ContextRenderer),
        {
            "name": "both",
            "rendering_style": style.pk,
            "source": photo_source.pk,
            "source_group": source_group.pk,
            "text_template": "x",
            "context_hints": "{}",
        },
    )
    assert response.status_code == 200
    assert "exactly one of source and source group" in str(response.context["adminform"].form.errors)
    assert not ContextRenderer.objects.exists()


def _events(source: Source, medium: Medium, numbers: range) -> list[Event]:
    """Events with two actors each, created in bulk."""
    actors = [make_entity(f"Actor {numbers.start}-{n}") for n in range(2)]
    return Event.objects.create_events(
        [{"source": source, "uuid": f"bulk-{n}", "actors": actors} for n in numbers]
    )


def _subscriptions(source: Source, medium: Medium, numbers: range) -> None:
    kind = entity_kind("user")
    Subscription.objects.bulk_create(
        Subscription(medium=medium, source=source, entity=make_entity(f"Group {n}"), sub_entity_kind=kind)
        for n in numbers
    )


def _read_states(source: Source, medium: Medium, numbers: range) -> None:
    ReadState.objects.bulk_create(
        ReadState(medium=medium, entity=make_entity(f"Reader {n}"), read_up_to=n) for n in numbers
    )


def _read_marks(source: Source, medium: Medium, numbers: range) -> None:
    reader = make_entity(f"Reader {numbers.start}")
    ReadMark.objects.bulk_create(
        ReadMark(medium=medium, entity=reader, event=event, read=True)
        for event in _events(source, medium, numbers)
    )


def _seen(source: Source, medium: Medium, numbers: range) -> None:
    EventSeen.objects.bulk_create(
        EventSeen(event=event, medium=medium) for event in _events(source, medium, numbers)
    )


@pytest.mark.parametrize(
    "model, make_rows, num_queries",
    [
        (Event, _events, 8),
        (Subscription, _subscriptions, 7),
        (EventSeen, _seen, 5),
        (ReadState, _read_states, 5),
        (ReadMark, _read_marks, 5),
    ],
    ids=["Event", "Subscription", "EventSeen", "ReadState", "ReadMark"],
)
def test_changelist_queries_do_not_grow_with_rows(
    admin_client, photo_source, email, django_assert_num_queries, model, make_rows, num_queries
):
    """The same number of queries for 20 rows as for 200 (a page of 100): no query per row."""
    make_rows(photo_source, email, range(20))
    with CaptureQueriesContext(connection) as small:
        response = admin_client.get(changelist_url(model))
    assert len(response.context["cl"].result_list) == 20

    make_rows(photo_source, email, range(20, 200))
    with django_assert_num_queries(num_queries):
        response = admin_client.get(changelist_url(model))
    assert response.context["cl"].result_count == 200
    assert len(response.context["cl"].result_list) == 100
    assert len(small) == num_queries
