"""Reads about members and their residence registration."""

import dataclasses
import datetime

from django.db.models import Exists, F, Func, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

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
