# ruff: noqa: S608 - every statement is built from this module's own numbers and dates, never from input
"""The rows of a generated data set, written on PostgreSQL (``bench/generate.py`` documents the sizes, proportions and
commands).

The organisation tree is drawn in Python (``bench/generate_tree.py``) and written with COPY. Everything else is drawn
in SQL from ``generate_series`` and a keyed hash (``hashint8extended(key, seed)``: the same seed gives the same rows),
with ``INSERT ... SELECT``.

During the load, ``session_replication_role = replica`` turns off the triggers and foreign-key checks: the row rules
of the members' tables (the history chains of migrations members/0007-0008, the ward of a referral's cell) are then
checked set-based over all rows (``check_rules``); the work of the others is done once at the end (the ancestor
relation rebuilt, the stored figures cleared: ``REPLACED_TRIGGERS``), and an unknown trigger stops the load. The keys
and indexes of the loaded tables are dropped during the load too, and created again from their own definitions
(``pg_get_indexdef``; a key attached to its index, a foreign key added ``NOT VALID`` then validated over every row), so
the schema ends as the migrations left it (``pg_dump --schema-only`` equal).

Transactions: the rows are written in one transaction, in one session (a single core). Called from ``generate.py``
(outside a transaction), the load then commits, and the keys, indexes and foreign keys come back, and the rules are
checked, from one session per core (``bench/generate_sessions.py``); the restructures, former names, users and
sequences follow in a last transaction. A failure before the commit rolls everything back, DDL included; a failure
after it (a statement of the restore, a broken rule) leaves the rows in the database with some of their keys, indexes
or foreign keys missing: the run stops with the error, and ``generate.py --replace`` drops the database and builds it
again (without ``--replace`` the rerun refuses a database that has organisations). Called inside a transaction (the
tests), everything stays in that transaction and in its session, as before.
"""

import dataclasses
import datetime
import io
import os
import re
import time
from collections.abc import Callable

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, Permission
from django.db import connection, transaction

from bench.generate_sessions import Step, biggest_first, run_in_sessions
from bench.generate_tree import SINCE, Size, Tree, build_tree, merge_day, rename_day
from branches.models import Officer, Organisation, OrganisationName, Restructure
from members.models import CommentRound

Day = datetime.date
DEMO_PASSWORD = "dongha76-demo"  # noqa: S105 - the demo's published password
# The tables written by the load: their keys and indexes are dropped during the load and created again.
LOADED_TABLES = (
    "branches_organisation",
    "branches_organisationancestor",
    "members_member",
    "members_memberhome",
    "members_exemption",
    "members_referral",
    "members_placement",
    "members_meeting",
    "members_attendance",
    "members_residencecomment",
    "members_yearendrating",
)


def _rebuild_ancestors() -> None:
    from branches.ancestors import rebuild_all

    rebuild_all()


def _clear_snapshots() -> None:
    from reports.snapshots import clear_all

    clear_all()


# A key ``ADD CONSTRAINT ... USING INDEX`` can attach to its index built beforehand (not deferrable, plain columns).
KEY_ON_ITS_INDEX = re.compile(r"(PRIMARY KEY|UNIQUE) \([\w, ]+\)")
# The table a rule check reads first: its size orders the checks, the biggest first.
CHECKED_TABLE = re.compile(r"\bFROM (\w+)")
MAX_SESSIONS = 4  # the sessions of the keys and checks at most, one per core below that

# The row rules of migrations members/0002, 0007 and 0008: ``Loader.check_rules`` checks them over all rows.
RULE_TRIGGERS = frozenset(
    {
        "members_member_home_current",
        "members_member_home_rules",
        "members_placement_rules",
        "members_referral_cell_in_ward",
        "members_referral_placement_current",
    }
)
# The other triggers of the loaded tables (by the start of their names), and what does their work after a load with
# the triggers off: the ancestor relation of the tree (branches/0003) written from the paths, the stored figures
# (reports/0001: stale from the first day a write changes) all deleted.
REPLACED_TRIGGERS = {"organisation_ancestors_": _rebuild_ancestors, "reports_stale_": _clear_snapshots}
STAMP = "TIMESTAMPTZ '2018-09-30 17:00:00+07'"

FAMILY = [
    ("Nguyễn", "nguyen"), ("Trần", "tran"), ("Lê", "le"), ("Phạm", "pham"), ("Hoàng", "hoang"), ("Huỳnh", "huynh"),
    ("Phan", "phan"), ("Vũ", "vu"), ("Võ", "vo"), ("Đặng", "dang"), ("Bùi", "bui"), ("Đỗ", "do"), ("Hồ", "ho"),
    ("Ngô", "ngo"), ("Dương", "duong"), ("Lý", "ly"),
]  # fmt: skip
MIDDLE_MALE = [("Văn", "van"), ("Hữu", "huu"), ("Đức", "duc"), ("Minh", "minh"), ("Quang", "quang"), ("Công", "cong")]
MIDDLE_FEMALE = [("Thị", "thi"), ("Ngọc", "ngoc"), ("Thanh", "thanh"), ("Thu", "thu"), ("Kim", "kim")]
GIVEN = [
    ("An", "an"), ("Bình", "binh"), ("Cường", "cuong"), ("Dũng", "dung"), ("Hà", "ha"), ("Hải", "hai"),
    ("Hạnh", "hanh"), ("Hoa", "hoa"), ("Hùng", "hung"), ("Hương", "huong"), ("Lan", "lan"), ("Long", "long"),
    ("Mai", "mai"), ("Nam", "nam"), ("Phong", "phong"), ("Phương", "phuong"), ("Quân", "quan"), ("Sơn", "son"),
    ("Tâm", "tam"), ("Thảo", "thao"), ("Trang", "trang"), ("Tuấn", "tuan"), ("Vinh", "vinh"), ("Yến", "yen"),
]  # fmt: skip


def _array(words: list[str]) -> str:
    return "ARRAY[" + ",".join("'" + word + "'" for word in words) + "]"


