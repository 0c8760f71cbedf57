"""Meetings of residential cells and attendance: the attendance sheet, a cell's half-years, irregular attendees.

The definitions every page and report shares live here, once:

- the members *on the sheet* of a meeting are the referred members placed in the cell on the day it was held
  (``Referral.objects.placed_as_of(held_on)``); those exempt from residence activities that day are on it but *not
  expected*;
- the *attendance rate* of a meeting is present / expected, counted over the expected members only;
- a member *missed* a periodic meeting when marked absent without reason while expected (an excused absence is not
  a miss); an *irregular attendee* as of day D is a referred member placed on D who missed at least one periodic
  meeting of the year (the meetings counting for a half-year of that year, held up to D) in the cell they are placed in.

Every reader starts from the scope functions and adds what it shows as subquery annotations, so a page runs the same
number of queries whatever the number of members or meetings.
"""

import dataclasses
import datetime
from typing import Any

from django.db.models import (
    Exists,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)

from branches.models import Organisation
from dongha76.db import subquery_count
from members.models import Attendance, Exemption, Meeting, Placement, Referral
from members.models.history import in_force_q, placed_in_q
from members.models.referral import placed_q
from members.periods import HalfYear, half_years_between
from members.selectors.scope import (
    meetings_writable_by,
    visible_meetings,
    visible_referrals,
)

Status = Attendance.Status

# Meetings are counted from the first half of 2017 (the demo data and the figures start there).
FIRST_HALF_YEAR = HalfYear(2017, 1)


def _one_level_out(value: Any) -> Any:
    """``value`` as seen from one subquery deeper: an ``OuterRef`` is wrapped once more, a plain value stays."""
    return OuterRef(value) if isinstance(value, OuterRef) else value


def activities_exempt_on(day) -> Exists:
    """For a queryset with a ``member`` field: the member is exempt from residence activities on ``day`` (a date, or
    an ``OuterRef`` to one in the query this one is annotated on)."""
    exemptions = Exemption.objects.in_force_on(_one_level_out(day)).filter(
        member=OuterRef("member"), kind=Exemption.Kind.ACTIVITIES
    )
    return Exists(exemptions)


def on_sheet(cell, day) -> QuerySet[Referral]:
    """The referrals placed in ``cell`` on ``day``: the members on the attendance sheet of a meeting held that day.
    ``cell`` and ``day`` may be values or ``OuterRef``s (to annotate meetings)."""
    # The referrals whose placement of that day is the cell, found from the cell's placements (an index), not by
    # asking every referral where it was.
    in_the_cell = Placement.objects.filter(in_force_q(_one_level_out(day)), residential_cell=_one_level_out(cell))
    return Referral.objects.filter(placed_q(day), pk__in=in_the_cell.values("referral_id"))


def expected_at(cell, day) -> QuerySet[Referral]:
    """Of those on the sheet, the ones expected: not exempt from residence activities on ``day``."""
    return on_sheet(cell, day).filter(~activities_exempt_on(day))


def with_attendance_figures(meetings: QuerySet[Meeting]) -> QuerySet[Meeting]:
    """Each meeting with ``expected_count`` and, of those expected, ``present_count``, ``excused_count`` and
    ``absent_count`` (subqueries: no query per meeting). The rest of the expected are not marked yet."""
    expected = expected_at(OuterRef("residential_cell"), OuterRef("held_on"))

    def marked(status: str) -> QuerySet[Referral]:
        attendance = Attendance.objects.filter(
            meeting=OuterRef(OuterRef("pk")), member=OuterRef("member"), status=status
        )
        return expected.filter(Exists(attendance))

    return meetings.annotate(
        expected_count=subquery_count(expected),
        present_count=subquery_count(marked(Status.PRESENT)),
        excused_count=subquery_count(marked(Status.EXCUSED)),
        absent_count=subquery_count(marked(Status.ABSENT)),
    )


@dataclasses.dataclass(frozen=True)
class AttendanceFigures:
    expected: int
    present: int
    excused: int
    absent: int

    @classmethod
    def of(cls, meeting: Meeting) -> "AttendanceFigures":
        """From a meeting annotated by ``with_attendance_figures``."""
        return cls(meeting.expected_count, meeting.present_count, meeting.excused_count, meeting.absent_count)

    @property
    def not_marked(self) -> int:
        return self.expected - self.present - self.excused - self.absent

    @property
    def rate(self) -> float | None:
        """Present / expected, as a percentage; ``None`` when nobody was expected."""
        return 100 * self.present / self.expected if self.expected else None


