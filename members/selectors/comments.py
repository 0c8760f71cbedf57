"""The yearly residence comments (phiếu nhận xét) and the year-end ratings they feed.

A year's round: a comment is *due* for every referred member placed in a residential cell on the round's reference
day and not exempt from residence activities that day. The reference day is the deadline (``CommentRound`` of the
root organisation, else 30 November), or today while the deadline has not come. A member who is no longer due (moved
away, exempted) but already has a comment that year stays on the list with it, so nothing written disappears.

Every list is one query for its rows (comment or rating joined with a ``FilteredRelation``), whatever their number.
"""

import dataclasses
import datetime

from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Count,
    Exists,
    F,
    FilteredRelation,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
    prefetch_related_objects,
)

from branches.access import access_for
from branches.models import Organisation
from branches.selectors import in_subtrees
from members.models import (
    Attendance,
    CommentRound,
    Exemption,
    Meeting,
    Member,
    MemberHome,
    Referral,
    ResidenceComment,
    YearEndRating,
)
from members.selectors.paging import page_first
from members.selectors.scope import (
    referrals_commentable_by,
    visible_comments,
    visible_members,
    visible_rated_members,
    visible_referrals,
)

Kind = Organisation.Kind

# Regulation 76-QĐ/TW dates from 2000: no round before it.
FIRST_COMMENT_YEAR = 2000


class CommentState:
    """Where a due member's comment stands (``comment_state`` of ``comment_rows``)."""

    NOT_WRITTEN = "not_written"  # before the deadline
    MISSING = "missing"  # not written and the deadline has passed
    WRITTEN = "written"  # written, not sent to the workplace yet
    SENT = "sent"  # sent, its arrival not recorded by the workplace
    RECEIVED = "received"


# Ratings the page warns about when the residence comment is "limited" or missing.
WELL_RATED = (YearEndRating.Level.EXCELLENT, YearEndRating.Level.GOOD)


@dataclasses.dataclass(frozen=True)
class CommentYear:
    """A year's round of comments as a user sees it on ``today``."""

    year: int
    deadline: datetime.date
    is_default: bool  # no round recorded: the default deadline, 30 November
    root_id: int | None
    today: datetime.date

    @property
    def due_day(self) -> datetime.date:
        """The day the list of due members is taken: the deadline, or today while it has not come."""
        return min(self.deadline, self.today)

    @property
    def past_deadline(self) -> bool:
        return self.today > self.deadline

    @property
    def first_day(self) -> datetime.date:
        return datetime.date(self.year, 1, 1)

    @property
    def last_day(self) -> datetime.date:
        return datetime.date(self.year, 12, 31)


def comment_years(today: datetime.date) -> list[int]:
    """The years a round can be looked at, latest first."""
    return list(range(today.year, FIRST_COMMENT_YEAR - 1, -1))


def comment_root_id(user) -> int | None:
    """The root organisation whose rounds the user works in: the root where the user is city staff (a post that
    writes first), else the root above the user's posts (read from their paths, no query), else the first root (a
    superuser without a post). City staff of one root with a post under another set their own root's rounds."""
    access = access_for(user)
    root_posts = sorted(
        (post for post in access.posts if post.organisation.kind == Kind.ROOT), key=lambda p: not p.can_write
    )
    if root_posts:
        return root_posts[0].organisation.pk
    for organisation in access.organisations:
        if organisation.kind != Kind.OUTSIDE and organisation.path:
            return int(organisation.path.split("/")[0])
    return Organisation.objects.filter(kind=Kind.ROOT).order_by("pk").values_list("pk", flat=True).first()


def comment_root(user) -> Organisation | None:
    root_id = comment_root_id(user)
    return None if root_id is None else Organisation.objects.filter(pk=root_id, kind=Kind.ROOT).first()


def comment_year(user, year: int, *, today: datetime.date) -> CommentYear:
    """The round of ``year`` for the user: its deadline (one query)."""
    root_id = comment_root_id(user)
    deadline = None
    if root_id is not None:
        deadline = (
            CommentRound.objects.filter(organisation_id=root_id, year=year).values_list("deadline", flat=True).first()
        )
    return CommentYear(
        year=year,
        deadline=deadline or CommentRound.default_deadline(year),
        is_default=deadline is None,
        root_id=root_id,
        today=today,
    )


