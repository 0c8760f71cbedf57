"""The demo data, built once per test process and copied back for each test module that asks for it.

``seed_demo`` takes tens of seconds and about fifteen modules use the demo: building it for each was a third of the
wall time of ``make test``. After the first build, every row it added is copied by the database itself
(``CREATE TABLE ... AS SELECT``, into a schema of its own on PostgreSQL and an attached temporary file on SQLite,
both out of sight of the flush of transactional tests); each later module gets the same rows back, with the same
primary keys and in the same physical order, by ``INSERT ... SELECT`` in one transaction. Values never pass through
Python, so they come back as the build wrote them (timestamps included: those of the first build).

The members' triggers read other rows (home and placement chains); they accepted these rows in the order the build
wrote them, not table by table, so they are off for the copy (``DISABLE TRIGGER USER`` on PostgreSQL, dropped and
recreated from their own SQL on SQLite). Foreign keys stay on (checked at the commit on both databases).

A reference to a row the build did not add (the city staff group's permissions) is kept by the natural key of its
model, because a flush (after each transactional test) creates the permissions again under other keys.

Whatever the copy cannot reproduce makes it step aside (with a warning when a copy was refused) and the demo is
built by ``seed_demo``: domain rows already there, a kept row (the group the teardown leaves) that differs from the
copy, an integrity error at the commit, a first build that changed rows it found or wrote a table without a
one-column primary key.

The copy is needed less often than there are modules: the ``demo`` fixture (tests/conftest.py) leaves the rows for the
next module of the demo data when nothing was committed since they were (``committed``), and clears them
(``clear_domain_data``) before a module that does not ask for them.
"""

# ruff: noqa: S608 - every name in the SQL comes from the database's own introspection
import atexit
import dataclasses
import hashlib
import io
import os
import shutil
import tempfile
import warnings

from django.apps import apps
from django.core.management import call_command
from django.core.management.color import no_style
from django.db import DatabaseError, connection, transaction
from django.db.models import Model

from members.demo.builder import domain_row_counts

SCHEMA = "demo_snapshot"


@dataclasses.dataclass
class Reference:
    """A column of a copied table pointing at rows the build did not add, kept by their natural keys."""

    column: str
    model: type[Model]
    natural_keys: dict[int, tuple]  # the key in the copy -> the natural key of the row


@dataclasses.dataclass
class Table:
    name: str
    pk: str
    columns: list[str]
    triggers: list[tuple[str, str]]  # SQLite: (name, sql), dropped for the copy and recreated
    references: list[Reference]


@dataclasses.dataclass
class Snapshot:
    output: str
    tables: list[Table]


_snapshot: Snapshot | None = None
_sqlite_file: str | None = None


def load(today) -> tuple[str, bool]:
    """Put the demo in the database: copied back when possible, else built (and copied the first time). The output
    of ``seed_demo`` (of the build copied), and whether it was a copy."""
    global _snapshot
    output = restore()
    if output is not None:
        return output, True
    # Only the first build is copied: a later one may find rows of an earlier one (the group the teardown leaves),
    # which the copy would then lack after a flush.
    before = state() if _snapshot is None else None
    out = io.StringIO()
    call_command("seed_demo", today=today, stdout=out)
    if before is not None:
        _snapshot = take(before, out.getvalue())
    return out.getvalue(), False


# -- copy --------------------------------------------------------------------------------------------------------


def take(before: dict[str, list[tuple]], output: str) -> Snapshot | None:
    """Copy every row the build added, or None when the build did something a copy cannot reproduce."""
    added = []  # (table, its rows of before)
    for name in user_tables():
        rows_before = before.get(name, [])
        if not rows_before:
            if count(name):
                added.append((name, rows_before))
            continue
        after = {repr(row) for row in rows_of(name)}
        if any(repr(row) not in after for row in rows_before):
            return None  # the build changed or deleted rows it found
        if len(after) > len(rows_before):
            added.append((name, rows_before))
    tables = []
    for name, rows_before in added:
        table = describe(name, {other for other, _ in added})
        if table is None:
            return None
        tables.append((table, [row[table.columns.index(table.pk)] for row in rows_before]))
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"DROP SCHEMA IF EXISTS {q(SCHEMA)} CASCADE")
            cursor.execute(f"CREATE SCHEMA {q(SCHEMA)}")
        else:
            attach(create=True)
        for table, old_keys in tables:
            copy = copied(table.name)
            cursor.execute(f"DROP TABLE IF EXISTS {copy}")
            where = f" WHERE {q(table.pk)} NOT IN ({', '.join(['%s'] * len(old_keys))})" if old_keys else ""
            cursor.execute(f"CREATE TABLE {copy} AS SELECT * FROM {q(table.name)}{where}", old_keys)
            for reference in table.references:
                cursor.execute(
                    f"SELECT DISTINCT {q(reference.column)} FROM {copy} WHERE {q(reference.column)} IS NOT NULL"
                )
                keys = [row[0] for row in cursor.fetchall()]
                reference.natural_keys = {
                    obj.pk: obj.natural_key()
                    for obj in reference.model._default_manager.select_related().filter(pk__in=keys)
                }
                if len(reference.natural_keys) != len(keys):
                    return None
    return Snapshot(output=output, tables=[table for table, _ in tables])


