"""SQLite: the chain triggers of the home and placement histories (0007) read the periods of the row's owner only.

0013 indexed ``started_on`` and ``ended_on``. Without statistics (Django never runs ANALYZE) SQLite's planner then
took the index on ``ended_on`` for "another period ends the day this one starts", and the one on ``started_on`` for
the first period's day: each insert read every period that ended on its day. A reform ends thousands of homes and
placements on one day and opens as many: the checks grew with the square of the members moved. The unary ``+``
(SQLite's documented way) leaves those columns out of index choice, so each check reads the owner's few periods by
its index. The rules are unchanged. PostgreSQL plans its plpgsql triggers from statistics: nothing to do there.
"""

from django.db import migrations

FAR = "'9999-12-31'"


def _chain_condition(table: str, owner: str, plus: str) -> str:
    """0007's condition; ``plus`` is put before the other periods' days ("+" to keep them out of index choice)."""
    others = f"FROM {table} o WHERE o.{owner} = NEW.{owner} AND o.id IS NOT NEW.id"
    started, ended = f"{plus}o.started_on", f"{plus}o.ended_on"
    return f"""
        EXISTS (SELECT 1 {others} AND {started} < COALESCE(NEW.ended_on, {FAR})
                AND COALESCE({ended}, {FAR}) > NEW.started_on)
        OR (NEW.started_on > (SELECT MIN({started}) {others})
            AND NOT EXISTS (SELECT 1 {others} AND {ended} = NEW.started_on))
        OR (NEW.ended_on IS NOT NULL AND EXISTS (SELECT 1 {others} AND {started} > NEW.started_on)
            AND NOT EXISTS (SELECT 1 {others} AND {started} = NEW.ended_on))
    """


def _triggers(plus: str) -> list[str]:
    home = _chain_condition("members_memberhome", "member_id", plus)
    placement = _chain_condition("members_placement", "referral_id", plus)
    triggers = [
        ("member_home_chain__i", "INSERT", "members_memberhome", home),
        ("member_home_chain__u", "UPDATE OF member_id, started_on, ended_on", "members_memberhome", home),
        ("placement_chain__i", "INSERT", "members_placement", placement),
        ("placement_chain__u", "UPDATE OF referral_id, started_on, ended_on", "members_placement", placement),
    ]
    statements = []
    for name, event, table, condition in triggers:
        statements.append(f"DROP TRIGGER IF EXISTS {name};")
        statements.append(
            f"""CREATE TRIGGER {name} BEFORE {event} ON {table} WHEN {condition}
            BEGIN SELECT RAISE(ABORT, '{name.rsplit("__", 1)[0]}'); END;"""
        )
    return statements


def _on_sqlite(statements: list[str]):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "sqlite":
            for statement in statements:
                schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0015_year_indexes"),
    ]

    operations = [
        migrations.RunPython(_on_sqlite(_triggers("+")), _on_sqlite(_triggers(""))),
    ]
