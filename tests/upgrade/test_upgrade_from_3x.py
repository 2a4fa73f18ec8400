"""The in-place upgrade of a database left by the published 3.1.2 (docs/upgrading.rst): the
pg_dump in legacy/ is loaded into a database of its own, migrated, and read back through the
public API in a site's process under ``USE_TZ = True`` and ``USE_TZ = False``.

3.x ran on PostgreSQL only, so these tests do too; on other databases the upgrade migration
finds nothing to do (tests/upgrade/test_checks.py runs there).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from django.core import checks
from django.db import connections
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import override_settings

from entity_event.db.upgrade import UPGRADE_MIGRATION, LegacyDataError, pending_repairs, upgrade_3x_database
from entity_event.models import ContextRenderer, Event, EventActor, Medium, Subscription
from entity_event.timestamps import NEVER_EXPIRES_UTC
from tests.upgrade.conftest import EXPECTED, UPGRADED
from tests.upgrade.schema import entity_event_schema

# The test database is a fresh install, which the upgraded ones are compared with. A database
# that a test loads is open to it (made after the test's set-up); the shared one is declared.
pytestmark = [pytest.mark.postgresql, pytest.mark.django_db]

#: Rows of the dump, by model, as ids (the upgrade keeps every one).
DUMP_IDS = {Event: range(1, 16), EventActor: range(1, 28), Medium: range(1, 3), Subscription: range(1, 4)}


def generated_uuid(alias: str) -> str:
    """The uuid the upgrade gave the event that 3.x stored with ``''`` (its context is n=99)."""
    return Event.objects.using(alias).get(context__n=99).uuid


def as_3x_read_it(read: str, generated: str) -> dict[str, object]:
    """What the upgraded database reads back, with the two values the upgrade converts on
    purpose put back as 3.1.2 read them: the generated uuid as ``''``, and the context hints
    ``{}`` of a renderer as ``null`` (3.x allowed NULL for "no hints")."""
    values = json.loads(read.replace(json.dumps(generated), '""'))
    values["renderers"] = [[*row[:3], "null" if row[3] == "{}" else row[3]] for row in values["renderers"]]
    return {key: value if isinstance(value, dict) else sorted(value) for key, value in values.items()}


def test_a_fresh_install_has_nothing_to_repair():
    # The test database: this project's migrations, 0007 included, made it.
    connection = connections["default"]
    state = MigrationExecutor(connection).loader.project_state(("entity_event", UPGRADE_MIGRATION))
    app_models = list(state.apps.get_app_config("entity_event").get_models())
    assert [pending_repairs(model, connection) for model in app_models] == [[]] * len(app_models)


class TestTheDumpBeforeTheUpgrade:
    def test_3x_recorded_our_first_migration_name(self, legacy):
        # Why the upgrade needs a migration of its own: Django takes this project's 0001_initial
        # for applied and runs only the later migrations.
        alias = legacy.load()
        applied = MigrationExecutor(connections[alias]).loader.applied_migrations
        assert ("entity_event", "0001_initial") in applied
        assert ("entity_event", "0001_0005_squashed") in applied


@pytest.mark.django_db(databases=["default", UPGRADED])
class TestUpgradedDump:
    @pytest.mark.parametrize("use_tz", [True, False])
    def test_everything_reads_back_through_the_public_api(self, upgraded, use_tz):
        databases, alias = upgraded
        generated = generated_uuid(alias)
        read = databases.read_back(alias, use_tz=use_tz)
        assert as_3x_read_it(read, generated) == json.loads(EXPECTED.read_text())

    def test_the_empty_uuid_became_a_generated_unique_one(self, upgraded):
        _, alias = upgraded
        generated = generated_uuid(alias)
        assert re.fullmatch("[0-9a-f]{32}", generated)
        assert not Event.objects.using(alias).filter(uuid="").exists()

    def test_never_expires_became_this_projects(self, upgraded):
        _, alias = upgraded
        expiries = Event.objects.using(alias).order_by("id").values_list("uuid", "time_expires")
        never = [uuid for uuid, expires in expiries if expires == NEVER_EXPIRES_UTC]
        assert len(never) == 13
        assert dict(expiries)["legacy-expired"] == datetime(2020, 1, 1, 6, tzinfo=UTC)
        assert dict(expiries)["legacy-expires-later"] == datetime(2100, 6, 1, 17, 30, tzinfo=UTC)

    def test_every_row_is_kept_with_its_id(self, upgraded):
        _, alias = upgraded
        for model, ids in DUMP_IDS.items():
            assert list(model.objects.using(alias).order_by("id").values_list("id", flat=True)) == list(ids)

    def test_the_schema_is_a_fresh_installs(self, upgraded):
        # The test database was made by this project's migrations: a fresh install.
        _, alias = upgraded
        assert entity_event_schema(connections[alias]) == entity_event_schema(connections["default"])

    def test_the_upgrade_finds_nothing_more_to_do(self, upgraded):
        _, alias = upgraded
        connection = connections[alias]
        state = MigrationExecutor(connection).loader.project_state(("entity_event", UPGRADE_MIGRATION))
        app_models = list(state.apps.get_app_config("entity_event").get_models())
        assert [pending_repairs(model, connection) for model in app_models] == [[]] * len(app_models)
        events = Event.objects.using(alias).order_by("id")
        before = entity_event_schema(connection), list(events.values_list("uuid", "time_expires"))
        with connection.schema_editor() as schema_editor:
            upgrade_3x_database(state.apps, schema_editor)
        assert (entity_event_schema(connection), list(events.values_list("uuid", "time_expires"))) == before

    def test_nothing_is_left_to_report(self, upgraded):
        _, alias = upgraded
        assert checks.run_checks(databases=[alias], tags=[checks.Tags.database]) == []


#: datetime.max as 3.x wrote it in a few time zones (and with USE_TZ = True, in UTC), as
#: PostgreSQL holds it, with the uuid of the event that holds it.
DATETIME_MAX_IN = {
    "kiritimati": "9999-12-31 09:59:59.999999+00",  # UTC+14, the earliest
    "utc": "9999-12-31 23:59:59.999999+00",
    "baker-island": "10000-01-01 11:59:59.999999+00",  # UTC-12, the latest
}


class TestNeverExpiresOfEveryTimeZone:
    @pytest.mark.parametrize("use_tz", [True, False])
    def test_converted_under_either_setting(self, legacy, use_tz):
        alias = legacy.load(
            *(
                "INSERT INTO entity_event_event (context, time, time_expires, uuid, source_id) "
                f"VALUES ('{{}}', now(), '{expires}', '{zone}', 1)"
                for zone, expires in {**DATETIME_MAX_IN, "far": "9500-01-01 00:00:00+00"}.items()
            )
        )
        with override_settings(USE_TZ=use_tz, TIME_ZONE="America/Chicago"):
            legacy.migrate(alias)
        expiries = dict(Event.objects.using(alias).values_list("uuid", "time_expires"))
        never = NEVER_EXPIRES_UTC if use_tz else datetime(9000, 1, 1, 6, tzinfo=UTC)  # naive, in Chicago
        assert {zone: expiries[zone] for zone in DATETIME_MAX_IN} == dict.fromkeys(DATETIME_MAX_IN, never)
        assert expiries["legacy-0"] == never
        # A far-future expiry that is not 3.x's "never expires" stays, and the check reports it.
        assert expiries["far"] == datetime(9500, 1, 1, tzinfo=UTC)
        far = Event.objects.using(alias).get(uuid="far")
        [warning] = checks.run_checks(databases=[alias], tags=[checks.Tags.database])
        assert warning.id == "entity_event.W001"
        assert f"1 events of the database {alias!r} expire later than" in warning.msg
        assert f"ids {far.pk}." in warning.msg


class TestRowsTheNewConstraintsRefuse:
    def test_the_upgrade_names_them_and_changes_nothing(self, legacy):
        alias = legacy.load(
            "INSERT INTO entity_event_eventactor (entity_id, event_id) VALUES (1, 1)",
            "INSERT INTO entity_event_contextrenderer (name, text_template_path, html_template_path, "
            "text_template, html_template, rendering_style_id) VALUES ('orphan', '', '', 'x', '', 1)",
            "INSERT INTO entity_event_subscription (only_following, entity_id, medium_id, source_id) "
            "VALUES (false, 5, 2, 1)",
            f"UPDATE entity_event_medium SET display_name = '{'x' * 65}' WHERE id = 2",
        )
        legacy.migrate(alias, "0006_read_state")
        before = entity_event_schema(connections[alias])
        with pytest.raises(LegacyDataError) as raised:
            legacy.migrate(alias)
        message = str(raised.value)
        assert message.startswith("The 3.x database cannot be upgraded: ")
        assert "entity_event_medium.display_name is longer than 64 characters in the rows [2]" in message
        assert "2 rows of entity_event_eventactor repeat {'event': 1, 'entity': 1}" in message
        assert "which entity_event_eventactor_unique forbids" in message
        assert (
            "the rows [3] of entity_event_contextrenderer break entity_event_contextrenderer_source_xor_group"
            in message
        )
        assert "which entity_event_subscription_unique_individual forbids" in message
        assert message.endswith(
            "Nothing was changed; correct these rows and run migrate again (docs: Upgrading from 3.x)."
        )
        # The migration ran in one transaction: the schema, the values and the record are as the
        # migrations before it left them.
        assert entity_event_schema(connections[alias]) == before
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT count(*) FROM entity_event_event WHERE time_expires > '9999-01-01'")
            assert cursor.fetchone() == (13,)
            cursor.execute("SELECT count(*) FROM entity_event_event WHERE uuid = ''")
            assert cursor.fetchone() == (1,)
        applied = MigrationExecutor(connections[alias]).loader.applied_migrations
        assert ("entity_event", UPGRADE_MIGRATION) not in applied
        assert ("entity_event", "0006_read_state") in applied

    def test_once_corrected_the_upgrade_goes_through(self, legacy):
        alias = legacy.load("INSERT INTO entity_event_eventactor (entity_id, event_id) VALUES (1, 1)")
        with pytest.raises(LegacyDataError, match="entity_event_eventactor repeat"):
            legacy.migrate(alias)
        EventActor.objects.using(alias).filter(id=28).delete()
        legacy.migrate(alias)
        assert ContextRenderer.objects.using(alias).get(name="site-short").context_hints == {}
        assert entity_event_schema(connections[alias]) == entity_event_schema(connections["default"])
