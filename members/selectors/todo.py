"""The to-do of the home page (Việc cần làm): what each of the user's roles has to do today, as counts.

Each count is taken from the same queryset and the same condition as the list its link opens (the referral list's
``state``, the comment list's ``state``, the member list's ``referral_state``, the cell list's meeting filter), so the
number on the home page is the row count of that list. The counts come from a few aggregate queries, whatever the
number of rows: one over the referrals, one over the comments of the year, one over the cells, one for the members.

A role is a kind of post: the city (the root, or a superuser) sees the weak spots only, as links; a ward (or an upper
committee) receives, places, sends and chases; a workplace introduces, follows up and acknowledges; a residential cell
meets, writes comments and records who reported to it. A user with several posts gets each role's section.
"""

import dataclasses
import datetime
from collections.abc import Callable

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from branches.access import access_for
from branches.models import Organisation
from members.models import Meeting, Referral
from members.models.referral import (
    awaiting_placement_q,
    awaiting_reception_q,
    placed_q,
    stalled_q,
)
from members.periods import HalfYear
from members.selectors.comments import CommentYear, comment_year
from members.selectors.counted_by import TODO_COUNTS, StoredCounts, comment_counts_for, stored_counts
from members.selectors.paging import keys_first
from members.selectors.people import MemberStatus, irregular_attendees_under, members_in_status
from members.selectors.referrals import eligible_not_introduced
from members.selectors.scope import (
    referrals_receivable_by,
    referrals_reportable_by,
    visible_members,
    visible_referrals,
    visible_residential_cells,
)

Kind = Organisation.Kind


class Role:
    CITY = "city"
    WARD = "ward"
    WORKPLACE = "workplace"
    CELL = "cell"


WARD_KINDS = (Kind.WARD, Kind.UPPER_COMMITTEE)
# A ward is a workplace only for its own agency cell: its to-do is the ward's (its few office members not introduced
# are added to the ward's items), not a second section counting its own book again.
WORKPLACE_KINDS = (Kind.COMMITTEE, Kind.GRASSROOTS_CELL, Kind.CELL, Kind.UPPER_COMMITTEE)


@dataclasses.dataclass(frozen=True)
class RoleToDo:
    role: str
    can_act: bool  # a post of this role that writes (a viewer only sees)


@dataclasses.dataclass(frozen=True)
class ToDo:
    """The counts of the home page; each is the size of the list its link opens."""

    day: datetime.date
    roles: tuple[RoleToDo, ...]
    round: CommentYear | None
    # referrals (the referral list's states)
    awaiting_reception: int = 0
    awaiting_placement: int = 0
    stalled: int = 0
    not_reported: int = 0
    # members (the member list's referral_state=not_introduced)
    eligible_not_introduced: int = 0
    # comments of the year's round (the comment list's states)
    comments_not_written: int = 0
    comments_written: int = 0
    comments_sent: int = 0
    comments_late: int = 0
    # cells without a periodic meeting for the current half-year (the cell list's meeting filter)
    cells_without_meeting: int = 0
    # the city's weak spots: cells that missed the last half-year over, irregular attendees of its organisation
    cells_missed: int = 0
    irregular_attendees: int = 0
    city: Organisation | None = None
    # the user's own cells whose meeting of this half-year is not recorded yet
    cells_meeting_due: tuple[Organisation, ...] = ()
    # one-click lists: the first few the user may receive, and those who may be recorded as reported to the cell
    receivable: list[Referral] = dataclasses.field(default_factory=list)
    reportable: list[Referral] = dataclasses.field(default_factory=list)

    def role(self, role: str) -> RoleToDo | None:
        return next((r for r in self.roles if r.role == role), None)

    @property
    def half_year(self) -> HalfYear:
        return HalfYear.of(self.day)

    @property
    def last_half_year(self) -> HalfYear:
        return half_year_before(self.day)


