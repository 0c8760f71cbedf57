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
import enum
from decimal import ROUND_HALF_UP, Decimal

from django.db import connections, router
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    F,
    FilteredRelation,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.lookups import IsNull

from branches.models import Organisation, OrganisationAncestor
from branches.selectors import name_on_expression
from members.models import (
    Attendance,
    CommentRound,
    Exemption,
    Meeting,
    Member,
    MemberHome,
    Placement,
    Referral,
    ResidenceComment,
)
from members.models.history import home_on_q, in_force_q, placed_in_q
from members.models.member import (
    NOT_WORKPLACE_HOMES,
    member_on_q,
    working_on_q,
)
from members.models.referral import (
    active_q,
    awaiting_placement_q,
    awaiting_reception_q,
    placed_q,
    received_q,
    stalled_q,
    ward_on_expression,
    ward_under_q,
    with_placement_on,
)
from members.periods import HalfYear
from members.selectors.comments import due_condition
from members.selectors.meetings import irregular_in
from members.selectors.paging import KeysIn

Kind = Organisation.Kind


def referral_rate(introduced: int, eligible: int) -> Decimal | None:
    """100 × introduced / eligible, rounded half up to one decimal; None when nobody is eligible."""
    if not eligible:
        return None
    return (Decimal(100) * introduced / eligible).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _under(field: str, organisation: Organisation) -> Q:
    return Q(**{f"{field}__path__startswith": organisation.path})


# -- which organisation a referral or a member counts under ----------------------------------------------------------
# A referral concerns two organisations: the one that issued it (the workplace side) and the ward it is addressed to
# (the residence side); a member counts under their home. Each side is written once, here, as a condition relative to
# the path of an organisation: ``path`` is the path itself (the organisation of a figure) or ``OuterRef("path")`` (each
# row of a breakdown, in a subquery correlated with the organisation row). ``day`` is the day of the figure. The
# headline, the breakdowns and the yearly workbook all use them, so a breakdown's rows add up to the organisation.

PathRef = str | OuterRef


def _deeper(path: PathRef) -> PathRef:
    """``path`` seen from a subquery one level further in."""
    return path if isinstance(path, str) else OuterRef(path)


def _issued_under(path: PathRef, day: datetime.date) -> Q:
    """On a referral: issued by the organisation at ``path`` or one under it (the workplace side)."""
    return Q(issuing_organisation__path__startswith=path)


def _received_under(path: PathRef, day: datetime.date) -> Q:
    """On a referral: its ward on ``day`` is the organisation at ``path`` or one under it (the residence side)."""
    return ward_under_q(day, path)


def _home_under(path: PathRef, day: datetime.date, prefix: str = "") -> Q:
    """On a member (or through ``prefix``, e.g. ``"member__"`` on a referral): their home on ``day`` is the
    organisation at ``path`` or one under it."""
    return home_on_q(day, Q(path__startswith=_deeper(path)), prefix)


def _placed_under(path: PathRef, day: datetime.date) -> Q:
    """On a referral: placed, on ``day``, in a residential cell at ``path`` or under it."""
    return placed_in_q(day, Q(path__startswith=_deeper(path)))


def _from_outside(
    referrals: QuerySet, organisation: Organisation, as_of: datetime.date, *, by_member: bool = False
) -> tuple[QuerySet, Q]:
    """``referrals``, and the condition on them that their member's home on ``as_of`` is not in the subtree (an
    outside organisation, another part of the tree, or no home that day): "received from outside". Returns the
    queryset to count on (joined when the condition needs it) and the condition.

    Below the root, an ``IN`` over the subtree's homes, read once and hashed. At the root that ``IN`` would list every
    member's home; there the shape follows the tree's size (``_shape_of``: ``HASHED_AT_MOST`` organisations, about
    25 homes each, is what a hash holds in ``work_mem``). In a tree whose homes can be hashed, each referral asks for
    its member's home (an EXISTS by the member's key, which PostgreSQL answers from the homes hashed once). In a
    larger one, every referral is joined to its member's home of the day (a member has one home a day: no row is
    repeated), a hash join that spills to disk in batches, where the EXISTS became millions of index lookups. At the
    nation's root (load 2.5-6): by_ward_and_cell 42.2 -> 28.8 s, the headline's handovers 29.0-35.3 -> 19.8-21.3 s;
    at the province's root the join was slower (by_ward_and_cell 0.72 s against 0.58 s). ``by_member``: the referrals
    are a few members' (``member_counts``), whose homes are looked up by key whatever the tree's size."""
    if organisation.kind != Kind.ROOT:
        return referrals, ~_home_under(organisation.path, as_of, prefix="member__")
    if by_member or _shape_of(organisation) is not Shape.JOINED:
        home = MemberHome.objects.filter(
            in_force_q(as_of), organisation__path__startswith=organisation.path, member=OuterRef("member")
        )
        return referrals, ~Q(Exists(home))
    joined = referrals.annotate(
        home_then=FilteredRelation("member__homes", condition=in_force_q(as_of, prefix="member__homes__"))
    )
    return joined, Q(home_then__isnull=True) | ~Q(home_then__organisation__path__startswith=organisation.path)


def _candidates(organisation: Organisation, *, issued: bool = True, addressed: bool = True) -> Q:
    """On a referral: one of those that may concern the subtree (a superset, narrowed by the exact conditions it is
    used with), as one ``IN`` over a UNION of index scans: issued by an organisation of the subtree; addressed to a
    ward of the subtree or to one whose successor (or the successor's successor) is in it; placed at some time in a
    residential cell of a ward of the subtree. An OR of the same conditions on joined rows reads every referral.
    For the root, no condition: every referral may concern it, and the UNION would only list them all, to be hashed
    and joined back (a third of the root's time on these queries)."""
    if organisation.kind == Kind.ROOT:
        return Q()
    subtree = _subtree_pks(organisation)
    parts = []
    if issued:
        parts.append(Referral.objects.filter(issuing_organisation__in=subtree).values("pk"))
    if addressed:
        # One part per way of being addressed to the subtree, each estimated on its own: an OR of the three reads,
        # to the planner, as half the wards of the tree, and the referrals of a ward as thousands.
        wards = OrganisationAncestor.objects.filter(ancestor=organisation, descendant__kind=Kind.WARD)
        parts.append(Referral.objects.filter(receiving_ward__in=wards.values("descendant_id")).values("pk"))
        for successor in ("successor", "successor__successor"):
            merged = Organisation.objects.filter(kind=Kind.WARD, **{f"{successor}__in": subtree}).values("pk")
            parts.append(Referral.objects.filter(receiving_ward__in=merged).values("pk"))
        cells = Organisation.objects.filter(parent__in=subtree, kind=Kind.RESIDENTIAL_CELL).values("pk")
        parts.append(Placement.objects.filter(residential_cell__in=cells).values("referral_id"))
    first, *others = [part.order_by() for part in parts]
    return Q(pk__in=first.union(*others) if others else first)


def _totals(queryset: QuerySet, **aggregates) -> dict:
    """``queryset.aggregate(**aggregates)``, as the one row of a grouped query without a group (the same SQL). Django's
    ``aggregate()`` rewrites each aggregate against those before it, hashing every node of their conditions again at
    each node: half of a ward's call, for the handovers' conditions, before the database is even asked."""
    rows = queryset.annotate(whole=Value(1)).values("whole").annotate(**aggregates).values(*aggregates).order_by()
    return next(iter(rows))


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
    awaiting_reception_addressed: int  # of them, addressed to the subtree's wards (the home page's "awaiting")
    awaiting_placement: int
    stalled: int  # issued by the subtree or addressed to its wards
    stalled_issued: int  # of them, issued by the subtree (the workplace side)
    stalled_addressed: int  # of them, addressed to the subtree's wards (the residence side)


def _homes_on(organisation: Organisation, as_of: datetime.date) -> QuerySet:
    """The home periods in force on ``as_of`` in the subtree, of members that day: one row per member of the subtree
    (a member has one home a day), so that the member figures read each member once, with their home joined."""
    return MemberHome.objects.filter(in_force_q(as_of), organisation__in=_subtree_pks(organisation)).filter(
        member_on_q(as_of, prefix="member__")
    )


NOT_AT_WORK, EXEMPT, ELIGIBLE, INTRODUCED = 0, 1, 2, 3


