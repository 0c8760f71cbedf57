"""The home and placement histories are chains of periods without overlap or gap, and their open period is the
member's home / the referral's cell of today; every existing member and placed referral gets its first period.

These rules read other rows, which a CHECK constraint cannot, so they are triggers (SQLite and PostgreSQL variants,
like migration 0002). The services (``members.homes``) check the same rules first and write in the order the triggers
accept: close the open period, change the current place, open the next period.

The first placement must be in the ward the referral was addressed to; a later one (a re-placement after a khu phố
or ward merger) may be in the successor's cell, so the referral's own trigger from 0002 now asks the receiving ward
only of a referral that was never re-placed.
"""

from django.db import migrations

FAR = "'9999-12-31'"


def _chain_condition(table: str, owner: str) -> str:
    """True when NEW would overlap another period of its owner, or leave a gap before or after it."""
    others = f"FROM {table} o WHERE o.{owner} = NEW.{owner} AND o.id IS NOT NEW.id"
    return f"""
        EXISTS (SELECT 1 {others} AND o.started_on < COALESCE(NEW.ended_on, {FAR})
                AND COALESCE(o.ended_on, {FAR}) > NEW.started_on)
        OR (NEW.started_on > (SELECT MIN(o.started_on) {others})
            AND NOT EXISTS (SELECT 1 {others} AND o.ended_on = NEW.started_on))
        OR (NEW.ended_on IS NOT NULL AND EXISTS (SELECT 1 {others} AND o.started_on > NEW.started_on)
            AND NOT EXISTS (SELECT 1 {others} AND o.started_on = NEW.ended_on))
    """


HOME_CHAIN = _chain_condition("members_memberhome", "member_id")
PLACEMENT_CHAIN = _chain_condition("members_placement", "referral_id")
HOME_NOT_CURRENT = """NEW.ended_on IS NULL AND NEW.organisation_id IS NOT
    (SELECT m.home_organisation_id FROM members_member m WHERE m.id = NEW.member_id)"""
MEMBER_NOT_CURRENT = """EXISTS (SELECT 1 FROM members_memberhome h WHERE h.member_id = NEW.id AND h.ended_on IS NULL
    AND h.organisation_id IS NOT NEW.home_organisation_id)"""
PLACEMENT_NOT_CURRENT = """NEW.ended_on IS NULL AND NEW.residential_cell_id IS NOT
    (SELECT r.residential_cell_id FROM members_referral r WHERE r.id = NEW.referral_id)"""
REFERRAL_NOT_CURRENT = """EXISTS (SELECT 1 FROM members_placement p WHERE p.referral_id = NEW.id AND p.ended_on IS NULL
    AND p.residential_cell_id IS NOT NEW.residential_cell_id)"""
# The first placement: a residential cell of the receiving ward, from the day of the placement step.
FIRST_PLACEMENT_WRONG = """NOT EXISTS (SELECT 1 FROM members_placement o WHERE o.referral_id = NEW.referral_id
        AND o.id IS NOT NEW.id AND o.started_on < NEW.started_on)
    AND NOT EXISTS (SELECT 1 FROM members_referral r JOIN branches_organisation c ON c.id = NEW.residential_cell_id
        WHERE r.id = NEW.referral_id AND c.parent_id = r.receiving_ward_id AND r.placed_on = NEW.started_on)"""
CELL_NOT_RESIDENTIAL = """NOT EXISTS (SELECT 1 FROM branches_organisation c
    WHERE c.id = NEW.residential_cell_id AND c.kind = 'residential_cell')"""
REFERRAL_CELL_IN_WARD = """
    NOT EXISTS (SELECT 1 FROM branches_organisation w WHERE w.id = NEW.receiving_ward_id AND w.kind = 'ward')
    OR (NEW.residential_cell_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM branches_organisation c
        WHERE c.id = NEW.residential_cell_id AND c.kind = 'residential_cell'
          AND (c.parent_id = NEW.receiving_ward_id OR EXISTS (
              SELECT 1 FROM members_placement p WHERE p.referral_id = NEW.id AND p.ended_on IS NOT NULL))))
"""


