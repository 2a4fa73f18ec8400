"""Where events come from: sources, grouped in source groups."""

from __future__ import annotations

from django.db import models


class SourceGroup(models.Model):
    """A high-level category of sources, such as all the events of one part of a site.

    Deleting a group deletes its sources with it, and is refused (``ProtectedError``) while one of
    them has events or the group or one of them has context renderers.
    """

    name = models.CharField(max_length=64, unique=True)
    display_name = models.CharField(max_length=64)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.display_name or self.name


class Source(models.Model):
    """A fine-grained category of events (``photo-tag``, ``new-product``); every event has one.

    Deleting a source deletes its subscriptions and unsubscriptions, and is refused
    (``ProtectedError``) while it has events or context renderers: delete those first. A
    ``required`` source ignores unsubscriptions (see the field).
    """

    name = models.CharField(max_length=64, unique=True)
    display_name = models.CharField(max_length=64)
    description = models.TextField(blank=True)
    group = models.ForeignKey(SourceGroup, on_delete=models.CASCADE, related_name="sources")
    #: Delivered to everyone its subscriptions reach, whatever their unsubscriptions say (a
    #: security notice, a change of terms): nobody can unsubscribe from it, and emails of it
    #: carry no unsubscribe link.
    required = models.BooleanField(
        default=False,
        help_text="Delivered whatever the unsubscriptions say; nobody can unsubscribe from it.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.display_name or self.name
