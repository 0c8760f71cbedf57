"""The ancestor relation of the tree (closure table), kept by triggers on every write of an organisation's path.

The reports group members, referrals and meetings by each organisation above them; a condition
``path LIKE outer.path || '%'`` correlated with another row can use no index, a join to this table can. The rows are
read from each organisation's own path, so a statement that re-roots a whole subtree (``Organisation.save()`` after a
move) keeps them exact row by row, in whatever order the rows are updated. The existing tree is filled here.
"""

import django.db.models.deletion
from django.db import migrations, models

SQLITE_FORWARD = [
    """CREATE TRIGGER organisation_ancestors_insert AFTER INSERT ON branches_organisation
        BEGIN INSERT INTO branches_organisationancestor (ancestor_id, descendant_id, depth)
            SELECT CAST(step.value AS INTEGER), NEW.id, length(NEW.path) / 9 - 1 - step.key
            FROM json_each('["' || replace(rtrim(NEW.path, '/'), '/', '","') || '"]') AS step
            WHERE NEW.path <> ''; END;""",
    """CREATE TRIGGER organisation_ancestors_update AFTER UPDATE OF path ON branches_organisation
        WHEN NEW.path IS NOT OLD.path OR NEW.id IS NOT OLD.id
        BEGIN
            DELETE FROM branches_organisationancestor WHERE descendant_id = OLD.id;
            INSERT INTO branches_organisationancestor (ancestor_id, descendant_id, depth)
            SELECT CAST(step.value AS INTEGER), NEW.id, length(NEW.path) / 9 - 1 - step.key
            FROM json_each('["' || replace(rtrim(NEW.path, '/'), '/', '","') || '"]') AS step
            WHERE NEW.path <> '';
        END;""",
    """CREATE TRIGGER organisation_ancestors_delete BEFORE DELETE ON branches_organisation
        BEGIN
            DELETE FROM branches_organisationancestor WHERE descendant_id = OLD.id OR ancestor_id = OLD.id;
        END;""",
    """INSERT INTO branches_organisationancestor (ancestor_id, descendant_id, depth)
        SELECT CAST(step.value AS INTEGER), o.id, length(o.path) / 9 - 1 - step.key
        FROM branches_organisation o, json_each('["' || replace(rtrim(o.path, '/'), '/', '","') || '"]') AS step
        WHERE o.path <> '';""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS organisation_ancestors_insert;",
    "DROP TRIGGER IF EXISTS organisation_ancestors_update;",
    "DROP TRIGGER IF EXISTS organisation_ancestors_delete;",
]

POSTGRESQL_FORWARD = [
    """CREATE FUNCTION branches_organisation_ancestors() RETURNS trigger AS $$
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            DELETE FROM branches_organisationancestor WHERE descendant_id = OLD.id;
        END IF;
        IF TG_OP = 'DELETE' THEN
            DELETE FROM branches_organisationancestor WHERE ancestor_id = OLD.id;
            RETURN OLD;
        END IF;
        INSERT INTO branches_organisationancestor (ancestor_id, descendant_id, depth)
        SELECT step.id::bigint, NEW.id, length(NEW.path) / 9 - step.ord
        FROM unnest(string_to_array(rtrim(NEW.path, '/'), '/')) WITH ORDINALITY AS step(id, ord)
        WHERE NEW.path <> '';
        RETURN NEW;
    END;
    $$ LANGUAGE plpgsql;""",
    """CREATE TRIGGER organisation_ancestors_write AFTER INSERT OR UPDATE OF path, id ON branches_organisation
        FOR EACH ROW EXECUTE FUNCTION branches_organisation_ancestors();""",
    """CREATE TRIGGER organisation_ancestors_delete BEFORE DELETE ON branches_organisation
        FOR EACH ROW EXECUTE FUNCTION branches_organisation_ancestors();""",
    """INSERT INTO branches_organisationancestor (ancestor_id, descendant_id, depth)
        SELECT step.id::bigint, o.id, length(o.path) / 9 - step.ord
        FROM branches_organisation o,
             unnest(string_to_array(rtrim(o.path, '/'), '/')) WITH ORDINALITY AS step(id, ord)
        WHERE o.path <> '';""",
]
POSTGRESQL_BACKWARD = [
    "DROP TRIGGER IF EXISTS organisation_ancestors_write ON branches_organisation;",
    "DROP TRIGGER IF EXISTS organisation_ancestors_delete ON branches_organisation;",
    "DROP FUNCTION IF EXISTS branches_organisation_ancestors();",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("branches", "0002_upper_committee_names_restructures"),
    ]

    operations = [
        migrations.CreateModel(
            name="OrganisationAncestor",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("depth", models.PositiveSmallIntegerField()),
                (
                    "ancestor",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="descendant_links",
                        to="branches.organisation",
                    ),
                ),
                (
                    "descendant",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="ancestor_links",
                        to="branches.organisation",
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["descendant", "ancestor"], name="organisation_ancestor_up")],
                "constraints": [
                    models.UniqueConstraint(fields=("ancestor", "descendant"), name="organisation_ancestor_once")
                ],
            },
        ),
        migrations.RunPython(
            _run({"sqlite": SQLITE_FORWARD, "postgresql": POSTGRESQL_FORWARD}),
            _run({"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRESQL_BACKWARD}),
        ),
    ]
