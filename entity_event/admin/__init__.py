"""The Django admin of entity_event: every model, with changelists that stay fast on big tables.

Importing this package registers the admins (Django's admin imports it by name). Its modules:

* ``routing``: source groups, sources, mediums, subscriptions and unsubscriptions;
* ``events``: events (with their actors and seen records), admin events, seen records and
  deliveries;
* ``explain``: the Explain page (why an entity receives an event, or not) and each event's
  recipients on its page, with their reasons;
* ``renderers``: rendering styles, and context renderers with their preview;
* ``reads``: the read state of each person (watermarks and marks);
* ``base``: ``EntityEventAdmin`` and ``EntityEventInline``, what every admin of the app builds on;
* ``deletion``: the delete confirmations that count what goes instead of listing every row;
* ``forms``: the form of admin events, and the fields of the admin's forms.

Choices that matter on a real site:

* Entities are referenced by id (``raw_id_fields``): a site has too many of them for a
  ``<select>``; the magnifier opens a searchable entity list when the project registers
  ``entity.Entity`` in its admin.
* Every changelist joins the rows it prints (``list_select_related``), so the number of its
  queries does not grow with the page size. The changelists of the tables that grow with the
  site (events, seen records, subscriptions) skip the count of the unfiltered table
  (``show_full_result_count = False``), which is slow on a big PostgreSQL table.
* Search goes through the names and display names of the related objects
  (``source__display_name``, ``entity__display_name``...), never through a bare foreign key.
* ``AdminEvent`` is the page where staff create one-off events by hand (``AdminEventForm``).
* Templates, template paths and context hints are code: adding or changing a context renderer
  takes the ``entity_event.edit_templates`` permission on top of Django's add or change one
  (superusers have it), and only such a user can preview a renderer, by an explicit POST from
  its form (``entity_event.admin.renderers``). See docs/security.rst.
* Rows stored with values the API would refuse (a context that is not a dict, written around
  ``create_event``) are shown and flagged, never a server error.
* Delete confirmations count what goes with the deleted objects, per kind of object, instead of
  listing every row, and refuse with counts when events or context renderers protect them
  (``entity_event.admin.deletion``).
"""

from entity_event.admin import events, reads, renderers, routing  # noqa: F401 (register the admins)
