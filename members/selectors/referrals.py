"""The referral workflow: the referral list, the letter numbers (the to-do counts are in ``todo``)."""

import datetime
import re

from django.contrib.auth import get_user_model
from django.db.models import (
    Exists,
    OuterRef,
    QuerySet,
)

from branches.access import access_for
from branches.models import Organisation
from branches.selectors import in_subtrees, names_on, residential_cells_of, successor_on, wards_on
from members.models import Member, MemberHome, Referral
from members.models.history import in_force_q
from members.selectors.paging import keys_first, listed, page_first
from members.selectors.scope import (
    members_introducible_by,
    referrals_endable_by,
    referrals_receivable_by,
    referrals_reportable_by,
    visible_referrals,
)

Kind = Organisation.Kind


def referral_list(user) -> QuerySet[Referral]:
    """The referrals a user sees, with what the list shows and what the user may do on each row (``listed``). A
    ward's or a committee's scope is read as its keys first; a page of the city's is found as its keys first and read
    whole by them: PostgreSQL otherwise joins every referral of the scope to its member and three organisations
    before keeping 50 (thanhuy's list at the province's size: 57,157 wide rows sorted, 0.45-0.55 s)."""
    return listed(
        visible_referrals(user),
        rows_of=lambda rows: _referral_rows(user, rows),
        # The steps the user may take on a row are shown, never filtered or sorted by: built for the page alone.
        ordered_by=lambda rows: rows.select_related(
            "member", "issuing_organisation", "receiving_ward", "residential_cell"
        ),
        shown=("can_receive", "can_end", "can_report"),
    )


def _referral_rows(user, referrals: QuerySet[Referral] | None = None) -> QuerySet[Referral]:
    """``referrals`` (default: those the user sees) with the list's relations and the user's steps on each."""
    referrals = visible_referrals(user) if referrals is None else referrals
    return referrals.select_related("member", "issuing_organisation", "receiving_ward", "residential_cell").annotate(
        can_receive=Exists(referrals_receivable_by(user).filter(pk=OuterRef("pk"))),
        can_end=Exists(referrals_endable_by(user).filter(pk=OuterRef("pk"))),
        can_report=Exists(referrals_reportable_by(user).filter(pk=OuterRef("pk"))),  # todo: the cell's step
    )


# The users who recorded a referral's steps (its page names them).
RECORDED_BY = ("introduced_by", "received_by", "placed_by", "reported_by", "ended_by")


def referral_for(user, pk: int) -> Referral:
    """One referral in the user's scope, with its relations (raises Referral.DoesNotExist outside it).

    The users who recorded its steps are read in a query of their own, not joined: with them the statement joined
    eleven tables beside the scope's subqueries, and with the app's join_collapse_limit of 16 (``dongha76.settings``)
    PostgreSQL searched every order of them, 50-60 ms of planning for under 2 ms of work (a referral's page and its
    letter at the province's size; 4 ms without them)."""
    referral = _referral_rows(user).select_related("member__home_organisation").get(pk=pk)
    keys = {getattr(referral, f"{field}_id") for field in RECORDED_BY} - {None}
    people = get_user_model().objects.in_bulk(keys) if keys else {}
    for field in RECORDED_BY:
        key = getattr(referral, f"{field}_id")
        if key is not None:
            setattr(referral, field, people[key])
    return referral


def eligible_not_introduced(members: QuerySet[Member], day: datetime.date) -> QuerySet[Member]:
    return (
        members.members_on(day)
        .eligible_on(day)
        .exclude(Exists(Referral.objects.active_on(day).filter(member=OuterRef("pk"))))
    )


def member_to_introduce(user, pk: int) -> Member:
    return members_introducible_by(user).select_related("home_organisation").get(pk=pk)


def wards_for_introduction(user, member: Member, *, day: datetime.date) -> QuerySet[Organisation]:
    """Any ward of the city for the member's own workplace committee; for a ward registering a member of an outside
    organisation, its own wards only."""
    access = access_for(user)
    wards = wards_on(day)
    if access.is_city(write=True) or member.home_organisation.kind != Organisation.Kind.OUTSIDE:
        return wards
    return wards.filter(in_subtrees("", access.ward_paths(write=True)))


