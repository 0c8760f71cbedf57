"""Who sees what: every list and object lookup of the members app goes through these functions."""

from django.db.models import (
    Exists,
    OuterRef,
    Q,
    QuerySet,
)

from branches.access import Access, access_for
from branches.models import Organisation
from branches.selectors import in_subtrees
from members.models import Member, Referral

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
