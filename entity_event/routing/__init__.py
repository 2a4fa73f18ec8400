"""Routing: who receives which event.

``filters`` checks the filters of the query methods; ``following`` holds the following rule and
whom a subscription covers; ``feeds`` builds the querysets of ``events()`` and
``entity_events()`` (``feed_sql`` writes one entity's feed as plain SQL under the default rule,
``paged_condition`` the set-based form of ``events()``); ``targets`` answers
``events_targets()``; ``claims`` marks events seen and claims them.
"""