def roles_of(user) -> tuple[RoleToDo, ...]:
    """The user's roles, in the order the page shows them; the city's alone when the user is city staff (it sees
    everything: another section would count the same rows again)."""
    access = access_for(user)
    if access.is_city():
        return (RoleToDo(Role.CITY, can_act=False),)

    def role(kinds, name):
        posts = [post for post in access.posts if post.organisation.kind in kinds]
        return RoleToDo(name, can_act=any(post.can_write for post in posts)) if posts else None

    found = (
        role(WARD_KINDS, Role.WARD),
        role((Kind.RESIDENTIAL_CELL,), Role.CELL),
        role(WORKPLACE_KINDS, Role.WORKPLACE),
    )
    return tuple(r for r in found if r is not None)


def cells_without_meeting(cells: QuerySet[Organisation], day: datetime.date) -> QuerySet[Organisation]:
    """Residential cells existing on ``day`` with no periodic meeting recorded for the half-year of ``day``."""
    half_year = HalfYear.of(day)
    met = Meeting.objects.filter(
        residential_cell=OuterRef("pk"), kind=Meeting.Kind.PERIODIC, year=half_year.year, half=half_year.half
    )
    return cells.valid_on(day).exclude(Exists(met))


def half_year_before(day: datetime.date) -> HalfYear:
    """The last half-year over on ``day``."""
    half_year = HalfYear.of(day)
    return HalfYear(half_year.year, 1) if half_year.half == 2 else HalfYear(half_year.year - 1, 2)


def cells_that_missed(cells: QuerySet[Organisation], half_year: HalfYear, day: datetime.date) -> QuerySet[Organisation]:
    """The cell list's ``missed`` filter (``members.filters.CellFilter``): cells existing on the half-year's last day
    with no periodic meeting of it held by ``day``."""
    held = Meeting.objects.filter(
        residential_cell=OuterRef("pk"),
        kind=Meeting.Kind.PERIODIC,
        year=half_year.year,
        half=half_year.half,
        held_on__lte=day,
    )
    return cells.valid_on(half_year.last_day).exclude(Exists(held))


def _referral_counts(referrals: QuerySet[Referral], day: datetime.date) -> dict[str, int]:
    # The referral list's state filters (members.filters.ReferralFilter.filter_state), counted in one query.
    return referrals.aggregate(
        awaiting_reception=Count("pk", filter=awaiting_reception_q(day)),
        awaiting_placement=Count("pk", filter=awaiting_placement_q(day)),
        stalled=Count("pk", filter=stalled_q(day)),
        not_reported=Count("pk", filter=placed_q(day) & Q(reported_on__isnull=True)),
    )


def _city_of(access) -> Organisation | None:
    """The root organisation of a city post (the first root for a superuser without one)."""
    for organisation in access.organisations:
        if organisation.kind == Kind.ROOT:
            return organisation
    return Organisation.objects.filter(kind=Kind.ROOT).order_by("pk").first()


# The counts of a city's to-do that are figures of its dashboard too (``carried``).
CITY_FIGURES = ("eligible_not_introduced", "irregular_attendees")


def _city_alone(access, city: Organisation | None) -> bool:
    """Whether the user's scope is the city's tree and no more (its posts are under it, one of them at its root): the
    city's figures are then the counts of the lists the user sees."""
    if city is None or access.is_superuser:
        return False
    return all(organisation.path.startswith(city.path) for organisation in access.organisations)


