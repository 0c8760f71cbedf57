"""Reads about members and their residence registration."""

import dataclasses
import datetime

from django.db.models import F, Func, IntegerField, QuerySet, Subquery
from django.db.models.functions import Coalesce

from branches.models import Organisation
from members.models import Member, Referral


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
