"""Creating events: ``create_event(s)``, the checks of its arguments, atomicity, concurrent writers."""
