"""The example site of the runnable project: a newsfeed page built on entity_event's public API.

It is not part of the shipped ``entity_event`` package; it shows how a site combines
``Medium.entity_events`` (who sees what), Django's ``Paginator`` and ``Medium.render`` (how it
looks) in one view whose cost does not grow with the length of the feed.
"""
