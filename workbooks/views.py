"""The import pages: upload a workbook, see what it would do (or every problem in it), import it on confirmation;
the template and the column reference to fill it; the uploaded workbook given back with its errors.

Only users who may import open any of them (anyone else gets 404, as everywhere out of scope); a record is opened by
its uploader, and by city staff who write; only its uploader imports it.
"""

import functools
import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseClientRefresh

from audit.models import AccessLog
from audit.services import record_access
from branches.access import access_for
from dongha76.excel import XLSX_CONTENT_TYPE
from dongha76.http import found_or_404
from workbooks.annotating import workbook_with_errors
from workbooks.forms import PreviewFilterForm, UploadForm
from workbooks.jobs import RUNNING, settle
from workbooks.layout import SHEETS
from workbooks.models import WorkbookImport
from workbooks.preview import change_texts, preview_list
from workbooks.selectors import (
    column_reference,
    import_with_content,
    imports_visible_to,
    may_import,
    recent_imports,
    sheet_counts,
)
from workbooks.services import workbook_check, workbook_confirm
from workbooks.template import RULES, template_workbook
from workbooks.undo import undo_state, workbook_undo

TEMPLATE_FILE_NAME = "mau-nhap-du-lieu.xlsx"


def importers_only(view):
    """Login required; a user who may not import gets 404."""

    @login_required
    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not may_import(request.user):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapped


def _log(request: HttpRequest, kind: str, subject: str, *, rows: int | None) -> None:
    """Files of the import hold members' personal data: their upload and download are logged like every export."""
    organisation = next(iter(access_for(request.user).organisations), None)
    record_access(kind=kind, by=request.user, request=request, organisation=organisation, subject=subject, rows=rows)


def _rows_of(record: WorkbookImport) -> int | None:
    counts = record.counts or {}
    return sum(sheet.get("rows", 0) for sheet in counts.values()) if counts else None


def _xlsx_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
    return response


@importers_only
@require_http_methods(["GET", "POST"])
def import_upload(request: HttpRequest) -> HttpResponse:
    """GET: the upload page; POST: check the file (nothing is written) and show the preview."""
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES)
        if form.is_valid():
            record = workbook_check(
                upload=form.cleaned_data["file"],
                by=request.user,
                access=access_for(request.user),
                update_existing=form.cleaned_data["update_existing"],
            )
            _log(request, AccessLog.Kind.IMPORT_UPLOAD, record.file_name, rows=_rows_of(record))
            return redirect("workbooks:import-detail", pk=record.pk)
    else:
        form = UploadForm()
    return render(
        request,
        "workbooks/import.html",
        {
            "form": form,
            "imports": [(record, sheet_counts(record)) for record in recent_imports(request.user)],
            "titles": {sheet.key: sheet.title for sheet in SHEETS},
        },
    )


@importers_only
@require_GET
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The record: its counts, then its preview rows a page at a time (GET ``sheet``, ``kind``, ``page``)."""
    record = settle(found_or_404(imports_visible_to(request.user).get, pk=pk))
    filters = PreviewFilterForm(request.GET)
    ignored = [name for name in ("sheet", "kind") if not filters.is_valid() and name in filters.errors]
    preview = preview_list(
        record, sheet=filters.valid_value("sheet"), kind=filters.valid_value("kind"), page=request.GET.get("page")
    )
    counts = sheet_counts(record)
    return render(
        request,
        "workbooks/import_detail.html",
        {
            "record": record,
            "counts": counts,
            "created": sum(sheet.create for sheet in counts),
            "updated": sum(sheet.update for sheet in counts),
            "preview": preview,
            "ignored_filters": ignored,
            "may_confirm": record.status == WorkbookImport.Status.CHECKED
            and record.file_kept
            and record.uploaded_by_id == request.user.pk,
            "form": UploadForm(initial={"update_existing": record.update_existing}),
            "undo": undo_state(record, request.user),
        },
    )


@importers_only
def import_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    """POST: import a checked workbook (checked again first). Only its uploader does."""
    record = found_or_404(imports_visible_to(request.user).filter(uploaded_by=request.user).get, pk=pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        record = workbook_confirm(record=record, by=request.user, access=access_for(request.user))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("workbooks:import-detail", pk=record.pk)
    if record.status == WorkbookImport.Status.IMPORTED:
        created = sum(counts.get("create", 0) for counts in record.counts.values())
        updated = sum(counts.get("update", 0) for counts in record.counts.values())
        messages.success(
            request,
            _("Imported the workbook “%(name)s”: %(created)s rows created, %(updated)s updated.")
            % {"name": record.file_name, "created": created, "updated": updated},
        )
    elif record.status == WorkbookImport.Status.REFUSED:
        messages.error(
            request,
            _("Nothing was imported: the data changed since the check and the workbook now has the problems below."),
        )
    return redirect("workbooks:import-detail", pk=record.pk)


@importers_only
def import_undo(request: HttpRequest, pk: int) -> HttpResponse:
    """POST: undo an import (confirmed on the record's page). Only its uploader does; anyone else gets 404, even for
    a GET (the scope is told before the method)."""
    record = found_or_404(imports_visible_to(request.user).filter(uploaded_by=request.user).get, pk=pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        record = workbook_undo(record=record, by=request.user, access=access_for(request.user))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("The import of “%(name)s” was undone.") % {"name": record.file_name})
    return redirect("workbooks:import-detail", pk=record.pk)


@importers_only
@require_GET
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """How far the check or the import of a record has gone, polled by its page (htmx): the progress bar while it
    runs; once it is over, the page is told to reload (``HX-Refresh``). Without JavaScript the page reloads itself
    (``_progress.html``) and never asks this."""
    record = settle(found_or_404(imports_visible_to(request.user).defer("problems", "header_rows").get, pk=pk))
    if record.status not in RUNNING:
        return HttpResponseClientRefresh()
    return render(request, "workbooks/_progress.html", {"record": record})


@importers_only
@require_GET
def import_errors(request: HttpRequest, pk: int) -> HttpResponse:
    """The uploaded workbook with a column "Lỗi" on the rows that have problems and a column "Thay đổi" on the rows
    that create or change something."""
    record = found_or_404(import_with_content, request.user, pk)
    if not record.content:
        raise Http404
    changes = change_texts(record)
    if not record.problems and not changes:
        raise Http404
    try:
        content = workbook_with_errors(bytes(record.content), record.problems, record.header_rows, changes)
    except Exception:  # a part openpyxl's reader stumbles on only now (the check read other parts): never a 500
        messages.error(request, _("This workbook cannot be given back with its errors; use the list below."))
        return redirect("workbooks:import-detail", pk=record.pk)
    stem = re.sub(r"\.xlsx$", "", record.file_name, flags=re.IGNORECASE) or "so"
    _log(request, AccessLog.Kind.IMPORT_ERRORS, record.file_name, rows=_rows_of(record))
    return _xlsx_response(content, f"{stem}-loi.xlsx" if record.problems else f"{stem}-thay-doi.xlsx")


@importers_only
@require_GET
def template_download(request: HttpRequest) -> HttpResponse:
    _log(request, AccessLog.Kind.IMPORT_TEMPLATE, TEMPLATE_FILE_NAME, rows=0)
    return _xlsx_response(template_workbook(), TEMPLATE_FILE_NAME)


@importers_only
@require_GET
def columns(request: HttpRequest) -> HttpResponse:
    return render(request, "workbooks/columns.html", {"sheets": column_reference(), "rules": RULES})
