"""Residential cells (chi bộ khu phố/thôn): the list a ward or the city sees, and one cell with its referred members.

The cell page is what a residential cell's secretary sees: the members introduced to the cell, whether they have
reported to it, and who left it in the last twelve months.
"""

from django.contrib.auth.decorators import login_required
from django.db.models import Exists, OuterRef
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import path
from django.utils import timezone
from django_tables2 import RequestConfig

from members.filters import CellFilter
from members.selectors import (
    a_year_before,
    cell_departed_referrals,
    cell_meeting_overview,
    cell_placed_referrals,
    residential_cell_wards,
    residential_cells_with_counts,
    residential_cells_writable_by,
    visible_residential_cells,
)
from members.selectors.meetings import with_missed_meetings
from members.tables import CellTable
from members.views.organisation_options import organisation_options


@login_required
def cell_list(request: HttpRequest) -> HttpResponse:
    day = timezone.localdate()
    wards = residential_cell_wards(request.user)
    cell_filter = CellFilter(
        request.GET,
        queryset=residential_cells_with_counts(request.user, day=day),
        wards=wards,
        day=day,
        request=request,
    )
    if options := organisation_options(request, cell_filter):
        return options
    table = CellTable(cell_filter.qs, day=day)
    RequestConfig(request, paginate={"per_page": 50}).configure(table)
    return render(
        request,
        "members/cell_list.html",
        {"filter": cell_filter, "table": table, "day": day, "show_filter": len(wards[:2]) > 1},
    )


@login_required
def cell_detail(request: HttpRequest, pk: int) -> HttpResponse:
    day = timezone.localdate()
    can_record = Exists(residential_cells_writable_by(request.user).filter(pk=OuterRef("pk")))
    cell = get_object_or_404(
        visible_residential_cells(request.user).select_related("parent").annotate(can_record=can_record), pk=pk
    )
    half_years = cell_meeting_overview(request.user, cell, day=day)
    # The irregular attendees are placed referrals with a miss: read with them, not in a query of their own
    # (``cell_irregular_attendees``, the same rows, its own scope, placement and misses subqueries planned again).
    placed = list(with_missed_meetings(cell_placed_referrals(request.user, cell, day=day), day.year, day))
    taking_part = [referral for referral in placed if referral.activities_exempt_since is None]
    exempt = [referral for referral in placed if referral.activities_exempt_since is not None]
    return render(
        request,
        "members/cell_detail.html",
        {
            "cell": cell,
            "day": day,
            "placed": taking_part,
            "exempt": exempt,
            "not_reported": sum(1 for r in placed if r.reported_on is None or r.reported_on > day),
            "departed": list(cell_departed_referrals(request.user, cell, day=day)),
            "departed_since": a_year_before(day),
            # The cell's meetings: its half-years (latest first) and the members who missed one this year.
            "half_years": half_years,
            "missed_half_years": sum(1 for h in half_years if h.missed),
            "periodic_this_year": sum(len(h.periodic) for h in half_years if h.half_year.year == day.year),
            "irregular": [referral for referral in placed if referral.missed_meetings],
        },
    )


urlpatterns = [
    path("cells/", cell_list, name="cell-list"),
    path("cells/<int:pk>/", cell_detail, name="cell-detail"),
]
