"""The figures a city committee watches, as of any day, for any organisation and everything under it.

One definition per figure: the dashboard, the JSON API, the ``figures`` command and the yearly workbook all call the
functions of this module. Each function takes ``(organisation, as_of)`` (and a year where the figure is yearly) and
returns plain dataclasses of numbers computed by the database in a fixed number of queries, whatever the size of the
data. The conditions themselves (who is a member, eligible, introduced on a day...) are the models' (``member_on_q``,
``eligible_q``, ``active_q``, ...), so a list of people and the count of the same people cannot disagree.

A thing counts on day D when it had started on or before D and had not ended on or before D. The subtree of an
organisation is the organisation and everything under it; outside organisations are never in a subtree.
"""

import dataclasses
import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Exists, OuterRef, Q, Sum, Value
from django.db.models.expressions import CombinedExpression

from branches.models import Organisation
from branches.selectors import root_of
from dongha76.db import subquery_count
from members.models import CommentRound, Meeting, Member, Referral, ResidenceComment, YearEndRating
from members.models.member import NOT_WORKPLACE_HOMES, eligible_q, exempt_on_q, member_on_q, working_on_q
from members.models.referral import (
    active_q,
    awaiting_placement_q,
    awaiting_reception_q,
    received_q,
    stalled_q,
)
from members.periods import HalfYear
from members.selectors.comments import due_condition
from members.selectors.meetings import irregular_in, with_attendance_figures

Kind = Organisation.Kind


def referral_rate(introduced: int, eligible: int) -> Decimal | None:
    """100 × introduced / eligible, rounded half up to one decimal; None when nobody is eligible."""
    if not eligible:
        return None
    return (Decimal(100) * introduced / eligible).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _under(field: str, organisation: Organisation) -> Q:
    return Q(**{f"{field}__path__startswith": organisation.path})


# -- the seed table and the handovers ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Headline:
    members: int
    grassroots_organisations: int
    subordinate_cells: int
    residential_cells: int
    eligible: int
    exempt_from_introduction: int
    introduced: int
    referral_rate: Decimal | None
    received: int
    received_from_outside: int
    awaiting_reception: int
    awaiting_placement: int
    stalled: int


def headline(organisation: Organisation, as_of: datetime.date) -> Headline:
    """The seed article's table and the handovers between workplace and ward (four queries)."""
    organisations = (
        Organisation.objects.subtree(organisation)
        .valid_on(as_of)
        .aggregate(
            grassroots_organisations=Count("pk", filter=Q(kind__in=Organisation.GRASSROOTS_KINDS)),
            subordinate_cells=Count("pk", filter=Q(kind__in=Organisation.SUBORDINATE_CELL_KINDS)),
            residential_cells=Count("pk", filter=Q(kind=Kind.RESIDENTIAL_CELL)),
        )
    )
    introduced_on_day = Q(Exists(Referral.objects.filter(active_q(as_of), member=OuterRef("pk"))))
    people = (
        Member.objects.in_subtree(organisation)
        .filter(member_on_q(as_of))
        .aggregate(
            members=Count("pk"),
            eligible=Count("pk", filter=eligible_q(as_of)),
            introduced=Count("pk", filter=eligible_q(as_of) & introduced_on_day),
            exempt_from_introduction=Count(
                "pk",
                filter=working_on_q(as_of)
                & ~Q(home_organisation__kind__in=NOT_WORKPLACE_HOMES)
                & exempt_on_q(as_of, "introduction"),
            ),
        )
    )
    addressed = _under("receiving_ward", organisation)
    in_the_tree = Q(member__home_organisation__path__startswith=root_of(organisation).path)
    # Handovers concern both sides: referrals addressed to the subtree's wards or issued by its organisations.
    handovers = Referral.objects.filter(addressed | _under("issuing_organisation", organisation)).aggregate(
        received=Count("pk", filter=addressed & received_q(as_of) & in_the_tree),
        received_from_outside=Count(
            "pk", filter=addressed & received_q(as_of) & Q(member__home_organisation__kind=Kind.OUTSIDE)
        ),
        awaiting_reception=Count("pk", filter=awaiting_reception_q(as_of)),
        awaiting_placement=Count("pk", filter=awaiting_placement_q(as_of)),
        stalled=Count("pk", filter=stalled_q(as_of)),
    )
    return Headline(
        **organisations,
        **people,
        referral_rate=referral_rate(people["introduced"], people["eligible"]),
        **handovers,
    )


# -- meetings ------------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class HalfYearMeetings:
    half_year: str  # "2018-H1"
    cells_due: int  # residential cells that existed and should have met
    cells_held: int  # of them, those that held a periodic meeting counting for the half-year (by as_of)


