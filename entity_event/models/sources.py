"""Where events come from: sources, grouped in source groups."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class SourceGroup(models.Model):
    """A high-level category of sources, such as all the events of one part of a site.

    Deleting a group deletes its sources with it, and is refused (``ProtectedError``) while one of
    them has events or the group or one of them has context renderers.
    """

    name = models.CharField(verbose_name=_("name"), max_length=64, unique=True)
    display_name = models.CharField(verbose_name=_("display name"), max_length=64)
    description = models.TextField(verbose_name=_("description"), blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("source group")
        verbose_name_plural = _("source groups")

    def __str__(self) -> str:
        return self.display_name or self.name


class Source(models.Model):
    """A fine-grained category of events (``photo-tag``, ``new-product``); every event has one.

    Deleting a source deletes its subscriptions and unsubscriptions, and is refused
    (``ProtectedError``) while it has events or context renderers: delete those first. A
    ``required`` source ignores unsubscriptions (see the field).
    """

    name = models.CharField(verbose_name=_("name"), max_length=64, unique=True)
    display_name = models.CharField(verbose_name=_("display name"), max_length=64)
    description = models.TextField(verbose_name=_("description"), blank=True)
    group = models.ForeignKey(
        SourceGroup, on_delete=models.CASCADE, related_name="sources", verbose_name=_("group")
    )
    #: Delivered to everyone its subscriptions reach, whatever their unsubscriptions say (a
    #: security notice, a change of terms): nobody can unsubscribe from it, and emails of it
    #: carry no unsubscribe link.
    required = models.BooleanField(
        verbose_name=_("required"),
        default=False,
        help_text=_("Delivered whatever the unsubscriptions say; nobody can unsubscribe from it."),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("source")
        verbose_name_plural = _("sources")

    def __str__(self) -> str:
        return self.display_name or self.name