class Loader:
    def __init__(self, size: Size, *, as_of: Day, seed: int, sessions: int = 1, out: Callable[[str], None] = print):
        self.size, self.as_of, self.seed, self.out = size, as_of, seed, out
        self.sessions = sessions
        self.phases: list[tuple[str, float]] = []
        self.verbose = bool(os.environ.get("GENERATE_VERBOSE"))  # the time of each statement

    # -- helpers ---------------------------------------------------------------------------------------------
    def r(self, key: str, salt: int) -> str:
        """A uniform number in [0, 1) drawn from ``key`` (an SQL expression) and the salt: the same key and seed give
        the same number."""
        return f"((hashint8extended(({key})::bigint, {self.seed * 1000 + salt}) & 2147483647)::float8 / 2147483648.0)"

    def day(self, first: str, key: str, salt: int, span: str) -> str:
        """A day in ``[first, first + span)`` (SQL expressions)."""
        return f"(({first}) + floor({self.r(key, salt)} * ({span}))::int)"

    def sql(self, statement: str, params=None) -> int:
        started = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute(statement, params)
            rows = cursor.rowcount
        if self.verbose:
            self.out(f"    {time.monotonic() - started:6.1f} s  {' '.join(statement.split())[:90]}")
        return rows

    def phase(self, name: str, started: float) -> None:
        seconds = time.monotonic() - started
        self.phases.append((name, seconds))
        self.out(f"  {name}: {seconds:.1f} s")

    def copy(self, table: str, columns: list[str], rows) -> None:
        buffer = io.StringIO()
        for row in rows:
            buffer.write("\t".join(r"\N" if value is None else str(value) for value in row))
            buffer.write("\n")
        buffer.seek(0)
        with connection.cursor() as cursor:
            cursor.cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer)

    def next_id(self, table: str) -> int:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}")
            return cursor.fetchone()[0]

    # -- the whole load ------------------------------------------------------------------------------------------
    def run(self) -> Tree:
        with transaction.atomic():
            # Before the first temporary table of the session (PostgreSQL ignores it after): the staging tables of the
            # nation hold millions of rows.
            self.sql("SET LOCAL temp_buffers = '1GB'")
            self.sql("SET LOCAL work_mem = '256MB'")
            self.sql("SET LOCAL maintenance_work_mem = '1GB'")
            self.sql("SET LOCAL synchronous_commit = off")
            replacements = self.replaced_triggers()
            self.sql("SET LOCAL session_replication_role = replica")
            started = time.monotonic()
            restore = self.drop_keys_and_indexes()
            self.phase(f"drop the keys and indexes of the loaded tables ({restore.count})", started)
            started = time.monotonic()
            tree = self.load_tree()
            self.phase("organisations (COPY)", started)
            self.staging(tree)
            self.members()
            self.referrals()
            self.homes_and_exemptions()
            self.meetings()
            self.comments()
            started = time.monotonic()
            for replacement in replacements:
                replacement()
            self.phase("the work of the other triggers: " + ", ".join(r.__name__ for r in replacements), started)
            self.drop_staging()
            self.sql("SET LOCAL session_replication_role = origin")
            if self.sessions == 1:
                self.finish(tree, restore)
        if self.sessions > 1:
            # The other sessions see the rows once committed: from here a failure leaves them in the database (the
            # module docstring says what --replace does about it).
            self.finish(tree, restore)
        return tree

    def drop_staging(self) -> None:
        """The staging tables end with the load, not with the session: the database's size printed after it and the
        VACUUM count the data set alone (the nation's staging tables hold about 1.4 GB)."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT relname FROM pg_class WHERE relnamespace = pg_my_temp_schema() AND relkind = 'r'"
                " AND relname LIKE 'g\\_%' ORDER BY relname"
            )
            names = [name for (name,) in cursor.fetchall()]
        if names:
            self.sql(f"DROP TABLE {', '.join(names)}")

    def finish(self, tree: Tree, restore: "Restore") -> None:
        started = time.monotonic()
        self.restore(restore)
        self.phase(f"create the {restore.count} keys, indexes and foreign keys again (validated)", started)
        started = time.monotonic()
        self.check_rules()
        self.phase("check the triggers' rules, set-based", started)
        started = time.monotonic()
        with transaction.atomic():
            self.history_and_users(tree)
            self.reset_sequences()
        self.phase("restructures, former names, users, sequences", started)

    def run_steps(self, steps: list[Step], sessions: int) -> dict[str, object]:
        """Each step's first value, the biggest tables' first: from ``sessions`` sessions of their own (the rows
        committed), or one after another in this one."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT relname::text, pg_relation_size(oid) FROM pg_class WHERE relname = ANY(%s)",
                [sorted({step.table for step in steps})],
            )
            sizes = dict(cursor.fetchall())
        ordered = biggest_first(steps, sizes)

        def done(step: Step, seconds: float, _result) -> None:
            if self.verbose:
                self.out(f"    {seconds:6.1f} s  {' '.join(step.statement.split())[:90]}")

        if sessions > 1:
            return run_in_sessions(ordered, sessions, connection.get_connection_params(), done)
        results = {}
        for step in ordered:
            started = time.monotonic()
            with connection.cursor() as cursor:
                cursor.execute(step.statement)
                row = cursor.fetchone() if cursor.description else None
            results[step.statement] = row[0] if row else None
            done(step, time.monotonic() - started, results[step.statement])
        return results

    def restore(self, restore: "Restore") -> None:
        """The indexes (the keys' too) from every session, the keys attached to their indexes and the foreign keys
        added unvalidated in this one (a moment each, but their locks conflict), then the foreign keys validated over
        every row from every session."""
        self.run_steps(restore.indexes, self.sessions)
        self.run_steps(restore.constraints, 1)
        self.run_steps(restore.foreign_keys, 1)
        self.run_steps(restore.validations, self.sessions)

    def load_tree(self) -> Tree:
        tree = build_tree(self.size, self.next_id("branches_organisation"), self.as_of)
        self.copy(
            "branches_organisation",
            ["id", "code", "name", "kind", "sector", "valid_from", "valid_to", "address", "path", "parent_id",
             "successor_id"],
            (org.row() for org in tree.orgs),
        )  # fmt: skip
        return tree

    def replaced_triggers(self) -> list[Callable[[], None]]:
        """What does the work of the loaded tables' triggers, which the load turns off. A trigger this loader does not
        know stops it, rather than leave its work undone."""
        with connection.cursor() as cursor:
            cursor.execute(
                """SELECT tgname FROM pg_trigger
                   WHERE tgrelid::regclass::text = ANY(%s) AND NOT tgisinternal ORDER BY tgname""",
                [list(LOADED_TABLES)],
            )
            names = [name for (name,) in cursor.fetchall()]
        replacements, unknown = [], []
        for name in names:
            if name in RULE_TRIGGERS:
                continue
            prefix = next((prefix for prefix in REPLACED_TRIGGERS if name.startswith(prefix)), None)
            if prefix is None:
                unknown.append(name)
            elif REPLACED_TRIGGERS[prefix] not in replacements:
                replacements.append(REPLACED_TRIGGERS[prefix])
        if unknown:
            raise GenerationError(f"the loaded tables have triggers the generator does not replace: {unknown}")
        return replacements

    def drop_keys_and_indexes(self) -> "Restore":
        """Drop the keys (primary, unique, foreign: those of the loaded tables and those pointing at them) and the
        other indexes of the loaded tables; return the statements that create them again. Index upkeep row by row
        costs many times the insert itself; a build from sorted rows does not.

        A key comes back as its index, built like the others (``CREATE UNIQUE INDEX`` locks out writes only, so the
        indexes of one table can be built side by side), then attached (``ADD CONSTRAINT ... USING INDEX``); a foreign
        key is added ``NOT VALID`` and then validated over every row: the same constraints as the migrations', in
        ``pg_dump --schema-only`` too."""
        with connection.cursor() as cursor:
            cursor.execute(
                """SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid), c.contype,
                       pg_get_indexdef(c.conindid)
                   FROM pg_constraint c
                   WHERE (c.contype = 'f' AND (c.conrelid::regclass::text = ANY(%s)
                                               OR c.confrelid::regclass::text = ANY(%s)))
                      OR (c.contype IN ('p', 'u') AND c.conrelid::regclass::text = ANY(%s))
                   ORDER BY c.contype = 'f' DESC, c.conrelid::regclass::text, c.conname""",
                [list(LOADED_TABLES)] * 3,
            )
            constraints = cursor.fetchall()
            for table, name, *_rest in constraints:
                cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            cursor.execute(
                """SELECT t.relname::text, ci.relname, pg_get_indexdef(i.indexrelid)
                   FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid JOIN pg_class ci ON ci.oid = i.indexrelid
                   WHERE t.relname = ANY(%s) ORDER BY ci.relname""",
                [list(LOADED_TABLES)],
            )
            indexes = cursor.fetchall()
            for _table, name, _definition in indexes:
                cursor.execute(f'DROP INDEX "{name}"')
        restore = Restore(count=len(constraints) + len(indexes))
        restore.indexes = [Step(definition, table) for table, _name, definition in indexes]
        for table, name, definition, kind, index in constraints:
            add = f'ALTER TABLE {table} ADD CONSTRAINT "{name}"'
            if kind == "f":
                restore.foreign_keys.append(Step(f"{add} {definition} NOT VALID", table))
                restore.validations.append(Step(f'ALTER TABLE {table} VALIDATE CONSTRAINT "{name}"', table, True))
            elif KEY_ON_ITS_INDEX.fullmatch(definition):
                restore.indexes.append(Step(index, table))
                keyword = "PRIMARY KEY" if kind == "p" else "UNIQUE"
                restore.constraints.append(Step(f'{add} {keyword} USING INDEX "{name}"', table, True))
            else:  # one ``USING INDEX`` cannot make (deferrable, INCLUDE, NULLS NOT DISTINCT ...): built as it was
                restore.constraints.append(Step(f"{add} {definition}", table, True))
        return restore

    # -- staging: the tree as numbered lists, to draw from ---------------------------------------------------------
    def staging(self, tree: Tree) -> None:
        started = time.monotonic()
        self.sql("""
            CREATE TEMP TABLE g_wp (prov int, n int, id bigint, gr bigint, valid_to date, succ bigint, succ_gr bigint);
            CREATE TEMP TABLE g_wpo (prov int, n int, id bigint, gr bigint);
            CREATE TEMP TABLE g_ward (prov int, n int, id bigint, valid_to date, succ bigint);
            CREATE TEMP TABLE g_rc (ward bigint, n int, id bigint, valid_to date, succ bigint);
            CREATE TEMP TABLE g_rcp (prov int, n int, id bigint, valid_to date, succ bigint);
            CREATE TEMP TABLE g_rco (prov int, n int, id bigint);
            CREATE TEMP TABLE g_out (prov int, n int, id bigint);
        """)  # fmt: skip

        def numbered(items, row):
            counters: dict = {}
            for item in items:
                n = counters.get(item.province, 0)
                counters[item.province] = n + 1
                yield row(item, n)

        def id_of(org):
            return org.id if org else None

        self.copy(
            "g_wp",
            ["prov", "n", "id", "gr", "valid_to", "succ", "succ_gr"],
            numbered(
                tree.workplaces,
                lambda o, n: (o.province, n, o.id, o.grassroots.id, o.valid_to, id_of(o.successor),
                              id_of(o.successor.grassroots if o.successor else None)),
            ),
        )  # fmt: skip
        open_workplaces = [o for o in tree.workplaces if o.valid_to is None]
        self.copy(
            "g_wpo",
            ["prov", "n", "id", "gr"],
            numbered(open_workplaces, lambda o, n: (o.province, n, o.id, o.grassroots.id)),
        )
        self.copy(
            "g_ward",
            ["prov", "n", "id", "valid_to", "succ"],
            numbered(tree.wards, lambda o, n: (o.province, n, o.id, o.valid_to, id_of(o.successor))),
        )
        cells = [cell for ward in tree.wards for cell in tree.residential_cells[ward.id]]
        self.copy(
            "g_rc",
            ["ward", "n", "id", "valid_to", "succ"],
            (
                (ward.id, n, cell.id, cell.valid_to, id_of(cell.successor))
                for ward in tree.wards
                for n, cell in enumerate(tree.residential_cells[ward.id])
            ),
        )
        self.copy(
            "g_rcp",
            ["prov", "n", "id", "valid_to", "succ"],
            numbered(cells, lambda o, n: (o.province, n, o.id, o.valid_to, id_of(o.successor))),
        )
        self.copy(
            "g_rco",
            ["prov", "n", "id"],
            numbered([c for c in cells if c.valid_to is None], lambda o, n: (o.province, n, o.id)),
        )
        self.copy("g_out", ["prov", "n", "id"], numbered(tree.outside, lambda o, n: (o.province, n, o.id)))
        self.sql("""
            CREATE TEMP TABLE g_cnt AS
            SELECT wp.prov, wp.n AS wp, wpo.n AS wpo, ward.n AS ward, rcp.n AS rcp, rco.n AS rco, o.n AS out
            FROM (SELECT prov, count(*) AS n FROM g_wp GROUP BY prov) wp
            JOIN (SELECT prov, count(*) AS n FROM g_wpo GROUP BY prov) wpo USING (prov)
            JOIN (SELECT prov, count(*) AS n FROM g_ward GROUP BY prov) ward USING (prov)
            JOIN (SELECT prov, count(*) AS n FROM g_rcp GROUP BY prov) rcp USING (prov)
            JOIN (SELECT prov, count(*) AS n FROM g_rco GROUP BY prov) rco USING (prov)
            JOIN (SELECT prov, count(*) AS n FROM g_out GROUP BY prov) o USING (prov);
            CREATE TEMP TABLE g_wc AS SELECT ward, count(*) AS rc FROM g_rc GROUP BY ward;
            CREATE INDEX ON g_wp (prov, n); CREATE INDEX ON g_wpo (prov, n); CREATE INDEX ON g_ward (prov, n);
            CREATE INDEX ON g_rc (ward, n); CREATE INDEX ON g_rcp (prov, n); CREATE INDEX ON g_rco (prov, n);
            CREATE INDEX ON g_out (prov, n);
            ANALYZE g_wp; ANALYZE g_wpo; ANALYZE g_ward; ANALYZE g_rc; ANALYZE g_rcp; ANALYZE g_rco; ANALYZE g_out;
            ANALYZE g_cnt; ANALYZE g_wc;
        """)  # fmt: skip
        self.phase("staging lists of the tree", started)

    # -- members ---------------------------------------------------------------------------------------------------
    def members(self) -> None:
        """One row per member in ``g_m``: who they are, their first home, and what happens to them.

        cat: W working at a workplace cell (52%), R retired, living in a residential cell (42%), O of an outside
        organisation living in the province (6%). W's sub: X exempt from introduction (1.5%), N eligible but not
        introduced (0.7%), F introduced. ev (W and F only): ret retired on a day of the history (3%), died (0.5%), mov
        moved residence: the referral ends and another is introduced (1%), chg changed workplace cell (2%), new
        admitted during the history (1%). R: died (1.5%).
        """
        started = time.monotonic()
        size, as_of, r = self.size, self.as_of, self.r
        total = size.members * size.province_count
        base = self.next_id("members_member")
        self.sql(f"""
            CREATE TEMP TABLE g_m0 AS
            SELECT i, {base} + i AS id, s.prov, cat, sub,
                floor({r("i", 6)} * CASE cat WHEN 'W' THEN c.wp WHEN 'R' THEN c.rcp ELSE c.out END)::int AS home_n,
                CASE WHEN cat = 'W' AND sub = 'F' THEN
                    CASE WHEN r2 < 0.03 THEN 'ret' WHEN r2 < 0.035 THEN 'died' WHEN r2 < 0.045 THEN 'mov'
                         WHEN r2 < 0.065 THEN 'chg' WHEN r2 < 0.075 THEN 'new' ELSE '' END
                     WHEN cat = 'R' AND r2 < 0.015 THEN 'died' ELSE '' END AS ev
            FROM (
                SELECT i, (i / {size.members})::int AS prov, {r("i", 3)} AS r2,
                    CASE WHEN {r("i", 1)} < 0.52 THEN 'W' WHEN {r("i", 1)} < 0.94 THEN 'R' ELSE 'O' END AS cat,
                    CASE WHEN {r("i", 1)} >= 0.94 THEN 'F' WHEN {r("i", 1)} >= 0.52 THEN ''
                         WHEN {r("i", 2)} < 0.015 THEN 'X' WHEN {r("i", 2)} < 0.022 THEN 'N' ELSE 'F' END AS sub
                FROM generate_series(0, {total - 1}) i
            ) s JOIN g_cnt c ON c.prov = s.prov
        """)  # fmt: skip
        self.sql("""
            CREATE TEMP TABLE g_home AS
            SELECT 'W' AS cat, prov, n, id, valid_to, succ, gr, succ_gr FROM g_wp
            UNION ALL SELECT 'R', prov, n, id, valid_to, succ, NULL, NULL FROM g_rcp
            UNION ALL SELECT 'O', prov, n, id, NULL, NULL, id, NULL FROM g_out;
            ANALYZE g_home; ANALYZE g_m0
        """)
        self.sql(f"""
            CREATE TEMP TABLE g_m1 AS
            SELECT m.*,
                CASE WHEN m.cat = 'R' THEN {self.day("DATE '1960-01-01'", "m.i", 5, "16800")}
                     WHEN m.ev = 'new' THEN {self.day(f"DATE '{as_of}' - 1004", "m.i", 5, "912")}
                     ELSE {self.day("DATE '1985-01-01'", "m.i", 5, f"DATE '{as_of}' - 1005 - DATE '1985-01-01'")}
                     END AS adm,
                h.id AS id1, h.valid_to AS vt1, h.succ AS succ1, h.gr AS gr1, h.succ_gr AS succ_gr1
            FROM g_m0 m JOIN g_home h ON h.cat = m.cat AND h.prov = m.prov AND h.n = m.home_n
        """)  # fmt: skip
        self.sql("ANALYZE g_m1")
        # The first home, the day of the merger that moved it (if any), and the first referral's dates.
        self.sql(f"""
            CREATE TEMP TABLE g_m AS
            SELECT s.*,
                CASE WHEN s.ev IN ('ret', 'died', 'mov', 'chg') AND s.intro IS NOT NULL
                     THEN s.intro + floor({r("s.i", 11)} * (DATE '{as_of}' - s.intro + 1))::int END AS d
            FROM (
                SELECT t.*,
                    CASE WHEN t.sub <> 'F' THEN NULL
                         WHEN t.state = 'await'
                             THEN GREATEST(DATE '{as_of}' - floor({r("t.i", 9)} * 30)::int, t.adm + 1)
                         WHEN t.state = 'stall'
                             THEN GREATEST(DATE '{as_of}' - 31 - floor({r("t.i", 9)} * 270)::int, t.adm + 1)
                         WHEN t.ev = 'new' THEN t.adm + 15 + floor({r("t.i", 9)} * 60)::int
                         ELSE LEAST(GREATEST(t.adm + 30 + floor({r("t.i", 9)} * 150)::int,
                                             {self.day(f"DATE '{as_of}' - 1733", "t.i", 10, "900")}),
                                    DATE '{as_of}' - 25) END AS intro
                FROM (
                    SELECT m.i, m.id, m.prov, m.cat, m.sub, m.adm,
                        CASE WHEN m.vt1 > m.adm THEN '' ELSE m.ev END AS ev,
                        CASE WHEN m.vt1 <= m.adm THEN m.succ1 ELSE m.id1 END AS h1,
                        CASE WHEN m.vt1 <= m.adm AND m.cat = 'W' THEN m.succ_gr1 ELSE m.gr1 END AS g1,
                        CASE WHEN m.vt1 > m.adm THEN m.vt1 END AS merge_day,
                        m.succ1 AS merge_home, m.succ_gr1 AS merge_gr,
                        CASE WHEN {r("m.i", 8)} < 0.015 THEN 'await' WHEN {r("m.i", 8)} < 0.025 THEN 'stall'
                             ELSE 'normal' END AS state
                    FROM g_m1 m
                ) t
            ) s
        """)  # fmt: skip
        self.sql("DROP TABLE g_m0; DROP TABLE g_m1; CREATE INDEX ON g_m (id); ANALYZE g_m")
        self.phase(f"draw {total:,} members", started)

    # -- referrals and placements ------------------------------------------------------------------------------------
    def referrals(self) -> None:
        started = time.monotonic()
        r, as_of = self.r, self.as_of
        far = "DATE '9999-12-31'"
        # Raw steps: the first referral of every introduced member, and the second one of those who moved house.
        self.sql(f"""
            CREATE TEMP TABLE g_r0 AS
            SELECT m.id AS member_id, m.i, m.prov, 1 AS seq, m.intro,
                floor({r("m.i", 7)} * c.ward)::int AS ward_n,
                CASE WHEN m.state = 'normal' THEN LEAST(m.intro + 1 + floor({r("m.i", 12)} * 20)::int, DATE '{as_of}')
                     END AS recv,
                {r("m.i", 13)} AS r_place, {r("m.i", 14)} AS r_place_days,
                {r("m.i", 15)} AS r_report, {r("m.i", 16)} AS r_report_days,
                CASE WHEN m.ev IN ('ret', 'died', 'mov') THEN m.d END AS ended,
                CASE m.ev WHEN 'ret' THEN 'retired' WHEN 'died' THEN 'died' WHEN 'mov' THEN 'moved_residence'
                     ELSE '' END AS reason,
                CASE WHEN m.merge_day <= m.intro OR (m.ev = 'chg' AND m.d <= m.intro) THEN NULL ELSE m.g1 END AS issuer,
                m.ev, m.d
            FROM g_m m JOIN g_cnt c ON c.prov = m.prov WHERE m.sub = 'F'
            UNION ALL
            SELECT m.id, m.i, m.prov, 2, LEAST(m.d + floor({r("m.i", 17)} * 20)::int, DATE '{as_of}'),
                floor({r("m.i", 18)} * c.ward)::int,
                LEAST(m.d + floor({r("m.i", 17)} * 20)::int, DATE '{as_of}') + 1 + floor({r("m.i", 19)} * 20)::int,
                {r("m.i", 20)}, {r("m.i", 21)}, {r("m.i", 22)}, {r("m.i", 23)},
                NULL, '', m.g1, m.ev, m.d
            FROM g_m m JOIN g_cnt c ON c.prov = m.prov WHERE m.sub = 'F' AND m.ev = 'mov'
        """)  # fmt: skip
        # Received after the as-of day: not received yet. Placed 98% of the received, reported 92% of the placed.
        # Steps after the end are dropped. The issuer of a member moved (merger, new workplace) before the
        # introduction is the new grassroots organisation.
        self.sql(f"""
            CREATE TEMP TABLE g_r1 AS
            SELECT x.*,
                CASE WHEN x.placed IS NOT NULL AND x.r_report < 0.92
                          AND x.placed + floor(x.r_report_days * 20)::int
                              <= LEAST(DATE '{as_of}', COALESCE(x.ended, {far}))
                     THEN x.placed + floor(x.r_report_days * 20)::int END AS reported
            FROM (
                SELECT w.*,
                    CASE WHEN w.recv IS NOT NULL AND w.r_place >= 0.02
                              AND w.recv + floor(w.r_place_days * 15)::int
                                  <= LEAST(DATE '{as_of}', COALESCE(w.ended, {far}))
                         THEN w.recv + floor(w.r_place_days * 15)::int END AS placed
                FROM (
                    SELECT q.member_id, q.i, q.prov, q.seq, q.intro, q.ended, q.reason,
                        CASE WHEN q.recv <= LEAST(DATE '{as_of}', COALESCE(q.ended, {far})) THEN q.recv END AS recv,
                        q.r_place, q.r_place_days, q.r_report, q.r_report_days,
                        CASE WHEN wd.valid_to <= q.intro THEN wd.succ ELSE wd.id END AS ward,
                        COALESCE(q.issuer, CASE WHEN q.ev = 'chg' THEN h2.gr ELSE m.merge_gr END) AS issuer
                    FROM g_r0 q JOIN g_ward wd ON wd.prov = q.prov AND wd.n = q.ward_n
                    JOIN g_m m ON m.id = q.member_id
                    LEFT JOIN g_cnt c ON q.issuer IS NULL AND q.ev = 'chg' AND c.prov = q.prov
                    LEFT JOIN g_wpo h2 ON q.issuer IS NULL AND q.ev = 'chg' AND h2.prov = q.prov
                        AND h2.n = floor({r("q.i", 27)} * c.wpo)::int
                ) w
            ) x
        """)  # fmt: skip
        self.sql("DROP TABLE g_r0")
        base = self.next_id("members_referral")
        # The cell: in the ward in charge on the day of the placement (the successor, once the ward is merged away);
        # a cell merged away while the referral is active is left for its successor on that day (a re-placement).
        self.sql(f"""
            CREATE TEMP TABLE g_r AS
            SELECT {base} - 1 + row_number() OVER (ORDER BY y.member_id, y.seq) AS id, y.*,
                CASE WHEN y.cell1_valid_to IS NOT NULL AND COALESCE(y.ended, {far}) > y.cell1_valid_to
                     THEN y.cell1_valid_to END AS replaced_on
            FROM (
                SELECT g.*, rc.id AS cell1, rc.valid_to AS cell1_valid_to, rc.succ AS cell2
                FROM (
                    SELECT x.*, CASE WHEN wd.valid_to <= x.placed THEN wd.succ ELSE x.ward END AS place_ward
                    FROM g_r1 x JOIN g_ward wd ON wd.id = x.ward
                ) g
                LEFT JOIN g_wc wc ON g.placed IS NOT NULL AND wc.ward = g.place_ward
                LEFT JOIN g_rc rc ON g.placed IS NOT NULL AND rc.ward = g.place_ward
                    AND rc.n = floor({r("g.i * 4 + g.seq", 28)} * wc.rc)::int
            ) y
        """)  # fmt: skip
        self.sql("DROP TABLE g_r1; ANALYZE g_r")
        rows = self.sql(f"""
            INSERT INTO members_referral (id, letter_number, introduced_on, received_on, placed_on, reported_on,
                ended_on, end_reason, notes, created_at, updated_at, issuing_organisation_id, member_id,
                receiving_ward_id, residential_cell_id)
            SELECT id, id || '-GT/ĐU', intro, recv, placed, reported, ended, reason, '', {STAMP}, {STAMP}, issuer,
                member_id, ward, CASE WHEN placed IS NOT NULL THEN COALESCE(CASE WHEN replaced_on IS NOT NULL
                    THEN cell2 END, cell1) END
            FROM g_r
        """)  # fmt: skip
        base = self.next_id("members_placement")
        placements = self.sql(f"""
            INSERT INTO members_placement (id, referral_id, residential_cell_id, started_on, ended_on)
            SELECT {base} - 1 + row_number() OVER (ORDER BY referral_id, started_on), *
            FROM (
                SELECT id AS referral_id, cell1, placed AS started_on, replaced_on FROM g_r WHERE placed IS NOT NULL
                UNION ALL
                SELECT id, cell2, replaced_on, NULL FROM g_r WHERE placed IS NOT NULL AND replaced_on IS NOT NULL
            ) p
        """)  # fmt: skip
        self.phase(f"referrals ({rows:,}) and placements ({placements:,})", started)

    # -- members' rows, homes, exemptions ------------------------------------------------------------------------
    def homes_and_exemptions(self) -> None:
        started = time.monotonic()
        r, as_of = self.r, self.as_of
        family, family_key = _array([f for f, _k in FAMILY]), _array([k for _f, k in FAMILY])
        male, male_key = _array([f for f, _k in MIDDLE_MALE]), _array([k for _f, k in MIDDLE_MALE])
        female, female_key = _array([f for f, _k in MIDDLE_FEMALE]), _array([k for _f, k in MIDDLE_FEMALE])
        given, given_key = _array([f for f, _k in GIVEN]), _array([k for _f, k in GIVEN])
        # The second home: the successor of a merged cell on the day of the merger (unless gone from the party by
        # then), the residential cell of retirement (where the member was placed, if the cell is still there), or
        # another workplace cell.
        self.sql(f"""
            CREATE TEMP TABLE g_h AS
            SELECT m.id AS member_id, m.h1,
                CASE WHEN m.merge_day IS NOT NULL THEN m.merge_day WHEN m.ev IN ('ret', 'chg') THEN m.d END AS moved_on,
                CASE WHEN m.merge_day IS NOT NULL THEN m.merge_home
                     WHEN m.ev = 'ret' THEN COALESCE(
                         CASE WHEN q.placed <= m.d THEN COALESCE(CASE WHEN q.replaced_on <= m.d THEN q.cell2 END,
                                                                   CASE WHEN q.cell1_valid_to IS NULL THEN q.cell1 END)
                         END, ro.id)
                     WHEN m.ev = 'chg' THEN wo.id END AS h2
            FROM g_m m JOIN g_cnt c ON c.prov = m.prov
            LEFT JOIN g_r q ON m.ev = 'ret' AND q.member_id = m.id
            LEFT JOIN g_rco ro ON m.ev = 'ret' AND ro.prov = m.prov AND ro.n = floor({r("m.i", 26)} * c.rco)::int
            LEFT JOIN g_wpo wo ON m.ev = 'chg' AND wo.prov = m.prov AND wo.n = floor({r("m.i", 27)} * c.wpo)::int
        """)  # fmt: skip
        self.sql("CREATE INDEX ON g_h (member_id); ANALYZE g_h")
        rows = self.sql(f"""
            INSERT INTO members_member (id, card_number, full_name, search_name, date_of_birth, gender, national_id,
                phone, admitted_on, official_on, retired_on, residential_address, left_on, left_reason, created_at,
                updated_at, home_organisation_id)
            SELECT m.id, 'DV' || lpad(m.id::text, 10, '0'),
                ({family})[f] || ' ' || CASE WHEN male THEN ({male})[mm] ELSE ({female})[mf] END || ' ' || ({given})[g],
                ({family_key})[f] || ' ' || CASE WHEN male THEN ({male_key})[mm] ELSE ({female_key})[mf] END || ' '
                    || ({given_key})[g],
                m.adm - (6570 + floor({r("m.i", 31)} * 8000)::int), CASE WHEN male THEN 'male' ELSE 'female' END,
                CASE WHEN {r("m.i", 32)} < 0.8 THEN '0' || lpad(m.id::text, 11, '0') ELSE '' END,
                CASE WHEN {r("m.i", 33)} < 0.6 THEN '09' || lpad((m.id % 100000000)::text, 8, '0') ELSE '' END,
                m.adm, CASE WHEN m.ev = 'new' AND m.adm + 365 > DATE '{as_of}' THEN NULL ELSE m.adm + 365 END,
                CASE WHEN m.cat = 'R'
                     THEN LEAST(GREATEST(m.adm + 1826, {self.day("DATE '1990-01-01'", "m.i", 34, "9000")}),
                                                 DATE '{as_of}' - 1369)
                     WHEN m.ev = 'ret' THEN m.d END,
                '',
                CASE WHEN m.ev = 'died' AND m.cat = 'W' THEN m.d
                     WHEN m.ev = 'died' THEN {self.day(f"DATE '{as_of}' - 1368", "m.i", 35, "1368")} END,
                CASE WHEN m.ev = 'died' THEN 'died' ELSE '' END,
                {STAMP}, {STAMP}, COALESCE(h.h2, h.h1)
            FROM (
                SELECT m.*, {r("m.i", 36)} < 0.6 AS male, 1 + floor({r("m.i", 37)} * {len(FAMILY)})::int AS f,
                    1 + floor({r("m.i", 38)} * {len(MIDDLE_MALE)})::int AS mm,
                    1 + floor({r("m.i", 38)} * {len(MIDDLE_FEMALE)})::int AS mf,
                    1 + floor({r("m.i", 39)} * {len(GIVEN)})::int AS g
                FROM g_m m
            ) m JOIN g_h h ON h.member_id = m.id
        """)  # fmt: skip
        base = self.next_id("members_memberhome")
        homes = self.sql(f"""
            INSERT INTO members_memberhome (id, member_id, organisation_id, started_on, ended_on)
            SELECT {base} - 1 + row_number() OVER (ORDER BY member_id, started_on), *
            FROM (
                SELECT h.member_id, h.h1, m.adm AS started_on, h.moved_on FROM g_h h JOIN g_m m ON m.id = h.member_id
                UNION ALL
                SELECT member_id, h2, moved_on, NULL FROM g_h WHERE moved_on IS NOT NULL
            ) p
        """)  # fmt: skip
        base = self.next_id("members_exemption")
        exemptions = self.sql(f"""
            INSERT INTO members_exemption (id, member_id, kind, reason, started_on, ended_on)
            SELECT {base} - 1 + row_number() OVER (ORDER BY member_id), *
            FROM (
                SELECT m.id AS member_id, 'introduction', 'Làm nhiệm vụ đặc biệt trong lực lượng vũ trang',
                    LEAST(m.adm + floor({r("m.i", 40)} * 365)::int, DATE '{as_of}' - 1), NULL::date
                FROM g_m m WHERE m.sub = 'X'
                UNION ALL
                SELECT e.member_id, 'activities', 'Học tập tập trung dài hạn', e.started,
                    CASE WHEN {r("e.i", 42)} < 0.3
                              AND e.started + 90 + floor({r("e.i", 43)} * 400)::int <= DATE '{as_of}'
                         THEN e.started + 90 + floor({r("e.i", 43)} * 400)::int END
                FROM (
                    SELECT q.member_id, q.i,
                        q.intro + floor({r("q.i", 41)} * (DATE '{as_of}' - q.intro + 1))::int AS started
                    FROM g_r q WHERE q.seq = 1 AND q.ended IS NULL AND {r("q.i", 24)} < 0.02
                ) e
            ) x
        """)  # fmt: skip
        self.phase(f"members ({rows:,}), home history ({homes:,}), exemptions ({exemptions:,})", started)

    # -- meetings and attendance -----------------------------------------------------------------------------------
    def meetings(self) -> None:
        started = time.monotonic()
        r, as_of = self.r, self.as_of
        base = self.next_id("members_meeting")
        first_year, last_year = as_of.year - 3, as_of.year
        halves = (last_year - first_year + 1) * 2
        # Every residential cell holds its periodic meeting each half-year (3% skip one), on a day of that half; 5% of
        # the cells hold an ad hoc meeting in a year. Only while the cell exists, and up to the as-of day.
        meetings = self.sql(f"""
            INSERT INTO members_meeting (id, held_on, kind, year, half, summary, created_at, residential_cell_id)
            SELECT {base} - 1 + row_number() OVER (ORDER BY cell, held_on, kind), held_on, kind, year, half,
                '', {STAMP}, cell
            FROM (
                SELECT o.id AS cell, 'periodic' AS kind, {first_year} + h / 2 AS year, h % 2 + 1 AS half,
                    make_date({first_year} + h / 2, (h % 2) * 6 + 1, 1) + 20
                        + floor({r("o.id * 16 + h", 44)} * 150)::int AS held_on,
                    o.valid_to, {r("o.id * 16 + h", 45)} AS skip
                FROM branches_organisation o CROSS JOIN generate_series(0, {halves - 1}) h
                WHERE o.kind = 'residential_cell' AND o.id IN (SELECT id FROM g_rc)
                UNION ALL
                SELECT o.id, 'ad_hoc', y, CASE WHEN d < make_date(y, 7, 1) THEN 1 ELSE 2 END, d, o.valid_to, 1
                FROM (
                    SELECT o.id, o.valid_to, y,
                        make_date(y, 1, 1) + floor({r(f"o.id * 16 + y - {first_year}", 46)} * 360)::int AS d,
                        {r(f"o.id * 16 + y - {first_year}", 47)} AS chance
                    FROM branches_organisation o CROSS JOIN generate_series({first_year}, {last_year}) y
                    WHERE o.kind = 'residential_cell' AND o.id IN (SELECT id FROM g_rc)
                ) o WHERE o.chance < 0.05
            ) m
            WHERE m.skip >= 0.03 AND m.held_on <= DATE '{as_of}' AND (m.valid_to IS NULL OR m.valid_to > m.held_on)
        """)  # fmt: skip
        self.sql("ANALYZE members_meeting; ANALYZE members_placement; ANALYZE members_referral")
        # The members placed in the cell on the day, their referral active, not exempt from activities then. 6% of
        # members attend irregularly.
        attendance = self.sql(f"""
            INSERT INTO members_attendance (id, meeting_id, member_id, status, reason)
            SELECT {self.next_id("members_attendance")} - 1 + row_number() OVER (ORDER BY a.meeting_id, a.member_id),
                a.meeting_id, a.member_id,
                CASE WHEN a.x < a.present THEN 'present' WHEN a.x < a.present + 0.08 THEN 'excused' ELSE 'absent' END,
                CASE WHEN a.x >= a.present AND a.x < a.present + 0.08
                     THEN CASE WHEN a.x < a.present + 0.04 THEN 'Đi công tác' ELSE 'Ốm' END ELSE '' END
            FROM (
                SELECT mt.id AS meeting_id, q.member_id,
                    {r("mt.id * 10000000 + q.member_id", 48)} AS x,
                    CASE WHEN {r("q.member_id", 49)} < 0.06 THEN 0.45 ELSE 0.88 END AS present
                FROM members_meeting mt
                JOIN members_placement p ON p.residential_cell_id = mt.residential_cell_id
                    AND p.started_on <= mt.held_on AND (p.ended_on IS NULL OR p.ended_on > mt.held_on)
                JOIN g_r q ON q.id = p.referral_id AND (q.ended IS NULL OR q.ended > mt.held_on)
                WHERE mt.id >= {base} AND NOT EXISTS (
                    SELECT 1 FROM members_exemption e WHERE e.member_id = q.member_id AND e.kind = 'activities'
                        AND e.started_on <= mt.held_on AND (e.ended_on IS NULL OR e.ended_on > mt.held_on))
            ) a
        """)  # fmt: skip
        self.phase(f"meetings ({meetings:,}) and attendance ({attendance:,})", started)

    # -- comments and ratings --------------------------------------------------------------------------------------
    def comments(self) -> None:
        started = time.monotonic()
        r = self.r
        first_year = self.as_of.year - 3
        last_year = self.as_of.year - 1  # the round of the as-of year is due on 30 November
        base = comment_base = self.next_id("members_residencecomment")
        # Due: placed in a cell on 30 November, the referral active and the member not exempt from activities then.
        # 97% written in October-November; of those, 85% sent by the deadline, 8% late (December), 7% not sent;
        # 95% of those sent received by the workplace. Verdicts good 70%, fair 27%, limited 3%.
        comments = self.sql(f"""
            INSERT INTO members_residencecomment (id, year, keeps_contact, citizen_example, attends_meetings,
                joins_movements, verdict, text, written_on, sent_on, received_on, member_id, residential_cell_id)
            SELECT {base} - 1 + row_number() OVER (ORDER BY c.member_id, c.year), c.year,
                c.verdict <> 'limited', true, c.verdict = 'good' OR c.v > 0.5, c.verdict <> 'limited', c.verdict, '',
                c.written, c.sent, CASE WHEN c.sent IS NOT NULL AND {r("c.k", 53)} < 0.95
                    THEN c.sent + 1 + floor({r("c.k", 54)} * 10)::int END,
                c.member_id, c.cell
            FROM (
                SELECT b.*,
                    CASE WHEN b.s < 0.85 THEN LEAST(b.written + floor({r("b.k", 55)} * 10)::int, b.deadline)
                         WHEN b.s < 0.93 THEN b.deadline + 1 + floor({r("b.k", 56)} * 25)::int END AS sent,
                    CASE WHEN b.v < 0.7 THEN 'good' WHEN b.v < 0.97 THEN 'fair' ELSE 'limited' END AS verdict
                FROM (
                    SELECT q.member_id, y AS year, p.residential_cell_id AS cell, make_date(y, 11, 30) AS deadline,
                        q.member_id * 8 + (y % 8) AS k,
                        LEAST(GREATEST(make_date(y, 10, 1) + floor({r("q.member_id * 8 + (y % 8)", 50)} * 50)::int,
                                       p.started_on), make_date(y, 11, 30)) AS written,
                        {r("q.member_id * 8 + (y % 8)", 51)} AS s, {r("q.member_id * 8 + (y % 8)", 52)} AS v,
                        {r("q.member_id * 8 + (y % 8)", 57)} AS w
                    FROM generate_series({first_year}, {last_year}) y
                    JOIN members_placement p ON p.started_on <= make_date(y, 11, 30)
                        AND (p.ended_on IS NULL OR p.ended_on > make_date(y, 11, 30))
                    JOIN g_r q ON q.id = p.referral_id AND (q.ended IS NULL OR q.ended > make_date(y, 11, 30))
                    WHERE NOT EXISTS (
                        SELECT 1 FROM members_exemption e WHERE e.member_id = q.member_id AND e.kind = 'activities'
                            AND e.started_on <= make_date(y, 11, 30)
                            AND (e.ended_on IS NULL OR e.ended_on > make_date(y, 11, 30)))
                ) b WHERE b.w < 0.97
            ) c
        """)  # fmt: skip
        base = self.next_id("members_yearendrating")
        ratings = self.sql(f"""
            INSERT INTO members_yearendrating (id, year, level, decided_on, member_id)
            SELECT {base} - 1 + row_number() OVER (ORDER BY member_id, year), year,
                CASE verdict
                    WHEN 'good' THEN CASE WHEN x < 0.2 THEN 'excellent' WHEN x < 0.95 THEN 'good' ELSE 'fulfilled' END
                    WHEN 'fair' THEN CASE WHEN x < 0.6 THEN 'good' ELSE 'fulfilled' END
                    ELSE CASE WHEN x < 0.6 THEN 'fulfilled' ELSE 'not_fulfilled' END END,
                make_date(year, 12, 20) + floor({r("id", 59)} * 11)::int, member_id
            FROM (SELECT c.*, {r("c.id", 58)} AS x FROM members_residencecomment c WHERE c.id >= {comment_base}) c
        """)  # fmt: skip
        self.phase(f"comments ({comments:,}) and year-end ratings ({ratings:,})", started)

    # -- the triggers' rules, set-based --------------------------------------------------------------------------------
    def check_rules(self) -> None:
        """The rules the row triggers (migrations members/0002, 0007, 0008) would have checked, over every row at
        once (the foreign keys are validated when they are added again): each query counts the rows that break one.
        Run after the keys are back, so that its joins can use them."""
        in_charge = """(w.id, w.successor_id, (SELECT s.successor_id FROM branches_organisation s
                         WHERE s.id = w.successor_id))"""
        checks = {
            "referral_cell_in_ward": f"""
                SELECT count(*) FROM members_referral r JOIN branches_organisation w ON w.id = r.receiving_ward_id
                LEFT JOIN branches_organisation c ON c.id = r.residential_cell_id
                WHERE w.kind <> 'ward' OR (r.residential_cell_id IS NOT NULL AND (c.kind <> 'residential_cell'
                    OR NOT (c.parent_id IN {in_charge} OR EXISTS (SELECT 1 FROM members_placement p
                        WHERE p.referral_id = r.id AND p.ended_on IS NOT NULL))))""",
            "placement_cell (first placement in the ward in charge, from the placement day)": f"""
                SELECT count(*) FROM members_placement p JOIN members_referral r ON r.id = p.referral_id
                JOIN branches_organisation c ON c.id = p.residential_cell_id
                JOIN branches_organisation w ON w.id = r.receiving_ward_id
                WHERE c.kind <> 'residential_cell' OR (NOT EXISTS (SELECT 1 FROM members_placement o
                        WHERE o.referral_id = p.referral_id AND o.started_on < p.started_on)
                    AND NOT (r.placed_on = p.started_on AND c.parent_id IN {in_charge}))""",
        }
        for table, owner in (("members_memberhome", "member_id"), ("members_placement", "referral_id")):
            checks[f"{table} chain (no overlap, no gap, one open period, the last)"] = f"""
                SELECT count(*) FROM (
                    SELECT ended_on, lead(started_on) OVER w AS next_start, started_on,
                        row_number() OVER w AS n, count(*) OVER (PARTITION BY {owner}) AS total
                    FROM {table} WINDOW w AS (PARTITION BY {owner} ORDER BY started_on)
                ) x WHERE (x.n < x.total AND x.ended_on IS DISTINCT FROM x.next_start)
                    OR (x.n = x.total AND x.ended_on IS NOT NULL) OR x.ended_on <= x.started_on"""
        checks["member_home_current (the open home period is the member's home)"] = """
            SELECT count(*) FROM members_member m
            LEFT JOIN members_memberhome h ON h.member_id = m.id AND h.ended_on IS NULL
            WHERE h.organisation_id IS DISTINCT FROM m.home_organisation_id"""
        checks["placement_current (the open placement is the referral's cell)"] = """
            SELECT count(*) FROM members_referral r
            LEFT JOIN members_placement p ON p.referral_id = r.id AND p.ended_on IS NULL
            WHERE p.residential_cell_id IS DISTINCT FROM r.residential_cell_id"""
        checks["members_placement for every placed referral"] = """
            SELECT count(*) FROM members_referral r WHERE r.placed_on IS NOT NULL
                AND NOT EXISTS (SELECT 1 FROM members_placement p WHERE p.referral_id = r.id)"""
        checks["members_memberhome first period from the admission"] = """
            SELECT count(*) FROM members_member m WHERE NOT EXISTS (
                SELECT 1 FROM members_memberhome h WHERE h.member_id = m.id AND h.started_on = m.admitted_on)"""
        steps = {name: Step(query, CHECKED_TABLE.search(query).group(1)) for name, query in checks.items()}
        counts = self.run_steps(list(steps.values()), self.sessions)
        broken = {name: counts[step.statement] for name, step in steps.items() if counts[step.statement]}
        if broken:
            raise GenerationError(f"generated rows break the schema's rules: {broken}")

    # -- the rest: former names, restructures, users ---------------------------------------------------------------
    def history_and_users(self, tree: Tree) -> None:
        renamed = [org for org in tree.orgs if org.former_name]
        OrganisationName.objects.bulk_create(
            OrganisationName(
                organisation_id=org.id, name=org.former_name, valid_from=SINCE, valid_to=rename_day(self.as_of)
            )
            for org in renamed
        )
        restructures = []
        for org in renamed:
            restructures.append(
                (Restructure(kind="rename", effective_on=rename_day(self.as_of), note=""), [org.id], [org.id])
            )
        for merged, into in tree.merges:
            ended = [o for o in tree.orgs if o is merged or (o.parent is merged and o.valid_to)]
            restructures.append(
                (
                    Restructure(
                        kind="merge", effective_on=merge_day(self.as_of), note=f"{merged.name} sáp nhập vào {into.name}"
                    ),
                    [o.id for o in ended],
                    sorted({into.id, *(o.successor.id for o in ended if o is not merged)}),
                )
            )
        Restructure.objects.bulk_create(r for r, _p, _s in restructures)
        Restructure.predecessors.through.objects.bulk_create(
            Restructure.predecessors.through(restructure_id=r.pk, organisation_id=o)
            for r, p, _s in restructures
            for o in p
        )
        Restructure.successors.through.objects.bulk_create(
            Restructure.successors.through(restructure_id=r.pk, organisation_id=o)
            for r, _p, s in restructures
            for o in s
        )
        CommentRound.objects.bulk_create(
            CommentRound(organisation_id=tree.root.id, year=year, deadline=CommentRound.default_deadline(year))
            for year in range(self.as_of.year - 3, self.as_of.year + 1)
        )
        self.users(tree)

    def users(self, tree: Tree) -> None:
        """The demo's usernames with posts on the generated tree: city staff at the root, two ward secretaries (of
        wards never merged), the secretary of a residential cell of the first of them, and the staff of a workplace
        committee."""
        users = get_user_model().objects
        staff, _created = Group.objects.get_or_create(name="Văn phòng Thành ủy")
        staff.permissions.set(Permission.objects.filter(content_type__app_label__in=["branches", "members"]))
        wards = [ward for ward in tree.wards if ward.valid_to is None and ward.successor is None]
        first, second = wards[0], wards[1]
        committee = next(c for c in tree.committees if c.sector != "armed_forces")
        posts = [
            ("thanhuy", "Trần", "Thị Hoài", tree.root, Officer.Role.STAFF, True),
            ("phuong1", "Lê", "Văn Hùng", first, Officer.Role.SECRETARY, False),
            ("phuong2", "Nguyễn", "Thị Mai", second, Officer.Role.SECRETARY, False),
            ("khupho1", "Hồ", "Quang Vinh", tree.residential_cells[first.id][0], Officer.Role.SECRETARY, False),
            ("coquan1", "Phan", "Thanh Tâm", committee, Officer.Role.STAFF, False),
        ]
        password = make_password(DEMO_PASSWORD)  # hashed once: each hash is deliberately slow
        for username, last_name, first_name, org, role, is_staff in posts:
            user = users.create(
                username=username,
                password=password,
                first_name=first_name,
                last_name=last_name,
                email=f"{username}@dongha76.example",
                is_staff=is_staff,
            )
            if is_staff:
                user.groups.add(staff)
            Officer.objects.create(user=user, organisation_id=org.id, role=role, started_on=Day(2016, 1, 1))

    def reset_sequences(self) -> None:
        for table in LOADED_TABLES:
            if table == "branches_organisationancestor":
                continue  # written by its own rebuild, with the ids of its sequence
            self.sql(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT COALESCE(MAX(id), 1) FROM {table}))"
            )


