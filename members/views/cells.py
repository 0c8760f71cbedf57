"""Residential cells (chi bộ khu phố/thôn): the list a ward or the city sees, and one cell with its referred members.

The cell page is what a residential cell's secretary sees: the members introduced to the cell, whether they have
reported to it, and who left it in the last twelve months.
"""

import django_filters
import django_tables2 as tables
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django_tables2 import RequestConfig

from branches.models import Organisation
from members.selectors import (
    a_year_before,
    cell_departed_referrals,
    cell_placed_referrals,
    residential_cell_wards,
    residential_cells_with_counts,
    visible_residential_cells,
)


class CellFilter(django_filters.FilterSet):
    ward = django_filters.ModelChoiceFilter(
        label=_("Ward"), field_name="parent", queryset=Organisation.objects.none(), empty_label=_("All wards")
    )

    class Meta:
        model = Organisation
        fields = ["ward"]

    def __init__(self, *args, wards, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["ward"].queryset = wards


class CellTable(tables.Table):
    name = tables.Column(verbose_name=_("Residential cell"), order_by=("name",))
    ward = tables.Column(verbose_name=_("Ward"), accessor="parent__name", order_by=("parent__name", "name"))
    placed_members = tables.Column(
        verbose_name=_("Referred members placed"), attrs={"td": {"class": "text-end"}, "th": {"class": "text-end"}}
    )
    awaiting_report = tables.Column(
        verbose_name=_("Not reported yet"), attrs={"td": {"class": "text-end"}, "th": {"class": "text-end"}}
    )
    own_members = tables.Column(
        verbose_name=_("Members of the cell"), attrs={"td": {"class": "text-end"}, "th": {"class": "text-end"}}
    )

    class Meta:
        attrs = {"class": "table table-sm table-hover align-middle mb-0", "id": "cell-table"}
        row_attrs = {"data-cell": lambda record: record.code}
        empty_text = _("No residential cell.")

    def __init__(self, *args, day, **kwargs):
        super().__init__(*args, **kwargs)
        self.day = day

    def render_name(self, record: Organisation, value: str):
        link = format_html('<a href="{}">{}</a>', reverse("members:cell-detail", args=[record.pk]), value)
        if record.is_valid_on(self.day):
            return link
        return format_html('{} <span class="badge text-bg-light border">{}</span>', link, _("no longer exists"))

    def render_awaiting_report(self, value: int):
        if value:
            return format_html('<span class="badge text-bg-warning">{}</span>', value)
        return value


@login_required
def cell_list(request: HttpRequest) -> HttpResponse:
    day = timezone.localdate()
    wards = residential_cell_wards(request.user)
    cell_filter = CellFilter(request.GET, queryset=residential_cells_with_counts(request.user, day=day), wards=wards)
    table = CellTable(cell_filter.qs, day=day)
    RequestConfig(request, paginate={"per_page": 50}).configure(table)
    return render(
        request,
        "members/cell_list.html",
        {"filter": cell_filter, "table": table, "day": day, "show_filter": len(wards) > 1},
    )


@login_required
def cell_detail(request: HttpRequest, pk: int) -> HttpResponse:
    day = timezone.localdate()
    cell = get_object_or_404(visible_residential_cells(request.user).select_related("parent"), pk=pk)
    placed = list(cell_placed_referrals(request.user, cell, day=day))
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
        },
    )


urlpatterns = [
    path("cells/", cell_list, name="cell-list"),
    path("cells/<int:pk>/", cell_detail, name="cell-detail"),
]
