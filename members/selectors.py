"""Reads about members and their residence registration."""

import dataclasses
import datetime

from django.db.models import (
    Case,
    CharField,
    Exists,
    F,
    Func,
    IntegerField,
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
from members.models import Attendance, Exemption, Member, Referral, ResidenceComment, YearEndRating

Kind = Organisation.Kind

# -- scope ---------------------------------------------------------------------------------------------------------
# Every list and every object lookup of the members app goes through one of these functions, so the rules of who
# sees what (branches.access) are applied in one place. ``None`` as a condition means "everything".


def _member_condition(access: Access, *, write: bool) -> Q | None:
    if access.is_city(write=write):
        return None
    condition = in_subtrees("home_organisation", access.workplace_paths(write=write))
    wards = access.ward_paths(write=write)
    if wards:
        addressed = Referral.objects.filter(in_subtrees("receiving_ward", wards), member=OuterRef("pk"))
        condition |= Q(Exists(addressed))
    cells = access.residential_cell_ids(write=write)
    if cells:
        placed = Referral.objects.filter(member=OuterRef("pk"), residential_cell__in=cells)
        condition |= Q(home_organisation__in=cells) | Q(Exists(placed))
    return condition


def _referral_condition(access: Access, *, write: bool) -> Q | None:
    if access.is_city(write=write):
        return None
    workplaces = access.workplace_paths(write=write)
    return (
        in_subtrees("member__home_organisation", workplaces)
        | in_subtrees("issuing_organisation", workplaces)
        | in_subtrees("receiving_ward", access.ward_paths(write=write))
        | Q(residential_cell__in=access.residential_cell_ids(write=write))
    )


def _scoped(queryset: QuerySet, condition: Q | None) -> QuerySet:
    return queryset if condition is None else queryset.filter(condition)


def visible_members(user) -> QuerySet[Member]:
    return _scoped(Member.objects.all(), _member_condition(access_for(user), write=False))


def visible_referrals(user) -> QuerySet[Referral]:
    return _scoped(Referral.objects.all(), _referral_condition(access_for(user), write=False))


def visible_residential_cells(user) -> QuerySet[Organisation]:
    """Residential cells: all for city staff, a ward's own cells for its committee, one's own cell."""
    access = access_for(user)
    cells = Organisation.objects.filter(kind=Kind.RESIDENTIAL_CELL)
    if access.is_city():
        return cells
    return cells.filter(in_subtrees("parent", access.ward_paths()) | Q(pk__in=access.residential_cell_ids()))


def members_editable_by(user) -> QuerySet[Member]:
    """Members whose record the user may change: their workplace committee's, and for a ward the members of outside
    organisations it registered (those with a referral to the ward)."""
    access = access_for(user)
    if access.is_city(write=True):
        return Member.objects.all()
    condition = in_subtrees("home_organisation", access.workplace_paths(write=True))
    wards = access.ward_paths(write=True)
    if wards:
        addressed = Referral.objects.filter(in_subtrees("receiving_ward", wards), member=OuterRef("pk"))
        condition |= Q(home_organisation__kind=Kind.OUTSIDE) & Q(Exists(addressed))
    return Member.objects.filter(condition)


def members_introducible_by(user) -> QuerySet[Member]:
    """Members the user may introduce: editable by them and not belonging to a residential cell.

    Whether a member is eligible today (working, not exempt, no open referral) is the service's to say, with a
    message; this is only who may ask.
    """
    return members_editable_by(user).exclude(home_organisation__kind=Kind.RESIDENTIAL_CELL)


def referrals_receivable_by(user) -> QuerySet[Referral]:
    """Referrals whose reception, placement and report the user may record: the residence side's."""
    access = access_for(user)
    if access.is_city(write=True):
        return Referral.objects.all()
    return Referral.objects.filter(in_subtrees("receiving_ward", access.ward_paths(write=True)))


def referrals_endable_by(user) -> QuerySet[Referral]:
    """Either side may end a referral: the workplace when the member leaves it, the ward when the member moves."""
    access = access_for(user)
    if access.is_city(write=True):
        return Referral.objects.all()
    workplaces = access.workplace_paths(write=True)
    return Referral.objects.filter(
        in_subtrees("member__home_organisation", workplaces)
        | in_subtrees("issuing_organisation", workplaces)
        | in_subtrees("receiving_ward", access.ward_paths(write=True))
    )


@dataclasses.dataclass(frozen=True)
class OrganisationOverview:
    """A handful of figures about an organisation and everything under it, as of ``day``."""

    organisation: Organisation
    day: datetime.date
    members: int
    referrals_issued_open: int
    referrals_received: int
    referrals_awaiting_reception: int
    residential_cells: int

    @property
    def referrals_addressed_open(self) -> int:
        """Open referrals addressed to the wards of the subtree, received or not."""
        return self.referrals_received + self.referrals_awaiting_reception


def _count(queryset: QuerySet) -> Coalesce:
    """A scalar subquery counting the rows of ``queryset`` (no GROUP BY: COUNT is not seen as an aggregate here)."""
    counted = queryset.order_by().annotate(_n=Func(F("pk"), function="COUNT")).values("_n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def organisation_overview(*, organisation: Organisation, day: datetime.date) -> OrganisationOverview:
    """The figures of the home page for ``organisation`` and its subtree, in one query.

    Each figure is a constant prefix filter on the materialised path, so the database can use the path indexes.
    """
    path = organisation.path
    figures = (
        Organisation.objects.filter(pk=organisation.pk)
        .values(
            members=_count(Member.objects.in_subtree(organisation).members_on(day)),
            referrals_issued_open=_count(
                Referral.objects.active_on(day).filter(issuing_organisation__path__startswith=path)
            ),
            referrals_received=_count(
                Referral.objects.received_as_of(day).filter(receiving_ward__path__startswith=path)
            ),
            referrals_awaiting_reception=_count(
                Referral.objects.awaiting_reception_on(day).filter(receiving_ward__path__startswith=path)
            ),
            residential_cells=_count(
                Organisation.objects.subtree(organisation).valid_on(day).filter(kind=Organisation.Kind.RESIDENTIAL_CELL)
            ),
        )
        .get()
    )
    return OrganisationOverview(organisation=organisation, day=day, **figures)


# -- member lists --------------------------------------------------------------------------------------------------
# The member list, its filters and export, and the member detail page. Every function starts from a scoped queryset
# (``visible_members(user)`` and friends) and adds what the page shows as annotations or prefetches, so that a page
# runs the same number of queries whatever the number of rows.

STALLED_AFTER_DAYS = 30


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


def with_referral_state(members: QuerySet[Member], *, day: datetime.date) -> QuerySet[Member]:
    """Annotate each member with the state of their referral active on ``day`` (``referral_state``: one of
    ``ReferralStateToday``, "" when there is none and the member is not eligible), its receiving ward and residential
    cell (``referral_ward_name``, ``referral_cell_name``), and the kind of exemption in force (``exemption_kind``)."""
    current = Referral.objects.active_on(day).filter(member=OuterRef("pk")).order_by("-introduced_on", "-pk")
    eligible = Member.objects.eligible_on(day).filter(pk=OuterRef("pk"))
    return members.annotate(
        referral_state=Coalesce(
            Subquery(current.annotate(_state=_referral_state_expression(day)).values("_state")[:1]),
            Case(
                When(Exists(eligible), then=Value(ReferralStateToday.NOT_INTRODUCED)),
                default=Value(""),
                output_field=CharField(),
            ),
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


def member_list(user, *, day: datetime.date | None = None) -> QuerySet[Member]:
    """The members the user sees, with their home cell and their referral state on ``day`` (today by default)."""
    day = day or timezone.localdate()
    return with_referral_state(visible_members(user).select_related("home_organisation"), day=day)


def members_in_referral_state(members: QuerySet[Member], state: str, *, day: datetime.date) -> QuerySet[Member]:
    """Narrow ``members`` to those in referral ``state`` on ``day`` (see ``ReferralStateToday``)."""
    referrals = Referral.objects.filter(member=OuterRef("pk"))
    if state == ReferralStateToday.NOT_INTRODUCED:
        return members.filter(
            Exists(Member.objects.eligible_on(day).filter(pk=OuterRef("pk"))),
            ~Exists(referrals.active_on(day)),
        )
    chosen = {
        ReferralStateToday.INTRODUCED: referrals.awaiting_reception_on(day),
        ReferralStateToday.STALLED: referrals.stalled_on(day, days=STALLED_AFTER_DAYS),
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


def _with(queryset: QuerySet[Organisation], including: Organisation | None) -> QuerySet[Organisation]:
    """``queryset``, plus ``including`` (a member's current home, kept as a choice even when no longer offered)."""
    if including is None:
        return queryset
    return Organisation.objects.filter(Q(pk__in=queryset.values("pk")) | Q(pk=including.pk))


def member_home_cells(
    user, *, day: datetime.date | None = None, including: Organisation | None = None
) -> QuerySet[Organisation]:
    """The cells a user may put a member in (create or edit a member, workplace side): the cells, grassroots cells
    and residential cells existing on ``day`` in the user's writable workplace subtrees; every one for city staff."""
    day = day or timezone.localdate()
    access = access_for(user)
    cells = Organisation.objects.valid_on(day).filter(kind__in=[Kind.CELL, Kind.GRASSROOTS_CELL, Kind.RESIDENTIAL_CELL])
    if not access.is_city(write=True):
        cells = cells.filter(in_subtrees("", access.workplace_paths(write=True)))
    return _with(cells, including).order_by("path")


def outside_organisations(
    *, day: datetime.date | None = None, including: Organisation | None = None
) -> QuerySet[Organisation]:
    """Workplaces outside the tree, existing on ``day``: anyone registering their members may pick any of them."""
    day = day or timezone.localdate()
    return _with(Organisation.objects.valid_on(day).filter(kind=Kind.OUTSIDE), including).order_by("name")


def wards_receiving_for(user, *, day: datetime.date | None = None) -> QuerySet[Organisation]:
    """The wards whose receptions the user records (all wards for city staff), existing on ``day``."""
    day = day or timezone.localdate()
    access = access_for(user)
    wards = Organisation.objects.valid_on(day).filter(kind=Kind.WARD)
    if not access.is_city(write=True):
        wards = wards.filter(in_subtrees("", access.ward_paths(write=True)))
    return wards.order_by("name")


def can_register_outside_members(user) -> bool:
    access = access_for(user)
    return access.is_city(write=True) or bool(access.ward_paths(write=True))


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
    )


# -- cells ---------------------------------------------------------------------------------------------------------
# The residential cell pages: the list of the cells a user may see with their figures, and one cell's referred
# members. Each starts from ``visible_residential_cells`` / ``visible_referrals`` and adds what the page shows as
# subquery annotations, so a page runs the same number of queries whatever the number of rows.


def a_year_before(day: datetime.date) -> datetime.date:
    """The same day a year earlier (28 February for 29 February)."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def residential_cells_with_counts(user, *, day: datetime.date) -> QuerySet[Organisation]:
    """The residential cells the user may see, each with its ward and, as of ``day``: ``placed_members`` (referred
    members placed in it), ``awaiting_report`` (of those, not yet reported to the cell) and ``own_members`` (members
    whose home is the cell: retired members living there)."""
    placed = Referral.objects.placed_as_of(day).filter(residential_cell=OuterRef("pk"))
    return (
        visible_residential_cells(user)
        .select_related("parent")
        .annotate(
            placed_members=_count(placed),
            awaiting_report=_count(placed.filter(Q(reported_on__isnull=True) | Q(reported_on__gt=day))),
            own_members=_count(Member.objects.members_on(day).filter(home_organisation=OuterRef("pk"))),
        )
        .order_by("path")
    )


def residential_cell_wards(user) -> QuerySet[Organisation]:
    """The wards of the residential cells the user may see: the choices of the ward filter of the cell list."""
    cells = visible_residential_cells(user)
    return Organisation.objects.filter(kind=Kind.WARD, pk__in=cells.values("parent")).order_by("path")


def cell_placed_referrals(user, cell: Organisation, *, day: datetime.date) -> QuerySet[Referral]:
    """The referrals placed in ``cell`` and active on ``day``, by name, with the member, the workplace (issuing
    organisation) and, when the member is exempt from residence activities on ``day``, the exemption's start and
    reason (``activities_exempt_since``, ``activities_exempt_reason``)."""
    from members.models import Exemption

    exemption = Exemption.objects.in_force_on(day).filter(member=OuterRef("member"), kind=Exemption.Kind.ACTIVITIES)
    return (
        visible_referrals(user)
        .placed_as_of(day)
        .filter(residential_cell=cell)
        .select_related("member", "issuing_organisation")
        .annotate(
            activities_exempt_since=Subquery(exemption.order_by("-started_on").values("started_on")[:1]),
            activities_exempt_reason=Subquery(exemption.order_by("-started_on").values("reason")[:1]),
        )
        .order_by("member__search_name", "member__card_number")
    )


def cell_departed_referrals(user, cell: Organisation, *, day: datetime.date) -> QuerySet[Referral]:
    """The referrals placed in ``cell`` that ended in the twelve months up to ``day``, latest first."""
    return (
        visible_referrals(user)
        .filter(residential_cell=cell, ended_on__lte=day, ended_on__gt=a_year_before(day))
        .select_related("member", "issuing_organisation")
        .order_by("-ended_on", "member__search_name")
    )
