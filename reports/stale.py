"""Which writes make stored figures stale, as database triggers: the one place every write path goes through.

The headline figures of day D (``reports.figures.headline``) read organisations, members, their homes, referrals,
their placements and exemptions, each through conditions "a date on or before D" / "after D" (or, for stalled
referrals, "before D - 30 days"). A write changes the figures of the days on or after:

- a changed date column: the earlier of its old and new values (before both, every condition on it reads the same);
- a changed column without a date (whose member, which ward, which issuer...), a new row or a deleted row: the
  earliest date of the row, old or new (a row counts on no day before its earliest date);
- an organisation's place, kind or sector (``path``, ``parent_id``, ``kind``, ``sector``), or a deleted organisation:
  every day (a member's home counts under the organisation's ancestors, and by its sector, whatever its own dates).

The meetings' counts (``reports.figures.meeting_counts``: attendance and irregular attendees) also read the meetings
and their attendance (``MEETINGS_WATCHED``), each compared with a meeting's day; an attendance's first stale day is
its meeting's. The comment figures of a year (``comments``, ``comment_sides``) also read the comments, the year-end
ratings and the year's comment round (``COMMENTS_WATCHED``); a round's first stale day is the first of its year. Every
write deletes the stored figures of every table of ``SNAPSHOT_TABLES``.

A write deletes them only for the organisations its rows count under (``CountedUnder``, ``organisations_sql``): the
organisations the rows name, those of every member they belong to (``MEMBER_ORGANISATIONS``: a member is counted
only under organisations their own rows name), the successors of each and every organisation above them. So a
ward's stored figures outlive the writes of every other ward, and a small subtree's figures are worth storing. A row
of an organisation, and a comment round, still delete every organisation's: a change of place, kind or sector moves
figures between subtrees, and a round's deadline is read by every organisation of its tree (rare writes both).

The counts of a user's lists are stored beside the figures, by the organisation whose rows the user sees
(``snapshots.list_counts_on``: the to-do, the lists' counts). They read the same rows, and one date the figures do
not: when a member reported to the cell (``Watched.list_dates``). City staff see every row, a member of an outside
organisation's too: every write counts under every root as well. Columns neither reads (names, addresses, letter
numbers, notes, who recorded what, timestamps) change nothing.

The triggers fire for every write: the services, the admin, the workbook import, the restructures, bulk ``update()``
and ``bulk_create`` (which bypass Django's signals), raw SQL and COPY. Only a load with the triggers disabled bypasses
them: the generator's (``session_replication_role = replica``, then ``snapshots.clear_all``) and ``seed_demo``'s
(``suspended_for_a_bulk_load``, which deletes every snapshot after it).

PostgreSQL: one statement-level trigger per table and event, reading the statement's transition tables (a bulk update
of a million rows deletes once), and one on TRUNCATE. Each takes a shared advisory lock (``LOCK_KEY``) for the rest of
its transaction; ``reports.snapshots`` stores a computed snapshot only while holding the same lock exclusively, so no
snapshot can be computed from data a concurrent, not yet committed write is changing. SQLite: row triggers (SQLite
has no others); its transactions are serialisable, so the lock is not needed there.
"""

# ruff: noqa: S608 - the SQL is built from the constants of this module, never from input
import contextlib
import dataclasses

from django.db import transaction

SNAPSHOT_TABLE = "reports_figuresnapshot"
MEETING_SNAPSHOT_TABLE = "reports_meetingsnapshot"  # reports 0002-0004; its rows are now the report's parts
REPORT_SNAPSHOT_TABLE = "reports_reportsnapshot"
LOCK_KEY = 7_602_017_601  # the advisory lock of the snapshots (any constant no other code of the project uses)
EVERY_DAY = "0001-01-01"
NO_DAY = "9999-12-31"


@dataclasses.dataclass(frozen=True)
class DateOf:
    """A row's date read from another row it refers to: ``column`` is the key of a row of ``table``, whose ``date``
    is the day from which the row counts (an attendance counts from its meeting's day)."""

    column: str
    table: str
    date: str

    def of(self, row: str, dialect: "_Dialect") -> str:
        return f"(SELECT {self.date} FROM {self.table} WHERE id = {row}.{self.column})"


