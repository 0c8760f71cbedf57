"""The rules: for an organisation's committee on a day, what its officers should be reminded of, and whether the cause
of an open reminder is still there.

Each rule reads through the same scope functions as the pages (``members.selectors``), handed the organisation's
committee (``branches.access.Committee``) for a user: a reminder never names a row its officers could not open. A rule
runs one or two queries per organisation, whatever the number of members.

Steps: a rule with one moment uses ``AFTER`` ("the threshold has passed"); the comment rules have a step per notice
("2026 first", "2026 last", "2026 after"), the meeting rule one per half-year ("2026H2"), the digest one per ISO week
("2026-W49"). A reminder is made once per user, rule, object and step.
"""

import dataclasses
import datetime
from collections.abc import Iterable

from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, Greatest
from django.urls import reverse
from django.utils.http import urlencode

from branches.access import Committee
from branches.models import Organisation
from members.models import Exemption, Meeting, MemberHome, Referral
from members.models.member import NOT_WORKPLACE_HOMES
from members.periods import HalfYear
from members.selectors import comment_counts, comment_rows, comment_year, todo_for
from members.selectors.referrals import eligible_not_introduced
from members.selectors.scope import (
    comments_receivable_by,
    members_introducible_by,
    referral_letters_writable_by,
    referrals_receivable_by,
    referrals_reportable_by,
)
from reminders.models import Reminder, ReminderSettings
from reminders.models import Rule as Code
from reports import snapshots

Kind = Organisation.Kind
Closed = Reminder.Closed

AFTER = "after"

# Who acts on each side: the grassroots organisations that issue letters and read comments (a ward also for its own
# agency cell's members), the wards that receive and place, the residential cells, the city staff at the root.
WORKPLACE_KINDS = (Kind.COMMITTEE, Kind.GRASSROOTS_CELL, Kind.WARD)
WARD_KINDS = (Kind.WARD,)
CELL_KINDS = (Kind.RESIDENTIAL_CELL,)
CITY_KINDS = (Kind.ROOT,)


@dataclasses.dataclass(frozen=True)
class Due:
    """A reminder to make for each officer of the organisation (unless made before)."""

    object_id: int
    step: str
    details: dict


def _ago(day: datetime.date, days: int) -> datetime.date:
    return day - datetime.timedelta(days=days)


def _iso(day: datetime.date | None) -> str | None:
    return day.isoformat() if day else None


def _url(name: str, *args, **query) -> str:
    url = reverse(name, args=args)
    return f"{url}?{urlencode(query)}" if query else url


class Rule:
    code: str
    kinds: tuple[str, ...]

    def due(self, committee: Committee, day: datetime.date, thresholds: ReminderSettings) -> Iterable[Due]:
        raise NotImplementedError

    def closing(self, committee: Committee, day: datetime.date, reminders: list[Reminder]) -> dict[int, str]:
        """Of the open ``reminders`` of the organisation, those to close (by primary key) and why."""
        raise NotImplementedError

    def url(self, reminder: Reminder) -> str:
        """Where the work is done."""
        raise NotImplementedError


class ObjectRule(Rule):
    """A rule about single rows (a member, a referral, a comment): its cause is the row's condition, its step
    ``AFTER`` once the row has waited longer than the threshold."""

    def causes(self, committee: Committee, day: datetime.date) -> QuerySet:
        """The rows in the committee's scope whose cause is there on ``day``, whatever how long."""
        raise NotImplementedError

    # The row's day its waiting started, the threshold (a field of ReminderSettings), what its details read.
    since_field: str
    threshold: str
    related: tuple[str, ...] = ()

    def waiting(self, rows: QuerySet, day: datetime.date, thresholds: ReminderSettings) -> QuerySet:
        """The rows of ``causes`` that have waited the threshold or longer."""
        days = getattr(thresholds, self.threshold)
        return (
            rows.filter(**{f"{self.since_field}__lte": _ago(day, days)})
            .select_related(*self.related)
            .order_by(self.since_field, "pk")
        )

    def describe(self, row) -> dict:
        raise NotImplementedError

    def step_of(self, row) -> str:
        return AFTER

    def due(self, committee, day, thresholds):
        rows = self.waiting(self.causes(committee, day), day, thresholds)
        return [Due(row.pk, self.step_of(row), self.describe(row)) for row in rows]

    def closing(self, committee, day, reminders):
        there = set(
            self.causes(committee, day).filter(pk__in=[r.object_id for r in reminders]).values_list("pk", flat=True)
        )
        return {r.pk: Closed.RESOLVED for r in reminders if r.object_id not in there}


