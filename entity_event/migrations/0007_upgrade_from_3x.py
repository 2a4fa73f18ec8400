"""The in-place upgrade of a database left by the published 3.x (entity_event/upgrade.py).

3.x recorded its own ``0001_initial``, so Django runs this project's later migrations on a 3.x
database without its ``0001_initial``; this migration brings such a database to the schema and
values a fresh install has. On a fresh install it changes nothing.
"""

from django.db import migrations

from entity_event.db.upgrade import upgrade_3x_database


class Migration(migrations.Migration):

    dependencies = [
        ('entity_event', '0006_read_state'),
    ]

    operations = [
        migrations.RunPython(upgrade_3x_database, migrations.RunPython.noop),
    ]