@dataclasses.dataclass(frozen=True)
class FirstOfYear:
    """A row's date: the first day of its ``column``'s year (a comment round changes its year's figures only, but
    from any day of it: ``row_stale_from``)."""

    column: str

    def of(self, row: str, dialect: "_Dialect") -> str:
        if dialect.postgresql:
            return f"make_date({row}.{self.column}, 1, 1)"
        return f"printf('%04d-01-01', {row}.{self.column})"


@dataclasses.dataclass(frozen=True)
class Select:
    """Keys read for a written row: ``expression``, over the row (``{row}``) and ``tables`` joined to it on ``where``
    (an organisation's or a member's key: ``CountedUnder``)."""

    expression: str
    tables: str = ""
    where: str = ""

    def sql(self, row: str, transition: str | None) -> str:
        """A SELECT of the keys: ``row`` is the trigger's row (SQLite's NEW or OLD), or an alias of ``transition``
        (PostgreSQL's transition table: one key or more for each of its rows)."""
        tables = [table for table in (f"{transition} {row}" if transition else "", self.tables) if table]
        sql = f"SELECT {self.expression.format(row=row)}"
        if tables:
            sql += f" FROM {', '.join(tables)}"
        if self.where:
            sql += f" WHERE {self.where.format(row=row)}"
        return sql


@dataclasses.dataclass(frozen=True)
class CountedUnder:
    """The organisations under which a written row can change a figure: its own (``organisations``), and every
    organisation each of its ``members`` is counted under (``MEMBER_ORGANISATIONS``). The stored figures of those
    organisations, of their successors and of every organisation above them are the only ones the write can make
    wrong (``organisations_sql``)."""

    members: tuple[Select, ...] = ()
    organisations: tuple[Select, ...] = ()


@dataclasses.dataclass(frozen=True)
class Watched:
    table: str
    dates: tuple[str, ...]  # the first is never null
    columns: tuple[str, ...] = ()  # columns without a date the figures read
    everything: tuple[str, ...] = ()  # columns whose change makes every day stale
    date_of: DateOf | FirstOfYear | None = None  # without dates of its own (``dates`` empty): the row's date is this
    # Dates the figures do not read but the stored counts of a user's lists do (``reports.snapshots.list_counts_on``):
    # a change is stale from the earlier of its old and new values, as for ``dates``; never a row's earliest date (a
    # later date of the row than one of ``dates``), and not a step's (``reports.steps`` reads ``dates`` only).
    list_dates: tuple[str, ...] = ()
    # Where the row counts; None: under every organisation (an organisation's own row, a comment round)
    counted_under: CountedUnder | None = None


# A row of a member's: counted under that member's organisations.
_ITS_MEMBER = (Select("{row}.member_id"),)

