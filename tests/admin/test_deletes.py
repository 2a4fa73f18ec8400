"""Deleting through the admin: what its delete confirmation says (counts of what goes along,
refusals with counts when something is protected, missing permissions) and what it deletes."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Permission, User
from django.urls import reverse
from django.utils.text import capfirst

from entity_event.admin import deletion as admin_deletion
from entity_event.admin.base import EntityEventAdmin
from entity_event.admin.deletion import LISTED_OBJECTS
from entity_event.models import (
    AdminEvent,
    ContextRenderer,
    Event,
    EventSeen,
    Medium,
    RenderingStyle,
    Source,
    SourceGroup,
    Subscription,
    Unsubscription,
)
from tests.entities import make_entity
from tests.testapp.models import FollowSubEntitiesMedium, Theme

pytestmark = pytest.mark.django_db

#: Queries of the delete confirmation of a medium, whatever its number of seen records: the
#: session, the user, the medium, then one COUNT per kind of row: the mediums themselves,
#: deliveries, subscriptions, unsubscriptions, seen records, read watermarks, read marks, and the
#: rows of the test app's Medium subclass.
MEDIUM_PAGE_QUERIES = 11
#: The list items of that page: the medium and its seen records, then the same two in the summary.
MEDIUM_PAGE_LIST_ITEMS = 4
#: Queries of the delete confirmation of a source with events (refused): the session, the user,
#: the source, the COUNTs of the sources themselves, their subscriptions, unsubscriptions, events
#: and context renderers.
SOURCE_PAGE_QUERIES = 8


def renderer(style: RenderingStyle, **source_or_group) -> ContextRenderer:
    name = f"{style.name} {next(iter(source_or_group.values())).name}"
    return ContextRenderer.objects.create(
        name=name, rendering_style=style, text_template="{{ text }}", **source_or_group
    )


def exists(obj) -> bool:
    return type(obj)._base_manager.filter(pk=obj.pk).exists()


def delete_url(obj) -> str:
    return reverse(f"admin:entity_event_{obj._meta.model_name}_delete", args=[obj.pk])


def change_link(obj) -> str:
    url = reverse(f"admin:entity_event_{obj._meta.model_name}_change", args=[obj.pk])
    return f'{capfirst(obj._meta.verbose_name)}: <a href="{url}">{obj}</a>'


def delete_selected(client, objs, confirm: bool = False):
    model = type(objs[0])
    data = {"action": "delete_selected", "_selected_action": [obj.pk for obj in objs]}
    if confirm:
        data["post"] = "yes"
    return client.post(reverse(f"admin:entity_event_{model._meta.model_name}_changelist"), data)


def list_items_of_the_content(response) -> int:
    """The list items of the page's content, after the breadcrumbs (a list since Django 6.1)."""
    return response.content.partition(b'<div id="content"')[2].count(b"<li>")


def summary(response) -> tuple:
    """What the confirmation page shows: the lines, the counts, the missing permissions, the
    protected lines."""
    context = response.context
    # The "delete selected" page wraps the lines in one more list.
    deleted = context["deleted_objects"] if "deleted_objects" in context else context["deletable_objects"][0]
    return deleted, dict(context["model_count"]), set(context["perms_lacking"]), context["protected"]


def make_events(source, count: int, actors=(), seen_on=()) -> list[Event]:
    events = Event.objects.create_events(
        {"source": source, "actors": list(actors), "context": {"n": n}} for n in range(count)
    )
    EventSeen.objects.bulk_create(
        EventSeen(event=event, medium=medium) for event in events for medium in seen_on
    )
    return events


@pytest.fixture
def follow(db) -> FollowSubEntitiesMedium:
    return FollowSubEntitiesMedium.objects.create(name="follow", display_name="Follow")