def describe(name: str, copied_tables: set[str]) -> Table | None:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, name)
        primary = [c["columns"] for c in constraints.values() if c["primary_key"]]
        # A generated column (Member.working) takes no value: the database computes it again.
        model = model_of(name)
        generated = {f.column for f in model._meta.concrete_fields if f.generated} if model else set()
        columns = [
            column.name
            for column in connection.introspection.get_table_description(cursor, name)
            if column.name not in generated
        ]
        relations = connection.introspection.get_relations(cursor, name)
        triggers = []
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s ORDER BY rowid", [name]
            )
            triggers = list(cursor.fetchall())
    if len(primary) != 1 or len(primary[0]) != 1:
        return None
    references = []
    for column, (_target_column, target_table) in relations.items():
        if target_table in copied_tables:
            continue
        model = model_of(target_table)
        if model is None or not hasattr(model, "natural_key"):
            continue  # a row that does not move: the foreign key check at the commit says if it is gone
        references.append(Reference(column=column, model=model, natural_keys={}))
    return Table(name=name, pk=primary[0][0], columns=columns, triggers=triggers, references=references)


# -- restore -----------------------------------------------------------------------------------------------------


class Refused(Exception):
    pass


def restore() -> str | None:
    """Copy the demo back; the ``seed_demo`` output of the build copied, or None (and nothing written)."""
    if _snapshot is None or any(domain_row_counts().values()) or not snapshot_present():
        return None
    followed = []
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            for table in _snapshot.tables:
                followed += follow_references(cursor, table)
            copy_back(cursor, _snapshot.tables)
    except (Refused, DatabaseError) as error:
        # Correct but slow (a build for each module): say so, it means the copy missed something.
        warnings.warn(f"The demo copy was refused ({error}); the demo is built again.", stacklevel=1)
        return None
    for reference, natural_keys in followed:  # the copy now holds today's keys
        reference.natural_keys = natural_keys
    with connection.cursor() as cursor:
        # As seed_demo does: the planner's statistics for the new rows.
        names = ", ".join(q(table.name) for table in _snapshot.tables)
        cursor.execute(f"ANALYZE {names}" if connection.vendor == "postgresql" else "ANALYZE main")
    return _snapshot.output


def follow_references(cursor, table: Table) -> list[tuple[Reference, dict[int, tuple]]]:
    """Point the copy at today's keys of the rows it refers to by natural key (a flush made them anew); the new
    keys, for the caller to keep once the copy is committed."""
    followed = []
    for reference in table.references:
        manager = reference.model._default_manager
        moved = {}
        for old, natural_key in reference.natural_keys.items():
            try:
                new = manager.get_by_natural_key(*natural_key).pk
            except reference.model.DoesNotExist as error:
                raise Refused(f"{table.name}.{reference.column}: {natural_key} is gone") from error
            if new != old:
                moved[old] = new
        if not moved:
            continue
        column = q(reference.column)
        cases = " ".join("WHEN %s THEN %s" for _ in moved)
        cursor.execute(
            f"UPDATE {copied(table.name)} SET {column} = CASE {column} {cases} ELSE {column} END",
            [value for pair in moved.items() for value in pair],
        )
        followed.append((reference, {moved.get(old, old): key for old, key in reference.natural_keys.items()}))
    return followed


def copy_back(cursor, tables: list[Table]) -> None:
    # Every table's triggers go off before the first row: PostgreSQL refuses to alter a table with pending
    # (deferred foreign key) events.
    inserts = [insert_statement(cursor, table) for table in tables]
    for table in tables:
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE {q(table.name)} DISABLE TRIGGER USER")
        for name, _sql in table.triggers:
            cursor.execute(f"DROP TRIGGER {q(name)}")
    for statement in inserts:
        cursor.execute(statement)
    if connection.vendor == "postgresql":
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the foreign keys, checked now
    for table in tables:
        for _name, sql in table.triggers:
            cursor.execute(sql)
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE {q(table.name)} ENABLE TRIGGER USER")
            model = model_of(table.name)
            for sql in connection.ops.sequence_reset_sql(no_style(), [model] if model else []):
                cursor.execute(sql)