HEADLINE_WATCHED = (
    Watched(
        "branches_organisation",
        dates=("valid_from", "valid_to"),
        columns=("successor_id",),
        everything=("path", "parent_id", "kind", "sector"),
    ),
    Watched(
        "members_member",
        dates=("admitted_on", "retired_on", "left_on"),
        columns=("home_organisation_id",),
        counted_under=CountedUnder(
            members=(Select("{row}.id"),), organisations=(Select("{row}.home_organisation_id"),)
        ),
    ),
    Watched(
        "members_memberhome",
        dates=("started_on", "ended_on"),
        columns=("member_id", "organisation_id"),
        counted_under=CountedUnder(_ITS_MEMBER, (Select("{row}.organisation_id"),)),
    ),
    Watched(
        "members_referral",
        dates=("introduced_on", "received_on", "placed_on", "ended_on"),
        columns=("member_id", "issuing_organisation_id", "receiving_ward_id", "residential_cell_id"),
        # The to-do's "not reported to the cell yet" (``members.selectors.todo``).
        list_dates=("reported_on",),
        counted_under=CountedUnder(
            _ITS_MEMBER,
            (
                Select("{row}.issuing_organisation_id"),
                Select("{row}.receiving_ward_id"),
                Select("{row}.residential_cell_id"),
            ),
        ),
    ),
    Watched(
        "members_placement",
        dates=("started_on", "ended_on"),
        columns=("referral_id", "residential_cell_id"),
        counted_under=CountedUnder(
            (Select("referral.member_id", "members_referral referral", "referral.id = {row}.referral_id"),),
            (Select("{row}.residential_cell_id"),),
        ),
    ),
    Watched(
        "members_exemption",
        dates=("started_on", "ended_on"),
        columns=("member_id", "kind"),
        counted_under=CountedUnder(_ITS_MEMBER),
    ),
)
# The attendance at periodic meetings (``reports.figures.attendance``) also reads the placements, referrals and
# exemptions above, each compared with a meeting's day: a row counts for the meetings held from its earliest date on.
# A meeting and an attendance count under the meeting's cell, and under the organisations of the members recorded at
# it: a miss makes its member an irregular attendee wherever they are placed later in the year (a re-placement does
# not move past misses: ``members.selectors.meetings.irregular_in``). A meeting without a member recorded absent
# changes no one's attendance.
MEETINGS_WATCHED = (
    Watched(
        "members_meeting",
        dates=("held_on",),
        columns=("residential_cell_id", "kind", "year", "half"),
        counted_under=CountedUnder(
            (Select("attendance.member_id", "members_attendance attendance", "attendance.meeting_id = {row}.id"),),
            (Select("{row}.residential_cell_id"),),
        ),
    ),
    Watched(
        "members_attendance",
        dates=(),
        columns=("meeting_id", "member_id", "status"),
        date_of=DateOf("meeting_id", "members_meeting", "held_on"),
        counted_under=CountedUnder(
            _ITS_MEMBER,
            (Select("meeting.residential_cell_id", "members_meeting meeting", "meeting.id = {row}.meeting_id"),),
        ),
    ),
)
# The comment figures of a year (``reports.figures.comments``, ``comment_sides``) also read the comments and the
# year-end ratings, each through its dates, and the deadline of the year's comment round: a round written, moved or
# deleted changes the figures of its year from its first day (before its deadline, the deadline decides nothing; but
# a round inserted replaces the default deadline, which its row does not hold), under every organisation.
COMMENTS_WATCHED = (
    Watched(
        "members_residencecomment",
        dates=("written_on", "sent_on", "received_on"),
        columns=("member_id", "year", "residential_cell_id", "verdict"),
        counted_under=CountedUnder(_ITS_MEMBER, (Select("{row}.residential_cell_id"),)),
    ),
    Watched(
        "members_yearendrating",
        dates=("decided_on",),
        columns=("member_id", "year", "level"),
        counted_under=CountedUnder(_ITS_MEMBER),
    ),
    Watched(
        "members_commentround",
        dates=(),
        columns=("organisation_id", "year", "deadline"),
        date_of=FirstOfYear("year"),
    ),
)
WATCHED = HEADLINE_WATCHED + MEETINGS_WATCHED + COMMENTS_WATCHED
# Every organisation a member's rows name, of any date: a figure counts a member under these alone (their workplace
# and its history, the wards they were addressed to and the committees that introduced them, the cells they were
# placed in, commented from or recorded at), each with its successors and everything above it.
MEMBER_ORGANISATIONS = (
    "SELECT home_organisation_id FROM members_member WHERE id IN ({members})",
    "SELECT organisation_id FROM members_memberhome WHERE member_id IN ({members})",
    "SELECT issuing_organisation_id FROM members_referral WHERE member_id IN ({members})",
    "SELECT receiving_ward_id FROM members_referral WHERE member_id IN ({members})",
    "SELECT residential_cell_id FROM members_referral WHERE member_id IN ({members})",
    "SELECT placement.residential_cell_id FROM members_placement placement, members_referral referral"
    " WHERE placement.referral_id = referral.id AND referral.member_id IN ({members})",
    "SELECT residential_cell_id FROM members_residencecomment WHERE member_id IN ({members})",
    "SELECT meeting.residential_cell_id FROM members_meeting meeting, members_attendance attendance"
    " WHERE attendance.meeting_id = meeting.id AND attendance.member_id IN ({members})",
)
# A merged organisation's figures move to its successor (``reports.figures`` follows two successions; three here).
_ABOVE = (
    "SELECT above.ancestor_id FROM branches_organisation named"
    " LEFT JOIN branches_organisation successor1 ON successor1.id = named.successor_id"
    " LEFT JOIN branches_organisation successor2 ON successor2.id = successor1.successor_id"
    " JOIN branches_organisationancestor above"
    " ON above.descendant_id IN (named.id, named.successor_id, successor1.successor_id, successor2.successor_id)"
    " WHERE named.id IN ({organisations})"
    # Every root too: city staff see every row (a member of an outside organisation's, named under no root), and the
    # counts of their lists are stored by their root (``reports.snapshots.list_counts_on``).
    " UNION SELECT id FROM branches_organisation WHERE kind = 'root'"
)
# A PostgreSQL statement writing more rows than this deletes every organisation's stored figures from its first stale
# day, rather than finding where each row counts (an import, a bulk update: most organisations would be found).
BROAD_STATEMENT_ROWS = 1000


