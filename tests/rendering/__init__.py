"""How events look: renderers, templates, context hints, serialized contexts, hostile templates."""