def _counts(user, roles: tuple[RoleToDo, ...], day: datetime.date, carried) -> dict[str, int]:
    """The to-do's counts but the comments' (``todo_for``)."""
    names = {r.role for r in roles}
    access = access_for(user)
    counts: dict = dict(_referral_counts(keys_first(visible_referrals(user)), day))
    city = _city_of(access) if Role.CITY in names else None
    city_figures = carried(city) if carried is not None and _city_alone(access, city) else None
    if city_figures is not None:
        counts.update((name, city_figures[name]) for name in CITY_FIGURES)
    elif names & {Role.CITY, Role.WORKPLACE, Role.WARD}:
        members = visible_members(user)
        # Below the city the scope is a ward's, a cell's, a workplace's (a district's at most, a tenth of the city):
        # each of its members asked for their home (``MemberQuerySet.few``), not every workplace home hashed.
        counts["eligible_not_introduced"] = eligible_not_introduced(
            members if access.is_city() else members.few(), day
        ).count()
    if names & {Role.CITY, Role.WARD, Role.CELL}:
        counts["cells_without_meeting"] = cells_without_meeting(visible_residential_cells(user), day).count()
    if Role.CITY in names:
        cells = visible_residential_cells(user)
        counts["cells_missed"] = cells_that_missed(cells, half_year_before(day), day).count()
        if city is not None and city_figures is None:
            # The member list's ``irregular_in`` filter on every status, as the dashboard's figure counts them (those
            # who left since and members of outside organisations placed in the city's cells too).
            members = members_in_status(visible_members(user), MemberStatus.ALL, day=day)
            counts["irregular_attendees"] = irregular_attendees_under(members, city, day=day).count()
    return counts


def todo_for(
    user,
    *,
    day: datetime.date,
    shown: int = 10,
    carried: Callable[[Organisation], dict[str, int] | None] | None = None,
    stored: StoredCounts | None = None,
) -> ToDo:
    """The to-do of ``user`` on ``day``; ``shown``: how many rows the one-click lists hold.

    ``carried(city)``: the city's ``CITY_FIGURES`` as its dashboard reads them, carried from a stored day for a large
    city (``reports.snapshots.city_todo_if_large``), or None: then, as for a smaller one, they are counted here. At
    the nation's root counting them read every member twice (5 of the home page's 6.6 s).

    ``stored``: the counts stored by the organisation whose rows the user sees (``members.selectors.counted_by``),
    read back until a write under it: a ward's took 25 ms of SQL and as much again to build its queries, on every
    view of the secretary's first screen."""
    roles = roles_of(user)
    if not roles:
        return ToDo(day=day, roles=(), round=None)
    access = access_for(user)
    round_ = comment_year(user, day.year, today=day)
    counts = stored_counts(
        user, TODO_COUNTS, day, lambda viewer: _counts(viewer, roles_of(viewer), day, carried), stored
    )
    comments = comment_counts_for(user, round_, stored=stored)
    counts.update(
        comments_not_written=comments["not_written"],
        comments_written=comments["written"],
        comments_sent=comments["sent"],
        comments_late=comments["late"],
    )
    due_cells: tuple[Organisation, ...] = ()
    own_cells = access.residential_cell_ids()
    if own_cells and counts.get("cells_without_meeting"):  # the user's own cells are among those counted
        without = cells_without_meeting(visible_residential_cells(user), day)
        due_cells = tuple(without.filter(pk__in=own_cells).order_by("name"))
    receivable: list[Referral] = []
    ward = next((r for r in roles if r.role == Role.WARD), None)
    # The one-click lists are parts of rows already counted (the user's writable scope is within what they see):
    # none to read when the count is 0.
    if ward and ward.can_act and counts["awaiting_reception"]:
        receivable = list(
            keys_first(referrals_receivable_by(user))
            .awaiting_reception_on(day)
            .select_related("member", "issuing_organisation", "receiving_ward")
            .order_by("introduced_on", "pk")[:shown]
        )
    reportable: list[Referral] = []
    cell_ids = access.residential_cell_ids(write=True)
    if cell_ids and counts["not_reported"]:
        # The member reports to the cell: its secretary records it (``referrals_reportable_by``).
        reportable = list(
            referrals_reportable_by(user)
            .placed_as_of(day)
            .filter(reported_on__isnull=True, residential_cell__in=cell_ids)
            .select_related("member", "residential_cell")
            .order_by("placed_on", "pk")[:shown]
        )
    city = _city_of(access) if any(r.role == Role.CITY for r in roles) else None
    return ToDo(
        day=day,
        roles=roles,
        round=round_,
        cells_meeting_due=due_cells,
        receivable=receivable,
        reportable=reportable,
        city=city,
        **counts,
    )