class GenerationError(Exception):
    pass


@dataclasses.dataclass
class Restore:
    """The statements that create the dropped keys, indexes and foreign keys again, in the order that works."""

    count: int  # keys, indexes and foreign keys dropped
    indexes: list[Step] = dataclasses.field(default_factory=list)
    constraints: list[Step] = dataclasses.field(default_factory=list)
    foreign_keys: list[Step] = dataclasses.field(default_factory=list)
    validations: list[Step] = dataclasses.field(default_factory=list)


def load(
    size: Size, *, as_of: Day, seed: int, sessions: int | None = None, out: Callable[[str], None] = print
) -> Loader:
    """Write a data set of ``size`` on the default database (PostgreSQL, migrated, without organisations).

    ``sessions``: how many sessions create the keys and indexes and check the rules, after the load has committed;
    by default one per core, or only this one (and one transaction) when called inside a transaction."""
    if connection.vendor != "postgresql":
        raise GenerationError("the generators write with PostgreSQL's COPY and generate_series: use PostgreSQL")
    if Organisation.objects.exists():
        raise GenerationError("the database already has organisations: generate into an empty database")
    if sessions is None:
        sessions = 1 if connection.in_atomic_block else max(1, min(os.cpu_count() or 1, MAX_SESSIONS))
    if sessions > 1 and connection.in_atomic_block:
        raise GenerationError("other sessions cannot see the rows of an open transaction: use one session")
    loader = Loader(size, as_of=as_of, seed=seed, sessions=sessions, out=out)
    loader.run()
    return loader