def organisations_sql(watched: Watched, rows: tuple[tuple[str, str | None], ...]) -> str:
    """A SELECT of every organisation whose stored figures the written ``rows`` can change (``CountedUnder``): each
    ``(row, transition)`` as ``Select.sql`` takes them (old and new for an update)."""
    counted = watched.counted_under
    members = " UNION ".join(select.sql(*row) for select in counted.members for row in rows)
    named = [select.sql(*row) for select in counted.organisations for row in rows]
    if members:
        named += [part.format(members=members) for part in MEMBER_ORGANISATIONS]
    return _ABOVE.format(organisations=" UNION ".join(named))


# The tables of stored figures: a write deletes the rows of each from its first stale day.
SNAPSHOT_TABLES = (SNAPSHOT_TABLE, REPORT_SNAPSHOT_TABLE)
# What migration reports/0001 created (the headline alone), reports/0002 (the meetings too), reports/0003 (the
# comments and the report's parts too) and reports/0005 (the meetings' counts moved into the report's parts, their own
# table dropped), each deleting every organisation's stored figures of the stale days, for later migrations to drop or
# create again (``replaced``); the last, whether a write deletes only where its rows count.
FIRST = (HEADLINE_WATCHED, (SNAPSHOT_TABLE,), False)
SECOND = (HEADLINE_WATCHED + MEETINGS_WATCHED, (SNAPSHOT_TABLE, MEETING_SNAPSHOT_TABLE), False)
THIRD = (WATCHED, (SNAPSHOT_TABLE, MEETING_SNAPSHOT_TABLE, REPORT_SNAPSHOT_TABLE), False)
FOURTH = (WATCHED, SNAPSHOT_TABLES, False)
# reports/0007: each write deletes only the stored figures of the organisations it counts under (``CountedUnder``).
FIFTH = (WATCHED, SNAPSHOT_TABLES, True)
# reports/0008: the same, every root counted under every write, and the dates only the stored counts of the lists
# read (``Watched.list_dates``). The releases read ``WATCHED`` and ``_ABOVE`` as they are now: 0008 makes the triggers
# again on a database migrated to 0007 before.
SIXTH = (WATCHED, SNAPSHOT_TABLES, True)