def _referral_details(referral: Referral) -> dict:
    return {
        "member": referral.member.full_name,
        "card_number": referral.member.card_number,
        "letter_number": referral.letter_number,
        "introduced_on": _iso(referral.introduced_on),
        "received_on": _iso(referral.received_on),
        "placed_on": _iso(referral.placed_on),
        "issuer": referral.issuing_organisation.name,
        "ward": referral.receiving_ward.name,
        "cell": referral.residential_cell.name if referral.residential_cell_id else None,
    }


class ReferralRule(ObjectRule):
    related = ("member", "issuing_organisation", "receiving_ward", "residential_cell")

    def describe(self, row):
        return _referral_details(row)

    def url(self, reminder):
        return reverse("members:referral-detail", args=[reminder.object_id])


class NotIntroduced(ObjectRule):
    """Workplace: a member eligible for ``introduce_after_days`` and still not introduced. The step is the day the
    member became eligible (admitted, joined a workplace cell, an exemption lifted, a referral ended), so that a
    member who becomes eligible again is reminded again."""

    code = Code.NOT_INTRODUCED
    kinds = WORKPLACE_KINDS

    def causes(self, committee, day):
        return eligible_not_introduced(members_introducible_by(committee), day)

    def waiting(self, rows, day, thresholds):
        # Joining a workplace cell starts the clock; a restructure moving the member into the successor of their cell
        # (a merger) does not: they joined nothing, and would be reminded again at every merger.
        carried_over = MemberHome.objects.filter(
            member=OuterRef("member"),
            ended_on=OuterRef("started_on"),
            organisation__successor=OuterRef("organisation"),
        ).exclude(organisation__kind__in=NOT_WORKPLACE_HOMES)
        joined = (
            MemberHome.objects.filter(member=OuterRef("pk"), started_on__lte=day)
            .exclude(organisation__kind__in=NOT_WORKPLACE_HOMES)
            .exclude(Exists(carried_over))
            .order_by("-started_on")
        )
        lifted = Exemption.objects.filter(
            member=OuterRef("pk"), kind=Exemption.Kind.INTRODUCTION, ended_on__lte=day
        ).order_by("-ended_on")
        ended = Referral.objects.filter(member=OuterRef("pk"), ended_on__lte=day).order_by("-ended_on")
        admitted = F("admitted_on")
        # Greatest is null on SQLite when any argument is: each later day falls back on the admission.
        since = Greatest(
            admitted,
            Coalesce(Subquery(joined.values("started_on")[:1]), admitted),
            Coalesce(Subquery(lifted.values("ended_on")[:1]), admitted),
            Coalesce(Subquery(ended.values("ended_on")[:1]), admitted),
        )
        return (
            rows.annotate(eligible_since=since)
            .filter(eligible_since__lte=_ago(day, thresholds.introduce_after_days))
            .select_related("home_organisation")
            .order_by("eligible_since", "pk")
        )

    def step_of(self, row):
        return f"since {row.eligible_since.isoformat()}"

    def describe(self, row):
        return {
            "member": row.full_name,
            "card_number": row.card_number,
            "home": row.home_organisation.name,
            "since": _iso(row.eligible_since),
        }

    def url(self, reminder):
        return reverse("members:member-detail", args=[reminder.object_id])


class LetterNotReceived(ReferralRule):
    """Workplace: a letter it issued not received by the ward after ``letter_follow_up_after_days`` (before it counts
    as stalled at 30): the workplace follows it up."""

    code = Code.LETTER_NOT_RECEIVED
    kinds = WORKPLACE_KINDS
    since_field, threshold = "introduced_on", "letter_follow_up_after_days"

    def causes(self, committee, day):
        # Its own letters: a ward also registers the letters of outside organisations' members, addressed to itself,
        # whose reception is its own reminder (AwaitingReception).
        # A letter its own ward receives (a ward's office cell introduced to the ward itself) is that ward's to
        # receive, not a letter to chase.
        issued_here = Q(issuing_organisation__path__startswith=committee.organisation.path)
        return (
            referral_letters_writable_by(committee)
            .awaiting_reception_on(day)
            .filter(issued_here)
            .exclude(pk__in=referrals_receivable_by(committee).values("pk"))
        )


class AwaitingReception(ReferralRule):
    """Ward: a referral addressed to it waiting for reception ``receive_after_days``."""

    code = Code.AWAITING_RECEPTION
    kinds = WARD_KINDS
    since_field, threshold = "introduced_on", "receive_after_days"

    def causes(self, committee, day):
        return referrals_receivable_by(committee).awaiting_reception_on(day)


class AwaitingPlacement(ReferralRule):
    """Ward: a member received ``place_after_days`` ago and not placed in a residential cell."""

    code = Code.AWAITING_PLACEMENT
    kinds = WARD_KINDS
    since_field, threshold = "received_on", "place_after_days"

    def causes(self, committee, day):
        return referrals_receivable_by(committee).awaiting_placement_on(day)


