"""Rendering: how an event looks on a medium.

``renderers`` chooses each event's context renderer and renders its templates (text and HTML)
in the read-only scope; ``hints`` reads the context hints of a renderer and
``hinted_rows`` loads the rows they point at, one query per model for a whole batch;
``preview`` renders a renderer on recent events for the admin.
"""
