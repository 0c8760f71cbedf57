"""The figures of an organisation's subtree shown on the home page."""

import dataclasses
import datetime

from branches.models import Organisation
from dongha76.db import subquery_count
from members.models import Member, Referral

Kind = Organisation.Kind


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


def organisation_overview(*, organisation: Organisation, day: datetime.date) -> OrganisationOverview:
    """The figures of the home page for ``organisation`` and its subtree, in one query.

    Each figure is a constant prefix filter on the materialised path, so the database can use the path indexes.
    """
    path = organisation.path
    figures = (
        Organisation.objects.filter(pk=organisation.pk)
        .values(
            members=subquery_count(Member.objects.in_subtree(organisation).members_on(day)),
            referrals_issued_open=subquery_count(
                Referral.objects.active_on(day).filter(issuing_organisation__path__startswith=path)
            ),
            referrals_received=subquery_count(
                Referral.objects.received_as_of(day).filter(receiving_ward__path__startswith=path)
            ),
            referrals_awaiting_reception=subquery_count(
                Referral.objects.awaiting_reception_on(day).filter(receiving_ward__path__startswith=path)
            ),
            residential_cells=subquery_count(
                Organisation.objects.subtree(organisation).valid_on(day).filter(kind=Organisation.Kind.RESIDENTIAL_CELL)
            ),
        )
        .get()
    )
    return OrganisationOverview(organisation=organisation, day=day, **figures)
