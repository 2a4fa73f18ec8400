"""Models that event contexts point at in the tests (context hints, serialized contexts)."""

from __future__ import annotations

from django.db import connection, models
from django.db.models import Q
from entity.models import Entity, EntityRelationship

from entity_event.models import Medium


class Team(models.Model):
    name = models.CharField(max_length=64)

    def __str__(self) -> str:
        return self.name


class Account(models.Model):
    name = models.CharField(max_length=64)
    team = models.ForeignKey(Team, null=True, on_delete=models.SET_NULL, related_name="accounts")

    def __str__(self) -> str:
        return self.name

    # Methods that write without being marked ``alters_data``, as third-party code may: templates
    # can call them (tests/rendering/test_hostile_templates.py shows rendering refuses every one's write).

    def rename(self) -> str:
        """An ORM UPDATE."""
        Account.objects.filter(pk=self.pk).update(name="renamed")
        return "renamed"

    def rename_quietly(self) -> str:
        """An ORM UPDATE whose failure is swallowed: the template goes on rendering."""
        try:
            self.rename()
        except Exception:
            return "not renamed"
        return "renamed"

    def rename_with_sql(self) -> str:
        """Raw SQL through Django's cursor."""
        with connection.cursor() as cursor:
            cursor.execute("UPDATE testapp_account SET name = 'sql' WHERE id = %s", [self.pk])
        return "renamed"

    def rename_through_the_driver(self) -> str:
        """Raw SQL through the DB-API connection, around Django's cursor and its wrappers."""
        connection.ensure_connection()
        placeholder = "?" if connection.vendor == "sqlite" else "%s"
        cursor = connection.connection.cursor()
        try:
            cursor.execute(f"UPDATE testapp_account SET name = 'driver' WHERE id = {placeholder}", [self.pk])
        finally:
            cursor.close()
        return "renamed"

    def broken_query(self) -> str:
        """A read that the database refuses (on PostgreSQL, it aborts the transaction)."""
        return str(list(Account.objects.raw("SELECT * FROM testapp_no_such_table")))

    def new_team(self) -> str:
        """An ORM INSERT."""
        return Team.objects.create(name="new").name


class Photo(models.Model):
    uuid = models.UUIDField(primary_key=True)
    title = models.CharField(max_length=64)
    owner = models.ForeignKey(Account, null=True, on_delete=models.SET_NULL, related_name="photos")
    tagged = models.ManyToManyField(Account, related_name="tagged_in")

    def __str__(self) -> str:
        return self.title


class Document(models.Model):
    """Fields whose values JSON cannot hold as they are (serialized contexts)."""

    name = models.CharField(max_length=64)
    file = models.FileField(upload_to="documents", blank=True)
    data = models.BinaryField(null=True)

    def __str__(self) -> str:
        return self.name


class FollowSubEntitiesMedium(Medium):
    """The 0.7 docs' example of a custom following rule: entities follow themselves and their
    sub-entities (the opposite of the default). Copied from the docs, with the missing imports."""

    def followers_of(self, entities):
        if isinstance(entities, Entity):
            entities = Entity.objects.filter(id=entities.id)
        super_entities = EntityRelationship.objects.filter(sub_entity__in=entities).values_list(
            "super_entity"
        )
        followed_by = Entity.objects.filter(Q(id__in=entities) | Q(id__in=super_entities))
        return followed_by

    def followed_by(self, entities):
        if isinstance(entities, Entity):
            entities = Entity.objects.filter(id=entities.id)
        sub_entities = EntityRelationship.objects.filter(super_entity__in=entities).values_list("sub_entity")
        followers_of = Entity.objects.filter(Q(id__in=entities) | Q(id__in=sub_entities))
        return followers_of


class PassThroughMedium(Medium):
    """Overrides the following rule by calling the default one: the query methods must give the
    same results as a plain ``Medium`` (tests/routing/test_consistency.py)."""

    class Meta:
        proxy = True

    def followed_by(self, entities):
        return super().followed_by(entities)

    def followers_of(self, entities):
        return super().followers_of(entities)


class Theme(models.Model):
    """A project's own row that falls back to no rendering style when its style is deleted
    (``SET_DEFAULT``): the admin's delete confirmation says it stays, its field changed."""

    name = models.CharField(max_length=64)
    rendering_style = models.ForeignKey(
        "entity_event.RenderingStyle", null=True, default=None, on_delete=models.SET_DEFAULT, related_name="+"
    )

    def __str__(self) -> str:
        return self.name