class NotReported(ReferralRule):
    """Residential cell: a member placed in it ``report_after_days`` ago who has not reported to the cell."""

    code = Code.NOT_REPORTED
    kinds = CELL_KINDS
    since_field, threshold = "placed_on", "report_after_days"

    def causes(self, committee, day):
        return (
            referrals_reportable_by(committee)
            .placed_as_of(day)
            .filter(residential_cell=committee.organisation)
            # As of ``day`` (``--today`` of a past day): a report recorded after it had not happened yet.
            .filter(Q(reported_on__isnull=True) | Q(reported_on__gt=day))
        )


class CommentNotAcknowledged(ObjectRule):
    """Workplace: a comment the ward sent ``acknowledge_after_days`` ago, its arrival not recorded by the workplace."""

    code = Code.COMMENT_NOT_ACKNOWLEDGED
    kinds = WORKPLACE_KINDS
    since_field, threshold = "sent_on", "acknowledge_after_days"
    related = ("member", "residential_cell")

    def causes(self, committee, day):
        # The comments of this year's round and the last one: an older comment's rating is decided long since. A
        # member retired into a residential cell since is no workplace's to rate (a ward would be reminded of the
        # comment it sent itself).
        return (
            comments_receivable_by(committee)
            .exclude(member__home_organisation__kind=Kind.RESIDENTIAL_CELL)
            .filter(year__gte=day.year - 1, sent_on__lte=day)
            .filter(Q(received_on__isnull=True) | Q(received_on__gt=day))
        )

    def describe(self, row):
        return {
            "member": row.member.full_name,
            "card_number": row.member.card_number,
            "year": row.year,
            "cell": row.residential_cell.name,
            "sent_on": _iso(row.sent_on),
        }

    def url(self, reminder):
        year = reminder.details.get("year")
        if not year:
            return reverse("reminders:list")
        # The comments on the organisation's own members: a ward's list also holds those its cells sent elsewhere.
        return _url("members:comment-list", year, state="sent", workplace=reminder.organisation_id)


# -- rules about an organisation as a whole ------------------------------------------------------------------------


def comment_step(day: datetime.date, deadline: datetime.date, thresholds: ReminderSettings, *, after: bool) -> str:
    """The notice of the comment round that ``day`` falls in ("" before the first): from ``first`` days before the
    deadline, from ``last`` days before it, and (``after``) from the day after it to the end of the year."""
    year = deadline.year
    if after and day > deadline:
        return f"{year} after" if day.year == year else ""
    if _ago(deadline, thresholds.comments_last_notice_days) <= day <= deadline:
        return f"{year} last"
    if _ago(deadline, thresholds.comments_first_notice_days) <= day <= deadline:
        return f"{year} first"
    return ""


def _year_of(step: str) -> int:
    return int(step.split(" ")[0])


class CommentRoundRule(Rule):
    """The yearly round of comments, counted for the organisation: what is still missing, at each notice."""

    notice_after_deadline: bool

    def missing(self, counts: dict) -> dict:
        raise NotImplementedError

    def _round(self, committee: Committee, year: int, day: datetime.date):
        round_ = comment_year(committee, year, today=day)
        return round_, comment_counts(comment_rows(committee, round_))

    def due(self, committee, day, thresholds):
        round_ = comment_year(committee, day.year, today=day)
        step = comment_step(day, round_.deadline, thresholds, after=self.notice_after_deadline)
        if not step:
            return []
        missing = self.missing(comment_counts(comment_rows(committee, round_)))
        if not missing["missing"]:
            return []
        details = {"year": round_.year, "deadline": _iso(round_.deadline), "organisation": committee.organisation.name}
        return [Due(committee.organisation.pk, step, details | missing)]

    def closing(self, committee, day, reminders):
        closing = {r.pk: Closed.EXPIRED for r in reminders if _year_of(r.step) != day.year}
        current = [r for r in reminders if r.pk not in closing]
        # The year's round counted once for all the organisation's reminders of it (one per officer and notice).
        if current and not self.missing(self._round(committee, day.year, day)[1])["missing"]:
            closing.update((r.pk, Closed.RESOLVED) for r in current)
        return closing


class CommentsNotSent(CommentRoundRule):
    """Ward: comments of the year not sent to the workplaces (not written yet, or written and not sent), at the first
    and the last notice before the deadline and once more the day after it."""

    code = Code.COMMENTS_NOT_SENT
    kinds = WARD_KINDS
    notice_after_deadline = True

    def missing(self, counts):
        return {
            "missing": counts["not_written"] + counts["written"],
            "not_written": counts["not_written"],
            "written": counts["written"],
        }

    def url(self, reminder):
        year = _year_of(reminder.step)
        state = "written" if not reminder.details.get("not_written") else "not_written"
        return _url("members:comment-list", year, state=state)