def _sqlite_trigger(name: str, when: str, event: str, table: str, condition: str) -> str:
    return f"""CREATE TRIGGER {name} {when} {event} ON {table} WHEN {condition}
        BEGIN SELECT RAISE(ABORT, '{name.rsplit("__", 1)[0]}'); END;"""


SQLITE_FORWARD = [
    "DROP TRIGGER IF EXISTS referral_cell_in_ward_insert;",
    "DROP TRIGGER IF EXISTS referral_cell_in_ward_update;",
    _sqlite_trigger("referral_cell_in_ward__i", "BEFORE", "INSERT", "members_referral", REFERRAL_CELL_IN_WARD),
    _sqlite_trigger(
        "referral_cell_in_ward__u",
        "BEFORE",
        "UPDATE OF residential_cell_id, receiving_ward_id",
        "members_referral",
        REFERRAL_CELL_IN_WARD,
    ),
    _sqlite_trigger("member_home_chain__i", "BEFORE", "INSERT", "members_memberhome", HOME_CHAIN),
    _sqlite_trigger(
        "member_home_chain__u", "BEFORE", "UPDATE OF member_id, started_on, ended_on", "members_memberhome", HOME_CHAIN
    ),
    _sqlite_trigger("member_home_current__i", "BEFORE", "INSERT", "members_memberhome", HOME_NOT_CURRENT),
    _sqlite_trigger(
        "member_home_current__u",
        "BEFORE",
        "UPDATE OF member_id, organisation_id, ended_on",
        "members_memberhome",
        HOME_NOT_CURRENT,
    ),
    _sqlite_trigger(
        "member_home_current__m", "BEFORE", "UPDATE OF home_organisation_id", "members_member", MEMBER_NOT_CURRENT
    ),
    _sqlite_trigger("placement_chain__i", "BEFORE", "INSERT", "members_placement", PLACEMENT_CHAIN),
    _sqlite_trigger(
        "placement_chain__u",
        "BEFORE",
        "UPDATE OF referral_id, started_on, ended_on",
        "members_placement",
        PLACEMENT_CHAIN,
    ),
    _sqlite_trigger("placement_current__i", "BEFORE", "INSERT", "members_placement", PLACEMENT_NOT_CURRENT),
    _sqlite_trigger(
        "placement_current__u",
        "BEFORE",
        "UPDATE OF referral_id, residential_cell_id, ended_on",
        "members_placement",
        PLACEMENT_NOT_CURRENT,
    ),
    _sqlite_trigger(
        "placement_current__r", "BEFORE", "UPDATE OF residential_cell_id", "members_referral", REFERRAL_NOT_CURRENT
    ),
    _sqlite_trigger(
        "placement_cell__i",
        "BEFORE",
        "INSERT",
        "members_placement",
        f"({CELL_NOT_RESIDENTIAL}) OR ({FIRST_PLACEMENT_WRONG})",
    ),
    _sqlite_trigger(
        "placement_cell__u",
        "BEFORE",
        "UPDATE OF referral_id, residential_cell_id, started_on",
        "members_placement",
        f"({CELL_NOT_RESIDENTIAL}) OR ({FIRST_PLACEMENT_WRONG})",
    ),
]
SQLITE_NAMES = [
    "referral_cell_in_ward__i",
    "referral_cell_in_ward__u",
    "member_home_chain__i",
    "member_home_chain__u",
    "member_home_current__i",
    "member_home_current__u",
    "member_home_current__m",
    "placement_chain__i",
    "placement_chain__u",
    "placement_current__i",
    "placement_current__u",
    "placement_current__r",
    "placement_cell__i",
    "placement_cell__u",
]


def _pg_labelled(table: str, events: str, function: str, checks: list[tuple[str, str, str]]) -> list[str]:
    body = "\n".join(
        f"IF {condition} THEN RAISE EXCEPTION '{label}: {message}' USING ERRCODE = 'check_violation'; END IF;"
        for label, condition, message in checks
    )
    body = body.replace("IS NOT NEW.", "IS DISTINCT FROM NEW.").replace(" IS NOT\n", " IS DISTINCT FROM\n")
    return [
        f"""CREATE FUNCTION {function}() RETURNS trigger AS $$
        BEGIN
        {body}
        RETURN NEW;
        END;
        $$ LANGUAGE plpgsql;""",
        f"CREATE TRIGGER {function} BEFORE {events} ON {table} FOR EACH ROW EXECUTE FUNCTION {function}();",
    ]


