"""The figures of an organisation's subtree shown on the home page: a handful of the dashboard's headline of the
day, under the same labels, read from it (``reports.snapshots`` stores it until a write under the organisation). Until
the sixteenth round a small subtree's were counted here by a query of their own, a second definition of the same
figures kept equal to the headline's by tests; storing every subtree's headline made it the slower of the two."""

import dataclasses
import datetime

from branches.models import Organisation


@dataclasses.dataclass(frozen=True)
class OrganisationOverview:
    """A handful of figures about an organisation and everything under it, as of ``day``."""

    organisation: Organisation
    day: datetime.date
    members: int
    introduced: int  # working members to introduce who have an open referral (the dashboard's "introduced")
    referrals_received: int
    referrals_awaiting_reception: int
    residential_cells: int

    @property
    def referrals_addressed_open(self) -> int:
        """Open referrals addressed to the wards of the subtree, received or not."""
        return self.referrals_received + self.referrals_awaiting_reception

    @classmethod
    def of_headline(cls, organisation: Organisation, day: datetime.date, headline) -> "OrganisationOverview":
        """The figures read from the dashboard's headline of ``day`` (``reports.figures.Headline``)."""
        return cls(
            organisation=organisation,
            day=day,
            members=headline.members,
            introduced=headline.introduced,
            referrals_received=headline.received,
            referrals_awaiting_reception=headline.awaiting_reception_addressed,
            residential_cells=headline.residential_cells,
        )