class TestAdminConfirmation:
    def test_every_model_admin_of_the_app_counts(self):
        models = apps.get_app_config("entity_event").get_models()
        admins = [admin.site.get_model_admin(model) for model in models if admin.site.is_registered(model)]
        assert len(admins) == 13  # every model but EventActor, edited on its event's page
        assert all(isinstance(model_admin, EntityEventAdmin) for model_admin in admins)

    def test_a_medium_shows_counts_of_what_goes_with_it(self, admin_client, follow, photo_source, alice, bob):
        medium = Medium.objects.get(pk=follow.pk)
        make_events(photo_source, 30, actors=[alice], seen_on=[medium])
        Subscription.objects.create(medium=medium, source=photo_source, entity=alice)
        Subscription.objects.create(medium=medium, source=photo_source, entity=bob)
        Unsubscription.objects.create(medium=medium, source=photo_source, entity=alice)

        response = admin_client.get(delete_url(medium))

        assert response.status_code == 200
        assert summary(response) == (
            [
                change_link(medium),
                # By distance, then by model label: entity_event.EventSeen, .Subscription,
                # .Unsubscription, then testapp.FollowSubEntitiesMedium.
                ["30 events seen", "2 subscriptions", "1 unsubscription", "1 follow sub entities medium"],
            ],
            {
                "mediums": 1,
                "subscriptions": 2,
                "unsubscriptions": 1,
                "events seen": 30,
                "follow sub entities mediums": 1,
            },
            set(),
            [],
        )
        assert response.context["title"] == "Delete"
        assert b"30 events seen" in response.content

    def test_confirming_deletes_what_was_counted(self, admin_client, follow, photo_source, alice):
        make_events(photo_source, 3, seen_on=[follow])
        Subscription.objects.create(medium=follow, source=photo_source, entity=alice)
        response = admin_client.post(delete_url(Medium.objects.get(pk=follow.pk)), {"post": "yes"})
        assert response.status_code == 302
        assert not Medium.objects.exists() and not FollowSubEntitiesMedium.objects.exists()
        assert not EventSeen.objects.exists() and not Subscription.objects.exists()
        assert Event.objects.count() == 3

    def test_a_source_with_events_and_renderers_is_refused_with_counts(
        self, admin_client, photo_source, email, alice, style
    ):
        make_events(photo_source, 40, actors=[alice], seen_on=[email])
        renderer(style, source=photo_source)
        Subscription.objects.create(medium=email, source=photo_source, entity=alice)

        response = admin_client.get(delete_url(photo_source))

        deleted, counts, perms, protected = summary(response)
        assert protected == [
            "1 context renderer, which protects its source (delete it first)",
            "40 events, which protect their source (delete them first)",
        ]
        assert response.context["title"] == "Cannot delete source"
        assert b"Yes, I\xe2\x80\x99m sure" not in response.content
        # Confirming anyway deletes nothing.
        assert admin_client.post(delete_url(photo_source), {"post": "yes"}).status_code == 200
        assert exists(photo_source) and Event.objects.count() == 40 and Subscription.objects.count() == 1

    def test_a_group_whose_sources_have_events_is_refused_with_counts(
        self, admin_client, source_group, photo_source, product_source
    ):
        make_events(photo_source, 2)
        make_events(product_source, 3)
        response = admin_client.get(delete_url(source_group))
        assert summary(response)[3] == ["5 events, which protect their source (delete them first)"]
        assert response.context["title"] == "Cannot delete source group"

    def test_a_group_with_only_configuration_shows_its_sources_and_their_subscriptions(
        self, admin_client, source_group, photo_source, product_source, email, alice
    ):
        Subscription.objects.create(medium=email, source=photo_source, entity=alice)
        Unsubscription.objects.create(medium=email, source=product_source, entity=alice)

        response = admin_client.get(delete_url(source_group))

        assert summary(response) == (
            [change_link(source_group), ["2 sources", ["1 subscription", "1 unsubscription"]]],
            {"source groups": 1, "sources": 2, "subscriptions": 1, "unsubscriptions": 1},
            set(),
            [],
        )
        assert admin_client.post(delete_url(source_group), {"post": "yes"}).status_code == 302
        assert not Source.objects.exists() and not Subscription.objects.exists()

    def test_a_style_with_renderers_is_refused_and_one_without_says_its_mediums_stay(
        self, admin_client, photo_source, source_group, style, email, newsfeed
    ):
        renderer(style, source=photo_source)
        renderer(style, source_group=source_group)
        Medium.objects.update(rendering_style=style)
        assert summary(admin_client.get(delete_url(style)))[3] == [
            "2 context renderers, which protect their rendering style (delete them first)"
        ]

        ContextRenderer.objects.all().delete()
        assert summary(admin_client.get(delete_url(style))) == (
            [change_link(style), ["2 mediums stay, rendering style set to null"]],
            {"rendering styles": 1},
            set(),
            [],
        )
        Medium.objects.exclude(pk=email.pk).update(rendering_style=None)
        assert summary(admin_client.get(delete_url(style)))[0] == [
            change_link(style),
            ["1 medium stays, rendering style set to null"],
        ]

    def test_a_row_whose_relation_falls_back_to_its_default_is_said_to_stay_changed(
        self, admin_client, style
    ):
        Theme.objects.create(name="Dark", rendering_style=style)
        Theme.objects.create(name="Light", rendering_style=style)
        assert summary(admin_client.get(delete_url(style)))[0] == [
            change_link(style),
            ["2 themes stay, rendering style changed"],
        ]
        Theme.objects.filter(name="Light").delete()
        assert summary(admin_client.get(delete_url(style)))[0] == [
            change_link(style),
            ["1 theme stays, rendering style changed"],
        ]
        assert admin_client.post(delete_url(style), {"post": "yes"}).status_code == 302
        assert Theme.objects.get().rendering_style is None

    def test_an_object_that_takes_nothing_along(self, admin_client, style):
        assert summary(admin_client.get(delete_url(style))) == (
            [change_link(style)],
            {"rendering styles": 1},
            set(),
            [],
        )

    def test_an_event_and_an_admin_event(self, admin_client, photo_source, email, newsfeed, alice, bob):
        (event,) = make_events(photo_source, 1, actors=[alice, bob], seen_on=[email, newsfeed])
        assert summary(admin_client.get(delete_url(event)))[:2] == (
            [change_link(event), ["2 event actors", "2 events seen"]],
            {"events": 1, "event actors": 2, "events seen": 2},
        )
        admin_event = AdminEvent.objects.create(source=photo_source, uuid="admin-1", context={"text": "Hi"})
        assert summary(admin_client.get(delete_url(admin_event)))[:2] == (
            [change_link(admin_event)],
            {"admin events": 1},
        )


