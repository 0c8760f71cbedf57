"""The figures for the logged-in user's organisations: as JSON (users' scripts use it) and as the dashboard."""

import dataclasses
import datetime
import functools
from urllib.parse import urlencode

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Prefetch, Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from branches.access import access_for
from branches.models import Organisation, Restructure
from branches.selectors import visible_organisations
from dongha76.periods import FIRST_DAY, PeriodError, parse_iso_day, parse_year
from members.forms.common import date_field
from members.periods import HalfYear
from members.selectors import FIRST_COMMENT_YEAR, comment_years
from reports import charts, snapshots
from reports.report import build_report, report_as_json


def organisation_from_query(request: HttpRequest) -> Organisation:
    """The organisation ``?org=CODE`` names, in the user's scope: 404 outside it (``organisation_of``)."""
    return organisation_of(visible_organisations(access_for(request.user)), request.GET.get("org", ""))


def organisation_of(organisations, code: str) -> Organisation:
    """The organisation of ``organisations`` (the user's scope) with ``code``: 404 outside it, like an unknown code or
    one no code can be (PostgreSQL refuses a NUL character in a query: a 500 the fuzz test found)."""
    if "\x00" in code:
        raise Http404
    return get_object_or_404(organisations, code=code)


@login_required
@require_GET
def figures_api(request: HttpRequest) -> JsonResponse:
    """``GET /reports/api/figures/?org=CODE&as_of=YYYY-MM-DD[&year=YYYY]``; an organisation outside the user's scope,
    like an unknown one, is 404."""
    organisation = organisation_from_query(request)
    try:
        as_of = parse_iso_day(request.GET["as_of"]) if "as_of" in request.GET else timezone.localdate()
        if as_of is None:
            raise PeriodError(_("as_of must be a date YYYY-MM-DD and year a number."))
        year = parse_year(request.GET.get("year"))
    except PeriodError as error:
        return HttpResponseBadRequest(error.message, content_type="text/plain; charset=utf-8")
    if year is not None and not FIRST_COMMENT_YEAR <= year <= as_of.year + 1:
        return HttpResponseBadRequest(
            _("year must be the year of a round of comments, from %(first)s to the year after as_of.")
            % {"first": FIRST_COMMENT_YEAR},
            content_type="text/plain; charset=utf-8",
        )
    report = build_report(organisation, as_of, year=year)
    return JsonResponse(report_as_json(report), json_dumps_params={"ensure_ascii": False})


# -- the dashboard -------------------------------------------------------------------------------------------------

TREND_YEARS = 5
GRASSROOTS_PER_PAGE = 50
GAPS_SHOWN = 10  # the tracking-book gaps named on the dashboard; their own page lists them all
GAPS_PER_PAGE = 50
Kind = Organisation.Kind
WORKPLACE_SIDE_KINDS = (Kind.COMMITTEE, Kind.GRASSROOTS_CELL, Kind.OUTSIDE)


