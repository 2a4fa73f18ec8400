"""The notification center: each person's notifications, read state and live updates.

``center`` says who is asking, whose notifications they may see and reads a page of them;
``read_state`` filters by what a person has read and ``marking`` marks it; ``views`` (HTML) and
``api`` (JSON) are the pages, ``live`` and ``live_channels`` the live updates. The URLs are
``entity_event.urls``.
"""