@pytest.fixture
def one_of_each(photo_source, email, alice, style) -> dict[type, object]:
    """One object of every model with an admin page, each deletable: nothing protects it."""
    lonely_source = Source.objects.create(group=photo_source.group, name="lonely", display_name="Lonely")
    event = Event.objects.create_event(source=photo_source, actors=[alice])
    return {
        SourceGroup: SourceGroup.objects.create(name="empty", display_name="Empty"),
        Source: lonely_source,
        Medium: email,
        Subscription: Subscription.objects.create(medium=email, source=photo_source, entity=alice),
        Unsubscription: Unsubscription.objects.create(medium=email, source=photo_source, entity=alice),
        Event: event,
        AdminEvent: AdminEvent.objects.create(source=photo_source, uuid="admin-1", context={"text": "Hi"}),
        EventSeen: EventSeen.objects.create(event=event, medium=email),
        RenderingStyle: RenderingStyle.objects.create(name="unused"),
        ContextRenderer: renderer(style, source=photo_source),
    }


@pytest.mark.parametrize(
    "model",
    [
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
    ],
    ids=lambda model: model.__name__,
)
def test_every_delete_confirmation_counts_and_deletes(admin_client, one_of_each, model):
    obj = one_of_each[model]
    deleted, counts, perms, protected = summary(admin_client.get(delete_url(obj)))
    assert deleted[0] == change_link(obj)
    assert counts[str(model._meta.verbose_name_plural)] == 1
    assert (perms, protected) == (set(), [])
    assert admin_client.post(delete_url(obj), {"post": "yes"}).status_code == 302
    assert not exists(obj)


class TestDeleteSelected:
    def test_counts_over_every_selected_object(
        self, admin_client, photo_source, product_source, email, alice, bob
    ):
        for source in (photo_source, product_source):
            for entity in (alice, bob):
                Subscription.objects.create(medium=email, source=source, entity=entity)

        response = delete_selected(admin_client, [photo_source, product_source])

        assert summary(response) == (
            [change_link(product_source), change_link(photo_source), "4 subscriptions"],
            {"sources": 2, "subscriptions": 4},
            set(),
            [],
        )
        delete_selected(admin_client, [photo_source, product_source], confirm=True)
        assert not Source.objects.exists() and not Subscription.objects.exists()

    def test_names_the_first_objects_and_counts_the_others(self, admin_client, photo_source, email):
        subscriptions = [
            Subscription.objects.create(medium=email, source=photo_source, entity=make_entity(f"User {n}"))
            for n in range(LISTED_OBJECTS + 5)
        ]
        deleted, counts, _, _ = summary(delete_selected(admin_client, subscriptions))
        assert len(deleted) == LISTED_OBJECTS + 1
        assert deleted[-1] == "and 5 more subscriptions"
        assert counts == {"subscriptions": LISTED_OBJECTS + 5}

    def test_a_selection_with_protected_objects_is_refused(self, admin_client, photo_source, product_source):
        make_events(photo_source, 7)
        response = delete_selected(admin_client, [photo_source, product_source], confirm=True)
        assert summary(response)[3] == ["7 events, which protect their source (delete them first)"]
        assert Source.objects.count() == 2


