"""A headline carried from one day to a later one by the members whose rows changed in between.

The headline's people and handovers add up member by member (``figures.member_counts``: a member's status, and each
of their referrals), and the figures of a day read the data only through conditions "a date on or before the day" or
"after it" (and, for a stalled referral, "introduced more than ``STALLED_AFTER_DAYS`` days before it"): the columns
``reports.stale.HEADLINE_WATCHED`` lists for the triggers. So between two days ``since`` and ``until`` a member's part
changes only if one of their rows has such a date in between, and

    headline(until) = headline(since) + parts of those members on until - their parts on since,

each part counted by the same function as the whole, for the members found by their dates (an index range each). At
the nation's root, where the whole headline reads 5.6 million members, a day's step reads the few thousand members of
that day's steps (docs/benchmarks.md). The organisations' own counts are read whole (one indexed query). A step over
a day on which an organisation began or ended (a restructure) is not taken: the members of the organisations concerned
would have to be found through the tree's relations, and such days are rare; the whole headline is computed instead.

The meetings' irregular attendees (``stepped_irregular``), the comment figures of a year (``stepped_comments``,
``stepped_comment_sides``), the members by sector (``stepped_by_sector``) and the counts of the breakdowns by
grassroots organisation and by ward and cell (``stepped_grassroots_counts``, ``stepped_residence_counts``) also add
up member by member, and step the same way, by the members who changed plus, for the first two, those with a miss,
or a comment or rating dated, in between.

``reports.snapshots`` takes the steps: a past day's figures from the nearest stored day before it, today's from
yesterday's.
"""

import dataclasses
import datetime
import functools
from collections.abc import Iterable

from django.apps import apps
from django.db.models import Q, QuerySet

from branches.models import Organisation, OrganisationAncestor
from members.models import Attendance, Meeting, ResidenceComment, YearEndRating
from members.models.referral import STALLED_AFTER_DAYS
from reports import figures, stale

# A longer step reads more members than it saves: from a stored day up to a month before (at the nation's root a
# day's step read 2,909 members in 0.45 s, a 29 days' step 58,893 in 5.8 s, the whole headline 20.7 s).
MAX_STEP_DAYS = 31
# A subtree of more organisations than this (about 25 members each) is carried by steps (``pays``): the province's
# root (3,812 organisations; whole 0.30 s, a day's step 0.04 s), the nation's provinces and root; a district, a
# ward, the demo city are counted whole.
STEPPED_FROM = 1000

# How a row of each watched table reaches its member (a lookup from the table's model).
MEMBER_OF = {
    "members_member": "pk",
    "members_memberhome": "member_id",
    "members_referral": "member_id",
    "members_placement": "referral__member_id",
    "members_exemption": "member_id",
}
# Columns also compared with a day shifted back (``stalled_q``: introduced more than 30 days before the day, that is
# on or before the day 31 days back): a row also changes its part when the column is in the window shifted back.
SHIFTED = {("members_referral", "introduced_on"): STALLED_AFTER_DAYS + 1}


@dataclasses.dataclass(frozen=True)
class _Dated:
    model: type
    member: str
    dates: tuple[str, ...]


@functools.cache
def _dated_tables() -> tuple[_Dated, ...]:
    """The watched tables with members (every one but the organisations'), their models and date columns."""
    models = {model._meta.db_table: model for model in apps.get_models()}
    return tuple(
        _Dated(models[watched.table], MEMBER_OF[watched.table], watched.dates)
        for watched in stale.HEADLINE_WATCHED
        if watched.table != Organisation._meta.db_table
    )


def _in_window(table: str, column: str, since: datetime.date, until: datetime.date) -> Q:
    """On a row of ``table``: ``column`` is after ``since`` and on or before ``until`` (a condition "on or before the
    day" reads differently on the two days), or in the same window shifted back when it is compared so too."""
    window = Q(**{f"{column}__gt": since, f"{column}__lte": until})
    shift = SHIFTED.get((table, column))
    if shift is None:
        return window
    back = datetime.timedelta(days=shift)
    return window | Q(**{f"{column}__gt": since - back, f"{column}__lte": until - back})


