"""The member list, its filters and export, and the member detail page."""

import dataclasses
import datetime

from django.db.models import (
    Case,
    CharField,
    Exists,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from branches.access import Access, access_for
from branches.models import Organisation
from branches.selectors import grassroots_of, in_subtrees
from members.models import Attendance, Exemption, Member, MemberHome, Referral, ResidenceComment, YearEndRating
from members.models.history import placed_in_q
from members.models.referral import STALLED_AFTER_DAYS
from members.selectors.meetings import irregular_in
from members.selectors.paging import listed, pinned
from members.selectors.referrals import eligible_not_introduced
from members.selectors.scope import (
    members_editable_by,
    members_introducible_by,
    national_ids_shown_to,
    visible_members,
    visible_referrals,
    visible_residential_cells,
)

Kind = Organisation.Kind

# -- member lists --------------------------------------------------------------------------------------------------
# The member list, its filters and export, and the member detail page. Every function starts from a scoped queryset
# (``visible_members(user)`` and friends) and adds what the page shows as annotations or prefetches, so that a page
# runs the same number of queries whatever the number of rows.


class ReferralStateToday:
    """The referral state of a member on a day, as the member list shows and filters it."""

    NOT_INTRODUCED = "not_introduced"  # eligible, without an active referral
    INTRODUCED = "introduced"  # awaiting reception (stalled ones included)
    STALLED = "stalled"  # introduced more than 30 days ago and still not received
    RECEIVED = "received"  # received, awaiting placement
    PLACED = "placed"  # placed in a residential cell (reported or not)
    REPORTED = "reported"  # shown only: placed, and the member reported to the cell


def _referral_state_expression(day: datetime.date) -> Case:
    stalled_before = day - datetime.timedelta(days=STALLED_AFTER_DAYS)
    return Case(
        When(reported_on__lte=day, then=Value(ReferralStateToday.REPORTED)),
        When(placed_on__lte=day, then=Value(ReferralStateToday.PLACED)),
        When(received_on__lte=day, then=Value(ReferralStateToday.RECEIVED)),
        When(introduced_on__lt=stalled_before, then=Value(ReferralStateToday.STALLED)),
        default=Value(ReferralStateToday.INTRODUCED),
        output_field=CharField(),
    )


def with_referral_state(
    members: QuerySet[Member], *, day: datetime.date, referrals: QuerySet[Referral] | None = None
) -> QuerySet[Member]:
    """Annotate each member with the state of their referral active on ``day`` (``referral_state``: one of
    ``ReferralStateToday``, "" when there is none to show and the member is not eligible), its receiving ward and
    residential cell (``referral_ward_name``, ``referral_cell_name``), and the kind of exemption in force
    (``exemption_kind``). ``referrals`` are those the reader sees (default: all): a referral out of their sight
    (a member who moved on to a ward elsewhere) shows no state, ward nor cell, as the member's own page shows none."""
    referrals = Referral.objects.all() if referrals is None else referrals
    current = referrals.active_on(day).filter(member=OuterRef("pk")).order_by("-introduced_on", "-pk")
    # A scalar subquery (the state, or nothing), not EXISTS: PostgreSQL may answer an EXISTS of every row at once,
    # hashing the eligible members of the whole city, where a page needs the fifty it shows.
    not_introduced = eligible_not_introduced(Member.objects.filter(pk=OuterRef("pk")), day).annotate(
        _state=Value(ReferralStateToday.NOT_INTRODUCED, output_field=CharField())
    )
    return members.annotate(
        referral_state=Coalesce(
            Subquery(current.annotate(_state=_referral_state_expression(day)).values("_state")[:1]),
            Subquery(not_introduced.values("_state")[:1]),
            Value(""),
            output_field=CharField(),
        ),
        referral_ward_name=Subquery(current.values("receiving_ward__name")[:1]),
        referral_cell_name=Subquery(
            current.filter(placed_on__lte=day).values("residential_cell__name")[:1], output_field=CharField()
        ),
        exemption_kind=Subquery(
            Exemption.objects.in_force_on(day).filter(member=OuterRef("pk")).order_by("-started_on").values("kind")[:1]
        ),
    )


REFERRAL_STATE_FIELDS = ("referral_state", "referral_ward_name", "referral_cell_name", "exemption_kind")


def member_list(user, *, day: datetime.date | None = None) -> QuerySet[Member]:
    """The members the user sees, with their home cell and their referral state on ``day`` (today by default), as
    far as the referrals the user sees tell it (``with_referral_state``'s annotations), computed for a page's rows
    only (``listed``)."""
    day = day or timezone.localdate()
    referrals, _ = pinned(visible_referrals(user))

    def rows_of(members: QuerySet[Member]) -> QuerySet[Member]:
        return with_referral_state(members.select_related("home_organisation"), day=day, referrals=referrals)

    return listed(
        visible_members(user),
        rows_of,
        ordered_by=lambda members: members.select_related("home_organisation"),
        shown=REFERRAL_STATE_FIELDS,
    )


def members_in_referral_state(
    members: QuerySet[Member], state: str, *, day: datetime.date, referrals: QuerySet[Referral] | None = None
) -> QuerySet[Member]:
    """Narrow ``members`` to those in referral ``state`` on ``day`` (see ``ReferralStateToday``), as the referrals
    the reader sees (``referrals``, default: all) tell it."""
    referrals = (Referral.objects.all() if referrals is None else referrals).filter(member=OuterRef("pk"))
    if state == ReferralStateToday.NOT_INTRODUCED:
        return eligible_not_introduced(members, day)
    chosen = {
        ReferralStateToday.INTRODUCED: referrals.awaiting_reception_on(day),
        ReferralStateToday.STALLED: referrals.stalled_on(day),
        ReferralStateToday.RECEIVED: referrals.awaiting_placement_on(day),
        ReferralStateToday.PLACED: referrals.placed_as_of(day),
        ReferralStateToday.REPORTED: referrals.active_on(day).filter(reported_on__lte=day),
    }.get(state)
    return members if chosen is None else members.filter(Exists(chosen))


def members_with_exemption(members: QuerySet[Member], kind: str, *, day: datetime.date) -> QuerySet[Member]:
    """``kind`` is an ``Exemption.Kind``, or "none" for members without any exemption in force on ``day``."""
    if kind == "none":
        return members.exclude(Exists(Exemption.objects.in_force_on(day).filter(member=OuterRef("pk"))))
    return members.exempt_on(day, kind)


def members_in_working_status(members: QuerySet[Member], status: str, *, day: datetime.date) -> QuerySet[Member]:
    """``status``: "working" or "retired" (members of the party on ``day``), or "left" (gone from the party)."""
    if status == "working":
        return members.members_on(day).working_on(day)
    if status == "retired":
        return members.members_on(day).filter(retired_on__lte=day)
    if status == "left":
        return members.filter(left_on__lte=day)
    return members


class MemberStatus:
    """Which members the member list shows (``status=``): by default the members of today, as the figures count
    them; those who left or died and members of outside organisations only when asked for."""

    CURRENT = ""  # members on the day whose home is in the tree (not an outside organisation)
    PAST = "past"  # left the party or died on or before the day
    OUTSIDE = "outside"  # members on the day whose home is an outside organisation
    ALL = "all"


def members_in_status(members: QuerySet[Member], status: str, *, day: datetime.date) -> QuerySet[Member]:
    """Narrow ``members`` to ``status`` (a ``MemberStatus``) on ``day``."""
    outside = Q(home_organisation__kind=Kind.OUTSIDE)
    if status == MemberStatus.ALL:
        return members
    if status == MemberStatus.PAST:
        return members.filter(left_on__lte=day)
    if status == MemberStatus.OUTSIDE:
        return members.members_on(day).filter(outside)
    return members.members_on(day).exclude(outside)


def members_to_introduce(members: QuerySet[Member], which: str, *, day: datetime.date) -> QuerySet[Member]:
    """``which``: "eligible" (working members of a workplace cell, not exempt from introduction: the dashboard's
    "to introduce") or "introduced" (of them, those with a referral active on ``day``). Every referral counts, seen
    or not, as in the figures (``reports.figures.headline``), so the list and its number agree."""
    eligible = members.eligible_on(day)
    if which == "introduced":
        return eligible.filter(Exists(Referral.objects.active_on(day).filter(member=OuterRef("pk"))))
    return eligible


def irregular_attendees_under(
    members: QuerySet[Member], organisation: Organisation, *, day: datetime.date
) -> QuerySet[Member]:
    """Members placed on ``day`` in a residential cell of ``organisation``'s subtree who missed a periodic meeting of
    the year there: the irregular attendees the dashboard counts (``reports.figures.meetings``)."""
    # The set of members first (as the figure counts them), not a test per member: far fewer subqueries to run.
    referrals = Referral.objects.filter(placed_in_q(day, Q(path__startswith=organisation.path)))
    return members.filter(pk__in=irregular_in(referrals, day.year, day).values("member"))


@dataclasses.dataclass(frozen=True)
class TimelineEntry:
    """One dated line of a member's timeline: a referral step, a meeting attended, a comment, a rating."""

    day: datetime.date
    kind: str  # introduced, received, placed, reported, ended, meeting, comment, rating
    order: int  # among entries of the same day: the later step first
    referral: Referral | None = None
    attendance: Attendance | None = None
    comment: ResidenceComment | None = None
    rating: YearEndRating | None = None


@dataclasses.dataclass(frozen=True)
class MemberFile:
    """Everything the member detail page shows, read in a fixed number of queries."""

    member: Member
    grassroots: Organisation | None
    exemptions: list[Exemption]
    exemption_in_force: Exemption | None
    referrals: list[Referral]
    open_referral: Referral | None
    timeline: list[TimelineEntry]
    can_edit: bool
    can_introduce: bool
    shows_national_id: bool  # the user is one of the member's own committees (``national_ids_shown_to``)
    homes: list[MemberHome]  # latest first; the member's workplace side only (former workplaces are theirs)


def _member_side_condition(access: Access, field: str) -> Q | None:
    """Rows about a member (``field`` is the path to the member) that the workplace side of the member sees."""
    if access.is_city():
        return None
    return in_subtrees(f"{field}__home_organisation", access.workplace_paths())


def _or_scoped(queryset: QuerySet, *conditions: Q | None) -> QuerySet:
    if any(condition is None for condition in conditions):
        return queryset
    combined = Q(pk__in=[])
    for condition in conditions:
        combined |= condition
    return queryset.filter(combined)


def member_file(user, member: Member, *, day: datetime.date | None = None) -> MemberFile:
    """The member's file as ``user`` may see it: referrals through ``visible_referrals``; meetings attended and
    comments when the user is on the member's workplace side or sees the residential cell; ratings on the workplace
    side. ``member`` must come from ``visible_members(user)``."""
    day = day or timezone.localdate()
    access = access_for(user)
    cells = visible_residential_cells(user)
    exemptions = list(Exemption.objects.filter(member=member).order_by("-started_on"))
    referrals = list(
        visible_referrals(user)
        .filter(member=member)
        .select_related("issuing_organisation", "receiving_ward", "residential_cell")
        .order_by("-introduced_on", "-pk")
    )
    attendances = _or_scoped(
        Attendance.objects.filter(member=member).select_related("meeting", "meeting__residential_cell"),
        _member_side_condition(access, "member"),
        Q(meeting__residential_cell__in=cells),
    )
    comments = _or_scoped(
        ResidenceComment.objects.filter(member=member).select_related("residential_cell"),
        _member_side_condition(access, "member"),
        Q(residential_cell__in=cells),
    )
    ratings = _or_scoped(YearEndRating.objects.filter(member=member), _member_side_condition(access, "member"))

    timeline: list[TimelineEntry] = []
    for referral in referrals:
        steps = [
            ("introduced", referral.introduced_on, 0),
            ("received", referral.received_on, 1),
            ("placed", referral.placed_on, 2),
            ("reported", referral.reported_on, 3),
            ("ended", referral.ended_on, 4),
        ]
        timeline += [
            TimelineEntry(day=when, kind=kind, order=order, referral=referral) for kind, when, order in steps if when
        ]
    timeline += [
        TimelineEntry(day=attendance.meeting.held_on, kind="meeting", order=5, attendance=attendance)
        for attendance in attendances
    ]
    timeline += [
        TimelineEntry(day=comment.written_on, kind="comment", order=6, comment=comment) for comment in comments
    ]
    timeline += [TimelineEntry(day=rating.decided_on, kind="rating", order=7, rating=rating) for rating in ratings]
    timeline.sort(key=lambda entry: (entry.day, entry.order), reverse=True)

    in_force = [e for e in exemptions if e.started_on <= day and (e.ended_on is None or e.ended_on > day)]
    open_referral = next((referral for referral in referrals if referral.ended_on is None), None)
    can_edit = members_editable_by(user).filter(pk=member.pk).exists()
    # Any open referral counts here, seen or not: a member has at most one.
    can_introduce = (
        can_edit
        and members_introducible_by(user)
        .filter(pk=member.pk)
        .exclude(Exists(Referral.objects.filter(member=OuterRef("pk"), ended_on__isnull=True)))
        .exists()
    )
    return MemberFile(
        member=member,
        grassroots=grassroots_of(member.home_organisation),
        exemptions=exemptions,
        exemption_in_force=in_force[0] if in_force else None,
        referrals=referrals,
        open_referral=open_referral,
        timeline=timeline,
        can_edit=can_edit,
        can_introduce=can_introduce,
        shows_national_id=bool(member.national_id) and national_ids_shown_to(user).filter(pk=member.pk).exists(),
        homes=list(
            _or_scoped(
                MemberHome.objects.filter(member=member).select_related("organisation").order_by("-started_on"),
                _member_side_condition(access, "member"),
            )
        ),
    )