class TestPermissions:
    @pytest.fixture
    def staff(self, db):
        user = User.objects.create_user("staff", password="pw", is_staff=True)
        user.user_permissions.set(
            Permission.objects.filter(
                content_type__app_label="entity_event",
                codename__in=["view_source", "delete_source", "view_sourcegroup", "delete_sourcegroup"],
            )
        )
        return user

    def test_missing_delete_permissions_on_what_cascades_refuse_the_deletion(
        self, client, staff, source_group, photo_source, email, alice
    ):
        Subscription.objects.create(medium=email, source=photo_source, entity=alice)
        Unsubscription.objects.create(medium=email, source=photo_source, entity=alice)
        client.force_login(staff)

        response = client.get(delete_url(photo_source))

        assert summary(response)[2] == {"subscription", "unsubscription"}
        assert response.context["title"] == "Cannot delete source"
        assert client.post(delete_url(photo_source), {"post": "yes"}).status_code == 403
        assert exists(photo_source)

    def test_what_cascades_needs_no_permission_when_there_is_none_of_it(self, client, staff, source_group):
        client.force_login(staff)
        Source.objects.create(group=source_group, name="quiet", display_name="Quiet")
        assert summary(client.get(delete_url(source_group)))[2] == set()
        assert client.post(delete_url(source_group), {"post": "yes"}).status_code == 302
        assert not Source.objects.exists()

    def test_actors_need_no_permission_since_they_have_no_admin_of_their_own(
        self, client, staff, photo_source, alice
    ):
        staff.user_permissions.add(
            Permission.objects.get(content_type__app_label="entity_event", codename="delete_event")
        )
        (event,) = make_events(photo_source, 1, actors=[alice])
        client.force_login(staff)
        assert summary(client.get(delete_url(event)))[2] == set()

    def test_a_user_without_delete_permission_on_the_object_itself_is_forbidden(self, client, staff, email):
        client.force_login(staff)
        assert client.get(delete_url(email)).status_code == 403


class TestQueryCounts:
    @pytest.mark.parametrize("events", [5, 50])
    def test_a_medium_with_seen_records(
        self, admin_client, email, photo_source, events, django_assert_num_queries
    ):
        make_events(photo_source, events, seen_on=[email])
        with django_assert_num_queries(MEDIUM_PAGE_QUERIES):
            response = admin_client.get(delete_url(email))
        assert dict(response.context["model_count"])["events seen"] == events
        assert list_items_of_the_content(response) == MEDIUM_PAGE_LIST_ITEMS

    @pytest.mark.parametrize("events", [5, 50])
    def test_a_source_with_events(
        self, admin_client, email, photo_source, alice, events, django_assert_num_queries
    ):
        make_events(photo_source, events, actors=[alice], seen_on=[email])
        with django_assert_num_queries(SOURCE_PAGE_QUERIES):
            response = admin_client.get(delete_url(photo_source))
        assert response.context["protected"] == [
            f"{events} events, which protect their source (delete them first)"
        ]


class TestDeletionPlan:
    """The counting itself, called directly for what the admin pages of this app never show."""

    def test_a_child_of_multi_table_inheritance_counts_its_parent_row_once(
        self, rf, admin_user, follow, photo_source, alice
    ):
        Subscription.objects.create(medium=follow, source=photo_source, entity=alice)
        make_events(photo_source, 2, seen_on=[follow])
        request = rf.get("/")
        request.user = admin_user
        model_admin = type(admin.site.get_model_admin(Medium))(FollowSubEntitiesMedium, admin.site)

        deleted, counts, perms, protected = model_admin.get_deleted_objects([follow], request)

        # No admin page for the subclass: its line has no link.
        assert deleted == [
            "Follow sub entities medium: Follow",
            ["1 medium", "2 events seen", "1 subscription"],
        ]
        assert counts == {
            "follow sub entities mediums": 1,
            "mediums": 1,
            "subscriptions": 1,
            "events seen": 2,
        }
        assert (perms, protected) == (set(), [])

    def test_nothing_selected(self, rf, admin_user):
        request = rf.get("/")
        request.user = admin_user
        assert admin.site.get_model_admin(Source).get_deleted_objects(Source.objects.none(), request) == (
            [],
            {},
            set(),
            [],
        )

    def test_beyond_the_depth_limit_the_deletion_is_refused(
        self, admin_client, monkeypatch, source_group, photo_source, email, alice
    ):
        monkeypatch.setattr(admin_deletion, "MAX_DEPTH", 1)
        Subscription.objects.create(medium=email, source=photo_source, entity=alice)
        assert summary(admin_client.get(delete_url(source_group)))[3] == [
            "what depends on the sources more than 1 relations away, which this page does not count "
            "(delete it first)"
        ]
        # Nothing beyond the limit where it would be: no refusal.
        empty_group = SourceGroup.objects.create(name="empty", display_name="Empty")
        assert summary(admin_client.get(delete_url(empty_group)))[3] == []
        # A model reached at the limit with nothing that depends on it: no refusal either.
        assert summary(admin_client.get(delete_url(photo_source)))[1] == {"sources": 1, "subscriptions": 1}
