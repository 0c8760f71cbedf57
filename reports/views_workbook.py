"""The yearly workbook as a download (the dashboard links to it)."""

import tempfile

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from branches.access import access_for
from branches.selectors import visible_organisations
from dongha76.excel import XLSX_CONTENT_TYPE
from members.selectors import sight_of
from reports.workbook import BadRequest, parse_period, write_workbook


@login_required
@require_GET
def workbook(request: HttpRequest) -> HttpResponse:
    """``GET /reports/workbook/?org=CODE&year=YYYY[&as_of=YYYY-MM-DD]``: the .xlsx of the organisation's subtree.
    An organisation outside the user's scope, like an unknown one, is 404; a bad year or day is 400."""
    organisation = get_object_or_404(visible_organisations(access_for(request.user)), code=request.GET.get("org", ""))
    try:
        year, as_of = parse_period(request.GET.get("year"), request.GET.get("as_of"), timezone.localdate())
    except BadRequest:
        return HttpResponseBadRequest(
            _("Choose a year (YYYY) and, if you wish, an as-of date (YYYY-MM-DD) within that year."),
            content_type="text/plain; charset=utf-8",
        )
    # Written to a temporary file and streamed from it: the workbook is never held in memory whole.
    file = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 (FileResponse closes it)
    write_workbook(organisation, year, as_of, file, sight=sight_of(request.user))
    file.seek(0)
    return FileResponse(
        file,
        as_attachment=True,
        filename=f"bao-cao-{organisation.code}-{year}-{as_of:%Y%m%d}.xlsx",
        content_type=XLSX_CONTENT_TYPE,
    )