def due_condition(day: datetime.date) -> Q:
    """On ``Referral``: placed in a residential cell on ``day``, still active, and the member not exempt from
    residence activities that day."""
    exempt = Exemption.objects.in_force_on(day).filter(member=OuterRef("member"), kind=Exemption.Kind.ACTIVITIES)
    return (
        Q(residential_cell__isnull=False, placed_on__lte=day)
        & (Q(ended_on__isnull=True) | Q(ended_on__gt=day))
        & ~Q(Exists(exempt))
    )


def _in_year(round_: CommentYear) -> Q:
    """On ``Referral``: placed in a residential cell at some time during the year."""
    return Q(residential_cell__isnull=False, placed_on__lte=round_.last_day) & (
        Q(ended_on__isnull=True) | Q(ended_on__gt=round_.first_day)
    )


def comment_rows(user, round_: CommentYear) -> QuerySet[Referral]:
    """The members a comment is due for in the user's scope (one referral each), with their comment of the year. Only
    members the user may open (``visible_members``, the member page's scope) are listed. A page of them is found as
    its keys first and read whole by them (``page_first``).

    Annotated: ``comment_pk``, ``comment_written_on``, ``comment_sent_on``, ``comment_received_on``,
    ``comment_verdict``, ``comment_state`` (a ``CommentState``), ``comment_late`` (sent after the deadline),
    ``comment_overdue`` (not sent and the deadline has passed), ``is_due`` (False: no longer due, but commented).
    """
    year, day = round_.year, round_.due_day
    here = ResidenceComment.objects.filter(
        member=OuterRef("member"), year=year, residential_cell=OuterRef("residential_cell")
    )
    due_elsewhere = Referral.objects.filter(due_condition(day), member=OuterRef("member"))
    latest_here = (
        Referral.objects.filter(
            _in_year(round_), member=OuterRef("member"), residential_cell=OuterRef("residential_cell")
        )
        .order_by("-placed_on", "-pk")
        .values("pk")[:1]
    )
    referrals = visible_referrals(user)
    if not access_for(user).is_city():
        # A referral the user sees (e.g. one its workplace issued) may be of a member who has since left its scope
        # (retired into another ward's cell): the list shows only members whose page the user may open.
        referrals = referrals.filter(member__in=visible_members(user).values("pk"))
    due = referrals.filter(
        due_condition(day) | (Q(Exists(here)) & ~Q(Exists(due_elsewhere)) & Q(pk=Subquery(latest_here)))
    )

    def rows_of(rows: QuerySet[Referral]) -> QuerySet[Referral]:
        return _with_comment_of_year(rows, round_).order_by("member__search_name", "member__card_number")

    return page_first(rows_of(due), rows_of)