class _Dialect:
    def __init__(self, vendor: str):
        self.postgresql = vendor == "postgresql"
        self.least = "LEAST" if self.postgresql else "MIN"
        self.distinct = "IS DISTINCT FROM" if self.postgresql else "IS NOT"

    def day(self, value: str) -> str:
        return f"DATE '{value}'" if self.postgresql else f"'{value}'"

    def earliest(self, values: list[str]) -> str:
        """The earliest of ``values`` (nulls left out: SQLite's MIN of several values is null if one is)."""
        values = [f"COALESCE({value}, {self.day(NO_DAY)})" for value in values]
        return values[0] if len(values) == 1 else f"{self.least}({', '.join(values)})"

    def changed(self, old: str, new: str, columns: tuple[str, ...]) -> str:
        return " OR ".join(f"{old}.{column} {self.distinct} {new}.{column}" for column in columns)


def row_stale_from(watched: Watched, dialect: _Dialect, *rows: str, deleted: bool = False) -> str:
    """The first stale day for a row inserted or deleted (``rows``: the row; old and new for an update's whole row)."""
    if watched.table == "branches_organisation" and deleted:
        return dialect.day(EVERY_DAY)  # a deleted organisation: its own snapshots go too
    if watched.date_of is not None:
        return dialect.earliest([watched.date_of.of(row, dialect) for row in rows])
    return dialect.earliest([f"{row}.{column}" for row in rows for column in watched.dates])


def update_stale_from(watched: Watched, dialect: _Dialect, old: str, new: str) -> str:
    """The first stale day for a row updated from ``old`` to ``new`` (NO_DAY: nothing the figures read changed)."""
    parts = [
        f"CASE WHEN {old}.{column} {dialect.distinct} {new}.{column} "
        f"THEN {dialect.earliest([f'{old}.{column}', f'{new}.{column}'])} ELSE {dialect.day(NO_DAY)} END"
        for column in watched.dates + watched.list_dates
    ]
    if watched.columns:
        # A row's date read through another row (``date_of``) is that row's now, old or new reference alike: the
        # referenced row's own date changes are its own table's writes.
        whole = row_stale_from(watched, dialect, old, new)
        parts.append(
            f"CASE WHEN {dialect.changed(old, new, watched.columns)} THEN {whole} ELSE {dialect.day(NO_DAY)} END"
        )
    if watched.everything:
        changed = dialect.changed(old, new, watched.everything)
        if watched.table == "branches_organisation":
            changed = f"{old}.path <> '' AND ({changed})"  # save() writes the first path just after the insert
        parts.append(f"CASE WHEN {changed} THEN {dialect.day(EVERY_DAY)} ELSE {dialect.day(NO_DAY)} END")
    return parts[0] if len(parts) == 1 else f"{dialect.least}({', '.join(parts)})"


def _deletes(dialect: _Dialect, tables: tuple[str, ...], first_day: str, organisations: str | None = None) -> str:
    under = f" AND organisation_id IN ({organisations})" if organisations else ""
    return " ".join(f"DELETE FROM {table} WHERE day >= {first_day}{under};" for table in tables)


def _name(watched: Watched, event: str) -> str:
    return f"reports_stale_{watched.table}_{event}"


def sqlite_forward(watched_tables=WATCHED, tables=SNAPSHOT_TABLES, by_organisation=True) -> list[str]:
    dialect = _Dialect("sqlite")
    statements = []
    for watched in watched_tables:
        for event, stale_from, rows in (
            ("insert", row_stale_from(watched, dialect, "NEW"), ("NEW",)),
            ("update", update_stale_from(watched, dialect, "OLD", "NEW"), ("OLD", "NEW")),
            ("delete", row_stale_from(watched, dialect, "OLD", deleted=True), ("OLD",)),
        ):
            organisations, when = None, f"{stale_from} < {dialect.day(NO_DAY)}"
            if by_organisation and watched.counted_under:
                organisations = organisations_sql(watched, tuple((row, None) for row in rows))
                # Not a row's organisations read when nothing is stored (a test's, a bulk import's many rows).
                stored = " OR ".join(f"EXISTS (SELECT 1 FROM {table})" for table in tables)
                when = f"({stored}) AND {when}"
            statements.append(
                f"CREATE TRIGGER {_name(watched, event)} AFTER {event.upper()} ON {watched.table} "
                f"WHEN {when} "
                f"BEGIN {_deletes(dialect, tables, stale_from, organisations)} END;"
            )
    return statements


