"""The AppConfig of docs/installation.rst that keeps django-entity's keys as its migrations made
them, in a project whose DEFAULT_AUTO_FIELD is BigAutoField (run by
tests/project/test_fresh_project.py). Put it in a module of your project, for example
``yourproject/apps.py``, and name it in INSTALLED_APPS instead of ``"entity"``."""

from entity.apps import EntityConfig


class EntityWithAutoFieldConfig(EntityConfig):
    # django-entity's migrations create AutoField keys; say so, so that the project's
    # DEFAULT_AUTO_FIELD does not ask for a migration of an installed package.
    default_auto_field = "django.db.models.AutoField"
