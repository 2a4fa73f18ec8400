"""Who receives what: ``events()``, ``entity_events()``, ``events_targets()``, following, seen marks
and claims."""
