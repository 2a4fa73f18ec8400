"""The admin's forms: ``AdminEventForm``, which creates one-off events (announcements) by hand,
and ``JSONTextField``, the JSON field of the admin's forms.

A staff member picks a source, writes a text and may give an expiry date and time in UTC. The
event gets the context ``{"text": ...}``, a fresh ``uuid`` and that expiry (never, when no date
and time are given). New events are written through ``Event.objects.create_event`` so that they
follow exactly the rules of events created by code.
"""

from __future__ import annotations

import json
import uuid as uuid_module
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Any

from django import forms
from django.conf import settings
from django.contrib.admin.widgets import AdminDateWidget, AdminTimeWidget
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from entity_event.models import AdminEvent, Event
from entity_event.timestamps import never_expires
from entity_event.validation import JSONObject, JSONValue, check_context, check_time

#: Events created through ``AdminEventForm`` get a ``uuid`` starting with this prefix; the
#: ``AdminEvent`` changelist shows the events whose ``uuid`` has it.
ADMIN_EVENT_UUID_PREFIX = "admin-"

#: The help text of an expiry that may be left empty.
NEVER_EXPIRES_HELP_TEXT = _("Leave the date and the time empty for an event that never expires.")

if TYPE_CHECKING:
    # django-stubs makes ModelForm generic; Django's class cannot be subscripted at run time.
    _AdminEventModelForm = forms.ModelForm[AdminEvent]
else:
    _AdminEventModelForm = forms.ModelForm


def new_admin_event_uuid() -> str:
    """Return a fresh ``uuid`` for an event created by hand in the admin."""
    return f"{ADMIN_EVENT_UUID_PREFIX}{uuid_module.uuid4().hex}"


def _utc_to_stored(moment: datetime) -> datetime:
    """Turn an aware UTC instant into what a ``DateTimeField`` stores under the current settings."""
    if settings.USE_TZ:
        return moment
    # Without time zone support Django stores naive datetimes in the default time zone.
    return timezone.make_naive(moment, timezone.get_default_timezone())


def _stored_to_utc(moment: datetime) -> datetime:
    """Turn a stored ``DateTimeField`` value into an aware UTC instant (inverse of ``_utc_to_stored``)."""
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_default_timezone())
    return moment.astimezone(UTC)


class JSONTextField(forms.JSONField):
    """Django's JSON form field, able to show any value.

    Django writes the JSON with non-ASCII characters as they are; a lone surrogate (in a value the
    form refuses, or in a row stored before such values were refused) cannot be encoded in the
    UTF-8 page, and the page failed with HTTP 500. Such a value is shown with its characters
    escaped instead (``"\\ud800"``), so that the form can say what is wrong with it.
    """

    def prepare_value(self, value: JSONValue) -> str:
        text: str = super().prepare_value(value)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return json.dumps(value, cls=self.encoder)
        return text


class ExpiryField(forms.SplitDateTimeField):
    """The expiry (``time_expires``) of the event form: a date and a time, empty for "never".

    The stored "never expires" value is an instant in the year 9000 (``never_expires``); showing
    it as such in the form reads as a real date. The field shows it empty, turns empty back into
    it, and does not count "never" left empty as a change.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs["required"] = False
        kwargs.setdefault("help_text", NEVER_EXPIRES_HELP_TEXT)
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        return None if value == never_expires() else super().prepare_value(value)

    def compress(self, data_list: tuple[date, time] | None) -> datetime:
        return super().compress(data_list) or never_expires()

    def has_changed(self, initial: Any, data: Any) -> bool:
        return super().has_changed(None if initial == never_expires() else initial, data)


class AdminEventForm(_AdminEventModelForm):
    """Create (or edit) an event by hand: a source, a text and an optional expiry in UTC."""

    text = forms.CharField(
        label=_("Text"),
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        help_text=_('Stored in the event context as {"text": ...}.'),
    )
    expires_date = forms.DateField(
        required=False,
        label=_("Expiry date (UTC)"),
        widget=AdminDateWidget,
        help_text=NEVER_EXPIRES_HELP_TEXT,
    )
    expires_time = forms.TimeField(required=False, label=_("Expiry time (UTC)"), widget=AdminTimeWidget)

    class Meta:
        model = AdminEvent
        fields = ["source"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        event = self.instance
        if event.pk is None:
            return
        # A stored context that is not a dict (written around create_event) has no text; saving
        # the form replaces it with a valid one.
        stored = event.context if isinstance(event.context, dict) else {}
        self.initial.setdefault("text", stored.get("text", ""))
        if event.time_expires != never_expires():
            expires = _stored_to_utc(event.time_expires)
            self.initial.setdefault("expires_date", expires.date())
            self.initial.setdefault("expires_time", expires.time())

    def clean(self) -> dict[str, Any]:
        """Combine the expiry date and time into ``time_expires``: both or neither must be given.
        The context and the expiry are checked as ``create_event`` checks them (same messages)."""
        super().clean()
        cleaned_data = self.cleaned_data  # what ModelForm.clean returns (its stubs allow None)
        if "text" in cleaned_data:
            try:
                check_context(self._context_with(cleaned_data["text"]), "context")
            except (TypeError, ValueError) as error:
                self.add_error("text", str(error))
        expires_date = cleaned_data.get("expires_date")
        expires_time = cleaned_data.get("expires_time")
        if "expires_date" in self.errors or "expires_time" in self.errors:
            return cleaned_data
        if expires_date is None and expires_time is None:
            cleaned_data["time_expires"] = never_expires()
        elif expires_date is None:
            self.add_error("expires_date", gettext("Give the expiry date too, or leave both empty."))
        elif expires_time is None:
            self.add_error("expires_time", gettext("Give the expiry time too, or leave both empty."))
        else:
            expires = datetime.combine(expires_date, expires_time, tzinfo=UTC)
            # A new event that expired already would never be shown: surely a typo. An existing
            # event keeps its past expiry when only its text is edited.
            if self.instance._state.adding and expires <= datetime.now(UTC):
                self.add_error("expires_date", gettext("The expiry must be in the future."))
            else:
                try:
                    check_time(expires, "time_expires")
                except ValueError as error:
                    self.add_error("expires_date", str(error))
                else:
                    cleaned_data["time_expires"] = _utc_to_stored(expires)
        return cleaned_data

    def _context_with(self, text: str) -> JSONObject:
        """The event's context with ``text`` in it (a stored context that is not a dict is replaced)."""
        stored = self.instance.context if isinstance(self.instance.context, dict) else {}
        return {**stored, "text": text}

    def save(self, commit: bool = True) -> AdminEvent:
        """Put the text and the expiry on the event; with ``commit``, write it (see ``save_event``)."""
        event = super().save(commit=False)
        event.context = self._context_with(self.cleaned_data["text"])
        event.time_expires = self.cleaned_data["time_expires"]
        if commit:
            self.save_event()
        return event

    def save_event(self) -> None:
        """Write the event: a new one through ``Event.objects.create_event``, an existing one in place.

        The new event's fields (its id, generated ``uuid`` and ``time``) are copied onto
        ``self.instance``, so that callers holding the instance (the admin) see the saved event.
        """
        event = self.instance
        if not event._state.adding:
            event.save(update_fields=["source", "context", "time_expires"])
            return
        created = Event.objects.create_event(
            source=event.source,
            context=event.context,
            time_expires=event.time_expires,
            uuid=new_admin_event_uuid(),
        )
        for field in Event._meta.concrete_fields:
            setattr(event, field.attname, getattr(created, field.attname))
        event._state.adding = False
        event._state.db = created._state.db