def members_changed(since: datetime.date, until: datetime.date, also: Iterable[QuerySet] = ()) -> QuerySet | None:
    """The keys of the members whose part of any headline may differ between ``since`` and ``until`` (a subquery: a
    UNION of index ranges, one per date column), and of those in ``also`` (member keys, in the same UNION), or None
    when an organisation began or ended in between."""
    restructured = Q(valid_from__gt=since, valid_from__lte=until) | Q(valid_to__gt=since, valid_to__lte=until)
    if Organisation.objects.filter(restructured).exists():
        return None
    parts = list(also)
    for dated in _dated_tables():
        table = dated.model._meta.db_table
        for column in dated.dates:
            rows = dated.model.objects.filter(_in_window(table, column, since, until))
            parts.append(rows.values_list(dated.member, flat=True).order_by())
    first, *others = parts
    return first.union(*others)


def stepped(
    organisation: Organisation, base: figures.Headline, since: datetime.date, until: datetime.date
) -> figures.Headline | None:
    """``figures.headline(organisation, until)`` from ``base``, the headline of ``since`` (an earlier day), in six
    queries; None when the step cannot be taken (``members_changed``)."""
    members = members_changed(since, until)
    if members is None:
        return None
    people_then, handovers_then = figures.member_counts(organisation, since, members)
    people_now, handovers_now = figures.member_counts(organisation, until, members)

    def carried(then: dict[str, int], now: dict[str, int]) -> dict[str, int]:
        return {name: getattr(base, name) + now[name] - then[name] for name in now}

    return figures.headline_from(
        organisation, until, carried(people_then, people_now), carried(handovers_then, handovers_now)
    )


def members_absent_between(since: datetime.date, until: datetime.date) -> QuerySet:
    """The keys of the members marked absent at a periodic meeting held after ``since`` and on or before ``until``:
    the misses that may make a member an irregular attendee between the two days."""
    return (
        Attendance.objects.filter(
            status=Attendance.Status.ABSENT,
            meeting__kind=Meeting.Kind.PERIODIC,
            meeting__held_on__gt=since,
            meeting__held_on__lte=until,
        )
        .values_list("member_id", flat=True)
        .order_by()
    )


def stepped_irregular(organisation: Organisation, base: int, since: datetime.date, until: datetime.date) -> int | None:
    """``figures.irregular_attendees(organisation, until)`` from ``base``, that of ``since`` (an earlier day of the
    same year), or None when the step cannot be taken (``members_changed``, or another year).

    A member is an irregular attendee of a day by their placements and referrals in force on it and their misses up
    to it, each read through a date compared with the day: between the two days only the members with such a date in
    between (``members_changed``) or a miss in between (``members_absent_between``) can change, and each member counts
    once."""
    if since.year != until.year:
        return None
    changed = members_changed(since, until)
    if changed is None:
        return None
    members = changed.union(members_absent_between(since, until))
    return (
        base
        + figures.irregular_attendees(organisation, until, members)
        - figures.irregular_attendees(organisation, since, members)
    )


def pays(organisation: Organisation) -> bool:
    """Whether ``organisation``'s headline is worth carrying from a stored day's: a subtree of more than
    ``STEPPED_FROM`` organisations, whose whole headline reads more members than a day's steps touch (one count of
    the ancestor relation's index, stopped there). A smaller one's missing days are counted whole (and stored, as a
    larger one's are)."""
    subtree = OrganisationAncestor.objects.filter(ancestor=organisation).order_by()
    return subtree[: STEPPED_FROM + 1].count() > STEPPED_FROM


def stepped_meeting_counts(
    organisation: Organisation, base: figures.MeetingCounts, since: datetime.date, until: datetime.date
) -> figures.MeetingCounts | None:
    """``figures.meeting_counts(organisation, until)`` from ``base``, that of ``since`` (an earlier day of the same
    year): the attendance is the stored day's plus the meetings held since (``figures.attendance`` reads each meeting
    as of its own day), the irregular attendees are stepped by the members who changed (``stepped_irregular``); None
    when the step cannot be taken."""
    irregular = stepped_irregular(organisation, base.irregular, since, until)
    if irregular is None:
        return None
    attendance = base.attendance + figures.attendance(organisation, until, held_after=since)
    return figures.MeetingCounts(attendance, irregular)


# -- the comment figures of a year ----------------------------------------------------------------------------------