def sqlite_backward(watched_tables=WATCHED, tables=SNAPSHOT_TABLES, by_organisation=True) -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS {_name(watched, event)};"
        for watched in watched_tables
        for event in ("insert", "update", "delete")
    ]


def postgresql_forward(watched_tables=WATCHED, tables=SNAPSHOT_TABLES, by_organisation=True) -> list[str]:
    dialect = _Dialect("postgresql")
    statements = [
        f"""CREATE FUNCTION reports_snapshots_stale_from(first_day date) RETURNS void AS $$
        BEGIN
            PERFORM pg_advisory_xact_lock_shared({LOCK_KEY});
            {_deletes(dialect, tables, "first_day")}
        END;
        $$ LANGUAGE plpgsql;""",
        f"""CREATE FUNCTION reports_snapshots_all_stale() RETURNS trigger AS $$
        BEGIN
            PERFORM reports_snapshots_stale_from({dialect.day(EVERY_DAY)});
            RETURN NULL;
        END;
        $$ LANGUAGE plpgsql;""",
    ]
    if by_organisation:
        statements.append(
            f"""CREATE FUNCTION reports_snapshots_stale_under(first_day date, organisations bigint[]) RETURNS void AS $$
            BEGIN
                PERFORM pg_advisory_xact_lock_shared({LOCK_KEY});
                {_deletes(dialect, tables, "first_day", "SELECT unnest(organisations)")}
            END;
            $$ LANGUAGE plpgsql;"""
        )
    for watched in watched_tables:
        for event, source, stale_from, transition, rows in (
            (
                "insert",
                "new_rows n",
                row_stale_from(watched, dialect, "n"),
                "NEW TABLE AS new_rows",
                (("n", "new_rows"),),
            ),
            (
                "update",
                "old_rows o JOIN new_rows n ON n.id = o.id",
                update_stale_from(watched, dialect, "o", "n"),
                "OLD TABLE AS old_rows NEW TABLE AS new_rows",
                (("o", "old_rows"), ("n", "new_rows")),
            ),
            (
                "delete",
                "old_rows o",
                row_stale_from(watched, dialect, "o", deleted=True),
                "OLD TABLE AS old_rows",
                (("o", "old_rows"),),
            ),
        ):
            name = _name(watched, event)
            deletes = "PERFORM reports_snapshots_stale_from(first_day);"
            if by_organisation and watched.counted_under:
                # Only where the rows count, unless the statement wrote so many rows that most organisations would be
                # found anyway (``BROAD_STATEMENT_ROWS``).
                deletes = f"""IF (SELECT count(*) FROM (SELECT 1 FROM {rows[0][1]} LIMIT {BROAD_STATEMENT_ROWS + 1}) s)
                            > {BROAD_STATEMENT_ROWS} THEN
                        PERFORM reports_snapshots_stale_from(first_day);
                    ELSE
                        PERFORM reports_snapshots_stale_under(
                            first_day, ARRAY(SELECT DISTINCT ancestor_id FROM ({organisations_sql(watched, rows)}) a)
                        );
                    END IF;"""
            statements += [
                f"""CREATE FUNCTION {name}() RETURNS trigger AS $$
                DECLARE first_day date;
                BEGIN
                    SELECT MIN({stale_from}) INTO first_day FROM {source};
                    IF first_day < {dialect.day(NO_DAY)} THEN
                        {deletes}
                    END IF;
                    RETURN NULL;
                END;
                $$ LANGUAGE plpgsql;""",
                f"""CREATE TRIGGER {name} AFTER {event.upper()} ON {watched.table}
                    REFERENCING {transition} FOR EACH STATEMENT EXECUTE FUNCTION {name}();""",
            ]
        statements.append(
            f"""CREATE TRIGGER {_name(watched, "truncate")} AFTER TRUNCATE ON {watched.table}
                FOR EACH STATEMENT EXECUTE FUNCTION reports_snapshots_all_stale();"""
        )
    return statements


