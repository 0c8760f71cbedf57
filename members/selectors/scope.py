"""Who sees what: every list and object lookup of the members app goes through these functions."""

import dataclasses

from django.db.models import (
    Exists,
    OuterRef,
    Q,
    QuerySet,
)

from branches.access import Access, access_for
from branches.models import Organisation
from branches.selectors import in_subtrees, subtree_ids
from members.models import Meeting, Member, Referral, ResidenceComment

Kind = Organisation.Kind

# -- scope ---------------------------------------------------------------------------------------------------------
# Every list and every object lookup of the members app goes through one of these functions, so the rules of who
# sees what (branches.access) are applied in one place. ``None`` as a condition means "everything".


def _any_of(*querysets: QuerySet) -> Q:
    """``pk IN (a UNION b UNION ...)``: the rows any of ``querysets`` (each selecting one column of keys) selects.

    The scope of a ward or a cell is several conditions on different columns (the ward addressed, the cell placed
    in, the member's home...). ORed in one WHERE, they leave the database one plan: read every row and test each.
    As a union, each part is an index scan of its own column over the subtree's few organisations, and the page
    costs what the user's scope holds, not what the whole database holds. An empty list selects nothing.
    """
    parts = [queryset.order_by() for queryset in querysets]
    if not parts:
        return Q(pk__in=[])
    first, *rest = parts
    return Q(pk__in=first.union(*rest) if rest else first)


def _member_keys(access: Access, *, write: bool) -> list[QuerySet]:
    """The parts of a member scope (``_member_condition``): querysets of member keys."""
    parts = []
    workplaces = access.workplace_paths(write=write)
    if workplaces:
        parts.append(_workplace_members(access, write=write))
    wards = access.ward_paths(write=write)
    if wards:
        parts.extend(part.values("member_id") for part in _ward_referrals_of(access, write=write))
    cells = access.residential_cell_ids(write=write)
    if cells:
        parts.append(Member.objects.filter(home_organisation__in=cells).values("pk"))
        parts.append(Referral.objects.filter(residential_cell__in=cells).values("member_id"))
    return parts


def _member_condition(access: Access, *, write: bool) -> Q | None:
    """The members whose home cell is in the user's workplace subtrees, those with a referral in one of their wards'
    books (``of_wards``), and those who belong to or are placed in their residential cells."""
    if access.is_city(write=write):
        return None
    return _any_of(*_member_keys(access, write=write))


def _ward_referrals(paths, access: Access | None = None) -> list[QuerySet[Referral]]:
    """The parts of ``of_wards``: referrals addressed to a ward of ``paths`` or to a ward merged into one of them
    (two successions deep), and referrals placed in one of their cells. With the ``access`` the paths are of, the
    organisations' keys are read once for it (``Access.keys``)."""
    if not paths:
        return []
    if access is None:
        addressed, cells = wards_addressed(paths), subtree_ids(paths)
    else:
        addressed, cells = access.keys("wards addressed", paths, wards_addressed), access.subtree_keys(paths)
    return [
        Referral.objects.filter(receiving_ward__in=addressed).values("pk"),
        Referral.objects.filter(residential_cell__in=cells).values("pk"),
    ]


def _ward_referrals_of(access: Access, *, write: bool) -> list[QuerySet[Referral]]:
    """``_ward_referrals`` of the access's wards, built once a request: a page asks for them for its list and again
    for each step a row offers (the referral list: four times, 5-7 ms of a ward's page)."""
    paths = access.ward_paths(write=write)
    return list(access.built(("ward referrals", paths), lambda: _ward_referrals(paths, access)))


def _workplace_members(access: Access, *, write: bool) -> QuerySet[Member]:
    """The keys of the members whose home is in the access's workplace subtrees, built once a request."""
    paths = access.workplace_paths(write=write)
    return access.built(
        ("workplace members", paths),
        lambda: Member.objects.filter(in_subtrees("home_organisation", paths, access=access)).values("pk"),
    )


