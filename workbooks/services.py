"""The web flow of an import: check an upload (the import itself, undone), then import it on confirmation; and the
purge of the uploaded files, which hold national IDs (``manage.py purge_uploads``, run daily)."""

import datetime
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
from workbooks.importing import ImportResult, WorkbookRefused, import_workbook
from workbooks.models import WorkbookImport
from workbooks.reading import MAX_FILE_BYTES, Problem

KEEP_FILES_FOR = datetime.timedelta(days=7)  # long enough to confirm and fetch the errors workbook; then purged


def _record_result(record: WorkbookImport, result: ImportResult) -> None:
    record.problems = result.problems_as_dicts()
    record.counts = result.counts_as_dict()
    record.header_rows = result.header_rows


def _refused(record: WorkbookImport, refused: WorkbookRefused) -> None:
    record.status = WorkbookImport.Status.REFUSED
    record.problems = [Problem("", None, "", refused.message).as_dict()]
    record.counts = {}
    record.content = b""


def workbook_check(*, upload: UploadedFile, by: User, access: Access) -> WorkbookImport:
    """Check an uploaded workbook against everything the import does, write nothing, and keep the file for the
    confirmation. A file that cannot be read at all is recorded as refused, without its content."""
    record = WorkbookImport(uploaded_by=by, file_name=(upload.name or "")[-255:], size=upload.size or 0)
    if record.size > MAX_FILE_BYTES:
        _refused(record, WorkbookRefused(_("The file is larger than 10 MB. Split it into several workbooks.")))
        record.save()
        return record
    content = upload.read()
    try:
        result = import_workbook(
            io.BytesIO(content), by=by, access=access, dry_run=True, file_name=record.file_name, size=len(content)
        )
    except WorkbookRefused as refused:
        _refused(record, refused)
    else:
        _record_result(record, result)
        record.status = WorkbookImport.Status.CHECKED if result.ok else WorkbookImport.Status.REFUSED
        record.content = content
    record.save()
    return record


@transaction.atomic
def workbook_confirm(*, record: WorkbookImport, by: User, access: Access) -> WorkbookImport:
    """Import a checked workbook. It is checked again: the database may have changed since the preview; any problem
    found now is recorded and nothing is written."""
    record = WorkbookImport.objects.select_for_update().get(pk=record.pk)
    if record.status != WorkbookImport.Status.CHECKED or not record.content:
        raise ValidationError(_("This workbook is not ready to import: upload it again."), code="not_checked")
    try:
        result = import_workbook(
            io.BytesIO(bytes(record.content)), by=by, access=access, file_name=record.file_name, size=record.size
        )
    except WorkbookRefused as refused:
        _refused(record, refused)
        record.save()
        return record
    _record_result(record, result)
    if result.applied:
        record.status = WorkbookImport.Status.IMPORTED
        record.imported_at = timezone.now()
    else:
        record.status = WorkbookImport.Status.REFUSED
    record.save()
    return record


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