def postgresql_backward(watched_tables=WATCHED, tables=SNAPSHOT_TABLES, by_organisation=True) -> list[str]:
    statements = []
    for watched in watched_tables:
        for event in ("insert", "update", "delete", "truncate"):
            statements.append(f"DROP TRIGGER IF EXISTS {_name(watched, event)} ON {watched.table};")
        for event in ("insert", "update", "delete"):
            statements.append(f"DROP FUNCTION IF EXISTS {_name(watched, event)}();")
    statements += [
        "DROP FUNCTION IF EXISTS reports_snapshots_all_stale();",
        "DROP FUNCTION IF EXISTS reports_snapshots_stale_from(date);",
        "DROP FUNCTION IF EXISTS reports_snapshots_stale_under(date, bigint[]);",
    ]
    return statements


def replaced(dropped: tuple, created: tuple):
    """A migration's ``RunPython`` function: the triggers of ``dropped`` dropped and those of ``created`` made (each
    ``(watched tables, snapshot tables)``, or ``()`` for none), on the databases that have them (SQLite, PostgreSQL).
    Each migration passes the constants of its own release (``FIRST``, ``SECOND``...), so that migrating forwards or
    backwards leaves the triggers of the release reached."""
    dialects = {"sqlite": (sqlite_backward, sqlite_forward), "postgresql": (postgresql_backward, postgresql_forward)}

    def run(apps, schema_editor):
        vendor = schema_editor.connection.vendor
        if vendor not in dialects:
            return
        backward, forward = dialects[vendor]
        statements = (backward(*dropped) if dropped else []) + (forward(*created) if created else [])
        for statement in statements:
            schema_editor.execute(statement)

    return run


def trigger_names(vendor: str) -> set[str]:
    """The triggers the migration creates (a test holds the database to them: a table rebuilt by a later migration on
    SQLite loses its triggers)."""
    events = ("insert", "update", "delete") + (("truncate",) if vendor == "postgresql" else ())
    return {_name(watched, event) for watched in WATCHED for event in events}


@contextlib.contextmanager
def suspended_for_a_bulk_load(connection):
    """The triggers off for the length of a bulk load (the demo's), on again after it, and every snapshot deleted (the
    load's writes went unseen), all in one transaction, so a failed load keeps the triggers. SQLite: dropped and
    created again; PostgreSQL: disabled and enabled (``ALTER TABLE``, which locks each table until the transaction
    ends: for a load, not for a live database).

    Why: SQLite runs each row written to a table with triggers in a statement sub-transaction. Inside a savepoint of a
    large in-memory database (a test's ``seed_demo --reset``), releasing it took 2-4 ms a row, in proportion to the
    database's pages, not the row's: the demo's 60,000 attendances alone would take minutes. A row of a table without
    triggers takes microseconds. PostgreSQL's fire once per statement, but each finds the organisations its rows
    count under: the demo's reform writes in some hundred statements, and they took a fifth of its build."""
    if connection.vendor not in ("sqlite", "postgresql"):
        yield
        return
    if connection.vendor == "sqlite":
        off, on = sqlite_backward(), sqlite_forward()
    else:
        off, on = _postgresql_switched("DISABLE"), _postgresql_switched("ENABLE")
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        for statement in off:
            cursor.execute(statement)
        yield
        for statement in on:
            cursor.execute(statement)
        for table in SNAPSHOT_TABLES:
            cursor.execute(f"DELETE FROM {table}")


def _postgresql_switched(switch: str) -> list[str]:
    # A table with pending trigger events (the checks of deferred foreign keys) cannot be altered: they are checked
    # first, then deferred again as Django declares them.
    return [
        "SET CONSTRAINTS ALL IMMEDIATE;",
        *(
            f"ALTER TABLE {watched.table} {switch} TRIGGER {_name(watched, event)};"
            for watched in WATCHED
            for event in ("insert", "update", "delete", "truncate")
        ),
        "SET CONSTRAINTS ALL DEFERRED;",
    ]
