"""The figures of an organisation's subtree shown on the home page."""

import dataclasses
import datetime

from django.db.models import Exists, OuterRef

from branches.models import Organisation
from branches.selectors import subtree_ids
from dongha76.db import subquery_count
from members.models import Member, Placement, Referral
from members.models.referral import ward_under_q, with_placement_on
from members.selectors.scope import wards_addressed

Kind = Organisation.Kind


@dataclasses.dataclass(frozen=True)
class OrganisationOverview:
    """A handful of figures about an organisation and everything under it, as of ``day``."""

    organisation: Organisation
    day: datetime.date
    members: int
    introduced: int  # working members to introduce who have an open referral (the dashboard's "introduced")
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
    The figures the dashboard also shows are counted as it counts them (``reports.figures.headline``): a referral
    counts under its ward of the day (the ward of the cell it is placed in, else the ward addressed or its
    successor), so the two pages agree under the same label.
    """
    path = organisation.path
    # ``ward_under_q`` is one condition over the joined placement, cells and wards of every referral: alone, the
    # database reads every referral of the city to keep the subtree's. It is kept as is (the dashboard's rule), on
    # a superset found by index scans: the referrals ever placed in a cell of the subtree, and those addressed to
    # a ward of it or merged into one (the only referrals whose ward of any day can be under ``path``).
    in_reach = (
        Placement.objects.filter(residential_cell__in=subtree_ids([path]))
        .order_by()
        .values("referral_id")
        .union(Referral.objects.filter(receiving_ward__in=wards_addressed([path])).order_by().values("pk"))
    )
    addressed = with_placement_on(Referral.objects.filter(pk__in=in_reach), day).filter(ward_under_q(day, path))
    members = Member.objects.in_subtree(organisation).members_on(day)
    figures = (
        Organisation.objects.filter(pk=organisation.pk)
        .values(
            members=subquery_count(members),
            introduced=subquery_count(
                members.eligible_on(day).filter(Exists(Referral.objects.active_on(day).filter(member=OuterRef("pk"))))
            ),
            referrals_issued_open=subquery_count(
                Referral.objects.active_on(day).filter(issuing_organisation__path__startswith=path)
            ),
            referrals_received=subquery_count(addressed.received_as_of(day)),
            referrals_awaiting_reception=subquery_count(addressed.awaiting_reception_on(day)),
            residential_cells=subquery_count(
                Organisation.objects.subtree(organisation).valid_on(day).filter(kind=Organisation.Kind.RESIDENTIAL_CELL)
            ),
        )
        .get()
    )
    return OrganisationOverview(organisation=organisation, day=day, **figures)