def _with_comment_of_year(referrals: QuerySet[Referral], round_: CommentYear) -> QuerySet[Referral]:
    """``comment_rows``' relations and annotations on ``referrals``."""
    year, day = round_.year, round_.due_day
    no_comment = CommentState.MISSING if round_.past_deadline else CommentState.NOT_WRITTEN
    return (
        referrals.select_related("member", "member__home_organisation", "residential_cell", "residential_cell__parent")
        .annotate(
            yc=FilteredRelation("member_comments", condition=Q(member_comments__year=year)),
        )
        .annotate(
            comment_pk=F("yc__pk"),
            comment_written_on=F("yc__written_on"),
            comment_sent_on=F("yc__sent_on"),
            comment_received_on=F("yc__received_on"),
            comment_verdict=F("yc__verdict"),
            comment_state=Case(
                When(yc__pk__isnull=True, then=Value(no_comment)),
                When(yc__sent_on__isnull=True, then=Value(CommentState.WRITTEN)),
                When(yc__received_on__isnull=True, then=Value(CommentState.SENT)),
                default=Value(CommentState.RECEIVED),
                output_field=CharField(),
            ),
            comment_late=Case(
                When(yc__sent_on__gt=round_.deadline, then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            ),
            comment_overdue=Case(
                When(yc__pk__isnull=False, yc__sent_on__isnull=True, then=Value(round_.past_deadline)),
                default=Value(False),
                output_field=BooleanField(),
            ),
            is_due=Case(When(due_condition(day), then=Value(True)), default=Value(False), output_field=BooleanField()),
        )
    )


def comment_counts(rows: QuerySet[Referral]) -> dict[str, int]:
    """How many rows stand in each state, and how many were sent late or are overdue (one query)."""
    return rows.order_by().aggregate(
        total=Count("pk"),
        not_written=Count("pk", filter=Q(comment_pk__isnull=True)),
        written=Count("pk", filter=Q(comment_pk__isnull=False, comment_sent_on__isnull=True)),
        sent=Count("pk", filter=Q(comment_sent_on__isnull=False, comment_received_on__isnull=True)),
        received=Count("pk", filter=Q(comment_received_on__isnull=False)),
        late=Count("pk", filter=Q(comment_late=True)),
        overdue=Count("pk", filter=Q(comment_overdue=True)),
    )


def referral_to_comment(user, member_pk: int, round_: CommentYear) -> Referral:
    """The member's referral to a residential cell the user writes comments for, during the year (the latest one).
    Raises ``Referral.DoesNotExist`` outside the user's cells."""
    return (
        referrals_commentable_by(user)
        .filter(_in_year(round_), member_id=member_pk)
        .select_related("member", "member__home_organisation", "residential_cell", "residential_cell__parent")
        .order_by("-placed_on", "-pk")[:1]
        .get()
    )


def comment_of(member: Member, year: int) -> ResidenceComment | None:
    return ResidenceComment.objects.filter(member=member, year=year).first()


def comment_for(user, pk: int, queryset: QuerySet[ResidenceComment] | None = None) -> ResidenceComment:
    """One comment in the user's scope (or in ``queryset``, a scope of who may act on it), with what its pages show.
    Raises ``ResidenceComment.DoesNotExist`` outside it."""
    queryset = visible_comments(user) if queryset is None else queryset
    return queryset.select_related(
        "member",
        "member__home_organisation",
        "residential_cell",
        "residential_cell__parent",
        "written_by",
        "sent_by",
        "received_by",
    ).get(pk=pk)


def cell_comments(user, cell: Organisation, year: int) -> QuerySet[ResidenceComment]:
    """The comments a residential cell wrote for a year, by the members' names."""
    return (
        visible_comments(user)
        .filter(residential_cell=cell, year=year)
        .select_related("member", "member__home_organisation", "residential_cell", "residential_cell__parent")
        .order_by("member__search_name", "member__card_number")
    )


@dataclasses.dataclass(frozen=True)
class AttendanceSummary:
    """What the attendance sheets of the cell say about a member for the year: the prefill of the comment form."""

    year: int
    periodic: int  # periodic meetings of the cell that year while the member was placed in it
    present: int
    excused: int
    absent: int
    not_recorded: int
    ad_hoc: int
    ad_hoc_present: int

    @property
    def attends(self) -> bool:
        """Attends the cell's meetings: no absence without reason."""
        return self.absent == 0


def attendance_summary(referral: Referral, year: int, *, until: datetime.date) -> AttendanceSummary:
    """The member's attendance at the meetings of the referral's cell that count for ``year``, held while the
    member was placed there and up to ``until`` (one query)."""
    placed = Q(held_on__gte=referral.placed_on, held_on__lte=until)
    if referral.ended_on is not None:
        placed &= Q(held_on__lt=referral.ended_on)
    status = Attendance.objects.filter(meeting=OuterRef("pk"), member=referral.member_id).values("status")[:1]
    rows = list(
        Meeting.objects.filter(placed, residential_cell=referral.residential_cell_id, year=year)
        .annotate(status=Subquery(status))
        .values_list("kind", "status")
    )
    periodic = [status for kind, status in rows if kind == Meeting.Kind.PERIODIC]
    ad_hoc = [status for kind, status in rows if kind == Meeting.Kind.AD_HOC]
    return AttendanceSummary(
        year=year,
        periodic=len(periodic),
        present=periodic.count(Attendance.Status.PRESENT),
        excused=periodic.count(Attendance.Status.EXCUSED),
        absent=periodic.count(Attendance.Status.ABSENT),
        not_recorded=periodic.count(None),
        ad_hoc=len(ad_hoc),
        ad_hoc_present=ad_hoc.count(Attendance.Status.PRESENT),
    )


# -- year-end ratings ----------------------------------------------------------------------------------------------


def rating_rows(user, round_: CommentYear) -> QuerySet[Member]:
    """The members of the user's workplaces working at the end of the year (or today, for the current year), and any
    member already rated for it, with their rating and residence comment of the year. A page of them is found as its
    keys first and read whole by them (``page_first``).

    Annotated: ``rating_pk``, ``rating_level``, ``rating_decided_on``, ``comment_pk``, ``comment_verdict``,
    ``comment_sent_on``, ``comment_received_on``, ``comment_due`` (a comment was due on the round's reference day),
    ``residence_cell`` (the residential cell's name), ``rating_warning`` (rated excellent or good with a "limited"
    comment, or with none though one was due).
    """
    rows = _rated_in_round(visible_rated_members(user), round_).order_by("search_name", "card_number")
    return page_first(rows, rows_of=lambda page: _with_rating_of_year(page, round_))


def _rated_in_round(members: QuerySet[Member], round_: CommentYear) -> QuerySet[Member]:
    """Of ``members``, those the round's ratings list: working at its day, or rated for its year; annotated."""
    day = min(round_.last_day, round_.today)
    working = (
        Q(admitted_on__lte=day)
        & (Q(left_on__isnull=True) | Q(left_on__gt=day))
        & (Q(retired_on__isnull=True) | Q(retired_on__gt=day))
        & ~Q(home_organisation__kind__in=[Kind.OUTSIDE, Kind.RESIDENTIAL_CELL])
    )
    # "Rated" read on the row's own join to its rating of the year, not as EXISTS: OR-ed with "working", EXISTS was
    # asked once per member (at the nation's root, 2.8 million probes: 11 of the count's 20 s).
    return _with_rating_of_year(members, round_).filter(working | Q(rating_pk__isnull=False))


def _with_rating_of_year(members: QuerySet[Member], round_: CommentYear) -> QuerySet[Member]:
    """``rating_rows``' relations and annotations on ``members``."""
    year = round_.year
    due = Referral.objects.filter(due_condition(round_.due_day), member=OuterRef("pk"))
    placed = (
        Referral.objects.filter(_in_year(round_), member=OuterRef("pk"))
        .order_by("-placed_on", "-pk")
        .values("residential_cell__name")[:1]
    )
    missing_or_limited = Q(yc__verdict=ResidenceComment.Verdict.LIMITED) | (Q(yc__pk__isnull=True) & Q(Exists(due)))
    return (
        members.select_related("home_organisation")
        .annotate(
            yr=FilteredRelation("ratings", condition=Q(ratings__year=year)),
            yc=FilteredRelation("residence_comments", condition=Q(residence_comments__year=year)),
        )
        .annotate(
            rating_pk=F("yr__pk"),
            rating_level=F("yr__level"),
            rating_decided_on=F("yr__decided_on"),
            comment_pk=F("yc__pk"),
            comment_verdict=F("yc__verdict"),
            comment_sent_on=F("yc__sent_on"),
            comment_received_on=F("yc__received_on"),
            comment_due=Exists(due),
            residence_cell=Subquery(placed),
            rating_warning=Case(
                # "Rated" first: a level of NULL (not rated) does not end an AND, and the count of warnings then
                # looked for a due comment of every member of the city (0.15 s of its 0.2 s).
                When(Q(yr__pk__isnull=False) & Q(yr__level__in=WELL_RATED) & missing_or_limited, then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            ),
        )
    )


def not_rated_in(year: int) -> Q:
    """On ``Member``: no rating for ``year`` (``rating_rows``' ``rating_pk`` is NULL: one rating a member and year).

    As NOT EXISTS, an anti join: as "the year's rating IS NULL" on the LEFT JOIN, PostgreSQL took the year's ratings
    for one row (there are none before the year ends) and the members left for one, and read every rating of the
    year again for each member (the city's ratings page filtered by "no comment": over 60 s at the province's size,
    116 ms so)."""
    return ~Q(Exists(YearEndRating.objects.filter(member=OuterRef("pk"), year=year)))


def not_commented_in(year: int, member: str = "pk") -> Q:
    """On ``Member``: no residence comment for ``year`` (``rating_rows``' ``comment_pk`` is NULL), as NOT EXISTS
    (see ``not_rated_in``). On ``Referral``, ``member="member"``: ``comment_rows``' ``comment_pk`` is NULL (one
    comment a member and year); as IS NULL on the join, the city's comment list filtered by "not written" took the
    year's comments for one row, planned the rows for one and sorted them all (0.6-1.2 s at the province's size)."""
    return ~Q(Exists(ResidenceComment.objects.filter(member=OuterRef(member), year=year)))


def rating_counts(rows: QuerySet[Member]) -> dict[str, int]:
    """Members, rated, and warnings (one query)."""
    return rows.order_by().aggregate(
        total=Count("pk"),
        rated=Count("pk", filter=Q(rating_pk__isnull=False)),
        warnings=Count("pk", filter=Q(rating_warning=True)),
    )


def rating_row(user, round_: CommentYear, member_pk: int) -> Member:
    """One row of the ratings page (after recording a rating inline)."""
    return _rated_in_round(visible_rated_members(user), round_).get(pk=member_pk)


def rating_organisations(user, *, day: datetime.date) -> QuerySet[Organisation]:
    """The workplace organisations the ratings page filters by: the user's workplace subtrees (all for the city)."""
    access = access_for(user)
    organisations = Organisation.objects.valid_on(day).filter(
        kind__in=[Kind.COMMITTEE, Kind.GRASSROOTS_CELL, Kind.CELL, Kind.WARD]
    )
    if not access.is_city():
        organisations = organisations.filter(in_subtrees("", access.workplace_paths()))
    return organisations.order_by("path")


def comment_filter_choices(user, *, day: datetime.date) -> dict[str, QuerySet[Organisation]]:
    """The choices of the comment list's filters: wards and residential cells (those the user sees on the residence
    side, else all), and the workplaces (grassroots organisations and outside organisations; a workplace's own
    subtree for its cadres)."""
    access = access_for(user)
    wards = Organisation.objects.filter(kind=Kind.WARD)
    cells = Organisation.objects.filter(kind=Kind.RESIDENTIAL_CELL)
    workplaces = Organisation.objects.valid_on(day).filter(
        kind__in=[Kind.COMMITTEE, Kind.GRASSROOTS_CELL, Kind.WARD, Kind.OUTSIDE]
    )
    if not access.is_city():
        ward_paths, cell_ids = access.ward_paths(), access.residential_cell_ids()
        if ward_paths or cell_ids:
            cells = cells.filter(in_subtrees("parent", ward_paths) | Q(pk__in=cell_ids))
            wards = wards.filter(in_subtrees("", ward_paths) | Q(pk__in=cells.values("parent")))
        else:
            workplaces = workplaces.filter(in_subtrees("", access.workplace_paths()))
            cells = cells.filter(valid_from__lte=day).filter(Q(valid_to__isnull=True) | Q(valid_to__gt=day))
    return {
        "wards": wards.order_by("name"),
        "cells": cells.order_by("name"),
        "workplaces": workplaces.order_by("name"),
    }


def with_names_of_their_day(comments: list[ResidenceComment]) -> list[ResidenceComment]:
    """Each printed comment with the names of the day it was written (``cell_name``, ``ward_name``) and the member's
    home cell that day (``home_name``): a cell merged or renamed since prints as it was (a few queries in all)."""
    prefetch_related_objects(comments, "residential_cell__former_names", "residential_cell__parent__former_names")
    homes: dict[int, list[MemberHome]] = {}
    for home in MemberHome.objects.filter(member__in=[c.member_id for c in comments]).prefetch_related(
        "organisation__former_names"
    ):
        homes.setdefault(home.member_id, []).append(home)
    for comment in comments:
        day = comment.written_on
        comment.cell_name = comment.residential_cell.name_on(day)
        comment.ward_name = comment.residential_cell.parent.name_on(day)
        then = next(
            (
                h
                for h in homes.get(comment.member_id, ())
                if h.started_on <= day and (h.ended_on is None or h.ended_on > day)
            ),
            None,
        )
        comment.home_name = then.organisation.name_on(day) if then else comment.member.home_organisation.name
    return comments