def _people_status(as_of: datetime.date, *, whole: bool) -> Case:
    """On ``_homes_on``: where each member stands on ``as_of``, one value per member: not at work; working at a
    workplace and exempt from introduction; eligible (``eligible_q``, its workplace condition read on the home joined)
    and not introduced; eligible and introduced. Counted by grouping on it, so that each member's exemption and
    referral are looked up once (a count per figure would look the exemption up once per figure).

    For the root (``whole``), the exemption is an EXISTS, which PostgreSQL may hash (every exemption of the day read
    once, for every member). Below it, the first exemption found (a subquery with LIMIT, never hashed): a lookup per
    member of the subtree, where the hash read the nation's 44,000 exemptions of the day for a ward's 240 members."""
    exemptions = Exemption.objects.in_force_on(as_of).filter(
        member=OuterRef("member"), kind=Exemption.Kind.INTRODUCTION
    )
    exempt = Q(Exists(exemptions)) if whole else IsNull(Subquery(exemptions.order_by().values("pk")[:1]), False)
    at_work = working_on_q(as_of, prefix="member__") & ~Q(organisation__kind__in=NOT_WORKPLACE_HOMES)
    introduced = Q(Exists(Referral.objects.filter(active_q(as_of), member=OuterRef("member"))))
    return Case(
        When(~at_work, then=Value(NOT_AT_WORK)),
        When(exempt, then=Value(EXEMPT)),
        When(introduced, then=Value(INTRODUCED)),
        default=Value(ELIGIBLE),
        output_field=IntegerField(),
    )