def wards_addressed(paths) -> QuerySet[Organisation]:
    """The keys of the organisations under ``paths`` and of the wards merged into one of them (two successions
    deep): a referral addressed to one of these is in the book of a ward of ``paths``.

    A union of three index scans (the subtree's ids, then the successor's index twice), not one OR over a join of
    the organisations: the OR leaves the planner guessing thousands of wards for a ward's ten, and every plan above
    it (a page's count, its rows and their annotations) is then made for the whole table."""
    wards = subtree_ids(paths)
    merged_into = Organisation.objects.filter(successor__in=wards).order_by().values("pk")
    return wards.union(merged_into, Organisation.objects.filter(successor__in=merged_into).order_by().values("pk"))


def of_wards(paths) -> Q:
    """On a referral: a ward of ``paths`` has it in its book: addressed to it, placed in one of its cells (after a
    merger, a cell of the successor), or addressed to a ward merged into it (``Organisation.successor``)."""
    return _any_of(*_ward_referrals(paths))


def _referral_keys(access: Access, *, write: bool) -> list[QuerySet[Referral]]:
    workplaces = access.workplace_paths(write=write)
    parts = []
    if workplaces:
        parts.append(Referral.objects.filter(member__in=_workplace_members(access, write=write)).values("pk"))
        parts.append(
            Referral.objects.filter(in_subtrees("issuing_organisation", workplaces, access=access)).values("pk")
        )
    parts.extend(_ward_referrals_of(access, write=write))
    cells = access.residential_cell_ids(write=write)
    if cells:
        parts.append(Referral.objects.filter(residential_cell__in=cells).values("pk"))
    return parts


def _referral_condition(access: Access, *, write: bool) -> Q | None:
    """The referrals of the members of the user's workplaces or issued by them, those in their wards' books, and
    those placed in their residential cells."""
    if access.is_city(write=write):
        return None
    return _any_of(*_referral_keys(access, write=write))


def _scoped(queryset: QuerySet, condition: Q | None) -> QuerySet:
    return queryset if condition is None else queryset.filter(condition)


def visible_members(user) -> QuerySet[Member]:
    return _scoped(Member.objects.all(), _member_condition(access_for(user), write=False))


def visible_referrals(user) -> QuerySet[Referral]:
    return referrals_visible_with(access_for(user))


def referrals_visible_with(access: Access) -> QuerySet[Referral]:
    """``visible_referrals`` for an access rather than a signed-in user (``branches.access.access_of``)."""
    return _scoped(Referral.objects.all(), _referral_condition(access, write=False))


def visible_residential_cells(user) -> QuerySet[Organisation]:
    """Residential cells: all for city staff, a ward's own cells for its committee, one's own cell."""
    access = access_for(user)
    cells = Organisation.objects.filter(kind=Kind.RESIDENTIAL_CELL)
    if access.is_city():
        return cells
    return cells.filter(
        in_subtrees("parent", access.ward_paths(), access=access) | Q(pk__in=access.residential_cell_ids())
    )


def residential_cells_writable_by(user) -> QuerySet[Organisation]:
    """Residential cells whose meetings and attendance the user may record: all for city staff, every cell of the
    ward for its committee, one's own cell for its secretary (a post that writes there)."""
    access = access_for(user)
    cells = Organisation.objects.filter(kind=Kind.RESIDENTIAL_CELL)
    if access.is_city(write=True):
        return cells
    return cells.filter(
        in_subtrees("parent", access.ward_paths(write=True), access=access)
        | Q(pk__in=access.residential_cell_ids(write=True))
    )


def visible_meetings(user) -> QuerySet[Meeting]:
    """Meetings of the residential cells the user may see."""
    return Meeting.objects.filter(residential_cell__in=visible_residential_cells(user).values("pk"))


def meetings_writable_by(user) -> QuerySet[Meeting]:
    """Meetings whose record and attendance the user may change: those of the cells they may record meetings for."""
    return Meeting.objects.filter(residential_cell__in=residential_cells_writable_by(user).values("pk"))