def insert_statement(cursor, table: Table) -> str:
    columns = ", ".join(q(column) for column in table.columns)
    source = copied(table.name)
    target = q(table.name)
    pk = q(table.pk)
    missing = ""
    if count(table.name):
        # A row the teardown keeps (the city staff group) must be the very row of the copy.
        cursor.execute(
            f"SELECT COUNT(*) FROM (SELECT {columns} FROM {target} WHERE {pk} IN (SELECT {pk} FROM {source}) "
            f"EXCEPT SELECT {columns} FROM {source}) AS changed"
        )
        if cursor.fetchone()[0]:
            raise Refused(f"{table.name}: a row differs from the copy")
        missing = f" WHERE {pk} NOT IN (SELECT {pk} FROM {target})"
    return f"INSERT INTO {target} ({columns}) SELECT {columns} FROM {source}{missing}"


# -- reading the database ----------------------------------------------------------------------------------------


def q(name: str) -> str:
    return connection.ops.quote_name(name)


def copied(table: str) -> str:
    return f"{q(SCHEMA)}.{q(table)}"


def snapshot_present() -> bool:
    if connection.vendor == "sqlite":
        return attach(create=False)
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [SCHEMA])
        return cursor.fetchone() is not None


def attach(*, create: bool) -> bool:
    """SQLite: attach the copy's file to this connection, a new one the first time. A file, not ``:memory:``: a
    connection of its own reads it too (the browser tests' code runs beside Playwright's event loop, where Django
    opens another connection to the test database)."""
    global _sqlite_file
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA database_list")
        if SCHEMA in {row[1] for row in cursor.fetchall()}:
            return True
        if _sqlite_file is None:
            if not create:
                return False
            folder = tempfile.mkdtemp(prefix="dongha76-demo-")
            atexit.register(shutil.rmtree, folder, ignore_errors=True)
            _sqlite_file = os.path.join(folder, "demo.sqlite3")
        cursor.execute(f"ATTACH DATABASE %s AS {q(SCHEMA)}", [_sqlite_file])
        # Written once, read back for each module; nothing to recover after a crash.
        cursor.execute(f"PRAGMA {q(SCHEMA)}.journal_mode = OFF")
        cursor.execute(f"PRAGMA {q(SCHEMA)}.synchronous = OFF")
    return True


def committed() -> str:
    """What changes whenever a write is committed to the database, and stays the same while every test rolls back (a
    flush or a fixture's write changes it). On SQLite, the file change counter of the database's header (bytes 24-27,
    incremented by every transaction that wrote, in any journal mode but WAL); else ``digest``."""
    name = connection.settings_dict["NAME"]
    if connection.vendor == "sqlite" and os.path.isfile(name):
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode")
            wal = cursor.fetchone()[0].lower() == "wal"
        if not wal:
            with open(name, "rb") as header:
                header.seek(24)
                return f"change counter {int.from_bytes(header.read(4), 'big')}"
    return digest()


def digest() -> str:
    """A digest of every row of every table of the database. On PostgreSQL the database hashes each row (its text
    form, key included) and sums the hashes per table; on SQLite Python hashes the rows in the order of their row
    ids (1.5 s for the demo, against 0.4 s on PostgreSQL)."""
    found = hashlib.sha256()
    with connection.cursor() as cursor:
        for name in sorted(user_tables()):
            if connection.vendor == "postgresql":
                cursor.execute(
                    f"SELECT COUNT(*), COALESCE(SUM(hashtextextended(t::text, 0)::numeric), 0) FROM {q(name)} AS t"
                )
                found.update(repr((name, cursor.fetchone())).encode())
            else:
                found.update(name.encode())
                cursor.execute(f"SELECT * FROM {q(name)} ORDER BY rowid")
                for row in cursor.fetchall():
                    found.update(repr(row).encode())
    return found.hexdigest()


def user_tables() -> list[str]:
    with connection.cursor() as cursor:
        return [name for name in connection.introspection.table_names(cursor) if not name.startswith("sqlite_")]


def count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {q(table)}")
        return cursor.fetchone()[0]


def rows_of(table: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {q(table)}")
        return cursor.fetchall()


def state() -> dict[str, list[tuple]]:
    """The rows of every non-empty table (before a build the domain tables are empty: seed_demo insists)."""
    return {table: rows_of(table) for table in user_tables() if count(table)}


def model_of(table: str) -> type[Model] | None:
    return next((m for m in apps.get_models(include_auto_created=True) if m._meta.db_table == table), None)