def _people_by(
    homes: QuerySet, as_of: datetime.date, *fields: str, whole: bool, **expressions
) -> dict[tuple, dict[str, int]]:
    """Members, eligible, introduced of them and exempt from introduction, on ``homes`` (``_homes_on``) grouped by
    ``fields`` and ``expressions`` (one grouped query): the counts of each status added up in Python. ``whole``: the
    homes are the root's (``_people_status``)."""
    rows = (
        homes.annotate(status=_people_status(as_of, whole=whole), **expressions)
        .values(*fields, *expressions, "status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    people: dict[tuple, dict[str, int]] = {}
    for row in rows:
        counts = people.setdefault(
            tuple(row[name] for name in (*fields, *expressions)),
            dict.fromkeys(("members", "eligible", "introduced", "exempt_from_introduction"), 0),
        )
        status, n = row["status"], row["n"]
        counts["members"] += n
        counts["eligible"] += n if status in (ELIGIBLE, INTRODUCED) else 0
        counts["introduced"] += n if status == INTRODUCED else 0
        counts["exempt_from_introduction"] += n if status == EXEMPT else 0
    return people


PEOPLE_FIGURES = ("members", "eligible", "introduced", "exempt_from_introduction")
HANDOVER_FIGURES = (
    "received",
    "received_from_outside",
    "awaiting_reception",
    "awaiting_reception_addressed",
    "awaiting_placement",
    "stalled",
    "stalled_issued",
    "stalled_addressed",
)


def headline(organisation: Organisation, as_of: datetime.date) -> Headline:
    """The seed article's table and the handovers between workplace and ward (four queries)."""
    return headline_from(organisation, as_of, *member_counts(organisation, as_of))


def member_counts(
    organisation: Organisation, as_of: datetime.date, members: QuerySet | None = None
) -> tuple[dict[str, int], dict[str, int]]:
    """The headline's counts that add up member by member: the people (``PEOPLE_FIGURES``) and the handovers
    (``HANDOVER_FIGURES``, each referral counted with its member), two queries. ``members``: only these members (a
    subquery of their keys) and their referrals, for ``reports.steps``, which adds up what changed between two days;
    each member is then looked up by key, never the whole tree hashed."""
    homes = _homes_on(organisation, as_of)
    if members is not None:
        homes = homes.filter(member__in=members)
    whole = organisation.kind == Kind.ROOT and members is None
    people = _people_by(homes, as_of, whole=whole).get((), dict.fromkeys(PEOPLE_FIGURES, 0))
    return people, _handovers(organisation, as_of, members)


def headline_from(organisation: Organisation, as_of: datetime.date, people: dict, handovers: dict) -> Headline:
    """The headline of ``people`` and ``handovers`` (``member_counts``), with the subtree's organisations counted."""
    organisations = _totals(
        Organisation.objects.subtree(organisation).valid_on(as_of),
        grassroots_organisations=Count("pk", filter=Q(kind__in=Organisation.GRASSROOTS_KINDS)),
        subordinate_cells=Count("pk", filter=Q(kind__in=Organisation.SUBORDINATE_CELL_KINDS)),
        residential_cells=Count("pk", filter=Q(kind=Kind.RESIDENTIAL_CELL)),
    )
    return Headline(
        **organisations,
        **people,
        referral_rate=referral_rate(people["introduced"], people["eligible"]),
        **handovers,
    )


def _handovers(organisation: Organisation, as_of: datetime.date, members: QuerySet | None = None) -> dict[str, int]:
    # Handovers concern both sides: referrals addressed to the subtree's wards or issued by its organisations.
    # Received: every referral received by the subtree's wards, wherever the member works; from outside: of them,
    # those whose member's home that day is not in the subtree (an outside organisation or another part of the tree).
    addressed = _received_under(organisation.path, as_of)
    issued = _issued_under(organisation.path, as_of)
    referrals = with_placement_on(Referral.objects.all(), as_of).filter(_candidates(organisation))
    if members is not None:
        referrals = referrals.filter(member__in=members)
    referrals, from_outside = _from_outside(
        referrals.filter(addressed | issued), organisation, as_of, by_member=members is not None
    )
    handovers = _totals(
        referrals,
        received=Count("pk", filter=addressed & received_q(as_of)),
        received_from_outside=Count("pk", filter=addressed & received_q(as_of) & from_outside),
        awaiting_reception=Count("pk", filter=awaiting_reception_q(as_of)),
        awaiting_reception_addressed=Count("pk", filter=addressed & awaiting_reception_q(as_of)),
        awaiting_placement=Count("pk", filter=awaiting_placement_q(as_of)),
        stalled=Count("pk", filter=stalled_q(as_of)),
        stalled_issued=Count("pk", filter=issued & stalled_q(as_of)),
        stalled_addressed=Count("pk", filter=addressed & stalled_q(as_of)),
    )
    return handovers


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


@dataclasses.dataclass(frozen=True)
class AttendanceCounts:
    expected: int  # members expected at the periodic meetings (not exempt), summed over meetings
    present: int

    def __add__(self, other: "AttendanceCounts") -> "AttendanceCounts":
        return AttendanceCounts(self.expected + other.expected, self.present + other.present)


def attendance(
    organisation: Organisation, as_of: datetime.date, *, held_after: datetime.date | None = None
) -> AttendanceCounts:
    """The attendance at the periodic meetings of the subtree's cells counting for the year of ``as_of`` and held on
    or before it (and after ``held_after``, when given).

    Each meeting's expected and present members are read as of the meeting's own day, never as of ``as_of``: the
    attendance of a later day of the same year is that of an earlier one plus the meetings held in between
    (``reports.snapshots.meeting_counts_on`` carries it so)."""
    periodic = Meeting.objects.filter(
        residential_cell__in=_subtree_pks(organisation),
        kind=Meeting.Kind.PERIODIC,
        year=as_of.year,
        held_on__lte=as_of,
    )
    if held_after is not None:
        periodic = periodic.filter(held_on__gt=held_after)
    expected_rows, one_expected, is_present = with_expected_attendees(periodic)
    counts = _totals(expected_rows, expected=Count(one_expected), present=Count(one_expected, filter=is_present))
    return AttendanceCounts(expected=counts["expected"] or 0, present=counts["present"] or 0)


def irregular_attendees(organisation: Organisation, as_of: datetime.date, members: QuerySet | None = None) -> int:
    """The members placed in the subtree's cells on ``as_of`` who are irregular attendees of its year up to it
    (``members.selectors.meetings.irregular_in``); only of ``members`` (keys), when given."""
    referrals = Referral.objects.filter(placed_in_q(as_of, Q(path__startswith=organisation.path)))
    if members is not None:
        referrals = referrals.filter(member__in=members)
    return irregular_in(referrals, as_of.year, as_of).order_by().values("member").distinct().count()


@dataclasses.dataclass(frozen=True)
class MeetingCounts:
    """The figures of ``meetings`` that read every member of the subtree: what ``reports.snapshots`` stores."""

    attendance: AttendanceCounts
    irregular: int


def meeting_counts(organisation: Organisation, as_of: datetime.date) -> MeetingCounts:
    return MeetingCounts(attendance(organisation, as_of), irregular_attendees(organisation, as_of))


def meetings(
    organisation: Organisation,
    as_of: datetime.date,
    counted: MeetingCounts | None = None,
    half_years: list[HalfYearMeetings] | None = None,
) -> MeetingFigures:
    """The half-years of the year of ``as_of`` up to it (``half_year_meetings``, unless ``half_years`` gives them),
    attendance at periodic meetings and irregular attendees (``meeting_counts``, unless ``counted`` gives them)."""
    if half_years is None:
        half_years = half_year_meetings(organisation, as_of)
    if counted is None:
        counted = meeting_counts(organisation, as_of)
    expected, present = counted.attendance.expected, counted.attendance.present
    rate = None
    if expected:
        rate = (Decimal(100) * present / expected).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return MeetingFigures(
        year=as_of.year,
        half_years=half_years,
        attendance_expected=expected,
        attendance_present=present,
        attendance_rate=rate,
        irregular_attendees=counted.irregular,
    )


def half_year_meetings(organisation: Organisation, as_of: datetime.date) -> list[HalfYearMeetings]:
    """The residential cells of the subtree due to meet, and those that met, in each half-year of ``as_of``'s year up
    to it (one query)."""
    year = as_of.year
    halves = [HalfYear(year, 1)] + ([HalfYear(year, 2)] if as_of >= HalfYear(year, 2).first_day else [])
    # The half-years' cells in one pass over the subtree's cells: each half-year counts those existing on its last day
    # (or on ``as_of``).
    cell_counts = {}
    for half in halves:
        day = min(half.last_day, as_of)
        existing = Q(valid_from__lte=day) & (Q(valid_to__isnull=True) | Q(valid_to__gt=day))
        meeting = Meeting.objects.filter(
            residential_cell=OuterRef("pk"),
            kind=Meeting.Kind.PERIODIC,
            year=half.year,
            half=half.half,
            held_on__lte=as_of,
        )
        cell_counts[f"due{half.half}"] = Count("pk", filter=existing)
        cell_counts[f"held{half.half}"] = Count("pk", filter=existing & Q(Exists(meeting)))
    counts = _totals(Organisation.objects.subtree(organisation).filter(kind=Kind.RESIDENTIAL_CELL), **cell_counts)
    return [
        HalfYearMeetings(
            half_year=f"{half.year}-H{half.half}",
            cells_due=counts[f"due{half.half}"],
            cells_held=counts[f"held{half.half}"],
        )
        for half in halves
    ]


def with_expected_attendees(meetings: QuerySet) -> tuple[QuerySet, str, Q]:
    """Attendance as the sheets count it (``members.selectors.meetings.with_attendance_figures``): ``meetings``
    (periodic) joined to the members expected at each (the referrals placed in its cell on its day, not exempt from
    residence activities that day; a referral's placements never overlap), for one grouped pass over the meetings
    rather than a count per meeting. Returns the joined rows, the field that is one expected member (to count), and
    the condition that they were marked present.

    The meetings are joined to the placements on the cell's column (``Meeting.cell_placements``), not through the
    cell's row (``residential_cell__placements``): with that third table PostgreSQL planned the province root's
    count as a merge join reading every placement through the cell's index, a third slower (backend CPU 210-230 ms
    against 150-165 ms, the same numbers)."""
    placement, referral = "cell_placements__", "cell_placements__referral__"
    held_on = F("held_on")
    exempt = Exemption.objects.filter(
        started_on__lte=OuterRef("held_on"),
        member=OuterRef(f"{referral}member"),
        kind=Exemption.Kind.ACTIVITIES,
    ).filter(Q(ended_on__isnull=True) | Q(ended_on__gt=OuterRef("held_on")))
    # One lookup per expected member, answered from the attendance_present index alone (meeting, member where
    # present). PostgreSQL underestimates the rows (a third for each comparison of two tables' dates below: 1,136 at
    # the province's root where there are 72,376; extended statistics only see one table's columns), so an outer
    # join to the attendance is looked up by member then filtered by meeting: with the days' conditions moved into
    # the counts, estimated right, the root's query was a third faster (hashed) but a district's half as slow again.
    present = Attendance.objects.filter(
        meeting=OuterRef("pk"), member=OuterRef(f"{referral}member"), status=Attendance.Status.PRESENT
    )
    # One filter() call: every condition on the same placement and referral of the join.
    expected = meetings.filter(
        Q(**{f"{placement}ended_on__isnull": True}) | Q(**{f"{placement}ended_on__gt": held_on}),
        Q(**{f"{referral}ended_on__isnull": True}) | Q(**{f"{referral}ended_on__gt": held_on}),
        ~Q(Exists(exempt)),
        **{
            f"{placement}started_on__lte": held_on,
            f"{referral}introduced_on__lte": held_on,
            f"{referral}placed_on__lte": held_on,
        },
    )
    return expected, f"{placement}pk", Q(Exists(present))


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
    recorded = (
        CommentRound.objects.filter(organisation=_root_pk(organisation), year=year)
        .values_list("deadline", flat=True)
        .first()
    )
    return recorded or CommentRound.default_deadline(year)


def comments(
    organisation: Organisation, year: int, as_of: datetime.date, members: QuerySet | None = None
) -> CommentFigures:
    """The comment round of ``year`` as it stood on ``as_of``, for the cells of the subtree and its members (four
    queries: the deadline, the shape, the counts, the verdicts by rating).

    ``members`` (keys of members): only their part, each figure counting members (``reports.steps`` adds up
    parts)."""
    deadline = comment_deadline(organisation, year)
    due_day = min(deadline, as_of)
    shape = _shape_of(organisation)
    subtree = _subtree_pks(organisation)
    # Placed in a cell of the subtree, or a member of the subtree, on the day the comment was due.
    homes = MemberHome.objects.filter(in_force_q(due_day), organisation__in=subtree).values("member_id")
    placed = Placement.objects.filter(in_force_q(due_day), residential_cell__in=subtree).values("referral_id")
    conditions = _comment_conditions(year, as_of, deadline)
    due = _of_members(Referral.objects.filter(due_condition(due_day)), members)
    if shape is Shape.JOINED:
        counts = _comment_counts_joined(homes, placed, due, year, as_of, conditions)
    else:
        if members is not None:
            # A step's few members (``reports.steps``): each of their due referrals tested by two index lookups, not
            # the subtree's placements and homes read whole and hashed for them (the province's root: 55 of a step's
            # 57 ms, twice on the first view of city staff's dashboard after a write).
            placed_here = Exists(placed.filter(referral=OuterRef("pk")))
            home_here = Exists(homes.filter(member=OuterRef("member")))
            scope = Q(placed_here) | Q(home_here)
        elif shape is Shape.HASHED:
            # Every due referral read once, tested against the two subqueries hashed.
            scope = Q(pk__in=placed) | Q(member__in=homes)
        else:
            # An IN over a UNION of index scans from the subtree's rows: an OR of the two reads every due referral.
            scope = Q(pk__in=placed.order_by().union(Referral.objects.filter(member__in=homes).values("pk").order_by()))
        counts = _totals(
            _with_comment(due.filter(scope), year, as_of),
            **{key: Count("member", distinct=True, filter=q) for key, q in conditions.items()},
        )
    missing = counts["due"] - counts["written"] if as_of > deadline else 0
    grid: dict[str, dict[str, int]] = {}
    # The year's comments on the subtree's cells or its members, the same way; a UNION for a joined subtree too (at
    # the nation's root its two parts are hash joins): there the OR's member subquery (every member's home) is too
    # large to hash and would be read through for each comment of the year.
    of_year = _of_members(ResidenceComment.objects.filter(year=year, written_on__lte=as_of).order_by(), members)
    if shape is Shape.HASHED:
        commented = Q(residential_cell__in=subtree) | Q(member__in=homes)
    else:
        commented = Q(
            pk__in=of_year.filter(residential_cell__in=subtree)
            .values("pk")
            .union(of_year.filter(member__in=homes).values("pk"))
        )
    rows = (
        of_year.filter(commented)
        .annotate(
            rating=FilteredRelation(
                "member__ratings",
                condition=Q(member__ratings__year=year, member__ratings__decided_on__lte=as_of),
            )
        )
        .values("verdict", level=F("rating__level"))
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in rows:
        grid.setdefault(row["level"] or "none", {})[row["verdict"]] = row["n"]
    return CommentFigures(year=year, deadline=deadline, missing=missing, verdicts_by_rating=grid, **counts)


def _of_members(rows: QuerySet, members: QuerySet | None) -> QuerySet:
    """``rows`` (with a ``member``) of ``members`` only, or all of them when None."""
    return rows if members is None else rows.filter(member__in=members)


def _comment_counts_joined(
    homes: QuerySet, placed: QuerySet, due: QuerySet, year: int, as_of: datetime.date, conditions: dict
) -> dict[str, int]:
    """``comments``' counts for a large part of a large tree (``Shape.JOINED``): the members counted, as one UNION of
    two joins (the due referrals placed in its cells, the due referrals of its members: hash joins at the nation's
    root, index lookups for a province of it), each member once, joined to their comment (at most one a year): plain
    counts. An OR of the two subqueries reads every due referral of the tree (4.5 s for a province of the nation,
    1.25 s this way) and, past ``HASHED_AT_MOST``, tests each against two subqueries too large to hash (work_mem),
    each then read through for every due referral; and its COUNT(DISTINCT)s sort the due referrals five times (over
    12 minutes at the nation's root, 5.6 million members)."""
    due = due.order_by()
    counted = due.filter(pk__in=placed).values("member_id").union(due.filter(member__in=homes).values("member_id"))
    comment = FilteredRelation(
        "residence_comments",
        condition=Q(residence_comments__year=year, residence_comments__written_on__lte=as_of),
    )
    return _totals(
        Member.objects.filter(pk__in=counted).annotate(comment=comment),
        **{key: Count("pk", filter=q) for key, q in conditions.items()},
    )


# -- residence comments, side by side ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CommentCounts:
    due: int
    written: int
    sent: int
    received: int  # by the workplace
    late: int  # sent after the deadline
    missing: int  # due, not written, and the deadline has passed


@dataclasses.dataclass(frozen=True)
class CommentSides:
    """The comment round of a year counted on each side, so that a breakdown by organisation adds up on each (a
    member of a committee placed in a ward's cell counts once on each side, never twice on one)."""

    workplace: CommentCounts  # members whose home, on the day the comments were due, is in the subtree
    residence: CommentCounts  # members placed that day in a residential cell of the subtree (their ward's side)


def _with_comment(referrals: QuerySet, year: int, as_of: datetime.date) -> QuerySet:
    """``referrals`` joined to their member's comment of ``year`` written by ``as_of`` (``comment``; at most one: one
    comment per member and year): a join, where an EXISTS per figure would look each comment up four times. On the
    referral's ``member_id`` (``Referral.member_comments``), not through the member, which PostgreSQL would join too:
    the province root's comment counts read every member (a merge join on its key) for nothing."""
    return referrals.annotate(
        comment=FilteredRelation(
            "member_comments",
            condition=Q(member_comments__year=year, member_comments__written_on__lte=as_of),
        )
    )


def _comment_conditions(year: int, as_of: datetime.date, deadline: datetime.date) -> dict[str, Q | None]:
    """On a referral due for a comment, joined by ``_with_comment``: each count of ``CommentCounts`` but ``missing``
    (None: every due one)."""
    return {
        "due": None,
        "written": Q(comment__isnull=False),
        "sent": Q(comment__sent_on__lte=as_of),
        "received": Q(comment__received_on__lte=as_of),
        "late": Q(comment__sent_on__gt=deadline, comment__sent_on__lte=as_of),
    }


# The comment counts that add up member by member (``missing`` follows from them and the day: ``_comment_counts``).
COMMENT_COUNTS = ("due", "written", "sent", "received", "late")


def _comment_counts(counts: dict[str, int], as_of: datetime.date, deadline: datetime.date) -> CommentCounts:
    return CommentCounts(**counts, missing=counts["due"] - counts["written"] if as_of > deadline else 0)


def comment_sides(
    organisation: Organisation, year: int, as_of: datetime.date, members: QuerySet | None = None
) -> CommentSides:
    """The comment round of ``year`` as it stood on ``as_of`` (``comments``' definitions), for the members of the
    subtree and, apart, for the members placed in its residential cells (three queries: the deadline, each side).

    Below the root, ``_comment_sides_of``'s grouped shape (the due referrals joined to their home's, or cell's,
    organisation and that to its ancestors). At the root, where every row may count, nothing is grouped: each side's
    due referrals are found by a semi-join from the subtree's rows (its members' homes that day; its cells'
    placements that day), joined to their member's comment, and their members counted. Measured at the province's
    root (CPU of the app and its backend, parallel plans off, two runs): 175-180 ms grouped, 134-136 this way (the
    SQL 142-150); for a district, a tenth of it, the semi-joins read every home and placement: 63-69 ms against
    55-59 grouped. Counting from the members table instead (each member once, plain counts) read every member to
    semi-join them, which PostgreSQL ran in parallel with each worker hashing the subtree's homes again.

    ``members`` (keys of members): only their part (``comments``)."""
    deadline = comment_deadline(organisation, year)
    if organisation.kind != Kind.ROOT:
        return _comment_sides_of([organisation.pk], year, as_of, deadline, members)[organisation.pk]
    due_day = min(deadline, as_of)
    subtree = _subtree_pks(organisation)
    due = _with_comment(_of_members(Referral.objects.filter(due_condition(due_day)), members), year, as_of)
    homes = MemberHome.objects.filter(in_force_q(due_day), organisation__in=subtree).values("member_id")
    placed = Placement.objects.filter(in_force_q(due_day), residential_cell__in=subtree).values("referral_id")
    aggregates = {
        key: Count("member", distinct=True, filter=q) for key, q in _comment_conditions(year, as_of, deadline).items()
    }

    def counted(referrals: QuerySet) -> CommentCounts:
        return _comment_counts(_totals(referrals, **aggregates), as_of, deadline)

    return CommentSides(workplace=counted(due.filter(member__in=homes)), residence=counted(due.filter(pk__in=placed)))


def _comment_sides_of(
    pks: list[int], year: int, as_of: datetime.date, deadline: datetime.date, members: QuerySet | None = None
) -> dict[int, CommentSides]:
    """``CommentSides`` of each organisation of ``pks`` (two grouped queries whatever their number): the due
    referrals joined to their member's home, or their placement, on the day the comments were due, and from it to
    each organisation above (the ancestor relation). A member counts once per organisation and side."""
    empty = dict.fromkeys(_comment_conditions(year, as_of, deadline), 0)
    by_side = _comment_groups(pks, year, as_of, deadline, members)
    return {
        pk: CommentSides(
            workplace=_comment_counts(by_side["workplace"].get(pk, empty), as_of, deadline),
            residence=_comment_counts(by_side["residence"].get(pk, empty), as_of, deadline),
        )
        for pk in pks
    }


def _comment_groups(
    pks: list[int] | None, year: int, as_of: datetime.date, deadline: datetime.date, members: QuerySet | None = None
) -> dict[str, dict[int, dict[str, int]]]:
    """``_comment_sides_of``'s two grouped queries: by side ("workplace", "residence"), the comment counts (but
    ``missing``) of each organisation of ``pks`` (None: of every organisation) that has a due member."""
    due_day = min(deadline, as_of)
    conditions = _comment_conditions(year, as_of, deadline)
    due = _with_comment(_of_members(Referral.objects.filter(due_condition(due_day)), members), year, as_of)
    aggregates = {key: Count("member", distinct=True, filter=q) for key, q in conditions.items()}

    def grouped(referrals: QuerySet, ancestor: str) -> QuerySet:
        if pks is not None:
            referrals = referrals.filter(KeysIn(F(ancestor), pks))
        return referrals.values(side=F(ancestor)).annotate(**aggregates).order_by()

    workplace = grouped(
        due.annotate(
            home_then=FilteredRelation("member__homes", condition=in_force_q(due_day, prefix="member__homes__"))
        ),
        "home_then__organisation__ancestor_links__ancestor",
    )
    residence = grouped(
        due.annotate(placement_then=FilteredRelation("placements", condition=in_force_q(due_day, "placements__"))),
        "placement_then__residential_cell__ancestor_links__ancestor",
    )
    return {
        name: {row.pop("side"): row for row in rows}
        for name, rows in (("workplace", workplace), ("residence", residence))
    }


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


def _unless_first_found(found: Subquery, wanted: Subquery) -> Case:
    """True when the scalar subquery ``found`` finds no row and ``wanted`` finds one; ``wanted`` is run only when
    ``found`` found nothing. A CASE, since PostgreSQL reorders the terms of an AND by its estimates."""
    return Case(
        When(IsNull(found, False), then=Value(False)),
        default=IsNull(wanted, False),
        output_field=BooleanField(),
    )


def tracking_book_activity(organisation: Organisation, year: int, as_of: datetime.date) -> TrackingBookActivity:
    """Workplace committees with eligible members and no introduction recorded in the year; wards with referrals
    waiting for them during the year and no reception recorded in it (one query: the committees and the wards). Each
    committee asks whether one eligible member has a home under it (an EXISTS that stops at the first one, through
    the ancestor relation), not every eligible member of the subtree gathered and grouped by committee."""
    first, last = datetime.date(year, 1, 1), min(datetime.date(year, 12, 31), as_of)
    grassroots = Organisation.objects.subtree(organisation).valid_on(last)
    # Eligible as ``eligible_q`` says, its workplace condition read on the home joined: the home in force is the
    # member's only one that day.
    eligible_home = MemberHome.objects.filter(
        in_force_q(last),
        member_on_q(last, prefix="member__"),
        working_on_q(last, prefix="member__"),
        ~Q(organisation__kind__in=NOT_WORKPLACE_HOMES),
        ~Q(
            Exists(
                Exemption.objects.in_force_on(last).filter(member=OuterRef("member"), kind=Exemption.Kind.INTRODUCTION)
            )
        ),
        organisation__ancestor_links__ancestor=OuterRef("pk"),
    )
    # The issuers under the committee straight from the ancestor relation (no join to the organisations): each
    # committee's introductions of the year are then read through (issuer, introduced_on), its own rows only.
    introduced = Referral.objects.filter(
        introduced_on__gte=first,
        introduced_on__lte=last,
        issuing_organisation__in=OrganisationAncestor.objects.filter(ancestor=OuterRef(OuterRef("pk"))).values(
            "descendant_id"
        ),
    )
    # Scalar subqueries (the first eligible home, the first introduction found), not EXISTS: PostgreSQL turns an
    # EXISTS into a semi (anti) join, and with tens of committees it hashes every member's home of the tree, or reads
    # the whole year's referrals for each committee; a subquery with LIMIT stays a lookup per committee, through the
    # ancestor relation's index, that stops at the first row found.
    # The two in one CASE, the introduction first: an AND of them is reordered by the planner's estimates, which
    # look the eligible home up for every committee (at the nation's root 41,643, two in three with an introduction).
    # The introduction found is given by its issuer (never null there), which the (issuer, introduced_on) index holds:
    # an index-only lookup, where its pk made each committee's first one a read of the referrals' table too.
    committees = grassroots.filter(
        _unless_first_found(
            Subquery(introduced.order_by().values("issuing_organisation")[:1]),
            Subquery(eligible_home.order_by().values("pk")[:1]),
        ),
        kind__in=[Kind.COMMITTEE, Kind.GRASSROOTS_CELL],
    ).order_by()
    # A ward is listed when it received no one in the year and had referrals waiting for it on some day of the year
    # (introduced by its end, not received before it began, not ended on or before its first day). The receptions
    # first, the same CASE: they are an index-only lookup of (ward, received_on), and most wards have one, so the
    # waiting referrals, read from the table, are looked for in the few wards left (at the province's root 54 of 198:
    # the wards' half of the statement 2.9 -> 0.8 ms). As scalar subqueries they stay lookups at every size, where an
    # anti-join over the two index ranges hashed a sequential scan of every referral at the nation's root.
    received_in_year = Referral.objects.filter(
        receiving_ward=OuterRef("pk"), received_on__gte=first, received_on__lte=last
    )
    waiting_in_year = Referral.objects.filter(
        Q(received_on__isnull=True) | Q(received_on__gte=first),
        Q(ended_on__isnull=True) | Q(ended_on__gt=first),
        receiving_ward=OuterRef("pk"),
        introduced_on__lte=last,
    )
    wards = grassroots.filter(
        _unless_first_found(
            Subquery(received_in_year.order_by().values("receiving_ward")[:1]),
            Subquery(waiting_in_year.order_by().values("pk")[:1]),
        ),
        kind=Kind.WARD,
    ).order_by()
    # Both lists in one statement (UNION ALL of the two, each part planned on its own), told apart by their kind.
    fields = ("path", "kind", "code", "name")
    found = committees.values_list(*fields).union(wards.values_list(*fields), all=True).order_by("path")
    refs: dict[bool, list[OrganisationRef]] = {True: [], False: []}
    for _, kind, code, name in found:
        refs[kind == Kind.WARD].append(OrganisationRef(code, name))
    return TrackingBookActivity(
        year=year, committees_without_introductions=refs[False], wards_without_receptions=refs[True]
    )


# -- breakdowns ----------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class GrassrootsRow:
    code: str
    name: str
    kind: str
    sector: str
    members: int  # members whose home on the day is the organisation or under it; eligible, introduced: of them
    eligible: int
    introduced: int
    referral_rate: Decimal | None
    received: int  # received by its wards (the residence side)
    received_from_outside: int  # of them, members whose home is not in the subtree the breakdown is taken of
    stalled: int  # stalled referrals it issued or addressed to its wards (either side)
    missed_half_years: int  # its residential cells × half-years of the year already over, without a periodic meeting
    late_comments: int  # comments of the year on its cells' members, sent after the deadline
    stalled_issued: int  # stalled referrals it issued (the workplace side)
    stalled_addressed: int  # stalled referrals addressed to its wards (the residence side)


@dataclasses.dataclass(slots=True)
class _Row:
    """An organisation as a row of a breakdown reads it (``_rolled_up`` sets its counts, ``_grassroots_row`` reads
    them): read as a tuple, not as a model instance (51,912 instances took 0.36 s at the nation's root)."""

    pk: int
    code: str
    kind: str
    sector: str
    valid_to: datetime.date | None
    name_then: str  # the name it bore on the day
    n_members: int = 0
    n_eligible: int = 0
    n_introduced: int = 0
    n_received: int = 0
    n_received_from_outside: int = 0
    n_stalled: int = 0
    n_stalled_issued: int = 0
    n_stalled_addressed: int = 0
    n_missed: int = 0
    n_late: int = 0


def _rows_of(organisations: QuerySet, as_of: datetime.date) -> list[_Row]:
    """``organisations`` as rows (``_Row``) with their names on ``as_of``, in the tree's order."""
    fields = ("pk", "code", "kind", "sector", "valid_to")
    rows = organisations.annotate(name_then=name_on_expression(as_of)).order_by("path")
    return [_Row(*values) for values in rows.values_list(*fields, "name_then")]


def _rows_above(rows: list[int]) -> dict[int, list[int]]:
    """For each organisation of the subtrees of ``rows`` (their keys), the rows it stands under (itself included): one
    query on the ancestor relation, read through its index by ancestor. The rows' keys go to PostgreSQL as one array
    (``KeysIn``) and the links are read in one fetch: at the nation's root, 51,912 keys as as many parameters and
    196,245 links read through a cursor in chunks took 1.9-2.2 s, 0.9-1.3 s this way."""
    above: dict[int, list[int]] = {}
    if not rows:
        return above
    links = OrganisationAncestor.objects.filter(KeysIn(F("ancestor"), rows)).values_list("descendant_id", "ancestor_id")
    for descendant, ancestor in links:
        above.setdefault(descendant, []).append(ancestor)
    return above


def _root_pk(organisation: Organisation) -> int:
    """The key of the root of ``organisation``'s tree: the first step of its path (``root_of``), read without fetching
    the root."""
    return int(organisation.path.split("/")[0])


def _subtree_pks(organisation: Organisation) -> QuerySet:
    """The primary keys of the organisation and everything under it, as a subquery (the ancestor relation)."""
    return OrganisationAncestor.objects.filter(ancestor=organisation).values("descendant_id")


class Shape(enum.Enum):
    """How a figure's query finds the rows of a subtree (``_shape_of``)."""

    SUBTREE = "subtree"  # from the subtree's own rows: a UNION of index scans by its organisations' ids
    HASHED = "hashed"  # one pass over the tree's rows, each tested against the subtree's ids read once and hashed
    JOINED = "joined"  # the subtree's rows joined to the tree's (semi-joins, hashed or by index as the planner finds)


# Measured (docs/benchmarks.md, 04/12/2026), comments / endings in seconds, the shape chosen in brackets:
#   province (3,812 organisations): root [hashed] 0.12 / 0.011 (joined 0.33, subtree 0.12); district, 1/10 of it,
#   [hashed] 0.10 / 0.009 (subtree 0.14 / 0.041); ward, 1/380, [subtree] 0.017 / 0.014 (hashed 0.049 / 0.010);
#   nation (198,325): province, 1/63, [joined] 1.25 / 0.26 (subtree 3.2 / 0.38, hashed 4.5); district, 1/700,
#   [subtree] 0.29 / 0.045 (hashed 1.5 / 0.27); ward [subtree] 0.021 / 0.008 (hashed 1.6 / 0.32); root [joined].
# A subtree of at most 1/SUBTREE_SHARE of the tree's organisations starts from its own rows.
SUBTREE_SHARE = 100
# More than 1/HASHED_SHARE of the tree, and at most HASHED_AT_MOST organisations: one hashed pass over every row.
HASHED_SHARE = 25
# A subtree of more organisations than this has too many members' homes (about 25 an organisation) to hash in
# PostgreSQL's default memory for a hash (work_mem 4 MB × hash_mem_multiplier 2: about 200,000 keys, measured), with
# room for the planner's estimate; an unhashable subquery is searched again for every row it tests.
HASHED_AT_MOST = 5000


def _shape_of(organisation: Organisation) -> Shape:
    """The shape of the queries for ``organisation``'s subtree, by its share of the tree and its size, both counted in
    organisations (one query through the ancestor relation's index: the subtree's, then the tree's counted only up to
    ``SUBTREE_SHARE`` times as many, so that a ward's choice reads a few hundred index entries, not the nation's
    200,000). Every shape gives the same figures (tests/reports/test_figures_shapes.py)."""
    if organisation.pk == _root_pk(organisation):
        # The root's subtree is its whole tree, so only its size decides: counted no further than the limit (the
        # count of the whole subtree, then of the tree, read the nation's 198,325 index entries three times).
        limit = HASHED_AT_MOST + 1
        in_tree = OrganisationAncestor.objects.filter(ancestor=organisation).order_by()[:limit].count()
        return Shape.HASHED if in_tree <= HASHED_AT_MOST else Shape.JOINED
    in_subtree, in_tree = _organisations_counted(organisation, up_to=SUBTREE_SHARE)
    if in_subtree * SUBTREE_SHARE <= in_tree:
        return Shape.SUBTREE
    if in_subtree * HASHED_SHARE > in_tree and in_subtree <= HASHED_AT_MOST:
        return Shape.HASHED
    return Shape.JOINED


def _organisations_counted(organisation: Organisation, *, up_to: int) -> tuple[int, int]:
    """The organisations of ``organisation``'s subtree, and of its tree counted up to ``up_to`` times as many (one
    statement: a LIMIT computed from the subtree's count, which the ORM's slices, numbers known in Python, cannot
    say)."""
    database = connections[router.db_for_read(OrganisationAncestor)]  # the replica, for the figures read there
    quote = database.ops.quote_name
    table = quote(OrganisationAncestor._meta.db_table)
    ancestor = quote(OrganisationAncestor._meta.get_field("ancestor").column)
    subtree = f"SELECT COUNT(*) FROM {table} WHERE {ancestor} = %s"  # noqa: S608 (names from the model, values bound)
    with database.cursor() as cursor:
        cursor.execute(
            f"SELECT ({subtree}), (SELECT COUNT(*) FROM (SELECT 1 FROM {table} WHERE {ancestor} = %s "  # noqa: S608
            f"LIMIT ({subtree}) * %s) AS tree)",
            [organisation.pk, _root_pk(organisation), organisation.pk, up_to],
        )
        return cursor.fetchone()


def _missed_and_late(organisation: Organisation, as_of: datetime.date) -> tuple[dict[int, int], dict[int, int]]:
    """By residential cell of the subtree: the half-years of the year of ``as_of`` already over without a periodic
    meeting (the cell existing on the half-year's last day), and the comments of the year sent after the deadline
    (one grouped query each, two for the half-years at most)."""
    missed: dict[int, int] = {}
    for half in (HalfYear(as_of.year, 1), HalfYear(as_of.year, 2)):
        if half.last_day >= as_of:
            continue  # not over yet
        held = Meeting.objects.filter(
            residential_cell=OuterRef("pk"), kind=Meeting.Kind.PERIODIC, year=half.year, half=half.half
        ).filter(held_on__lte=as_of)
        cells = (
            Organisation.objects.valid_on(half.last_day)
            .filter(kind=Kind.RESIDENTIAL_CELL, pk__in=_subtree_pks(organisation))
            .exclude(Exists(held))
            .values_list("pk", flat=True)
        )
        for cell in cells:
            missed[cell] = missed.get(cell, 0) + 1
    deadline = comment_deadline(organisation, as_of.year)
    late = dict(
        ResidenceComment.objects.filter(
            residential_cell__in=_subtree_pks(organisation),
            year=as_of.year,
            sent_on__gt=deadline,
            sent_on__lte=as_of,
        )
        .values("residential_cell")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("residential_cell", "n")
    )
    return missed, late


PEOPLE_COUNTS = ("members", "eligible", "introduced")
REFERRAL_COUNTS = ("received", "received_from_outside", "stalled")


def _people_by_home(
    organisation: Organisation, as_of: datetime.date, members: QuerySet | None = None
) -> dict[int, dict[str, int]]:
    """Members of the subtree on ``as_of`` counted by their home that day (one grouped query). Eligible as
    ``eligible_q`` says, read on the home period itself: the home in force is the only one that day. ``members``:
    only these (``member_counts``)."""
    people = _people_by(
        _of_members(_homes_on(organisation, as_of), members),
        as_of,
        "organisation",
        whole=organisation.kind == Kind.ROOT and members is None,
    )
    return {home: counts for (home,), counts in people.items()}


def _referrals_by_side(
    organisation: Organisation, as_of: datetime.date, members: QuerySet | None = None
) -> dict[tuple, dict]:
    """Referrals of the subtree (issued by it or with their ward in it on ``as_of``) counted by their issuer (None
    unless stalled), their ward that day (None unless received or stalled), and whether they are issued under the
    subtree and addressed to it (one grouped query). ``members``: only their referrals."""
    referrals = (
        with_placement_on(_of_members(Referral.objects.all(), members), as_of)
        .filter(_candidates(organisation))
        .filter(_issued_under(organisation.path, as_of) | _received_under(organisation.path, as_of))
    )
    referrals, from_outside = _from_outside(referrals, organisation, as_of)
    # ``issued`` and ``addressed``: the headline's two sides, grouped on (a row counts a referral issued under it, or
    # addressed to it: ``ROW_COUNTS``).
    sides = {
        "issued": Case(When(_issued_under(organisation.path, as_of), then=Value(True)), default=Value(False)),
        "addressed": Case(When(_received_under(organisation.path, as_of), then=Value(True)), default=Value(False)),
    }
    # The issuer is read only for the stalled referrals (the only count the breakdown adds up by issuer), the ward
    # only for the received and the stalled: null otherwise, so that the others fall into a few groups (by ward and
    # side) rather than one per issuer and ward. At the province's root the groups were 44,379 for 57,157 referrals,
    # sorted on disk and turned into Python dicts one by one.
    stalled = stalled_q(as_of)
    keys = {
        "issuer": Case(When(stalled, then=F("issuing_organisation")), default=None),
        "ward_on_day": Case(When(received_q(as_of) | stalled, then=ward_on_expression(as_of)), default=None),
    }
    rows = (
        referrals.annotate(**keys, **sides)
        .values(*keys, *sides)
        .annotate(
            received=Count("pk", filter=received_q(as_of)),
            received_from_outside=Count("pk", filter=received_q(as_of) & from_outside),
            stalled=Count("pk", filter=stalled),
            awaiting_reception=Count("pk", filter=awaiting_reception_q(as_of)),
            awaiting_placement=Count("pk", filter=awaiting_placement_q(as_of)),
        )
        .order_by()
    )
    return {(row.pop("issuer"), row.pop("ward_on_day"), row.pop("issued"), row.pop("addressed")): row for row in rows}


# The counts of a grassroots row added up from the groups of the organisations under it (``_counts_by_row``).
ROW_COUNTS = (*PEOPLE_COUNTS, *REFERRAL_COUNTS, "issued", "addressed")


def _counts_by_row(
    above: dict[int, list[int]], people: dict[int, dict[str, int]], referrals: dict[tuple, dict]
) -> dict[int, dict[str, int]]:
    """The people (by home) and the referrals (by issuer and ward) added to each row above them (``above``: the rows
    each organisation stands under); only the rows something was added to."""
    sums: dict[int, dict[str, int]] = {}

    def row(pk: int) -> dict[str, int]:
        return sums.setdefault(pk, dict.fromkeys(ROW_COUNTS, 0))

    for home, counts in people.items():
        for pk in above.get(home, ()):
            for name in PEOPLE_COUNTS:
                row(pk)[name] += counts[name]
    for (issuer, ward, _issued, _addressed), counts in referrals.items():
        issued = set(above.get(issuer, ()))
        addressed = set(above.get(ward, ())) if ward is not None else set()
        for pk in addressed:
            row(pk)["received"] += counts["received"]
            row(pk)["received_from_outside"] += counts["received_from_outside"]
            row(pk)["addressed"] += counts["stalled"]
        for pk in issued:
            row(pk)["issued"] += counts["stalled"]
        for pk in issued | addressed:
            row(pk)["stalled"] += counts["stalled"]
    return sums


def _grassroots_rows(organisation: Organisation, as_of: datetime.date) -> QuerySet:
    """The rows of ``by_grassroots_organisation``: the grassroots organisations of the subtree existing on ``as_of``."""
    return Organisation.objects.subtree(organisation).valid_on(as_of).filter(kind__in=Organisation.GRASSROOTS_KINDS)


def _above_among(keys: set, rows: QuerySet | set[int]) -> dict[int, list[int]]:
    """For each organisation of ``keys``, the ``rows`` (organisations, or their keys when the caller has read them) it
    stands under: one query on the ancestor relation by descendant, for a few organisations (``_rows_above`` reads
    every row's subtree). Read keys are looked up here: as an array in the query, 51,912 of them took 0.1 s."""
    keys.discard(None)
    above: dict[int, list[int]] = {}
    if not keys:
        return above
    links = OrganisationAncestor.objects.filter(KeysIn(F("descendant"), sorted(keys)))
    if isinstance(rows, QuerySet):
        links = links.filter(ancestor__in=rows.values("pk"))
    for descendant, ancestor in links.values_list("descendant_id", "ancestor_id"):
        if isinstance(rows, QuerySet) or ancestor in rows:
            above.setdefault(descendant, []).append(ancestor)
    return above


def grassroots_counts(
    organisation: Organisation, as_of: datetime.date, members: QuerySet | None = None
) -> dict[int, dict[str, int]]:
    """``by_grassroots_organisation``'s counts that add up member by member (``ROW_COUNTS``), by row key, only the
    rows with a count: the members by home and the referrals by issuer and ward, each added to the rows above
    (four queries). ``members``: only their part, for ``reports.steps``, the rows above found for their
    organisations alone."""
    people = _people_by_home(organisation, as_of, members)
    referrals = _referrals_by_side(organisation, as_of, members)
    if members is None:
        above = _rows_above(list(_grassroots_rows(organisation, as_of).values_list("pk", flat=True)))
    else:
        keys = {*people, *(key[0] for key in referrals), *(key[1] for key in referrals)}
        above = _above_among(keys, _grassroots_rows(organisation, as_of))
    return _counts_by_row(above, people, referrals)


def _rolled_up(
    rows: list[_Row],
    organisation: Organisation,
    as_of: datetime.date,
    counts: dict[int, dict[str, int]] | None = None,
    among: QuerySet | set[int] | None = None,
    above: dict[int, list[int]] | None = None,
) -> None:
    """Each row's counts, summed from grouped counts of the organisations under it: the counts by home, by issuer
    and ward, by cell (a fixed number of grouped queries), each group added to the rows above it (the ancestor
    relation, one query). A correlated count per row would read every member and referral once per row.
    ``counts``: ``grassroots_counts`` or ``summary_counts`` (carried from a stored day: ``reports.snapshots``), whose
    rows above are then found for the cells of the meetings and comments alone, among the rows ``among`` (a query of
    the same rows, or their keys; default ``by_grassroots_organisation``'s), or read from ``above`` (``_rows_above``)
    when given."""
    missed, late = _missed_and_late(organisation, as_of)
    if counts is None:
        above = _rows_above([row.pk for row in rows])
        counts = _counts_by_row(above, _people_by_home(organisation, as_of), _referrals_by_side(organisation, as_of))
    elif above is None:
        among = _grassroots_rows(organisation, as_of) if among is None else among
        above = _above_among({*missed, *late}, among)
    by_cell = {pk: dict.fromkeys(("missed", "late"), 0) for pk in (row.pk for row in rows)}
    for name, cells in (("missed", missed), ("late", late)):
        for cell, n in cells.items():
            for pk in above.get(cell, ()):
                if pk in by_cell:
                    by_cell[pk][name] += n
    nothing = dict.fromkeys(ROW_COUNTS, 0)
    for row in rows:
        sums = counts.get(row.pk, nothing)
        row.n_members, row.n_eligible, row.n_introduced = sums["members"], sums["eligible"], sums["introduced"]
        row.n_received, row.n_received_from_outside = sums["received"], sums["received_from_outside"]
        row.n_stalled, row.n_stalled_issued, row.n_stalled_addressed = (
            sums["stalled"],
            sums["issued"],
            sums["addressed"],
        )
        row.n_missed, row.n_late = by_cell[row.pk]["missed"], by_cell[row.pk]["late"]


def _grassroots_row(row: _Row) -> GrassrootsRow:
    return GrassrootsRow(
        code=row.code,
        name=row.name_then,
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
        stalled_issued=row.n_stalled_issued,
        stalled_addressed=row.n_stalled_addressed,
    )


def by_grassroots_organisation(
    organisation: Organisation, as_of: datetime.date, counts: dict[int, dict[str, int]] | None = None
) -> list[GrassrootsRow]:
    """One row per grassroots organisation of the subtree existing on ``as_of`` (one query). ``counts``: its
    ``grassroots_counts``, carried from a stored day (``reports.snapshots.by_grassroots_on``)."""
    rows = _grassroots_of(organisation, as_of)
    _rolled_up(rows, organisation, as_of, counts=counts)
    return [_grassroots_row(row) for row in rows]


def _grassroots_of(organisation: Organisation, as_of: datetime.date) -> list[_Row]:
    """The rows of ``by_grassroots_organisation``, with the fields a ``GrassrootsRow`` reads (``_rows_of``)."""
    return _rows_of(_grassroots_rows(organisation, as_of), as_of)


@dataclasses.dataclass(frozen=True)
class SummaryRow:
    """A row of the yearly summary: an organisation's figures and its comment round, each counted on its side."""

    figures: GrassrootsRow
    comments: CommentSides
    valid_to: datetime.date | None  # the first day without it, when it ended during the period


def _summary_organisations(organisation: Organisation, first: datetime.date, as_of: datetime.date):
    """The organisations whose rows partition ``organisation``: the grassroots organisations of the subtree that
    existed on some day from ``first`` to ``as_of`` (one that ended during the year keeps the meetings and comments it
    had), without those under another of them; the organisation itself when it stands below a grassroots one."""
    if organisation.kind in (*Organisation.SUBORDINATE_CELL_KINDS, Kind.OUTSIDE):
        return Organisation.objects.filter(pk=organisation.pk)
    during = Q(valid_from__lte=as_of) & (Q(valid_to__isnull=True) | Q(valid_to__gt=first))
    grassroots = Organisation.objects.subtree(organisation).filter(during, kind__in=Organisation.GRASSROOTS_KINDS)
    enclosing = OrganisationAncestor.objects.filter(
        descendant=OuterRef("pk"), depth__gt=0, ancestor__in=grassroots.values("pk")
    )
    return grassroots.exclude(Exists(enclosing))


# The counts of a summary row that add up member by member (``summary_counts``): the breakdown's, then each comment
# count of each side ("workplace_due", ..., "residence_late"; "missing" follows from them and the day).
SUMMARY_COUNTS = (*ROW_COUNTS, *(f"{side}_{name}" for side in ("workplace", "residence") for name in COMMENT_COUNTS))


def summary_counts(
    organisation: Organisation,
    year: int,
    as_of: datetime.date,
    members: QuerySet | None = None,
    rows: list[int] | None = None,
) -> dict[int, dict[str, int]]:
    """``summary_rows``' counts that add up member by member (``SUMMARY_COUNTS``), by row key, only the rows with a
    count: the members by home and the referrals by issuer and ward added to the rows above (``grassroots_counts``),
    and the comment round's counts of each side by row (``_comment_sides_of``). ``members``: only their part, for
    ``reports.steps``, the rows above found for their organisations alone; ``rows``: the rows' keys
    (``summary_keys``), when the caller has read them."""
    deadline = comment_deadline(organisation, year)
    keys = summary_keys(organisation, year, as_of) if rows is None else rows
    above = _rows_above(keys) if members is None else None
    return _summary_counts(organisation, year, as_of, deadline, keys, above, members)


def summary_keys(organisation: Organisation, year: int, as_of: datetime.date) -> list[int]:
    """The keys of ``summary_rows``' rows (one query)."""
    return list(_summary_organisations(organisation, datetime.date(year, 1, 1), as_of).values_list("pk", flat=True))


def _summary_counts(
    organisation: Organisation,
    year: int,
    as_of: datetime.date,
    deadline: datetime.date,
    keys,
    above: dict[int, list[int]] | None,
    members: QuerySet | None = None,
) -> dict[int, dict[str, int]]:
    """``summary_counts`` of the rows ``keys``, ``above`` their ``_rows_above`` (None: found for the members'
    organisations alone, among ``keys``)."""
    people = _people_by_home(organisation, as_of, members)
    referrals = _referrals_by_side(organisation, as_of, members)
    rows = set(keys)
    if above is None:
        above = _above_among({*people, *(key[0] for key in referrals), *(key[1] for key in referrals)}, rows)
    counts = _counts_by_row(above, people, referrals)
    # A few members' comments are grouped under every organisation above them and the rows kept here: the rows' keys
    # in the query (an array of 51,912 at the nation's root) cost more than the groups they leave out.
    groups = _comment_groups(keys if members is None else None, year, as_of, deadline, members)
    for side, by_row in groups.items():
        for pk, comments in by_row.items():
            if pk not in rows:
                continue
            row = counts.setdefault(pk, dict.fromkeys(ROW_COUNTS, 0))
            for name in COMMENT_COUNTS:
                row[f"{side}_{name}"] = comments[name]
    return {pk: {name: row.get(name, 0) for name in SUMMARY_COUNTS} for pk, row in counts.items() if any(row.values())}


def summary_rows(
    organisation: Organisation, year: int, as_of: datetime.date, counts: dict[int, dict[str, int]] | None = None
) -> list[SummaryRow]:
    """The rows of the yearly workbook's summary: they add up, column by column, to the organisation's own figures
    (``headline``, ``comment_sides``): a referral counts under the organisation that issued it on the workplace side
    and under its ward on the residence side; a member under their home; a comment under the member's home and,
    apart, under the ward of the cell the member is placed in. A fixed number of queries whatever the number of rows
    (``summary_counts``; a correlated count of each figure for every row would read every referral once per row and
    figure). ``counts``: its ``summary_counts``, carried from a stored day (``reports.snapshots.summary_rows_on``); the
    rows, their names, meetings and late comments by cell are read as of the day."""
    deadline = comment_deadline(organisation, year)
    rows = _rows_of(_summary_organisations(organisation, datetime.date(year, 1, 1), as_of), as_of)
    keys = [row.pk for row in rows]
    above = None
    if counts is None:
        above = _rows_above(keys)
        counts = _summary_counts(organisation, year, as_of, deadline, keys, above)
    _rolled_up(rows, organisation, as_of, counts=counts, among=set(keys), above=above)
    nothing = dict.fromkeys(SUMMARY_COUNTS, 0)
    names = [f"{side}_{count}" for side in ("workplace", "residence") for count in COMMENT_COUNTS]
    made: dict[tuple, CommentSides] = {}  # most rows share their few small counts: each made once (0.3 s less)

    def sides(row: dict[str, int]) -> CommentSides:
        values = tuple([row[name] for name in names])
        if values not in made:
            half = len(COMMENT_COUNTS)
            workplace, residence = (
                dict(zip(COMMENT_COUNTS, part, strict=True)) for part in (values[:half], values[half:])
            )
            made[values] = CommentSides(
                workplace=_comment_counts(workplace, as_of, deadline),
                residence=_comment_counts(residence, as_of, deadline),
            )
        return made[values]

    return [
        SummaryRow(
            figures=_grassroots_row(row),
            comments=sides(counts.get(row.pk, nothing)),
            valid_to=row.valid_to if row.valid_to and row.valid_to <= as_of else None,
        )
        for row in rows
    ]


@dataclasses.dataclass(frozen=True)
class SectorRow:
    sector: str
    eligible: int
    introduced: int
    referral_rate: Decimal | None


def by_sector(organisation: Organisation, as_of: datetime.date, members: QuerySet | None = None) -> list[SectorRow]:
    """Eligible and introduced members by the sector of their workplace (one query). ``members``: only their part
    (``member_counts``), for ``reports.steps``."""
    people = _people_by(
        _of_members(_homes_on(organisation, as_of), members),
        as_of,
        whole=organisation.kind == Kind.ROOT and members is None,
        sector=F("organisation__sector"),
    )
    return [
        SectorRow(
            sector=sector,
            eligible=counts["eligible"],
            introduced=counts["introduced"],
            referral_rate=referral_rate(counts["introduced"], counts["eligible"]),
        )
        for (sector,), counts in sorted(people.items())
        if counts["eligible"]
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


# The counts of a row of ``by_ward_and_cell`` that add up referral by referral: a ward's first four, a cell's last.
RESIDENCE_COUNTS = ("received", "received_from_outside", "awaiting_reception", "awaiting_placement", "placed")


def residence_counts(
    organisation: Organisation, as_of: datetime.date, members: QuerySet | None = None
) -> dict[int, dict[str, int]]:
    """``by_ward_and_cell``'s counts (``RESIDENCE_COUNTS``) by ward and by residential cell, only those with a count
    (one query: the referrals grouped by their ward and their cell that day, one pass: a referral placed that day has
    the ward of its cell). ``members``: only their referrals, for ``reports.steps``."""
    referrals = (
        with_placement_on(_of_members(Referral.objects.all(), members), as_of)
        .filter(_candidates(organisation, issued=False))
        .filter(_received_under(organisation.path, as_of))
    )
    referrals, from_outside = _from_outside(referrals, organisation, as_of)
    by_ward = RESIDENCE_COUNTS[:-1]
    counts: dict[int, dict[str, int]] = {}
    for row in (
        referrals.annotate(ward_on_day=ward_on_expression(as_of))
        .values("ward_on_day", cell=F("placement_on_day__residential_cell"))
        .annotate(
            received=Count("pk", filter=received_q(as_of)),
            received_from_outside=Count("pk", filter=received_q(as_of) & from_outside),
            awaiting_reception=Count("pk", filter=awaiting_reception_q(as_of)),
            awaiting_placement=Count("pk", filter=awaiting_placement_q(as_of)),
            placed=Count("pk", filter=placed_q(as_of)),
        )
        .order_by()
    ):
        if row["ward_on_day"] is not None and any(row[name] for name in by_ward):
            sums = counts.setdefault(row["ward_on_day"], dict.fromkeys(RESIDENCE_COUNTS, 0))
            for name in by_ward:
                sums[name] += row[name]
        if row["cell"] is not None and row["placed"]:
            counts.setdefault(row["cell"], dict.fromkeys(RESIDENCE_COUNTS, 0))["placed"] += row["placed"]
    return counts


def by_ward_and_cell(
    organisation: Organisation, as_of: datetime.date, counts: dict[int, dict[str, int]] | None = None
) -> list[ResidenceRow]:
    """Each ward of the subtree and each of its residential cells, existing on ``as_of`` (two queries: the rows, and
    ``residence_counts``, unless ``counts`` gives them, carried from a stored day: ``reports.snapshots``). Received
    from outside: members whose home is not in ``organisation``'s subtree, as in ``headline``.

    The rows are read as tuples: at the nation's root, 150,000 wards and cells with their parents took 1.7 s as model
    instances."""
    rows = (
        Organisation.objects.subtree(organisation)
        .valid_on(as_of)
        .filter(kind__in=[Kind.WARD, Kind.RESIDENTIAL_CELL])
        .order_by("path")
        .values_list("pk", "code", "name", "kind", "parent__code")
    )
    counts = residence_counts(organisation, as_of) if counts is None else counts
    nothing = dict.fromkeys(RESIDENCE_COUNTS, 0)
    return [
        ResidenceRow(code=code, name=name, kind=kind, parent_code=parent_code or "", **counts.get(pk, nothing))
        for pk, code, name, kind, parent_code in rows
    ]


def endings_by_reason(organisation: Organisation, as_of: datetime.date) -> dict[str, int]:
    """Referrals of the subtree (either side) that ended in the year of ``as_of``, up to it, by reason (two queries:
    the shape, the endings). For a large part of the tree (``_shape_of``), the year's endings are read first, then
    each tested against the subtree's ids (two hashed subqueries), not the subtree's referrals gathered first (a UNION
    over most referrals of the tree). For a small one, the subtree's referrals are gathered first (a UNION of index
    scans by ward and by issuer): testing the year's endings reads every referral (no index on the ending day), half a
    second for a ward at the nation's size."""
    subtree = _subtree_pks(organisation)
    if _shape_of(organisation) is not Shape.SUBTREE:
        either_side = Q(receiving_ward__in=subtree) | Q(issuing_organisation__in=subtree)
    else:
        addressed = Referral.objects.filter(receiving_ward__in=subtree).values("pk").order_by()
        issued = Referral.objects.filter(issuing_organisation__in=subtree).values("pk").order_by()
        either_side = Q(pk__in=addressed.union(issued))
    rows = (
        Referral.objects.filter(ended_on__gte=datetime.date(as_of.year, 1, 1), ended_on__lte=as_of)
        .filter(either_side)
        .values("end_reason")
        .annotate(n=Count("pk"))
        .order_by("end_reason")
    )
    return {row["end_reason"]: row["n"] for row in rows}