def members_editable_by(user) -> QuerySet[Member]:
    """Members whose record the user may change: their workplace committee's, and for a ward the members of outside
    organisations it receives now: those whose latest referral is addressed to the ward. (A ward that once received
    a member who has since moved to another ward still sees the member in its book, but the new ward keeps the
    record.)"""
    access = access_for(user)
    if access.is_city(write=True):
        return Member.objects.all()
    return Member.objects.filter(_any_of(*_editable_member_keys(access)))


def _editable_member_keys(access: Access) -> list[QuerySet]:
    """The parts of ``members_editable_by`` below the city: querysets of member keys."""
    parts = []
    workplaces = access.workplace_paths(write=True)
    if workplaces:
        parts.append(_workplace_members(access, write=True))
    wards = access.ward_paths(write=True)
    if wards:
        later = Referral.objects.filter(member=OuterRef("member"), introduced_on__gt=OuterRef("introduced_on"))
        # Each part of the book tested for "no later referral" on its own index scan, then their members united: the
        # book as one ``pk IN (union)`` left PostgreSQL hashing the book's keys and reading every referral against
        # them (the province's 57,157 for a ward's 253, twice on each of its member pages).
        latest_here = [
            part.exclude(Exists(later)).values("member_id") for part in _ward_referrals_of(access, write=True)
        ]
        parts.append(Member.objects.filter(Q(home_organisation__kind=Kind.OUTSIDE), _any_of(*latest_here)).values("pk"))
    return parts


def national_ids_shown_to(user) -> QuerySet[Member]:
    """Members whose national ID the user may show in full (a logged step; everyone else sees it masked): the
    member's own committees, the workplace side that keeps the record (``members_editable_by``: the city staff
    among them) and the ward that receives the member now (an open referral addressed to it).

    One union of every part, not ``pk IN (editable) OR pk IN (received now)``: under an OR PostgreSQL cannot join a
    subquery, so it built both whole and hashed them to test one member (a ward's member page at the province's
    size: 10 ms, half the page's database time); as one union it pushes the member's key into each part (0.1 ms)."""
    access = access_for(user)
    if access.is_city(write=True):
        return members_editable_by(user)  # every member
    # The ward's open referrals (``referrals_receivable_by``), each part of its book on its own index scan: as an
    # EXISTS over the book, PostgreSQL hashed it by reading every referral (a ward's page of a member it receives).
    received_now = [
        part.filter(ended_on__isnull=True).values("member_id") for part in _ward_referrals_of(access, write=True)
    ]
    return Member.objects.filter(_any_of(*_editable_member_keys(access), *received_now))


def national_id_held_out_of_sight(user, national_id: str) -> bool:
    """Whether ``national_id`` belongs to a member whose national ID the user does not see in full (telling them
    so is an answer about that member)."""
    holders = Member.objects.filter(national_id=national_id)
    return holders.exclude(pk__in=national_ids_shown_to(user).values("pk")).exists()


def members_introducible_by(user) -> QuerySet[Member]:
    """Members the user may introduce: editable by them and not belonging to a residential cell.

    Whether a member is eligible today (working, not exempt, no open referral) is the service's to say, with a
    message; this is only who may ask.
    """
    return members_editable_by(user).exclude(home_organisation__kind=Kind.RESIDENTIAL_CELL)


def runs_residence_side(user) -> bool:
    """Whether the user records receptions and placements somewhere, or registers members of outside organisations
    (the rule of ``referrals_receivable_by``)."""
    access = access_for(user)
    return access.is_city(write=True) or bool(access.ward_paths(write=True))


def referrals_receivable_by(user) -> QuerySet[Referral]:
    """Referrals whose reception, placement and report the user may record: the residence side's."""
    access = access_for(user)
    if access.is_city(write=True):
        return Referral.objects.all()
    return Referral.objects.filter(_any_of(*_ward_referrals_of(access, write=True)))


