"""Models that event contexts point at in the tests (context hints, serialized contexts)."""

from __future__ import annotations

from django.db import models


class Team(models.Model):
    name = models.CharField(max_length=64)

    def __str__(self) -> str:
        return self.name


class Account(models.Model):
    name = models.CharField(max_length=64)
    team = models.ForeignKey(Team, null=True, on_delete=models.SET_NULL, related_name="accounts")

    def __str__(self) -> str:
        return self.name


class Photo(models.Model):
    uuid = models.UUIDField(primary_key=True)
    title = models.CharField(max_length=64)
    owner = models.ForeignKey(Account, null=True, on_delete=models.SET_NULL, related_name="photos")
    tagged = models.ManyToManyField(Account, related_name="tagged_in")

    def __str__(self) -> str:
        return self.title