def members_commented_between(since: datetime.date, until: datetime.date) -> list[QuerySet]:
    """The keys of the members whose comment was written, sent or received, or whose year-end rating was decided,
    after ``since`` and on or before ``until`` (one index range each, for ``members_changed``'s UNION)."""
    dated = [(ResidenceComment, column) for column in ("written_on", "sent_on", "received_on")]
    dated.append((YearEndRating, "decided_on"))
    return [
        model.objects.filter(**{f"{column}__gt": since, f"{column}__lte": until})
        .values_list("member_id", flat=True)
        .order_by()
        for model, column in dated
    ]


def _comment_members(since: datetime.date, until: datetime.date, year: int) -> QuerySet | None:
    """The members whose part of the comment figures of ``year`` may differ between ``since`` and ``until``, or None
    when the step cannot be taken (another year, a restructure).

    The comment figures of a day (``figures.comments``, ``comment_sides``) count members: those due a comment on the
    day it was due (their referral, placement, home and exemptions, each read through its dates), and their comment
    and rating of the year, each read through its dates; the deadline is the year's (a change of it deletes the
    year's stored days: ``stale.COMMENTS_WATCHED``)."""
    if not (since.year == until.year == year):
        return None
    return members_changed(since, until, also=members_commented_between(since, until))


def _carried(base: int, now: int, then: int) -> int:
    return base + now - then


def _carried_grid(base: dict, now: dict, then: dict) -> dict[str, dict[str, int]]:
    """``CommentFigures.verdicts_by_rating`` carried: each cell added up, the cells of no member left out (as the whole
    figures have none)."""
    grid: dict[str, dict[str, int]] = {}
    for level in {*base, *now, *then}:
        for verdict in {*base.get(level, {}), *now.get(level, {}), *then.get(level, {})}:
            n = _carried(
                base.get(level, {}).get(verdict, 0),
                now.get(level, {}).get(verdict, 0),
                then.get(level, {}).get(verdict, 0),
            )
            if n:
                grid.setdefault(level, {})[verdict] = n
    return grid


def _carried_counts(base, now, then, as_of: datetime.date, deadline: datetime.date) -> dict[str, int]:
    counts = {
        name: _carried(getattr(base, name), getattr(now, name), getattr(then, name)) for name in figures.COMMENT_COUNTS
    }
    counts["missing"] = counts["due"] - counts["written"] if as_of > deadline else 0
    return counts


def stepped_comments(
    organisation: Organisation, base: figures.CommentFigures, since: datetime.date, until: datetime.date
) -> figures.CommentFigures | None:
    """``figures.comments(organisation, base.year, until)`` from ``base``, that of ``since`` (an earlier day of the
    same year), by the members who changed in between; None when the step cannot be taken (``_comment_members``)."""
    members = _comment_members(since, until, base.year)
    if members is None:
        return None
    then = figures.comments(organisation, base.year, since, members)
    now = figures.comments(organisation, base.year, until, members)
    if not (base.deadline == then.deadline == now.deadline):
        return None  # a round written since ``base`` was read (its triggers keep no stored day of it)
    return figures.CommentFigures(
        year=base.year,
        deadline=now.deadline,
        verdicts_by_rating=_carried_grid(base.verdicts_by_rating, now.verdicts_by_rating, then.verdicts_by_rating),
        **_carried_counts(base, now, then, until, now.deadline),
    )


def stepped_comment_sides(
    organisation: Organisation, base: figures.CommentSides, since: datetime.date, until: datetime.date
) -> figures.CommentSides | None:
    """``figures.comment_sides(organisation, until.year, until)`` from ``base``, that of ``since`` (an earlier day of
    the same year: ``stepped_comments``)."""
    year = until.year
    members = _comment_members(since, until, year)
    if members is None:
        return None
    deadline = figures.comment_deadline(organisation, year)
    then = figures.comment_sides(organisation, year, since, members)
    now = figures.comment_sides(organisation, year, until, members)

    def side(name: str) -> figures.CommentCounts:
        parts = (getattr(base, name), getattr(now, name), getattr(then, name))
        return figures.CommentCounts(**_carried_counts(*parts, until, deadline))

    return figures.CommentSides(workplace=side("workplace"), residence=side("residence"))


# -- the members by sector -----------------------------------------------------------------------------------------


