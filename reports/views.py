"""The figures as JSON for the logged-in user's organisations (charts and users' scripts use it)."""

import datetime

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponseBadRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from branches.access import access_for
from branches.selectors import visible_organisations
from reports.report import build_report, report_as_json


@login_required
@require_GET
def figures_api(request: HttpRequest) -> JsonResponse:
    """``GET /reports/api/figures/?org=CODE&as_of=YYYY-MM-DD[&year=YYYY]``; an organisation outside the user's scope,
    like an unknown one, is 404."""
    organisation = get_object_or_404(visible_organisations(access_for(request.user)), code=request.GET.get("org", ""))
    try:
        as_of = datetime.date.fromisoformat(request.GET["as_of"]) if "as_of" in request.GET else timezone.localdate()
        year = int(request.GET["year"]) if request.GET.get("year") else None
    except ValueError:
        return HttpResponseBadRequest(_("as_of must be a date YYYY-MM-DD and year a number."))
    if year is not None and not 2000 <= year <= as_of.year + 1:
        return HttpResponseBadRequest(_("as_of must be a date YYYY-MM-DD and year a number."))
    report = build_report(organisation, as_of, year=year)
    return JsonResponse(report_as_json(report), json_dumps_params={"ensure_ascii": False})
