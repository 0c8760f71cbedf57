"""The yearly report workbook (``reports.workbook``) of a large subtree, written by a background job.

A province's workbook takes minutes to write: a request that waited for it would leave a page that hangs and a
worker held. So when the subtree has more than ``YEARLY_WORKBOOK_BACKGROUND_ORGANISATIONS`` organisations (a setting;
default ``BACKGROUND_ORGANISATIONS``: the demo city has about 500, a province several thousand), the download link
leads to a page that asks for it to be prepared; the job (a thread started after the request's transaction commits,
one of the ``jobs.JOBS_PER_PROCESS`` slots, its progress on the record as the import's) writes the workbook to a
temporary file with the sight of the user who asked (``members.selectors.sight_of``), then stores it in the database
in chunks (``ReportExportChunk``: any app process can serve it, nothing is kept on one machine's disk). The page polls
the progress (htmx) and offers the download once it is ready.

The stored workbook is that user's alone: another user's, or one whose organisation has left the user's scope, is
404 like an unknown one. It expires after ``KEEP_FOR`` (then 404, deleted by ``purge_uploads``). A job whose worker
died (no progress for ``jobs.STALE_AFTER``) is shown as failed when it is next read. Smaller workbooks are still
written within the request.
"""

import datetime
import logging
import tempfile

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime

from branches.access import access_for
from branches.models import Organisation
from branches.selectors import visible_organisations
from members.selectors import sight_of
from workbooks import jobs
from workbooks.models import ReportExport, ReportExportChunk

BACKGROUND_ORGANISATIONS = 2000
KEEP_FOR = datetime.timedelta(days=1)
CHUNK_BYTES = 1024 * 1024  # one row of ReportExportChunk; the download holds one at a time
FINISHING = "finishing"

Status = ReportExport.Status
logger = logging.getLogger(__name__)


def in_background(organisation: Organisation) -> bool:
    """Whether the workbook of ``organisation``'s subtree is written by a job (bounded count: it stops at the
    threshold)."""
    limit = getattr(settings, "YEARLY_WORKBOOK_BACKGROUND_ORGANISATIONS", BACKGROUND_ORGANISATIONS)
    return Organisation.objects.subtree(organisation).values("pk")[: limit + 1].count() > limit


def exports_of(user) -> QuerySet[ReportExport]:
    """The user's own stored workbooks that have not expired, of organisations still in their scope."""
    return ReportExport.objects.filter(
        requested_by=user,
        expires_at__gt=timezone.now(),
        organisation__in=visible_organisations(access_for(user)).values("pk"),
    ).select_related("organisation")


def request_export(user, organisation: Organisation, year: int, as_of: datetime.date) -> ReportExport:
    """A job writing the workbook for ``user`` (the caller has checked that the organisation is in their scope); the
    one already running for the same organisation, year and day, if any (a double submit starts nothing more)."""
    with transaction.atomic():
        running = (
            exports_of(user)
            .select_for_update(of=("self",))
            .filter(organisation=organisation, year=year, as_of=as_of, status=Status.RUNNING)
            .first()
        )
        if running is not None and settle(running).status == Status.RUNNING:
            return running
        ReportExport.objects.filter(requested_by=user, expires_at__lte=timezone.now()).delete()
        export = ReportExport.objects.create(
            requested_by=user,
            organisation=organisation,
            year=year,
            as_of=as_of,
            status=Status.RUNNING,
            progress=jobs.progress_value(jobs.WAITING),
            expires_at=timezone.now() + KEEP_FOR,
        )
        language = translation.get_language()
        transaction.on_commit(lambda: jobs.launch_thread(f"report-export-{export.pk}", _run, export.pk, language))
    return export


def _run(pk: int, language: str | None) -> None:
    reporter = jobs.Reporter(pk, Status.RUNNING, model=ReportExport)
    try:
        reporter(jobs.WAITING, 0, 0)
        with jobs.slots, translation.override(language):
            _write(pk, reporter)
    except Exception:
        logger.exception("A report workbook failed (record %s)", pk)
        reporter.stop()  # before the record is marked: on SQLite the two writes can meet (``jobs._run``)
        ReportExport.objects.filter(pk=pk, status=Status.RUNNING).update(
            status=Status.FAILED, progress={}, finished_at=timezone.now()
        )
    finally:
        reporter.stop()
        connection.close()
        jobs.thread_done()


def _write(pk: int, progress: jobs.Progress) -> None:
    from reports.workbook import write_workbook  # reports imports workbooks' views: not at import time

    export = ReportExport.objects.select_related("organisation", "requested_by").get(pk=pk)
    sight = sight_of(export.requested_by)
    with tempfile.TemporaryFile(suffix=".xlsx") as file:
        written = write_workbook(export.organisation, export.year, export.as_of, file, sight=sight, progress=progress)
        size = file.seek(0, 2)
        file.seek(0)
        progress(FINISHING, 0, 0)
        with transaction.atomic():
            index = 0
            while data := file.read(CHUNK_BYTES):
                ReportExportChunk.objects.create(export_id=pk, index=index, data=data)
                index += 1
            finished = ReportExport.objects.filter(pk=pk, status=Status.RUNNING).update(
                status=Status.READY, size=size, rows=written.data_rows, progress={}, finished_at=timezone.now()
            )
            if not finished:  # settled as failed meanwhile (a very long wait): what was stored goes
                transaction.set_rollback(True)


def settle(export: ReportExport) -> ReportExport:
    """The record as it is: one left running with no progress for ``jobs.STALE_AFTER`` (its worker died) is marked
    failed."""
    if export.status != Status.RUNNING:
        return export
    moved = parse_datetime((export.progress or {}).get("at") or "") or export.requested_at
    if timezone.now() - moved >= jobs.STALE_AFTER:
        ReportExport.objects.filter(pk=export.pk, status=Status.RUNNING).update(
            status=Status.FAILED, progress={}, finished_at=timezone.now()
        )
        export.refresh_from_db()
    return export


def chunk_ids(export: ReportExport) -> list[int]:
    return list(ReportExportChunk.objects.filter(export=export).order_by("index").values_list("pk", flat=True))


def chunks(ids: list[int]):
    """The stored file, one chunk (one query) at a time."""
    for pk in ids:
        yield bytes(ReportExportChunk.objects.values_list("data", flat=True).get(pk=pk))


def purge_expired(*, dry_run: bool = False) -> tuple[int, int]:
    """Delete the stored workbooks that have expired; returns their number and size in bytes."""
    expired = ReportExport.objects.filter(expires_at__lte=timezone.now())
    count, size = expired.count(), sum(expired.values_list("size", flat=True))
    if not dry_run:
        expired.delete()
    return count, size
