"""``{{ record|import_progress }}``: how far the check or the import of a record has gone, for its progress bar
(``workbooks.jobs.ProgressView``: label, done, total, percent, known)."""

from django import template

from workbooks.jobs import ProgressView, progress_of
from workbooks.models import WorkbookImport

register = template.Library()


@register.filter
def import_progress(record: WorkbookImport) -> ProgressView:
    return progress_of(record)