@dataclasses.dataclass(frozen=True)
class MeetingFigures:
    year: int
    half_years: list[HalfYearMeetings]
    attendance_expected: int  # members expected at the periodic meetings held (not exempt), summed over meetings
    attendance_present: int
    attendance_rate: Decimal | None
    irregular_attendees: int


def meetings(organisation: Organisation, as_of: datetime.date) -> MeetingFigures:
    """The half-years of the year of ``as_of`` up to it, attendance at periodic meetings, irregular attendees."""
    year = as_of.year
    halves = [HalfYear(year, 1)] + ([HalfYear(year, 2)] if as_of >= HalfYear(year, 2).first_day else [])
    cells = Organisation.objects.subtree(organisation).filter(kind=Kind.RESIDENTIAL_CELL)
    half_years = []
    for half in halves:
        held = Meeting.objects.filter(
            residential_cell=OuterRef("pk"),
            kind=Meeting.Kind.PERIODIC,
            year=half.year,
            half=half.half,
            held_on__lte=as_of,
        )
        counts = cells.valid_on(min(half.last_day, as_of)).aggregate(
            due=Count("pk"), held=Count("pk", filter=Q(Exists(held)))
        )
        half_years.append(
            HalfYearMeetings(half_year=f"{half.year}-H{half.half}", cells_due=counts["due"], cells_held=counts["held"])
        )
    # Attendance as the sheets count it: of the members expected at each periodic meeting, those present.
    attendance = with_attendance_figures(
        Meeting.objects.filter(
            _under("residential_cell", organisation), kind=Meeting.Kind.PERIODIC, year=year, held_on__lte=as_of
        )
    ).aggregate(expected=Sum("expected_count"), present=Sum("present_count"))
    expected, present = attendance["expected"] or 0, attendance["present"] or 0
    irregular = (
        irregular_in(Referral.objects.filter(_under("residential_cell", organisation)), year, as_of)
        .values("member")
        .distinct()
        .count()
    )
    rate = None
    if expected:
        rate = (Decimal(100) * present / expected).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return MeetingFigures(
        year=year,
        half_years=half_years,
        attendance_expected=expected,
        attendance_present=present,
        attendance_rate=rate,
        irregular_attendees=irregular,
    )


# -- residence comments ----------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CommentFigures:
    year: int
    deadline: datetime.date
    due: int
    written: int
    sent: int
    received: int
    late: int  # sent after the deadline
    missing: int  # due, not written, and the deadline has passed
    verdicts_by_rating: dict[str, dict[str, int]]  # year-end level (or "none") -> verdict -> members


def comment_deadline(organisation: Organisation, year: int) -> datetime.date:
    root = root_of(organisation)
    recorded = CommentRound.objects.filter(organisation=root, year=year).values_list("deadline", flat=True).first()
    return recorded or CommentRound.default_deadline(year)