class DashboardForm(forms.Form):
    """The GET form of the dashboard: the as-of day (empty: today) and the year of the comment round (empty: the
    year of the as-of day)."""

    as_of = date_field(gettext_lazy("As of"), required=False, initial_today=False)
    year = forms.TypedChoiceField(
        label=gettext_lazy("Comment round of"), coerce=parse_year, required=False, empty_value=None
    )

    def __init__(self, *args, today: datetime.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        self.fields["year"].choices = [("", _("The year of the as-of date"))] + [
            (year, str(year)) for year in comment_years(today)
        ]

    def clean_as_of(self):
        day = self.cleaned_data.get("as_of")
        if day is not None and not FIRST_DAY <= day <= self.today:
            raise forms.ValidationError(
                _("Choose a day between %(first)s and today.") % {"first": FIRST_DAY.strftime("%d/%m/%Y")}
            )
        return day


@dataclasses.dataclass(frozen=True)
class Figure:
    """A number on the dashboard: its label, its value, the list behind it (if any) and whether it calls for
    attention."""

    key: str
    label: str
    value: object
    href: str = ""
    attention: bool = False
    suffix: str = ""


def _link(name: str, *args, **params) -> str:
    """The URL of a list with its filters (those whose value is None are left out)."""
    query = urlencode({key: value for key, value in params.items() if value is not None})
    return _path(name, args, get_script_prefix()) + (f"?{query}" if query else "")


@functools.lru_cache(maxsize=256)
def _path(name: str, args: tuple, script_prefix: str) -> str:
    """``reverse(name, args=args)``, once: city staff's dashboard links each of its 50 rows' numbers to a list, and
    reversing its 1,585 links was a sixth of the page's time under the profiler. The lists are few and their
    arguments are years; the script prefix (a deployment under a path) is part of the key, as it is of the URL."""
    return reverse(name, args=args)


def _referral_side(kind: str, pk: int) -> dict[str, int]:
    """The referral list's filter matching an organisation's handovers, as the figures count them: issued by it or
    addressed to its wards (``concerning``); none for the root (the user's scope) or a cell."""
    if kind == Kind.WARD or kind in WORKPLACE_SIDE_KINDS:
        return {"concerning": pk}
    return {}


def _comment_side(kind: str, pk: int) -> dict[str, int]:
    """The comment list's filter matching the organisation's comment figures: due for members placed in its cells
    or whose home is in it."""
    return {"due_under": pk}


def _cells_link(organisation: Organisation, **params) -> str:
    """The cell list of the organisation's residential cells: all of them for the root, a ward's own; none for a
    cell (its own dashboard) or a workplace (it has none)."""
    if organisation.kind == Kind.ROOT:
        return _link("members:cell-list", **params)
    if organisation.kind == Kind.WARD:
        return _link("members:cell-list", ward=organisation.pk, **params)
    return ""


def _received_link(kind: str, pk: int) -> str:
    """Received counts the referrals addressed to the organisation's wards: the city's, or a ward's own."""
    if kind == Kind.ROOT:
        return _link("members:referral-list", state="received")
    if kind == Kind.WARD:
        return _link("members:referral-list", state="received", receiving_ward=pk)
    return ""


def _members_of(organisation: Organisation) -> dict[str, int | None]:
    return {"organisation": None if organisation.kind == Kind.ROOT else organisation.pk}


def _headline_figures(report, organisation: Organisation) -> list[Figure]:
    h = report.headline
    referrals = _referral_side(organisation.kind, organisation.pk)
    not_introduced = h.eligible - h.introduced
    return [
        Figure("members", _("Party members"), h.members, _link("members:member-list", **_members_of(organisation))),
        Figure("grassroots_organisations", _("Grassroots organisations"), h.grassroots_organisations, "#grassroots"),
        Figure("subordinate_cells", _("Cells under grassroots committees"), h.subordinate_cells),
        Figure("residential_cells", _("of which residential cells"), h.residential_cells, _cells_link(organisation)),
        Figure(
            "eligible",
            _("Working members to introduce"),
            h.eligible,
            _link("members:member-list", introduction="eligible", **_members_of(organisation)),
        ),
        Figure(
            "introduced",
            _("Introduced to their residence"),
            h.introduced,
            _link("members:member-list", introduction="introduced", **_members_of(organisation)),
        ),
        Figure("referral_rate", _("Referral rate"), h.referral_rate, suffix="%"),
        Figure(
            "not_introduced",
            _("Eligible, not introduced"),
            not_introduced,
            _link("members:member-list", referral_state="not_introduced", **_members_of(organisation)),
            attention=not_introduced > 0,
        ),
        Figure(
            "received", _("Received by ward committees"), h.received, _received_link(organisation.kind, organisation.pk)
        ),
        Figure("received_from_outside", _("Received: members of outside organisations"), h.received_from_outside),
        Figure(
            "awaiting_reception",
            _("Introduced, awaiting reception"),
            h.awaiting_reception,
            _link("members:referral-list", state="awaiting_reception", **referrals),
        ),
        Figure(
            "awaiting_placement",
            _("Received, awaiting placement"),
            h.awaiting_placement,
            _link("members:referral-list", state="awaiting_placement", **referrals),
            attention=h.awaiting_placement > 0,
        ),
        Figure(
            "stalled",
            _("Stalled: not received after 30 days"),
            h.stalled,
            _link("members:referral-list", state="stalled", **referrals),
            attention=h.stalled > 0,
        ),
    ]


def _worst_first(row) -> tuple:
    """The lowest rate first (nobody eligible: last), then the most stalled referrals, the most missed meetings, the
    most late comments, then by name."""
    return (
        row.referral_rate is None,
        row.referral_rate or 0,
        -row.stalled,
        -row.missed_half_years,
        -row.late_comments,
        row.name,
    )


def _past_half_years(report) -> list[tuple[HalfYear, int, int]]:
    """The half-years of the as-of year that had ended by the as-of day: (half-year, cells due, cells held)."""
    result = []
    for half in report.meetings.half_years:
        year, number = half.half_year.split("-H")
        period = HalfYear(int(year), int(number))
        if period.last_day < report.as_of:  # over: as the breakdown's missed meetings count it
            result.append((period, half.cells_due, half.cells_held))
    return result


def _restructures_of(organisation: Organisation) -> list[Restructure]:
    """The restructures the organisation ended, changed or started in, newest first (its "Tái cơ cấu" section)."""
    return list(
        Restructure.objects.filter(Q(predecessors=organisation) | Q(successors=organisation))
        .distinct()
        .select_related("recorded_by")
        .prefetch_related(
            Prefetch("predecessors", queryset=Organisation.objects.order_by("code")),
            Prefetch("successors", queryset=Organisation.objects.order_by("code")),
        )
        .order_by("-effective_on", "-pk")
    )


def _day_and_year(request: HttpRequest, today: datetime.date) -> tuple[DashboardForm, datetime.date, int | None]:
    """The dashboard's GET form, its as-of day and its comment round's year. A wrong field shows its error; the valid
    ones are used, and a wrong as-of day falls back to today."""
    form = DashboardForm(request.GET or None, today=today)
    as_of, year = today, None
    if form.is_bound:
        form.is_valid()
        as_of = form.cleaned_data.get("as_of") or today
        year = form.cleaned_data.get("year")
    return form, as_of, year


def _carried(as_of: datetime.date, year: int | None, today: datetime.date) -> str:
    """The query that keeps a page's day and year on the links to the other figure pages ("" for today's)."""
    params = {"as_of": as_of.strftime("%d/%m/%Y") if as_of != today else None, "year": year}
    return urlencode({key: value for key, value in params.items() if value is not None})


def _grassroots_pks(organisations, organisation: Organisation, codes) -> dict[str, tuple[int, str]]:
    """The pks and kinds of the grassroots organisations of the subtree with these codes, in the user's scope (one
    query), for their links: only the codes a page shows, as a nation has 52,000."""
    return {
        code: (pk, kind)
        for code, pk, kind in organisations.filter(
            path__startswith=organisation.path, kind__in=Organisation.GRASSROOTS_KINDS, code__in=set(codes)
        ).values_list("code", "pk", "kind")
    }


def _books(refs, known: dict[str, tuple[int, str]], year: int) -> list[dict[str, str]]:
    """The tracking-book gaps' names, each with the link to its tracking book of the year."""
    return [
        {
            "name": ref.name,
            "code": ref.code,
            "href": reverse("members:tracking-book", args=[known[ref.code][0], year]) if ref.code in known else "",
        }
        for ref in refs
    ]


def _dashboard_page(request: HttpRequest, organisations, organisation: Organisation) -> HttpResponse:
    today = timezone.localdate()
    form, as_of, year = _day_and_year(request, today)
    # The trend's headlines (31 December of the years before) and a past as-of day's: from their snapshots, in one
    # query (computed and stored once); today's is the report's own (``build_report``).
    years = [y for y in range(as_of.year - TREND_YEARS + 1, as_of.year) if y >= FIRST_DAY.year]
    trend_days = [datetime.date(y, 12, 31) for y in years]
    headlines = snapshots.headlines_on(organisation, [*trend_days, *([as_of] if as_of < today else [])])
    report = build_report(organisation, as_of, year=year, breakdowns=False, headline=headlines.get(as_of))
    carried = _carried(as_of, year, today)
    # The lists show today: the numbers of another day link nowhere (the note above the figures says so).
    live = as_of == today
    past = _past_half_years(report)
    # The cells that missed the meeting of a half-year already over: a cell list when exactly one is over (the
    # number counts cells); two half-years count a cell twice, so each half-year's number has its own link.
    missed = f"{past[0][0].year}-{past[0][0].half}" if len(past) == 1 else None
    # The grassroots organisations, weakest first, a page at a time: a province has a thousand, whose rows, links and
    # bars would make the page megabytes long and take seconds to draw. The headline's count and ``#grassroots``
    # still count them all.
    weakest_first = sorted(report.by_grassroots_organisation, key=_worst_first)
    grassroots_page = Paginator(weakest_first, GRASSROOTS_PER_PAGE).get_page(request.GET.get("page"))
    # The tracking-book gaps: their counts, the first few names, and all of them a page at a time on their own page
    # (a nation has thousands: the names alone made the dashboard a megabyte).
    book = report.tracking_book
    gaps = {"committees": book.committees_without_introductions, "wards": book.wards_without_receptions}
    known = _grassroots_pks(
        organisations,
        organisation,
        [row.code for row in grassroots_page.object_list]
        + [ref.code for refs in gaps.values() for ref in refs[:GAPS_SHOWN]],
    )
    rows = []
    for row in grassroots_page.object_list:
        pk, kind = known.get(row.code, (None, row.kind))
        lists = pk and live
        members_of = {"organisation": pk}
        rows.append(
            {
                "row": row,
                "href": reverse("reports:dashboard-org", args=[row.code]) + (f"?{carried}" if carried else ""),
                "members_href": _link("members:member-list", **members_of) if lists else "",
                "eligible_href": _link("members:member-list", introduction="eligible", **members_of) if lists else "",
                "introduced_href": _link("members:member-list", introduction="introduced", **members_of)
                if lists
                else "",
                "not_introduced": row.eligible - row.introduced,
                "not_introduced_href": _link("members:member-list", referral_state="not_introduced", **members_of)
                if lists
                else "",
                "received_href": _received_link(kind, pk) if lists else "",
                "stalled_href": _link("members:referral-list", state="stalled", **_referral_side(kind, pk))
                if lists
                else "",
                "missed_href": _link("members:cell-list", ward=pk, missed=missed)
                if lists and missed and kind == Kind.WARD
                else "",
                "late_href": _link("members:comment-list", as_of.year, state="late", due_under=pk)
                if lists and kind == Kind.WARD
                else "",
            }
        )

    referrals = _referral_side(organisation.kind, organisation.pk)
    comments = _comment_side(organisation.kind, organisation.pk)
    weak = {
        "books": {
            which: {
                "count": len(refs),
                "shown": _books(refs[:GAPS_SHOWN], known, report.year),
                "href": reverse("reports:tracking-book-gaps", args=[organisation.code, which])
                + (f"?{carried}" if carried else ""),
            }
            for which, refs in gaps.items()
        },
        "stalled_href": _link("members:referral-list", state="stalled", **referrals),
        "awaiting_placement_href": _link("members:referral-list", state="awaiting_placement", **referrals),
        "stuck": report.headline.stalled + report.headline.awaiting_placement,
        "irregular_href": _link("members:member-list", status="all", irregular_in=organisation.pk),
        "cells_href": _cells_link(organisation, missed=missed) if missed else "",
        "missed_halves": [
            (str(period), due - held, _cells_link(organisation, missed=f"{period.year}-{period.half}"))
            for period, due, held in past
        ],
        "cells_not_met": sum(due - held for _period, due, held in past),
        "late_href": _link("members:comment-list", report.year, state="late", **comments),
        "missing_href": _link("members:comment-list", report.year, state="not_written", **comments),
        "due_href": _link("members:comment-list", report.year, **comments),
    }
    figures_shown = _headline_figures(report, organisation)
    if not live:
        figures_shown = [dataclasses.replace(f, href=f.href if f.href.startswith("#") else "") for f in figures_shown]
        weak = {key: ("" if key.endswith("_href") else value) for key, value in weak.items()} | {
            "missed_halves": [(label, n, "") for label, n, _href in weak["missed_halves"]]
        }

    # The trend: 31 December of the years before, and the as-of day itself.
    trend = [charts.Point(str(day.year), headlines[day].referral_rate) for day in trend_days] + [
        charts.Point(as_of.strftime("%d/%m/%Y"), report.headline.referral_rate)
    ]

    ancestor_pks = [int(step) for step in organisation.path.strip("/").split("/") if step][:-1]
    ancestors = list(organisations.filter(pk__in=ancestor_pks).order_by("path")) if ancestor_pks else []
    day = as_of.strftime("%d/%m/%Y")
    context = {
        "form": form,
        "organisation": organisation,
        "ancestors": ancestors,
        "carried": carried,
        "pager_query": f"{carried}&" if carried else "",  # the grassroots pager keeps the day and the year
        "selected_year": str(year) if year else "",
        "report": report,
        "as_of": as_of,
        "today": today,
        "year": report.year,
        "figures": figures_shown,
        "rows": rows,
        "grassroots_page": grassroots_page,
        "weak": weak,
        "restructures": _restructures_of(organisation),
        # the record's page is the city staff's (the restructure pages), the section is everyone's
        "restructure_links": access_for(request.user).is_city(write=True),
        "workbook_href": _link("reports:workbook", org=organisation.code, year=as_of.year, as_of=as_of.isoformat()),
        "api_href": _link(
            "reports:figures-api", org=organisation.code, as_of=as_of.isoformat(), year=year or report.year
        ),
        "rate_chart": charts.percent_bars(
            [
                charts.Bar(
                    entry["row"].name,
                    entry["row"].referral_rate,
                    href=entry["href"],
                    hint=_("%(name)s: %(introduced)s of %(eligible)s introduced")
                    % {
                        "name": entry["row"].name,
                        "introduced": entry["row"].introduced,
                        "eligible": entry["row"].eligible,
                    },
                )
                for entry in rows
            ],
            title=_("Referral rate per grassroots organisation"),
            desc=_("Introduced working members out of those to introduce, in percent, as of %(day)s, lowest first.")
            % {"day": day},
            empty=_("No grassroots organisation."),
        ),
        "meetings_chart": charts.paired_columns(
            [
                charts.Pair(str(HalfYear(*map(int, h.half_year.split("-H")))), h.cells_due, h.cells_held)
                for h in report.meetings.half_years
            ],
            first_label=_("Cells that should meet"),
            second_label=_("Cells that met"),
            title=_("Periodic meetings of residential cells per half-year"),
            desc=_(
                "Residential cells that should have held their periodic meeting and those that held it, "
                "%(year)s, as of %(day)s."
            )
            % {"year": report.meetings.year, "day": day},
            empty=_("No residential cell."),
        ),
        "trend_chart": charts.percent_line(
            trend,
            title=_("Referral rate over the last years"),
            desc=_("The referral rate on 31 December of each year, and on %(day)s for the last point.") % {"day": day},
        ),
    }
    return render(request, "reports/dashboard.html", context)


def _visible(request: HttpRequest):
    return visible_organisations(access_for(request.user))


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    """The dashboard of the user's first post's organisation (the root for city staff)."""
    access = access_for(request.user)
    organisations = visible_organisations(access)
    if access.is_city():
        organisation = organisations.filter(kind=Kind.ROOT).order_by("path").first()
    else:
        organisation = next(iter(access.organisations), None)
    if organisation is None:
        raise Http404
    return _dashboard_page(request, organisations, organisation)


@login_required
@require_GET
def dashboard_org(request: HttpRequest, code: str) -> HttpResponse:
    """The same dashboard for another organisation of the user's scope (drill-down); 404 outside it."""
    organisations = _visible(request)
    return _dashboard_page(request, organisations, organisation_of(organisations, code))


# -- the tracking-book gaps ------------------------------------------------------------------------------------------

# The dashboard's two lists of weak spot 1, by the name in their URL: the field of ``figures.TrackingBookActivity``
# and what each line of the list is.
GAP_LISTS = {
    "committees": (
        "committees_without_introductions",
        gettext_lazy("Workplace committees with members to introduce and no introduction in %(year)s"),
    ),
    "wards": (
        "wards_without_receptions",
        gettext_lazy("Wards with referrals addressed to them and no reception in %(year)s"),
    ),
}


@login_required
@require_GET
def tracking_book_gaps(request: HttpRequest, code: str, which: str) -> HttpResponse:
    """All the committees (or wards) of the dashboard's weak spot 1 for an organisation of the user's scope, a page at
    a time, each with its tracking book; as of the dashboard's day and year. 404 outside the scope."""
    organisations = _visible(request)
    organisation = organisation_of(organisations, code)
    if which not in GAP_LISTS:
        raise Http404
    field, title = GAP_LISTS[which]
    today = timezone.localdate()
    form, as_of, year = _day_and_year(request, today)
    carried = _carried(as_of, year, today)
    year = year or as_of.year
    refs = getattr(snapshots.tracking_book_on(organisation, year, as_of), field)
    page = Paginator(refs, GAPS_PER_PAGE).get_page(request.GET.get("page"))
    known = _grassroots_pks(organisations, organisation, [ref.code for ref in page.object_list])
    return render(
        request,
        "reports/tracking_book_gaps.html",
        {
            "form": form,
            "organisation": organisation,
            "which": which,
            "title": title % {"year": year},
            "as_of": as_of,
            "year": year,
            "page": page,
            "entries": _books(page.object_list, known, year),
            "dashboard_href": reverse("reports:dashboard-org", args=[organisation.code])
            + (f"?{carried}" if carried else ""),
            "pager_query": f"{carried}&" if carried else "",
        },
    )