class CommentsToWrite(CommentRoundRule):
    """Residential cell: comments of the year it has not written, at the first and the last notice."""

    code = Code.COMMENTS_TO_WRITE
    kinds = CELL_KINDS
    notice_after_deadline = False

    def missing(self, counts):
        return {"missing": counts["not_written"], "not_written": counts["not_written"]}

    def url(self, reminder):
        return _url("members:comment-list", _year_of(reminder.step), state="not_written")


def _step_of(half_year: HalfYear) -> str:
    """A half-year as a step and in the details ("2026H2"): the words are the reader's language's, at reading."""
    return f"{half_year.year}H{half_year.half}"


def half_year_of(step: str) -> HalfYear:
    year, half = step.split("H")
    return HalfYear(int(year), int(half))


def _met(cell_id: int, half_year: HalfYear) -> QuerySet[Meeting]:
    return Meeting.objects.filter(
        residential_cell_id=cell_id, kind=Meeting.Kind.PERIODIC, year=half_year.year, half=half_year.half
    )


class MeetingDue(Rule):
    """Residential cell: no periodic meeting recorded for the current half-year, ``meeting_notice_days`` before it
    ends. Closes when the meeting is recorded, or when the half-year is over (the city's list of cells that missed
    it takes over)."""

    code = Code.MEETING_DUE
    kinds = CELL_KINDS

    def due(self, committee, day, thresholds):
        half_year = HalfYear.of(day)
        cell = committee.organisation
        if day < _ago(half_year.last_day, thresholds.meeting_notice_days):
            return []
        if _met(cell.pk, half_year).exists():
            return []
        details = {"cell": cell.name, "half_year": _step_of(half_year), "ends_on": _iso(half_year.last_day)}
        return [Due(cell.pk, _step_of(half_year), details)]

    def closing(self, committee, day, reminders):
        closing = {}
        # One query for the organisation's reminders (one per officer, the same cell and half-year).
        met = {
            (row["year"], row["half"])
            for row in Meeting.objects.filter(
                residential_cell_id=committee.organisation.pk, kind=Meeting.Kind.PERIODIC
            ).values("year", "half")
        }
        for reminder in reminders:
            half_year = half_year_of(reminder.step)
            if (half_year.year, half_year.half) in met:
                closing[reminder.pk] = Closed.RESOLVED
            elif day > half_year.last_day:
                closing[reminder.pk] = Closed.EXPIRED
        return closing

    def url(self, reminder):
        return reverse("members:cell-detail", args=[reminder.object_id])


def week_of(day: datetime.date) -> str:
    iso = day.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


class WeeklyDigest(Rule):
    """City staff: once a week, the weak spots of the organisation with the numbers of the home page and the dashboard
    (``members.selectors.todo_for``, counted the dashboard's way; a large city's two dashboard figures carried from
    its stored ones, ``reports.snapshots.city_todo_if_large``). A week's digest is replaced by the next one."""

    code = Code.WEEKLY_DIGEST
    kinds = CITY_KINDS

    def due(self, committee, day, thresholds):
        step = week_of(day)
        organisation = committee.organisation
        # The to-do of a whole city is the heaviest count of a run: taken once a week, not at every hourly run (an
        # officer who takes the post mid-week has the next week's digest).
        made = Reminder.objects.filter(rule=self.code, organisation=organisation, object_id=organisation.pk, step=step)
        if made.exists():
            return []
        # A large city's two dashboard figures carried from its stored ones, as its home page reads them: counted
        # whole, they read every member of the nation's root twice.
        todo = todo_for(committee, day=day, shown=0, carried=lambda city: snapshots.city_todo_if_large(city, day))
        numbers = {
            "stalled": todo.stalled,
            "awaiting_reception": todo.awaiting_reception,
            "awaiting_placement": todo.awaiting_placement,
            "eligible_not_introduced": todo.eligible_not_introduced,
            "cells_missed": todo.cells_missed,
            "cells_without_meeting": todo.cells_without_meeting,
            "irregular_attendees": todo.irregular_attendees,
            "comments_late": todo.comments_late,
            "comments_not_written": todo.comments_not_written,
        }
        details = {
            "organisation": committee.organisation.name,
            "day": day.isoformat(),
            "half_year": _step_of(todo.last_half_year),
            "year": day.year,
        } | numbers
        return [Due(organisation.pk, step, details)]

    def closing(self, committee, day, reminders):
        return {}

    def url(self, reminder):
        return reverse("reports:dashboard")


RULES: tuple[Rule, ...] = (
    NotIntroduced(),
    LetterNotReceived(),
    CommentNotAcknowledged(),
    AwaitingReception(),
    AwaitingPlacement(),
    CommentsNotSent(),
    MeetingDue(),
    CommentsToWrite(),
    NotReported(),
    WeeklyDigest(),
)
RULE_BY_CODE: dict[str, Rule] = {rule.code: rule for rule in RULES}
