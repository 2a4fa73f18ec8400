"""Sphinx configuration of the django-entity-event documentation."""

import os
import sys
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
os.environ.setdefault("DATABASE_URL", "sqlite://")
django.setup()

import entity_event  # noqa: E402

project = "django-entity-event"
author = "django-entity-event contributors"
copyright = "2026, django-entity-event contributors"
release = entity_event.__version__
version = release

extensions = ["sphinx.ext.autodoc", "sphinx.ext.viewcode"]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
nitpicky = False
exclude_patterns = ["_build"]
html_theme = "alabaster"
html_static_path = ["_static"]
