"""The yearly workbook as a download (the dashboard links to it)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from audit.models import AccessLog
from audit.services import record_access
from dongha76.downloads import xlsx_download
from members.selectors import sight_of
from reports.views import organisation_from_query
from reports.workbook import BadRequest, parse_period, write_workbook


@login_required
@require_GET
def workbook(request: HttpRequest) -> HttpResponse:
    """``GET /reports/workbook/?org=CODE&year=YYYY[&as_of=YYYY-MM-DD]``: the .xlsx of the organisation's subtree.
    An organisation outside the user's scope, like an unknown one, is 404; a bad year or day is 400."""
    organisation = organisation_from_query(request)
    try:
        year, as_of = parse_period(request.GET.get("year"), request.GET.get("as_of"), timezone.localdate())
    except BadRequest:
        return HttpResponseBadRequest(
            _("Choose a year (YYYY) and, if you wish, an as-of date (YYYY-MM-DD) within that year."),
            content_type="text/plain; charset=utf-8",
        )
    sight = sight_of(request.user)
    response, written = xlsx_download(
        lambda file: write_workbook(organisation, year, as_of, file, sight=sight),
        f"bao-cao-{organisation.code}-{year}-{as_of:%Y%m%d}.xlsx",
    )
    record_access(
        kind=AccessLog.Kind.YEARLY_WORKBOOK,
        by=request.user,
        request=request,
        organisation=organisation,
        subject=f"{year}, {as_of:%d/%m/%Y}",
        rows=written.data_rows,
    )
    return response
