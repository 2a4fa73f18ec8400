"""The models themselves: ``__str__``, defaults, constraints, on-delete rules, querysets, time fields."""
