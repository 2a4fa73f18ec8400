"""The signals entity_event sends.

``events_created``: sent once the transaction that created events has committed (at once
outside a transaction), by ``create_event`` and ``create_events`` (and so by the admin's event
form), with ``events``, the list of the created events (duplicates skipped by
``ignore_duplicates`` are not in it), and ``using``, the database alias. The live updates of the
notification center listen to it; a site can too (to push to a mobile app, say). A receiver that
raises is logged and does not undo the events, which are committed already.
"""

from __future__ import annotations

from django.dispatch import Signal

__all__ = ["events_created"]

events_created = Signal()
