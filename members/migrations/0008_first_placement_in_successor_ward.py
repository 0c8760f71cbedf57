"""A referral still waiting for its placement when its ward is merged away is placed by the ward that took over: its
first placement may be in a cell of the receiving ward or of that ward's successor (two steps, like the ward of a
referral on a day, ``members.models.referral.ward_under_q``). The triggers of 0007 asked the receiving ward itself."""

import importlib

from django.db import migrations

# The triggers' other conditions and their writers, from the migration that created them.
previous = importlib.import_module("members.migrations.0007_history_chains")

IN_CHARGE = """(SELECT w.id FROM branches_organisation w WHERE w.id = {ward}
        UNION SELECT w.successor_id FROM branches_organisation w WHERE w.id = {ward}
        UNION SELECT s.successor_id FROM branches_organisation w JOIN branches_organisation s ON s.id = w.successor_id
              WHERE w.id = {ward})"""

FIRST_PLACEMENT_WRONG = f"""NOT EXISTS (SELECT 1 FROM members_placement o WHERE o.referral_id = NEW.referral_id
        AND o.id IS NOT NEW.id AND o.started_on < NEW.started_on)
    AND NOT EXISTS (SELECT 1 FROM members_referral r JOIN branches_organisation c ON c.id = NEW.residential_cell_id
        WHERE r.id = NEW.referral_id AND r.placed_on = NEW.started_on
          AND c.parent_id IN {IN_CHARGE.format(ward="r.receiving_ward_id")})"""
REFERRAL_CELL_IN_WARD = f"""
    NOT EXISTS (SELECT 1 FROM branches_organisation w WHERE w.id = NEW.receiving_ward_id AND w.kind = 'ward')
    OR (NEW.residential_cell_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM branches_organisation c
        WHERE c.id = NEW.residential_cell_id AND c.kind = 'residential_cell'
          AND (c.parent_id IN {IN_CHARGE.format(ward="NEW.receiving_ward_id")} OR EXISTS (
              SELECT 1 FROM members_placement p WHERE p.referral_id = NEW.id AND p.ended_on IS NOT NULL))))
"""


def _statements(first_placement_wrong: str, referral_cell_in_ward: str, vendor: str) -> list[str]:
    placement_cell = f"({previous.CELL_NOT_RESIDENTIAL}) OR ({first_placement_wrong})"
    if vendor == "sqlite":
        return [
            *(
                f"DROP TRIGGER IF EXISTS {name};"
                for name in (
                    "referral_cell_in_ward__i",
                    "referral_cell_in_ward__u",
                    "placement_cell__i",
                    "placement_cell__u",
                )
            ),
            previous._sqlite_trigger(
                "referral_cell_in_ward__i", "BEFORE", "INSERT", "members_referral", referral_cell_in_ward
            ),
            previous._sqlite_trigger(
                "referral_cell_in_ward__u",
                "BEFORE",
                "UPDATE OF residential_cell_id, receiving_ward_id",
                "members_referral",
                referral_cell_in_ward,
            ),
            previous._sqlite_trigger("placement_cell__i", "BEFORE", "INSERT", "members_placement", placement_cell),
            previous._sqlite_trigger(
                "placement_cell__u",
                "BEFORE",
                "UPDATE OF referral_id, residential_cell_id, started_on",
                "members_placement",
                placement_cell,
            ),
        ]
    return [
        "DROP TRIGGER IF EXISTS members_referral_cell_in_ward ON members_referral;",
        "DROP FUNCTION IF EXISTS members_referral_cell_in_ward();",
        "DROP TRIGGER IF EXISTS members_placement_rules ON members_placement;",
        "DROP FUNCTION IF EXISTS members_placement_rules();",
        *previous._pg_labelled(
            "members_referral",
            "INSERT OR UPDATE OF residential_cell_id, receiving_ward_id",
            "members_referral_cell_in_ward",
            [("referral_cell_in_ward", referral_cell_in_ward, "the residential cell is not in the receiving ward")],
        ),
        *previous._pg_labelled(
            "members_placement",
            "INSERT OR UPDATE",
            "members_placement_rules",
            [
                ("placement_chain", previous.PLACEMENT_CHAIN, "the placement periods overlap or leave a gap"),
                (
                    "placement_current",
                    previous.PLACEMENT_NOT_CURRENT,
                    "the open placement is not the cell of the referral",
                ),
                ("placement_cell", placement_cell, "wrong residential cell"),
            ],
        ),
    ]


def _run(first_placement_wrong: str, referral_cell_in_ward: str):
    def run(apps, schema_editor):
        vendor = schema_editor.connection.vendor
        if vendor in ("sqlite", "postgresql"):
            for statement in _statements(first_placement_wrong, referral_cell_in_ward, vendor):
                schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0007_history_chains"),
        ("branches", "0002_upper_committee_names_restructures"),
    ]

    operations = [
        migrations.RunPython(
            _run(FIRST_PLACEMENT_WRONG, REFERRAL_CELL_IN_WARD),
            _run(previous.FIRST_PLACEMENT_WRONG, previous.REFERRAL_CELL_IN_WARD),
        ),
    ]
