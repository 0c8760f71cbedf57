import atexit
import dataclasses
import datetime
import hashlib
import os
import shutil
import tempfile
import time

import pytest
from django.db import DEFAULT_DB_ALIAS, connections

from members.demo.builder import clear_domain_data
from members.models import Attendance, Member, Referral, ResidenceComment, YearEndRating
from tests import demo_snapshot

# The day the demo data is built up to in tests, so that what it holds does not depend on the day the tests run.
DEMO_TODAY = datetime.date(2026, 11, 30)
_built_fingerprint: str | None = None


# The test files that take 40 s or more, measured (`make test PYTEST_ARGS="--durations=0"`, summed by file; the first
# file of the demo data on a worker also pays its build), longest first.
HEAVIEST_FILES = (
    "tests/test_fuzz.py",
    "tests/members/test_comment_scope_demo.py",
    "tests/workbooks/test_round_trip.py",
    "tests/members/test_list_scope_attack.py",
    "tests/reports/test_snapshots.py",
    "tests/reports/test_snapshots_comments.py",
    "tests/test_drill_downs.py",
    "tests/reminders/test_rules.py",
    "tests/members/test_seed_demo.py",
)


# The test modules whose first test asks for the demo data (set at collection).
DEMO_FIRST_MODULES: set = set()
FLUSHING_FIXTURES = {"transactional_db", "live_server"}


@pytest.hookimpl(trylast=True)  # after -k and -m have deselected theirs: the first test of a module is one that runs
def pytest_collection_modifyitems(config, items):
    """The files in the order the workers are to take them (the Makefile runs xdist with ``--dist loadfile
    --no-loadscope-reorder``):
    - the files of the demo data, one after another, so that a worker copies the demo once for all of them (the
      ``demo`` fixture leaves it for the next): the heaviest measured first, then by number of tests, then those
      whose first test runs without it or whose tests commit (a transactional test's flush clears it);
    - then the other files: the heaviest measured first, then the rest marked slow, then the browser's, then the
      rest, most tests first.
    A worker takes a file whole, so the file taken last sets the end: a two-minute file taken last left the other
    worker idle for as long. The order within a file is kept."""
    root = config.rootpath
    files: dict[str, list] = {}
    for item in items:
        files.setdefault(item.path.relative_to(root).as_posix(), []).append(item)
    demo = {name for name, its in files.items() if any("demo" in item.fixturenames for item in its)}
    DEMO_FIRST_MODULES.update(root / name for name in demo if "demo" in files[name][0].fixturenames)

    def rank(name: str) -> tuple:
        its = files[name]
        heaviest = (HEAVIEST_FILES.index(name),) if name in HEAVIEST_FILES else (len(HEAVIEST_FILES), -len(its))
        if name in demo:
            # Last, those that start without the demo or end without it: each makes the next module copy it again.
            starts_without = "demo" not in its[0].fixturenames
            flushes = any(FLUSHING_FIXTURES & set(item.fixturenames) for item in its)
            return (0, starts_without or flushes, *heaviest)
        if name in HEAVIEST_FILES:
            return (1, *heaviest)
        if its[0].get_closest_marker("slow"):
            return (2, -len(its))
        if name.startswith("tests/e2e/"):
            return (3, -len(its))
        return (4, -len(its))

    items[:] = [item for name in sorted(files, key=rank) for item in files[name]]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Each database connection opened from here on, by this process, its threads or the servers it starts, bears
    the test's file and name in PostgreSQL (libpq reads PGAPPNAME when it connects; 63 characters kept): the check
    at the session's end (``django_db_setup`` below) says which test opened a connection that was left open."""
    os.environ["PGAPPNAME"] = f"{item.path.name}::{item.name}"[:63]


def connections_left_open(seconds: float = 5.0) -> list[tuple]:
    """The other clients connected to this process's PostgreSQL test database, still there after ``seconds``
    (a backend goes a moment after its client closes; DROP DATABASE waits 5 s too): pid, application name (the
    test that opened it), state, start, last query. Empty on SQLite."""
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor != "postgresql":
        return []
    deadline = time.monotonic() + seconds
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid, application_name, state, backend_start, left(query, 200) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                # not autovacuum's workers: DROP DATABASE ends those itself
                " AND backend_type = 'client backend' ORDER BY backend_start"
            )
            others = cursor.fetchall()
        if not others or time.monotonic() > deadline:
            return others
        time.sleep(0.1)