POSTGRESQL_FORWARD = [
    "DROP TRIGGER IF EXISTS referral_cell_in_ward ON members_referral;",
    "DROP FUNCTION IF EXISTS members_referral_cell_in_ward();",
    *_pg_labelled(
        "members_referral",
        "INSERT OR UPDATE OF residential_cell_id, receiving_ward_id",
        "members_referral_cell_in_ward",
        [("referral_cell_in_ward", REFERRAL_CELL_IN_WARD, "the residential cell is not in the receiving ward")],
    ),
    *_pg_labelled(
        "members_memberhome",
        "INSERT OR UPDATE",
        "members_member_home_rules",
        [
            ("member_home_chain", HOME_CHAIN, "the home periods overlap or leave a gap"),
            ("member_home_current", HOME_NOT_CURRENT, "the open home period is not the home of the member"),
        ],
    ),
    *_pg_labelled(
        "members_member",
        "UPDATE OF home_organisation_id",
        "members_member_home_current",
        [("member_home_current", MEMBER_NOT_CURRENT, "the home of the member is not the open home period")],
    ),
    *_pg_labelled(
        "members_placement",
        "INSERT OR UPDATE",
        "members_placement_rules",
        [
            ("placement_chain", PLACEMENT_CHAIN, "the placement periods overlap or leave a gap"),
            ("placement_current", PLACEMENT_NOT_CURRENT, "the open placement is not the cell of the referral"),
            ("placement_cell", f"({CELL_NOT_RESIDENTIAL}) OR ({FIRST_PLACEMENT_WRONG})", "wrong residential cell"),
        ],
    ),
    *_pg_labelled(
        "members_referral",
        "UPDATE OF residential_cell_id",
        "members_referral_placement_current",
        [("placement_current", REFERRAL_NOT_CURRENT, "the cell of the referral is not the open placement")],
    ),
]
POSTGRESQL_BACKWARD = [
    "DROP TRIGGER IF EXISTS members_referral_placement_current ON members_referral;",
    "DROP FUNCTION IF EXISTS members_referral_placement_current();",
    "DROP TRIGGER IF EXISTS members_placement_rules ON members_placement;",
    "DROP FUNCTION IF EXISTS members_placement_rules();",
    "DROP TRIGGER IF EXISTS members_member_home_current ON members_member;",
    "DROP FUNCTION IF EXISTS members_member_home_current();",
    "DROP TRIGGER IF EXISTS members_member_home_rules ON members_memberhome;",
    "DROP FUNCTION IF EXISTS members_member_home_rules();",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


def first_periods(apps, schema_editor):
    """Every member's home since admission, every placed referral's cell since its placement."""
    Member = apps.get_model("members", "Member")
    MemberHome = apps.get_model("members", "MemberHome")
    Referral = apps.get_model("members", "Referral")
    Placement = apps.get_model("members", "Placement")
    MemberHome.objects.bulk_create(
        (
            MemberHome(member_id=pk, organisation_id=home, started_on=admitted_on)
            for pk, home, admitted_on in Member.objects.values_list("pk", "home_organisation_id", "admitted_on")
        ),
        batch_size=2000,
    )
    Placement.objects.bulk_create(
        (
            Placement(referral_id=pk, residential_cell_id=cell, started_on=placed_on)
            for pk, cell, placed_on in Referral.objects.filter(placed_on__isnull=False).values_list(
                "pk", "residential_cell_id", "placed_on"
            )
        ),
        batch_size=2000,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0006_member_home_and_placement_history"),
    ]

    operations = [
        migrations.RunPython(first_periods, migrations.RunPython.noop),
        migrations.RunPython(
            _run({"sqlite": SQLITE_FORWARD, "postgresql": POSTGRESQL_FORWARD}),
            _run(
                {
                    "sqlite": [f"DROP TRIGGER IF EXISTS {name};" for name in SQLITE_NAMES],
                    "postgresql": POSTGRESQL_BACKWARD,
                }
            ),
        ),
    ]
