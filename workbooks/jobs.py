"""Checks and imports of large workbooks in a thread of the web process, with their progress on the record.

The stack has no task queue, and the largest workbook takes tens of seconds to check: a request that waited for it
would leave a page that hangs. So a file larger than ``WORKBOOK_BACKGROUND_BYTES`` (a setting; default
``BACKGROUND_BYTES``, 64 kB: about 2,000 rows of members, checked in a second or two) is saved with its status
(``checking`` or ``importing``) and checked or imported by a thread started once the request's transaction has
committed (the thread reads the record from its own database connection, closed at its end). Smaller files are
still checked within the request: the page answers at once, and the tests of the flow stay simple.

The job's progress (``WorkbookImport.progress``: ``{"step", "done", "total", "at"}``) is reported by the import a
few hundred rows at a time and written to the record by a second thread, on its own connection, at most every
``REPORT_EVERY`` seconds: the import writes inside its transaction, which would hide the progress until its end (and
a preview's transaction is rolled back). On SQLite the import's transaction holds the whole database, so the
progress written while it is open waits for its end; PostgreSQL shows it as it goes.

A job holds a worker's memory (hundreds of MB for the largest workbook): at most ``JOBS_PER_PROCESS`` run at once in a
process, the others wait their turn (step ``waiting``). A gunicorn worker that is restarted (``max_requests``, a
deploy) lets its jobs finish within its graceful timeout, or dies with them: a record whose progress has not moved
for ``STALE_AFTER`` is shown as interrupted when it is next read (``settle``), and is refused.
"""

import contextlib
import dataclasses
import datetime
import logging
import threading
from collections.abc import Callable

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy, pgettext_lazy
from simple_history.models import HistoricalRecords

from workbooks.importing.context import FINISHING, READING
from workbooks.layout import SHEETS
from workbooks.models import WorkbookImport
from workbooks.reading import Problem

BACKGROUND_BYTES = 64 * 1024  # 20,000 rows of members (9 columns) make 540 kB
JOBS_PER_PROCESS = 2
REPORT_EVERY = 0.5  # seconds between two writes of the progress, at most
HEARTBEAT = datetime.timedelta(seconds=30)  # the progress is written this often even when it does not move
STALE_AFTER = datetime.timedelta(minutes=15)

Status = WorkbookImport.Status
RUNNING = (Status.CHECKING, Status.IMPORTING)
WAITING = "waiting"  # for a free slot (JOBS_PER_PROCESS)
INTERRUPTED = {
    Status.CHECKING: gettext_lazy("The check was interrupted; upload the workbook again."),
    Status.IMPORTING: gettext_lazy("The import was interrupted and nothing was imported; upload the workbook again."),
}
SHEET_TITLES = {sheet.key: sheet.title for sheet in SHEETS}
STEPS = {
    WAITING: gettext_lazy("Waiting for another workbook to finish"),
    READING: gettext_lazy("Reading the workbook"),
    FINISHING: gettext_lazy("Finishing"),
}
CHECKING_SHEET = pgettext_lazy("progress", "Checking the sheet “%(sheet)s”")
IMPORTING_SHEET = pgettext_lazy("progress", "Importing the sheet “%(sheet)s”")

logger = logging.getLogger(__name__)
slots = threading.BoundedSemaphore(JOBS_PER_PROCESS)
_threads: set[threading.Thread] = set()
_threads_lock = threading.Lock()

Progress = Callable[[str, int, int], None]


def in_background(size: int) -> bool:
    """Whether a file of ``size`` bytes is checked (or imported) in a thread rather than within the request."""
    return size > getattr(settings, "WORKBOOK_BACKGROUND_BYTES", BACKGROUND_BYTES)


def progress_value(step: str, done: int = 0, total: int = 0) -> dict:
    return {"step": step, "done": done, "total": total, "at": timezone.now().isoformat()}


# -- running ---------------------------------------------------------------------------------------------------------


def start(record: WorkbookImport, work: Callable[[Progress], None]) -> None:
    """Run ``work(progress)`` for ``record`` (saved, its status ``checking`` or ``importing``) in a thread, once the
    current transaction commits (at once outside a transaction). ``work`` is called in the language of the request,
    with a ``progress(step, done, total)`` to report to; an exception it raises marks the record interrupted."""
    language = translation.get_language()
    pk, status = record.pk, record.status

    transaction.on_commit(lambda: launch_thread(f"workbook-{status}-{pk}", _run, pk, status, work, language))


def launch_thread(name: str, target: Callable, *args) -> None:
    """Start ``target(*args)`` in a thread that ``join_all`` waits for (the thread discards itself at its end with
    ``thread_done``)."""
    thread = threading.Thread(target=target, args=args, name=name)
    with _threads_lock:
        _threads.add(thread)
    thread.start()


def thread_done() -> None:
    with _threads_lock:
        _threads.discard(threading.current_thread())


def join_all(timeout: float | None = None) -> None:
    """Wait for the jobs started so far (tests, and a process that wants to finish its jobs before leaving)."""
    with _threads_lock:
        threads = list(_threads)
    for thread in threads:
        thread.join(timeout)


