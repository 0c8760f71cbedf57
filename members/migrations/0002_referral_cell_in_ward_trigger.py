"""A referral's residential cell must belong to its receiving ward, and the receiving organisation must be a ward.

Both rules read another row (the organisation), which a CHECK constraint cannot, so they are triggers. The services
check the same rules first and answer with a clear message; the triggers make sure no other write path (admin, shell,
a bulk import) can break them.
"""

from django.db import migrations

SQLITE_CONDITION = """
    NOT EXISTS (SELECT 1 FROM branches_organisation w WHERE w.id = NEW.receiving_ward_id AND w.kind = 'ward')
    OR (NEW.residential_cell_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM branches_organisation c
        WHERE c.id = NEW.residential_cell_id AND c.kind = 'residential_cell' AND c.parent_id = NEW.receiving_ward_id))
"""

SQLITE_FORWARD = [
    f"""CREATE TRIGGER referral_cell_in_ward_insert BEFORE INSERT ON members_referral
        WHEN {SQLITE_CONDITION}
        BEGIN SELECT RAISE(ABORT, 'referral_cell_in_ward'); END;""",
    f"""CREATE TRIGGER referral_cell_in_ward_update BEFORE UPDATE OF residential_cell_id, receiving_ward_id
        ON members_referral WHEN {SQLITE_CONDITION}
        BEGIN SELECT RAISE(ABORT, 'referral_cell_in_ward'); END;""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS referral_cell_in_ward_insert;",
    "DROP TRIGGER IF EXISTS referral_cell_in_ward_update;",
]

POSTGRESQL_FORWARD = [
    """CREATE FUNCTION members_referral_cell_in_ward() RETURNS trigger AS $$
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM branches_organisation w WHERE w.id = NEW.receiving_ward_id AND w.kind = 'ward')
        THEN
            RAISE EXCEPTION 'referral_cell_in_ward: the receiving organisation is not a ward'
                USING ERRCODE = 'check_violation';
        END IF;
        IF NEW.residential_cell_id IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM branches_organisation c
            WHERE c.id = NEW.residential_cell_id AND c.kind = 'residential_cell'
              AND c.parent_id = NEW.receiving_ward_id)
        THEN
            RAISE EXCEPTION 'referral_cell_in_ward: the residential cell is not in the receiving ward'
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END;
    $$ LANGUAGE plpgsql;""",
    """CREATE TRIGGER referral_cell_in_ward
        BEFORE INSERT OR UPDATE OF residential_cell_id, receiving_ward_id ON members_referral
        FOR EACH ROW EXECUTE FUNCTION members_referral_cell_in_ward();""",
]
POSTGRESQL_BACKWARD = [
    "DROP TRIGGER IF EXISTS referral_cell_in_ward ON members_referral;",
    "DROP FUNCTION IF EXISTS members_referral_cell_in_ward();",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_FORWARD, "postgresql": POSTGRESQL_FORWARD}),
            _run({"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRESQL_BACKWARD}),
        ),
    ]