def referrals_reportable_by(user) -> QuerySet[Referral]:
    """Referrals whose "reported to the cell" the user may record: the residence side's (``referrals_receivable_by``)
    and, since the member reports to the residential cell, those placed in a cell whose secretary the user is."""
    access = access_for(user)
    if access.is_city(write=True):
        return Referral.objects.all()
    parts = _ward_referrals_of(access, write=True)
    cells = access.residential_cell_ids(write=True)
    if cells:
        parts.append(Referral.objects.filter(residential_cell__in=cells).values("pk"))
    return Referral.objects.filter(_any_of(*parts))


def referral_letters_writable_by(user) -> QuerySet[Referral]:
    """Referrals whose letter (issuer, ward, number, date) the user may record or correct: those issued by their
    workplace organisations; for a member of an outside organisation, the letter the member's ward registered with
    the member (``members_editable_by``)."""
    access = access_for(user)
    if access.is_city(write=True):
        return Referral.objects.all()
    outside_registered = Referral.objects.filter(
        issuing_organisation__kind=Kind.OUTSIDE,
        member__in=members_editable_by(user).filter(home_organisation__kind=Kind.OUTSIDE).values("pk"),
    ).values("pk")
    issued = Referral.objects.filter(
        in_subtrees("issuing_organisation", access.workplace_paths(write=True), access=access)
    )
    return Referral.objects.filter(_any_of(issued.values("pk"), outside_registered))


def referrals_endable_by(user) -> QuerySet[Referral]:
    """Either side may end a referral: the workplace when the member leaves it, the ward when the member moves."""
    access = access_for(user)
    if access.is_city(write=True):
        return Referral.objects.all()
    parts = []
    workplaces = access.workplace_paths(write=True)
    if workplaces:
        parts.append(Referral.objects.filter(member__in=_workplace_members(access, write=True)).values("pk"))
        parts.append(
            Referral.objects.filter(in_subtrees("issuing_organisation", workplaces, access=access)).values("pk")
        )
    parts.extend(_ward_referrals_of(access, write=True))
    return Referral.objects.filter(_any_of(*parts))


# -- residence comments and year-end ratings -------------------------------------------------------------------------
# The cell writes the yearly comment (or the ward, or the city staff for it), the ward sends it to the workplace, the
# workplace records that it arrived and rates its members. Both sides see the comments of their members and cells.


def _comment_condition(access: Access, *, write: bool) -> Q | None:
    if access.is_city(write=write):
        return None
    parts = []
    wards = access.ward_paths(write=write)
    if wards:
        parts.append(
            ResidenceComment.objects.filter(in_subtrees("residential_cell", wards, access=access)).values("pk")
        )
    cells = access.residential_cell_ids(write=write)
    if cells:
        parts.append(ResidenceComment.objects.filter(residential_cell__in=cells).values("pk"))
    workplaces = access.workplace_paths(write=write)
    if workplaces:
        parts.append(ResidenceComment.objects.filter(member__in=_workplace_members(access, write=write)).values("pk"))
    return _any_of(*parts)


def visible_comments(user) -> QuerySet[ResidenceComment]:
    """Comments written by the user's residential cells or wards, and those on the members of their workplaces."""
    return _scoped(ResidenceComment.objects.all(), _comment_condition(access_for(user), write=False))


def referrals_commentable_by(user) -> QuerySet[Referral]:
    """Referrals placed in a residential cell whose comments the user writes: the cell's secretary, the ward's
    committee for all its cells, the city staff."""
    return Referral.objects.filter(residential_cell__in=residential_cells_writable_by(user).values("pk"))


def comments_writable_by(user) -> QuerySet[ResidenceComment]:
    """Comments the user may change (before they are sent): those of the cells they write comments for."""
    return ResidenceComment.objects.filter(residential_cell__in=residential_cells_writable_by(user).values("pk"))