def stepped_by_sector(
    organisation: Organisation, base: list[figures.SectorRow], since: datetime.date, until: datetime.date
) -> list[figures.SectorRow] | None:
    """``figures.by_sector(organisation, until)`` from ``base``, that of ``since`` (an earlier day), by the members who
    changed in between (the headline's people, split by their workplace's sector: ``stepped``); None when the step
    cannot be taken. A sector left without an eligible member is left out, as the whole figures leave it out."""
    members = members_changed(since, until)
    if members is None:
        return None
    counts = {row.sector: [row.eligible, row.introduced] for row in base}
    for rows, sign in (
        (figures.by_sector(organisation, until, members), 1),
        (figures.by_sector(organisation, since, members), -1),
    ):
        for row in rows:
            carried = counts.setdefault(row.sector, [0, 0])
            carried[0] += sign * row.eligible
            carried[1] += sign * row.introduced
    return [
        figures.SectorRow(
            sector=sector,
            eligible=eligible,
            introduced=introduced,
            referral_rate=figures.referral_rate(introduced, eligible),
        )
        for sector, (eligible, introduced) in sorted(counts.items())
        if eligible
    ]


# -- the breakdowns by grassroots organisation, by ward and cell -------------------------------------------------


def _carried_by_key(
    base: dict[int, dict[str, int]], now: dict[int, dict[str, int]], then: dict[int, dict[str, int]], names: tuple
) -> dict[int, dict[str, int]]:
    """Counts by organisation key carried: ``base`` + ``now`` - ``then``, each key's counts (``names``) added up; a key
    left with no count is left out, as the whole counts leave it out."""
    carried = {pk: dict(counts) for pk, counts in base.items()}
    for part, sign in ((now, 1), (then, -1)):
        for pk, counts in part.items():
            row = carried.setdefault(pk, dict.fromkeys(names, 0))
            for name, n in counts.items():
                row[name] += sign * n
    return {pk: counts for pk, counts in carried.items() if any(counts.values())}


def _stepped_by_key(
    counts_of,
    names: tuple[str, ...],
    organisation: Organisation,
    base: dict,
    since: datetime.date,
    until: datetime.date,
) -> dict[int, dict[str, int]] | None:
    """``counts_of(organisation, until)`` (counts by organisation key, each added up member by member) from ``base``,
    that of ``since``, by the members who changed in between; None when the step cannot be taken."""
    members = members_changed(since, until)
    if members is None:
        return None
    return _carried_by_key(
        base, counts_of(organisation, until, members), counts_of(organisation, since, members), names
    )


def stepped_grassroots_counts(
    organisation: Organisation, base: dict[int, dict[str, int]], since: datetime.date, until: datetime.date
) -> dict[int, dict[str, int]] | None:
    """``figures.grassroots_counts(organisation, until)`` from ``base``, that of ``since`` (an earlier day), by the
    members who changed in between (the headline's people and referrals, added to the rows above their home, issuer
    and ward: ``stepped``); None when the step cannot be taken. Over no restructure, the rows are the same on both
    days."""
    return _stepped_by_key(figures.grassroots_counts, figures.ROW_COUNTS, organisation, base, since, until)


def stepped_residence_counts(
    organisation: Organisation, base: dict[int, dict[str, int]], since: datetime.date, until: datetime.date
) -> dict[int, dict[str, int]] | None:
    """``figures.residence_counts(organisation, until)`` from ``base``, that of ``since``: the referrals of the members
    who changed in between, by ward and cell (``stepped_grassroots_counts``)."""
    return _stepped_by_key(figures.residence_counts, figures.RESIDENCE_COUNTS, organisation, base, since, until)


def stepped_summary_counts(
    organisation: Organisation, base: dict[int, dict[str, int]], since: datetime.date, until: datetime.date
) -> dict[int, dict[str, int]] | None:
    """``figures.summary_counts(organisation, until.year, until)`` from ``base``, that of ``since`` (an earlier day of
    the same year), by the members who changed in between: the breakdown's (``stepped_grassroots_counts``) and the
    comment round's (``stepped_comment_sides``), whose members are these; None when the step cannot be taken. Over no
    restructure, the rows (the grassroots organisations of some day of the year) are the same on both days."""
    year = until.year
    members = _comment_members(since, until, year)
    if members is None:
        return None
    rows = figures.summary_keys(organisation, year, until)  # the same on both days
    now = figures.summary_counts(organisation, year, until, members, rows)
    then = figures.summary_counts(organisation, year, since, members, rows)
    return _carried_by_key(base, now, then, figures.SUMMARY_COUNTS)
