"""Delivering events: bounded claims, at-least-once workers, the delivery command and its records."""