def comments_sendable_by(user) -> QuerySet[ResidenceComment]:
    """Comments the user confirms and sends to the workplace: the ward's committee for its cells, the city staff."""
    access = access_for(user)
    if access.is_city(write=True):
        return ResidenceComment.objects.all()
    return ResidenceComment.objects.filter(in_subtrees("residential_cell", access.ward_paths(write=True)))


def comments_receivable_by(user) -> QuerySet[ResidenceComment]:
    """Comments whose arrival the user records: the member's workplace committee, the city staff."""
    access = access_for(user)
    if access.is_city(write=True):
        return ResidenceComment.objects.all()
    members = Member.objects.filter(in_subtrees("home_organisation", access.workplace_paths(write=True)))
    return ResidenceComment.objects.filter(member__in=members.values("pk"))


def visible_rated_members(user) -> QuerySet[Member]:
    """Members whose year-end rating the user looks at: those of their workplaces (everyone for the city staff)."""
    access = access_for(user)
    if access.is_city():
        return Member.objects.all()
    return Member.objects.filter(in_subtrees("home_organisation", access.workplace_paths()))


def members_ratable_by(user) -> QuerySet[Member]:
    """Members whose year-end rating the user records: those of their workplaces (everyone for the city staff)."""
    access = access_for(user)
    if access.is_city(write=True):
        return Member.objects.all()
    return Member.objects.filter(in_subtrees("home_organisation", access.workplace_paths(write=True)))


def sets_comment_rounds(user) -> bool:
    """Whether the user sets the deadline of a year's round of comments: the city staff."""
    return access_for(user).is_city(write=True)


@dataclasses.dataclass(frozen=True)
class CommentActions:
    """The rules of ``referrals_commentable_by``, ``comments_sendable_by`` and ``comments_receivable_by`` for rows
    already loaded (a list shows each row's buttons without a query per row). Takes organisations with their path."""

    city: bool
    cell_ids: frozenset[int]
    ward_paths: tuple[str, ...]
    workplace_paths: tuple[str, ...]

    def may_write(self, cell: Organisation) -> bool:
        return self.city or cell.pk in self.cell_ids or cell.path.startswith(self.ward_paths)

    def may_send(self, cell: Organisation) -> bool:
        return self.city or cell.path.startswith(self.ward_paths)

    def may_receive(self, home: Organisation) -> bool:
        return self.city or (bool(self.workplace_paths) and home.path.startswith(self.workplace_paths))

    def may_rate(self, home: Organisation) -> bool:
        """The rule of ``members_ratable_by``: the member's workplace committee, the city staff."""
        return self.may_receive(home)

    @property
    def writes_anything(self) -> bool:
        return self.city or bool(self.cell_ids) or bool(self.ward_paths)


def comment_actions_for(user) -> CommentActions:
    access = access_for(user)
    return CommentActions(
        city=access.is_city(write=True),
        cell_ids=frozenset(access.residential_cell_ids(write=True)),
        ward_paths=access.ward_paths(write=True),
        workplace_paths=access.workplace_paths(write=True),
    )


# -- what a download may hold ----------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Sight:
    """What a user sees on the pages, as querysets, for the writers of downloads: a workbook holds the rows and the
    columns its reader may see on screen, and no more (``None`` for the command line: everything)."""

    members: QuerySet[Member]
    referrals: QuerySet[Referral]
    comments: QuerySet[ResidenceComment]
    residential_cells: QuerySet[Organisation]
    rated_members: QuerySet[Member]
    sees_ratings: bool  # whether the user sees any year-end rating (the ratings column is theirs at all)


def sight_of(user) -> Sight:
    access = access_for(user)
    return Sight(
        members=visible_members(user),
        referrals=visible_referrals(user),
        comments=visible_comments(user),
        residential_cells=visible_residential_cells(user),
        rated_members=visible_rated_members(user),
        sees_ratings=access.is_city() or bool(access.workplace_paths()),
    )