# -- the attendance sheet ----------------------------------------------------------------------------------------------


def meeting_for(user, pk: int) -> Meeting:
    """A meeting the user may see, with its figures and ``can_edit`` (whether the user may record its attendance).
    Raises ``Meeting.DoesNotExist`` outside the user's scope."""
    return (
        with_attendance_figures(visible_meetings(user))
        .select_related("residential_cell__parent", "recorded_by")
        .annotate(can_edit=Exists(meetings_writable_by(user).filter(pk=OuterRef("pk"))))
        .get(pk=pk)
    )


def meeting_figures(meeting: Meeting) -> AttendanceFigures:
    """The meeting's attendance figures as saved now (one query)."""
    return AttendanceFigures.of(with_attendance_figures(Meeting.objects.filter(pk=meeting.pk)).get())


def meeting_roster(user, meeting: Meeting) -> QuerySet[Referral]:
    """The attendance sheet: the referrals placed in the meeting's cell on the day it was held, by name, each with the
    member, the workplace (issuing organisation), ``not_expected`` (exempt from residence activities that day),
    ``exempt_reason``, and the attendance recorded (``attendance_status``, ``attendance_reason``; ``None`` when not
    marked). One query."""
    day = meeting.held_on
    attendance = Attendance.objects.filter(meeting=meeting, member=OuterRef("member"))
    exemptions = Exemption.objects.in_force_on(day).filter(member=OuterRef("member"), kind=Exemption.Kind.ACTIVITIES)
    return (
        visible_referrals(user)
        .placed_as_of(day)
        .filter(residential_cell=meeting.residential_cell_id)
        .select_related("member", "issuing_organisation")
        .annotate(
            not_expected=activities_exempt_on(day),
            exempt_reason=Subquery(exemptions.order_by("-started_on").values("reason")[:1]),
            attendance_status=Subquery(attendance.values("status")[:1]),
            attendance_reason=Subquery(attendance.values("reason")[:1]),
        )
        .order_by("member__search_name", "member__card_number")
    )


def roster_row(user, meeting: Meeting, member_pk: int) -> Referral | None:
    """One member's line of the attendance sheet, or ``None`` when the member is not on it."""
    return meeting_roster(user, meeting).filter(member_id=member_pk).first()


def attendance_changes(meeting: Meeting, *, limit: int = 200) -> list:
    """The history of the meeting's attendance marks, newest first, with who recorded them (one query)."""
    return list(
        Attendance.history.filter(meeting_id=meeting.pk)
        .select_related("history_user", "member")
        .order_by("-history_date", "-history_id")[:limit]
    )


# -- a cell's half-years -----------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class HalfYearMeetings:
    """One half-year of a residential cell: its periodic meetings (those counting for it) and ad hoc meetings."""

    class Status:
        ON_TIME = "on_time"  # a periodic meeting held within the half-year
        LATE = "late"  # periodic meetings counting for it, all held after it ended
        MISSED = "missed"  # over, and no periodic meeting
        NOT_YET_HELD = "not_yet_held"  # the current half-year, no periodic meeting yet

    half_year: HalfYear
    periodic: tuple[Meeting, ...]
    ad_hoc: tuple[Meeting, ...]
    is_current: bool

    @property
    def status(self) -> str:
        if any(meeting.held_on <= self.half_year.last_day for meeting in self.periodic):
            return self.Status.ON_TIME
        if self.periodic:
            return self.Status.LATE
        return self.Status.NOT_YET_HELD if self.is_current else self.Status.MISSED

    @property
    def missed(self) -> bool:
        return self.status == self.Status.MISSED


def cell_half_years(cell: Organisation, *, day: datetime.date) -> list[HalfYear]:
    """The half-years a residential cell is expected to meet in, up to ``day``: from the later of the first half of
    2017 and the cell's creation, to the half-year of ``day`` (or of the cell's last day, if it no longer exists)."""
    last_day = day
    if cell.valid_to is not None:
        last_day = min(day, cell.valid_to - datetime.timedelta(days=1))
    first = max(FIRST_HALF_YEAR, HalfYear.of(cell.valid_from))
    return half_years_between(first, HalfYear.of(last_day))


