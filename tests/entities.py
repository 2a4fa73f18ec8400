"""Helpers that build django-entity entities for the tests.

Entities mirror rows of other models (generic foreign key); the tests mirror ``Account`` rows of
the test app, with made-up ids, since only the entity rows matter to entity_event.
"""

from __future__ import annotations

import itertools

from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from entity.models import Entity, EntityKind, EntityRelationship

_next_entity_id = itertools.count(1)


def entity_kind(name: str) -> EntityKind:
    kind, _ = EntityKind.objects.get_or_create(name=name, defaults={"display_name": name.title()})
    return kind


def make_entity(
    display_name: str, kind: str = "user", supers: tuple[Entity, ...] = (), is_active: bool = True
) -> Entity:
    """Create an entity of ``kind`` that is a sub-entity of every entity in ``supers``."""
    entity = Entity.all_objects.create(
        display_name=display_name,
        entity_type=ContentType.objects.get_by_natural_key("testapp", "account"),
        entity_id=next(_next_entity_id),
        entity_kind=entity_kind(kind),
        entity_meta={"email": f"{display_name.lower().replace(' ', '.')}@example.com"},
        is_active=is_active,
    )
    EntityRelationship.objects.bulk_create(
        EntityRelationship(sub_entity=entity, super_entity=super_entity) for super_entity in supers
    )
    return entity


def make_user(username: str, entity: Entity | None = None, **fields: object) -> User:
    """A user who can log in (password ``username``), whose entity (``Entity.objects.get_for_obj``,
    the notification center's default) is ``entity`` when given: its row is re-pointed at the user."""
    user = User.objects.create_user(username, password=username, **fields)
    if entity is not None:
        Entity.all_objects.filter(pk=entity.pk).update(
            entity_type=ContentType.objects.get_for_model(User), entity_id=user.pk
        )
        entity.refresh_from_db()
    return user