def next_letter_number(issuer: Organisation, year: int) -> str:
    """The next number of the organisation's yearly sequence of introduction letters ("12-GT/ĐU" after "11-GT/ĐU")."""
    numbers = Referral.objects.filter(issuing_organisation=issuer, introduced_on__year=year).values_list(
        "letter_number", flat=True
    )
    highest = 0
    suffix = "-GT/ĐU"
    for number in numbers:
        match = re.match(r"\s*(\d+)(.*)$", number or "")
        if match and int(match.group(1)) >= highest:
            highest, suffix = int(match.group(1)), match.group(2) or suffix
    return f"{highest + 1}{suffix}"


def letter_names(referral: Referral, root: Organisation) -> dict[str, str]:
    """The names a printed letter shows, as they were on its days (an organisation renamed or merged since keeps the
    name of that day): the root, the issuer and the ward on the day of the letter, the member's home cell that day,
    and the first cell the member was placed in, on the day of the placement."""
    day = referral.introduced_on
    home = MemberHome.objects.filter(in_force_q(day), member=referral.member_id).values_list("organisation", flat=True)
    first = referral.placements.order_by("started_on").values_list("residential_cell", flat=True).first()
    home_id = home.first() or referral.member.home_organisation_id
    names = names_on([root, referral.issuing_organisation, referral.receiving_ward], day)
    names.update(names_on(Organisation.objects.filter(pk=home_id), day))
    if first:
        names.update(names_on(Organisation.objects.filter(pk=first), referral.placed_on))
    return {
        "root": names[root.pk],
        "issuer": names[referral.issuing_organisation_id],
        "ward": names[referral.receiving_ward_id],
        "home": names[home_id],
        "cell": names.get(first, ""),
    }


def cells_for_placement(referral: Referral, *, day: datetime.date) -> QuerySet[Organisation]:
    """The cells of the ward in charge of the referral on ``day``: the ward it was addressed to, or the ward that took
    it over after a merger."""
    ward = successor_on(referral.receiving_ward, day) or referral.receiving_ward
    return residential_cells_of(ward, day=day)


def cells_for_replacement(referral: Referral, *, day: datetime.date) -> QuerySet[Organisation]:
    """The other residential cells of the ward the member is placed in (none while not placed)."""
    if referral.residential_cell_id is None:
        return Organisation.objects.none()
    ward = referral.residential_cell.parent
    return residential_cells_of(ward, day=day).exclude(pk=referral.residential_cell_id)


def referrals_awaiting_placement(user, *, day: datetime.date) -> QuerySet[Referral]:
    """The referrals the user may place that are received and not placed on ``day``, by ward. The scope's keys first
    (``keys_first``): paged in the ward's order, PostgreSQL otherwise walked every organisation of the nation sorted by
    name to find a ward's six (0.27 s at the nation's size). A page's keys first (``page_first``), then its rows with
    their member and organisations: city staff's first 100 of the province's 1,141 were found by joining every
    member (a hash join over a sequential scan of 100,000)."""
    waiting = (
        keys_first(referrals_receivable_by(user))
        .awaiting_placement_on(day)
        .select_related("member", "receiving_ward", "issuing_organisation")
        .order_by("receiving_ward__name", "received_on", "pk")
    )
    return page_first(waiting, lambda page: page.select_related("member", "receiving_ward", "issuing_organisation"))


def placement_cells_for(user, *, day: datetime.date) -> QuerySet[Organisation]:
    """The residential cells of the wards whose referrals the user may place."""
    access = access_for(user)
    cells = Organisation.objects.valid_on(day).filter(kind=Organisation.Kind.RESIDENTIAL_CELL)
    if access.is_city(write=True):
        return cells.select_related("parent").order_by("path")
    return cells.filter(in_subtrees("parent", access.ward_paths(write=True))).select_related("parent").order_by("path")
