"""The yearly workbook as a download (the dashboard links to it): at once for a small subtree; for a large one
(``workbooks.exports.in_background``) a page that asks for it to be prepared, then follows the job that writes it and
offers the stored file to the user who asked."""

from django.contrib.auth.decorators import login_required
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseClientRefresh

from audit.models import AccessLog
from audit.services import record_access
from dongha76.downloads import xlsx_download
from dongha76.excel import XLSX_CONTENT_TYPE
from members.selectors import sight_of
from reports.views import organisation_from_query
from reports.workbook import SHEET_NAMES, BadRequest, parse_period, write_workbook
from workbooks import exports
from workbooks.jobs import STEPS, WAITING, ProgressView
from workbooks.models import ReportExport


def _file_name(organisation, year: int, as_of) -> str:
    return f"bao-cao-{organisation.code}-{year}-{as_of:%Y%m%d}.xlsx"


@login_required
@require_http_methods(["GET", "POST"])
def workbook(request: HttpRequest) -> HttpResponse:
    """``GET /reports/workbook/?org=CODE&year=YYYY[&as_of=YYYY-MM-DD]``: the .xlsx of the organisation's subtree, or,
    for a large subtree, the page that asks for it to be prepared (``POST`` to the same address starts the job). An
    organisation outside the user's scope, like an unknown one, is 404; a bad year or day is 400."""
    organisation = organisation_from_query(request)
    try:
        year, as_of = parse_period(request.GET.get("year"), request.GET.get("as_of"), timezone.localdate())
    except BadRequest:
        return HttpResponseBadRequest(
            _("Choose a year (YYYY) and, if you wish, an as-of date (YYYY-MM-DD) within that year."),
            content_type="text/plain; charset=utf-8",
        )
    if exports.in_background(organisation):
        if request.method == "POST":
            export = exports.request_export(request.user, organisation, year, as_of)
            return redirect("workbooks:report-export", pk=export.pk)
        earlier = exports.exports_of(request.user).filter(organisation=organisation, year=year, as_of=as_of)
        return render(
            request,
            "reports/workbook_prepare.html",
            {"organisation": organisation, "year": year, "as_of": as_of, "earlier": earlier[:5]},
        )
    if request.method == "POST":  # small enough now: the file at once
        return redirect(request.get_full_path())
    sight = sight_of(request.user)
    response, written = xlsx_download(
        lambda file: write_workbook(organisation, year, as_of, file, sight=sight),
        _file_name(organisation, year, as_of),
    )
    _log(request, organisation, year, as_of, written.data_rows)
    return response


def _log(request, organisation, year, as_of, rows: int) -> None:
    record_access(
        kind=AccessLog.Kind.YEARLY_WORKBOOK,
        by=request.user,
        request=request,
        organisation=organisation,
        subject=f"{year}, {as_of:%d/%m/%Y}",
        rows=rows,
    )


def _own_export(request: HttpRequest, pk: int) -> ReportExport:
    """The user's own stored workbook, unexpired, of an organisation still in their scope; else 404."""
    export = exports.exports_of(request.user).filter(pk=pk).first()
    if export is None:
        raise Http404
    return exports.settle(export)


def progress_of(export: ReportExport) -> ProgressView:
    progress = export.progress or {}
    step = progress.get("step") or WAITING
    done, total = progress.get("done") or 0, progress.get("total") or 0
    if step in SHEET_NAMES:
        label = _("Writing the sheet “%(sheet)s”") % {"sheet": step}
    elif step == exports.FINISHING:
        label = _("Storing the workbook")
    else:
        label = str(STEPS[WAITING])
    return ProgressView(label, max(int(done), 0), max(int(total), 0))


@login_required
@require_GET
def workbook_export(request: HttpRequest, pk: int) -> HttpResponse:
    """``/workbooks/reports/<pk>/``: the job's progress while it runs (polled), then the download."""
    export = _own_export(request, pk)
    return render(request, "reports/workbook_export.html", {"export": export, "state": progress_of(export)})


@login_required
@require_GET
def workbook_export_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress part of the job's page (htmx, every second); once the job is over, the page reloads."""
    export = _own_export(request, pk)
    if export.status != ReportExport.Status.RUNNING:
        return HttpResponseClientRefresh()
    return render(request, "reports/_workbook_progress.html", {"export": export, "state": progress_of(export)})


@login_required
@require_GET
def workbook_export_download(request: HttpRequest, pk: int) -> HttpResponse:
    """The stored workbook, streamed one chunk at a time; logged as a download of the yearly workbook."""
    export = _own_export(request, pk)
    if export.status != ReportExport.Status.READY:
        raise Http404
    response = StreamingHttpResponse(exports.chunks(exports.chunk_ids(export)), content_type=XLSX_CONTENT_TYPE)
    response["Content-Length"] = str(export.size)
    response["Content-Disposition"] = content_disposition_header(
        True, _file_name(export.organisation, export.year, export.as_of)
    )
    _log(request, export.organisation, export.year, export.as_of, export.rows)
    return response