def comments(organisation: Organisation, year: int, as_of: datetime.date) -> CommentFigures:
    """The comment round of ``year`` as it stood on ``as_of``, for the cells of the subtree and its members."""
    deadline = comment_deadline(organisation, year)
    due_day = min(deadline, as_of)
    scope = _under("residential_cell", organisation) | _under("member__home_organisation", organisation)

    def comment(**conditions):
        return Q(
            Exists(
                ResidenceComment.objects.filter(member=OuterRef("member"), year=year, written_on__lte=as_of).filter(
                    **conditions
                )
            )
        )

    counts = (
        Referral.objects.filter(scope)
        .filter(due_condition(due_day))
        .aggregate(
            due=Count("member", distinct=True),
            written=Count("member", distinct=True, filter=comment()),
            sent=Count("member", distinct=True, filter=comment(sent_on__lte=as_of)),
            received=Count("member", distinct=True, filter=comment(received_on__lte=as_of)),
            late=Count("member", distinct=True, filter=comment(sent_on__gt=deadline, sent_on__lte=as_of)),
        )
    )
    missing = counts["due"] - counts["written"] if as_of > deadline else 0
    level = YearEndRating.objects.filter(member=OuterRef("member"), year=year, decided_on__lte=as_of).values("level")
    grid: dict[str, dict[str, int]] = {}
    rows = (
        ResidenceComment.objects.filter(
            _under("residential_cell", organisation) | _under("member__home_organisation", organisation),
            year=year,
            written_on__lte=as_of,
        )
        .annotate(level=level[:1])
        .values("level", "verdict")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in rows:
        grid.setdefault(row["level"] or "none", {})[row["verdict"]] = row["n"]
    return CommentFigures(year=year, deadline=deadline, missing=missing, verdicts_by_rating=grid, **counts)


# -- tracking-book activity ----------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class OrganisationRef:
    code: str
    name: str


@dataclasses.dataclass(frozen=True)
class TrackingBookActivity:
    year: int
    committees_without_introductions: list[OrganisationRef]
    wards_without_receptions: list[OrganisationRef]


def tracking_book_activity(organisation: Organisation, year: int, as_of: datetime.date) -> TrackingBookActivity:
    """Workplace committees with eligible members and no introduction recorded in the year; wards with referrals
    waiting for them during the year and no reception recorded in it (two queries)."""
    first, last = datetime.date(year, 1, 1), min(datetime.date(year, 12, 31), as_of)
    grassroots = Organisation.objects.subtree(organisation).valid_on(last)
    eligible_members = Member.objects.filter(eligible_q(last), home_organisation__path__startswith=OuterRef("path"))
    introduced_in_year = Referral.objects.filter(
        issuing_organisation__path__startswith=OuterRef("path"), introduced_on__gte=first, introduced_on__lte=last
    )
    committees = (
        grassroots.filter(kind__in=[Kind.COMMITTEE, Kind.GRASSROOTS_CELL])
        .filter(Exists(eligible_members))
        .exclude(Exists(introduced_in_year))
        .order_by("path")
    )
    # Waiting on some day of the year: introduced by its end, not received before it began, not ended on or before
    # its first day.
    waiting_in_year = Referral.objects.filter(receiving_ward=OuterRef("pk"), introduced_on__lte=last).filter(
        Q(received_on__isnull=True) | Q(received_on__gte=first), Q(ended_on__isnull=True) | Q(ended_on__gt=first)
    )
    received_in_year = Referral.objects.filter(
        receiving_ward=OuterRef("pk"), received_on__gte=first, received_on__lte=last
    )
    wards = (
        grassroots.filter(kind=Kind.WARD)
        .filter(Exists(waiting_in_year))
        .exclude(Exists(received_in_year))
        .order_by("path")
    )
    return TrackingBookActivity(
        year=year,
        committees_without_introductions=[OrganisationRef(o.code, o.name) for o in committees],
        wards_without_receptions=[OrganisationRef(o.code, o.name) for o in wards],
    )


# -- breakdowns ----------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class GrassrootsRow:
    code: str
    name: str
    kind: str
    sector: str
    members: int
    eligible: int
    introduced: int
    referral_rate: Decimal | None
    received: int
    received_from_outside: int
    stalled: int
    missed_half_years: int  # its residential cells × half-years of the year already over, without a periodic meeting
    late_comments: int  # comments of the year on its cells' members, sent after the deadline


def by_grassroots_organisation(organisation: Organisation, as_of: datetime.date) -> list[GrassrootsRow]:
    """One row per grassroots organisation of the subtree existing on ``as_of`` (one query)."""
    root_path = root_of(organisation).path
    members = Member.objects.filter(member_on_q(as_of), home_organisation__path__startswith=OuterRef("path"))
    introduced = Exists(Referral.objects.filter(active_q(as_of), member=OuterRef("pk")))
    addressed = Referral.objects.filter(received_q(as_of), receiving_ward__path__startswith=OuterRef("path"))
    involved = Referral.objects.filter(
        Q(receiving_ward__path__startswith=OuterRef("path"))
        | Q(issuing_organisation__path__startswith=OuterRef("path"))
    )
    missed: Value | CombinedExpression = Value(0)
    for half in (HalfYear(as_of.year, 1), HalfYear(as_of.year, 2)):
        if half.last_day >= as_of:
            continue  # not over yet
        held = Meeting.objects.filter(
            residential_cell=OuterRef("pk"), kind=Meeting.Kind.PERIODIC, year=half.year, half=half.half
        ).filter(held_on__lte=as_of)
        cells = (
            Organisation.objects.valid_on(half.last_day)
            .filter(kind=Kind.RESIDENTIAL_CELL, path__startswith=OuterRef("path"))
            .exclude(Exists(held))
        )
        missed = missed + subquery_count(cells)
    deadline = comment_deadline(organisation, as_of.year)
    late = ResidenceComment.objects.filter(
        residential_cell__path__startswith=OuterRef("path"), year=as_of.year, sent_on__gt=deadline, sent_on__lte=as_of
    )
    rows = (
        Organisation.objects.subtree(organisation)
        .valid_on(as_of)
        .filter(kind__in=Organisation.GRASSROOTS_KINDS)
        .annotate(
            n_missed=missed,
            n_late=subquery_count(late),
            n_members=subquery_count(members),
            n_eligible=subquery_count(members.filter(eligible_q(as_of))),
            n_introduced=subquery_count(members.filter(eligible_q(as_of)).filter(introduced)),
            n_received=subquery_count(addressed.filter(member__home_organisation__path__startswith=root_path)),
            n_received_from_outside=subquery_count(addressed.filter(member__home_organisation__kind=Kind.OUTSIDE)),
            n_stalled=subquery_count(involved.filter(stalled_q(as_of))),
        )
        .order_by("path")
    )
    return [
        GrassrootsRow(
            code=row.code,
            name=row.name,
            kind=row.kind,
            sector=row.sector,
            members=row.n_members,
            eligible=row.n_eligible,
            introduced=row.n_introduced,
            referral_rate=referral_rate(row.n_introduced, row.n_eligible),
            received=row.n_received,
            received_from_outside=row.n_received_from_outside,
            stalled=row.n_stalled,
            missed_half_years=row.n_missed,
            late_comments=row.n_late,
        )
        for row in rows
    ]


@dataclasses.dataclass(frozen=True)
class SectorRow:
    sector: str
    eligible: int
    introduced: int
    referral_rate: Decimal | None


def by_sector(organisation: Organisation, as_of: datetime.date) -> list[SectorRow]:
    """Eligible and introduced members by the sector of their workplace (one query)."""
    introduced = Q(Exists(Referral.objects.filter(active_q(as_of), member=OuterRef("pk"))))
    rows = (
        Member.objects.in_subtree(organisation)
        .filter(eligible_q(as_of))
        .values("home_organisation__sector")
        .annotate(eligible=Count("pk"), introduced=Count("pk", filter=introduced))
        .order_by("home_organisation__sector")
    )
    return [
        SectorRow(
            sector=row["home_organisation__sector"],
            eligible=row["eligible"],
            introduced=row["introduced"],
            referral_rate=referral_rate(row["introduced"], row["eligible"]),
        )
        for row in rows
    ]


@dataclasses.dataclass(frozen=True)
class ResidenceRow:
    code: str
    name: str
    kind: str  # ward or residential_cell
    parent_code: str
    received: int
    received_from_outside: int
    awaiting_reception: int
    awaiting_placement: int
    placed: int


def by_ward_and_cell(organisation: Organisation, as_of: datetime.date) -> list[ResidenceRow]:
    """Each ward of the subtree and each of its residential cells, existing on ``as_of`` (one query)."""
    root_path = root_of(organisation).path
    to_ward = Referral.objects.filter(receiving_ward=OuterRef("pk"))
    in_cell = Referral.objects.filter(residential_cell=OuterRef("pk"))
    rows = (
        Organisation.objects.subtree(organisation)
        .valid_on(as_of)
        .filter(kind__in=[Kind.WARD, Kind.RESIDENTIAL_CELL])
        .annotate(
            n_received=subquery_count(
                to_ward.filter(received_q(as_of), member__home_organisation__path__startswith=root_path)
            ),
            n_outside=subquery_count(to_ward.filter(received_q(as_of), member__home_organisation__kind=Kind.OUTSIDE)),
            n_awaiting_reception=subquery_count(to_ward.filter(awaiting_reception_q(as_of))),
            n_awaiting_placement=subquery_count(to_ward.filter(awaiting_placement_q(as_of))),
            n_placed=subquery_count(in_cell.filter(active_q(as_of), placed_on__lte=as_of)),
        )
        .select_related("parent")
        .order_by("path")
    )
    return [
        ResidenceRow(
            code=row.code,
            name=row.name,
            kind=row.kind,
            parent_code=row.parent.code if row.parent else "",
            received=row.n_received,
            received_from_outside=row.n_outside,
            awaiting_reception=row.n_awaiting_reception,
            awaiting_placement=row.n_awaiting_placement,
            placed=row.n_placed,
        )
        for row in rows
    ]


def endings_by_reason(organisation: Organisation, as_of: datetime.date) -> dict[str, int]:
    """Referrals of the subtree (either side) that ended in the year of ``as_of``, up to it, by reason."""
    rows = (
        Referral.objects.filter(_under("receiving_ward", organisation) | _under("issuing_organisation", organisation))
        .filter(ended_on__gte=datetime.date(as_of.year, 1, 1), ended_on__lte=as_of)
        .values("end_reason")
        .annotate(n=Count("pk"))
        .order_by("end_reason")
    )
    return {row["end_reason"]: row["n"] for row in rows}