def _run(pk: int, status: str, work: Callable[[Progress], None], language: str | None) -> None:
    reporter = Reporter(pk, status)
    try:
        reporter(WAITING, 0, 0)
        with slots, translation.override(language), _history_user(pk):
            reporter(READING, 0, 0)
            work(reporter)
    except Exception:
        logger.exception("A workbook %s failed (record %s)", status, pk)
        # The progress writer stops first: on SQLite its last write and the interruption's could meet, and the
        # record was left "checking" ("database table is locked", once in a full run of the tests under load).
        reporter.stop()
        _interrupt(pk, status)
    finally:
        reporter.stop()
        connection.close()
        thread_done()


@contextlib.contextmanager
def _history_user(pk: int):
    """The uploader for the history rows written without an explicit user (those of the periods an import rewrites,
    deleted row by row), as simple_history's middleware gives the request's user within a request."""
    record = WorkbookImport.objects.select_related("uploaded_by").only("uploaded_by").get(pk=pk)
    HistoricalRecords.context.request = _Request(record.uploaded_by)
    try:
        yield
    finally:
        del HistoricalRecords.context.request


@dataclasses.dataclass
class _Request:
    user: object


class Reporter:
    """Called by the job with each step of its progress; a thread of its own writes the latest to the record (a
    ``WorkbookImport``, or another model with ``status`` and ``progress``: ``model``)."""

    def __init__(self, pk: int, status: str, model=WorkbookImport):
        self.pk, self.status, self.model = pk, status, model
        self.latest: tuple[str, int, int] | None = None
        self.finished = threading.Event()
        self.thread = threading.Thread(target=self._write_now_and_then, name=f"workbook-progress-{pk}", daemon=True)
        self.thread.start()

    def __call__(self, step: str, done: int, total: int) -> None:
        self.latest = (step, done, total)  # one assignment: the writer sees the old value or the new one

    def stop(self) -> None:
        self.finished.set()
        self.thread.join()

    def _write_now_and_then(self) -> None:
        written, written_at = None, timezone.now()
        try:
            while not self.finished.wait(REPORT_EVERY):
                latest = self.latest
                if latest is None or (latest == written and timezone.now() - written_at < HEARTBEAT):
                    continue
                try:
                    # Only while the job runs: its end writes the status and clears the progress.
                    self.model.objects.filter(pk=self.pk, status=self.status).update(progress=progress_value(*latest))
                except DatabaseError:  # SQLite while the import's transaction holds the database: next time
                    continue
                written, written_at = latest, timezone.now()
        finally:
            connection.close()


# -- a record left behind by a worker that died -------------------------------------------------------------------


def last_moved(record: WorkbookImport) -> datetime.datetime:
    at = parse_datetime((record.progress or {}).get("at") or "")
    return at or record.uploaded_at


def settle(record: WorkbookImport) -> WorkbookImport:
    """The record as it is: one left checking or importing with no progress for ``STALE_AFTER`` (its worker died,
    say in a restart) is marked interrupted (refused, its file dropped: it is to be uploaded again)."""
    if record.status not in RUNNING or timezone.now() - last_moved(record) < STALE_AFTER:
        return record
    if _interrupt(record.pk, record.status, only_if_stale=True):
        record.refresh_from_db()
        record.file_kept = False  # as ``selectors.imports_visible_to`` annotates it: the file was dropped
    return record


def _interrupt(pk: int, status: str, *, only_if_stale: bool = False) -> bool:
    with transaction.atomic():
        record = WorkbookImport.objects.select_for_update().filter(pk=pk, status=status).first()
        if record is None or (only_if_stale and timezone.now() - last_moved(record) < STALE_AFTER):
            return False
        record.status = Status.REFUSED
        record.problems = [Problem("", None, "", INTERRUPTED[status]).as_dict()]
        record.counts = {}
        record.progress = {}
        record.content = b""
        record.save(update_fields=["status", "problems", "counts", "progress", "content"])
    return True


# -- what the pages and the command show ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ProgressView:
    label: str
    done: int
    total: int  # 0: not known yet (the bar shows the rows so far)

    @property
    def percent(self) -> int:
        return min(100, self.done * 100 // self.total) if self.total else 0

    @property
    def known(self) -> bool:
        return self.total > 0


def step_label(step: str, *, importing: bool) -> str:
    if step in SHEET_TITLES:
        return (IMPORTING_SHEET if importing else CHECKING_SHEET) % {"sheet": SHEET_TITLES[step]}
    return str(STEPS.get(step, STEPS[READING]))


def progress_of(record: WorkbookImport) -> ProgressView:
    progress = record.progress or {}
    step = progress.get("step") or READING
    done, total = _count(progress.get("done")), _count(progress.get("total"))
    return ProgressView(step_label(step, importing=record.status == Status.IMPORTING), done, max(total, 0))


def _count(value) -> int:
    return value if isinstance(value, int) and value >= 0 else 0
