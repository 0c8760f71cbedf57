"""The web flow of an import: check an upload (the import itself, undone), then import it on confirmation; and the
purge of the uploaded files, which hold national IDs (``manage.py purge_uploads``, run daily)."""

import datetime
import functools
import io

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Count, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from branches.access import Access
from dongha76.services import User
from workbooks import jobs
from workbooks.importing import ImportResult, WorkbookRefused, import_workbook
from workbooks.importing.context import READING
from workbooks.models import WorkbookImport
from workbooks.preview import store_preview
from workbooks.reading import MAX_FILE_BYTES, Problem, check_file
from workbooks.undo import store_journal

KEEP_FILES_FOR = datetime.timedelta(days=7)  # long enough to confirm and fetch the errors workbook; then purged


def _record_result(record: WorkbookImport, result: ImportResult) -> None:
    record.problems = result.problems_as_dicts()
    record.counts = result.counts_as_dict()
    record.header_rows = result.header_rows
    if record.pk is None:  # the preview's rows point at the record
        record.save()
    store_preview(record, result)


def _refused(record: WorkbookImport, refused: WorkbookRefused) -> None:
    record.status = WorkbookImport.Status.REFUSED
    record.problems = [Problem("", None, "", refused.message).as_dict()]
    record.counts = {}
    record.content = b""
    if record.pk is not None:  # a confirm refused whole: the check's rows no longer say what the file does
        record.changes.all().delete()


def workbook_check(
    *, upload: UploadedFile, by: User, access: Access, update_existing: bool = False, background: bool | None = None
) -> WorkbookImport:
    """Check an uploaded workbook against everything the import does, write nothing, and keep the file for the
    confirmation. A file that cannot be read at all is recorded as refused, without its content.

    A large file (``jobs.in_background``, or as ``background`` says) is only saved here, as being checked, with its
    content: a thread checks it once the caller's transaction commits, and the record's page follows its progress."""
    record = WorkbookImport(
        uploaded_by=by, file_name=(upload.name or "")[-255:], size=upload.size or 0, update_existing=update_existing
    )
    if record.size > MAX_FILE_BYTES:
        _refused(record, WorkbookRefused(_("The file is larger than 10 MB. Split it into several workbooks.")))
        record.save()
        return record
    content = upload.read()
    if jobs.in_background(len(content)) if background is None else background:
        try:  # what refuses a file whole costs a second at most: the page says it at once
            check_file(io.BytesIO(content), size=len(content))
        except WorkbookRefused as refused:
            _refused(record, refused)
            record.save()
            return record
        record.status = WorkbookImport.Status.CHECKING
        record.content = content
        record.progress = jobs.progress_value(READING)
        record.save()
        jobs.start(record, functools.partial(_check_later, record.pk, by=by, access=access))
        return record
    return _check(record, content, by=by, access=access)


def _check(record: WorkbookImport, content: bytes, *, by: User, access: Access, progress=None) -> WorkbookImport:
    try:
        result = import_workbook(
            io.BytesIO(content),
            by=by,
            access=access,
            dry_run=True,
            file_name=record.file_name,
            size=len(content),
            update_existing=record.update_existing,
            progress=progress,
        )
    except WorkbookRefused as refused:
        _refused(record, refused)
    else:
        _record_result(record, result)
        record.status = WorkbookImport.Status.CHECKED if result.ok else WorkbookImport.Status.REFUSED
        record.content = content
    record.progress = {}
    record.save()
    return record


def _check_later(pk: int, progress, *, by: User, access: Access) -> None:
    """The check of a record saved as being checked (``workbook_check``), in a thread of ``jobs``."""
    record = WorkbookImport.objects.get(pk=pk)
    if record.status == WorkbookImport.Status.CHECKING and record.content:
        _check(record, bytes(record.content), by=by, access=access, progress=progress)


@transaction.atomic
def workbook_confirm(
    *, record: WorkbookImport, by: User, access: Access, background: bool | None = None
) -> WorkbookImport:
    """Import a checked workbook. It is checked again: the database may have changed since the preview; any problem
    found now is recorded and nothing is written.

    A large file (as for the check) is only marked here as being imported, under the record's lock, so that it is
    imported once: a thread imports it once this transaction commits (in one transaction, with its outcome)."""
    record = WorkbookImport.objects.select_for_update().get(pk=record.pk)
    if record.status != WorkbookImport.Status.CHECKED or not record.content:
        raise ValidationError(_("This workbook is not ready to import: upload it again."), code="not_checked")
    if jobs.in_background(record.size) if background is None else background:
        record.status = WorkbookImport.Status.IMPORTING
        record.progress = jobs.progress_value(READING)
        record.save(update_fields=["status", "progress"])
        jobs.start(record, functools.partial(_import_later, record.pk, by=by, access=access))
        return record
    return _import(record, by=by, access=access)


def _import(record: WorkbookImport, *, by: User, access: Access, progress=None) -> WorkbookImport:
    """Import the record's workbook in the caller's transaction and save the outcome on the record."""
    try:
        result = import_workbook(
            io.BytesIO(bytes(record.content)),
            by=by,
            access=access,
            file_name=record.file_name,
            size=record.size,
            update_existing=record.update_existing,
            progress=progress,
        )
    except WorkbookRefused as refused:
        _refused(record, refused)
        record.progress = {}
        record.save()
        return record
    _record_result(record, result)
    if result.applied:
        record.status = WorkbookImport.Status.IMPORTED
        record.imported_at = timezone.now()
    else:
        record.status = WorkbookImport.Status.REFUSED
    record.progress = {}
    record.save()
    store_journal(record, result)  # what the undo puts back; nothing unless the import was applied
    return record


def _import_later(pk: int, progress, *, by: User, access: Access) -> None:
    """The import of a record marked as being imported (``workbook_confirm``), in a thread of ``jobs``: the rows and
    the record's outcome in one transaction. The record is not locked meanwhile: its progress is written to it."""
    with transaction.atomic():
        record = WorkbookImport.objects.get(pk=pk)
        if record.status == WorkbookImport.Status.IMPORTING and record.content:
            _import(record, by=by, access=access, progress=progress)


def upload_files_purge(*, older_than: datetime.timedelta = KEEP_FILES_FOR, dry_run: bool = False) -> tuple[int, int]:
    """Delete the content of the files uploaded more than ``older_than`` ago (decree 13/2023/NĐ-CP: they hold national
    IDs); the records of who imported what stay, without their file (no confirmation, no errors workbook). Returns
    how many files and how many bytes were purged (would be, for a dry run)."""
    cutoff = timezone.now() - older_than
    with transaction.atomic():
        kept = WorkbookImport.objects.filter(uploaded_at__lt=cutoff).exclude(content=b"")
        found = kept.aggregate(count=Count("pk"), size=Coalesce(Sum("size"), 0))
        count = found["count"] if dry_run else kept.update(content=b"")
    return count, found["size"]