# mkdtemp makes a folder of our own in it (a random name, mode 0700).
MEMORY_FS = "/dev/shm"  # noqa: S108


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """SQLite's test database in a file of this process's own, on a memory file system where there is one, not in
    Django's default (shared-cache) in-memory database. Written inside a test's transaction, each row of a table with
    triggers runs in a statement sub-transaction; in the in-memory database that cost grew with the database's size
    (docs/architecture.md, "SQLite and bulk loads"), in a file it does not. In the whole suite: the test that seeds
    the demo again 237 s → 37 s, the workbook round trip 240 s → 66 s, the suite 22.5 → 17.9 minutes.

    After pytest-django's own (``..._parallel_suffix``), which puts the xdist worker's name on the name of every test
    database but SQLite's in-memory ones: PostgreSQL's keep theirs, SQLite's get a folder of their own per process."""
    from django.conf import settings

    for alias, database in settings.DATABASES.items():
        test = database.setdefault("TEST", {})
        if database["ENGINE"] != "django.db.backends.sqlite3" or test.get("MIRROR") or test.get("NAME"):
            continue
        parent = MEMORY_FS if os.path.isdir(MEMORY_FS) and os.access(MEMORY_FS, os.W_OK) else None
        folder = tempfile.mkdtemp(prefix="dongha76-test-", dir=parent)
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        test["NAME"] = os.path.join(folder, f"{alias}.sqlite3")


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test databases; at the end, before they are dropped, no other connection to this process's
    PostgreSQL test database may be left open. One left open (a thread's, a server's, one Django lost track of)
    made the drop fail after 5 s with no more than a warning ("being accessed by other users") attached to
    whichever test ran last; this makes it an error that names the test that opened the connection. The
    connections are ended so that the database is still dropped."""
    yield
    with django_db_blocker.unblock():
        left = connections_left_open()
        if not left:
            return
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", [[row[0] for row in left]])
    described = "\n".join(
        f"  pid {pid}, opened during {name or '?'} at {start:%H:%M:%S}, {state}: {query}"
        for pid, name, state, start, query in left
    )
    pytest.fail(f"Connections to the test database left open at the end of the session:\n{described}", pytrace=False)


@pytest.fixture(autouse=True)
def _vietnamese(settings):
    """Tests see what users see: the Vietnamese UI."""
    settings.LANGUAGE_CODE = "vi"


def fingerprint() -> str:
    """A digest of the data that a different random draw would change."""
    rows = [
        *Member.objects.order_by("card_number").values_list("card_number", "full_name", "date_of_birth", "retired_on"),
        *Referral.objects.order_by("member__card_number", "introduced_on").values_list(
            "member__card_number", "receiving_ward__code", "introduced_on", "received_on", "ended_on"
        ),
        (Attendance.objects.count(), ResidenceComment.objects.count(), YearEndRating.objects.count()),
    ]
    return hashlib.sha256(repr(rows).encode()).hexdigest()


@dataclasses.dataclass
class DemoLeft:
    """The demo a module left in the database, nothing committed since it was loaded, for the next module of the
    demo data (the rows are cleared before a module without it, or at the end): ``seed_demo``'s output, its
    fingerprint, and what ``demo_snapshot.committed`` said once it was loaded."""

    output: str
    fingerprint: str
    committed: str


_demo_left: DemoLeft | None = None


def _clear_the_demo_left() -> None:
    global _demo_left
    if _demo_left is not None:
        _demo_left = None
        clear_domain_data()


@pytest.fixture(scope="session")
def _demo_cleared_at_the_end(django_db_setup, django_db_blocker):
    """No demo rows in the test database at the end of the session (``--reuse-db`` keeps it for the next run)."""
    yield
    with django_db_blocker.unblock():
        _clear_the_demo_left()


@pytest.fixture(scope="module", autouse=True)
def _no_demo_without_asking(request, django_db_blocker):
    """A module starts without the rows an earlier module of the demo left unless its first test asks for them (a
    later test of a module sees them once a test before it asked, as it always has)."""
    if _demo_left is not None and request.node.path not in DEMO_FIRST_MODULES:
        with django_db_blocker.unblock():
            _clear_the_demo_left()


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker, _demo_cleared_at_the_end):
    """The whole Đông Hà demo data for the test module that asks for it (slow: mark the module
    ``pytest.mark.slow``). Each test still runs in its own rolled-back transaction.

    Built by ``seed_demo`` once per test process, then copied back (tests/demo_snapshot.py says how); the fingerprint
    of each copy is held to that of the build. The rows stay after the module when nothing was committed since they
    were loaded (each test rolled back), and the next module of the demo data takes them as they are; after a
    transactional test's flush or any other write committed, they are cleared. Ordered first
    (``pytest_collection_modifyitems``), the modules of the demo data follow one another on a worker: one copy and
    one clear for all of them, not one each (on PostgreSQL about 18 s a module)."""
    global _built_fingerprint, _demo_left
    with django_db_blocker.unblock():
        left, _demo_left = _demo_left, None
        if left is not None:
            output, found, loaded = left.output, left.fingerprint, left.committed
        else:
            output, copied = demo_snapshot.load(DEMO_TODAY)
            found = fingerprint()
            if copied:
                assert found == _built_fingerprint, "the demo copied back differs from the demo built"
            else:
                _built_fingerprint = found
            loaded = demo_snapshot.committed()
        yield {"output": output, "fingerprint": found}
        if demo_snapshot.committed() == loaded:
            _demo_left = DemoLeft(output=output, fingerprint=found, committed=loaded)
        else:
            clear_domain_data()