def cell_meeting_overview(user, cell: Organisation, *, day: datetime.date) -> list[HalfYearMeetings]:
    """The cell's half-years, latest first, each with its meetings and their attendance figures (one query)."""
    half_years = cell_half_years(cell, day=day)
    if not half_years:
        return []
    first = half_years[0]
    meetings = (
        with_attendance_figures(visible_meetings(user))
        .filter(residential_cell=cell, held_on__lte=day)
        .filter(Q(year__gt=first.year) | Q(year=first.year, half__gte=first.half))
        .order_by("held_on", "pk")
    )
    by_half_year: dict[HalfYear, list[Meeting]] = {}
    for meeting in meetings:
        meeting.figures = AttendanceFigures.of(meeting)
        by_half_year.setdefault(meeting.half_year, []).append(meeting)
    current = HalfYear.of(day)
    return [
        HalfYearMeetings(
            half_year=half_year,
            periodic=tuple(m for m in by_half_year.get(half_year, ()) if m.kind == Meeting.Kind.PERIODIC),
            ad_hoc=tuple(m for m in by_half_year.get(half_year, ()) if m.kind == Meeting.Kind.AD_HOC),
            is_current=half_year == current,
        )
        for half_year in reversed(half_years)
    ]


# -- irregular attendees -----------------------------------------------------------------------------------------------


def missed_periodic_meetings(year: int, day: datetime.date) -> QuerySet[Attendance]:
    """The definition of a miss: absent without reason at a periodic meeting counting for a half-year of ``year``
    and held on or before ``day``, while expected there (not exempt from residence activities that day)."""
    exempt = Exemption.objects.in_force_on(OuterRef("meeting__held_on")).filter(
        member=OuterRef("member"), kind=Exemption.Kind.ACTIVITIES
    )
    return Attendance.objects.filter(
        status=Status.ABSENT,
        meeting__kind=Meeting.Kind.PERIODIC,
        meeting__year=year,
        meeting__held_on__lte=day,
    ).filter(~Exists(exempt))


def irregular_in(referrals: QuerySet[Referral], year: int, day: datetime.date) -> QuerySet[Referral]:
    """The definition of an irregular attendee as of ``day``: of ``referrals``, those placed on ``day`` whose member
    missed at least one periodic meeting of ``year`` (up to ``day``) in the cell they are placed in, while placed there.

    Each with ``missed_meetings`` (how many) and ``last_missed_on``. A member counts once per referral: use
    ``.values("member").distinct()`` to count members. The figures of the reports count this same set.
    """
    missed = _missed_while_placed(year, day)
    return referrals.placed_as_of(day).filter(Exists(missed)).annotate(**_missed_figures(missed))


def with_missed_meetings(referrals: QuerySet[Referral], year: int, day: datetime.date) -> QuerySet[Referral]:
    """``referrals`` (placed on ``day``), each with ``irregular_in``'s ``missed_meetings`` (0 when none) and
    ``last_missed_on``: the irregular attendees among them are those with ``missed_meetings``, without a query of
    their own (a page that lists the placed referrals anyway)."""
    return referrals.annotate(**_missed_figures(_missed_while_placed(year, day)))


def _missed_while_placed(year: int, day: datetime.date) -> QuerySet[Attendance]:
    """The misses of the outer referral's member (``missed_periodic_meetings``) in the cell it was placed in on the
    meeting's day (a re-placement does not move past misses), since its placement."""
    placed_there = Placement.objects.filter(
        in_force_q(OuterRef("meeting__held_on")),
        referral=OuterRef(OuterRef("pk")),
        residential_cell=OuterRef("meeting__residential_cell"),
    )
    return missed_periodic_meetings(year, day).filter(
        Exists(placed_there), member=OuterRef("member"), meeting__held_on__gte=OuterRef("placed_on")
    )


def _missed_figures(missed: QuerySet[Attendance]) -> dict:
    return {
        "missed_meetings": subquery_count(missed),
        "last_missed_on": Subquery(missed.order_by("-meeting__held_on").values("meeting__held_on")[:1]),
    }


def irregular_attendees(user, year: int, day: datetime.date) -> QuerySet[Referral]:
    """Irregular attendees (``irregular_in``) in the user's scope, with the member, the workplace (issuing
    organisation, to be told) and the cell."""
    return (
        irregular_in(visible_referrals(user), year, day)
        .select_related("member", "issuing_organisation", "residential_cell")
        .order_by("member__search_name", "member__card_number")
    )


def cell_irregular_attendees(user, cell: Organisation, *, day: datetime.date) -> QuerySet[Referral]:
    """The irregular attendees of one cell this year (the year of ``day``), up to ``day``."""
    return irregular_attendees(user, day.year, day).filter(placed_in_q(day, Q(pk=cell.pk)))
