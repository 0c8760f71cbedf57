"""The figures of an organisation's subtree shown on the home page."""

import dataclasses
import datetime

from django.db.models import Count, Exists, OuterRef, Q

from branches.models import Organisation
from dongha76.db import subquery_count
from members.models import Member, Placement, Referral
from members.models.history import in_force_q
from members.models.referral import awaiting_reception_q, received_q, ward_under_q, with_placement_on
from members.selectors.scope import wards_addressed

Kind = Organisation.Kind


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
        """The same figures read from the dashboard's headline of ``day`` (``reports.figures.Headline``), whose
        definitions they share: for a large subtree, whose headline is carried from yesterday's stored one
        (``reports.snapshots``) where ``organisation_overview`` would count the whole subtree."""
        return cls(
            organisation=organisation,
            day=day,
            members=headline.members,
            introduced=headline.introduced,
            referrals_received=headline.received,
            referrals_awaiting_reception=headline.awaiting_reception_addressed,
            residential_cells=headline.residential_cells,
        )


def organisation_overview(*, organisation: Organisation, day: datetime.date) -> OrganisationOverview:
    """The figures of the home page for ``organisation`` and its subtree: one query (two for the root, and for a
    subtree that is not a ward's: ``_holds_ward_referrals``).

    Each figure is a constant prefix filter on the materialised path, so the database can use the path indexes.
    The figures the dashboard also shows are counted as it counts them (``reports.figures.headline``): a referral
    counts under its ward of the day (the ward of the cell it is placed in, else the ward addressed or its
    successor), so the two pages agree under the same label.
    """
    path = organisation.path
    at_root = organisation.kind == Kind.ROOT
    members = Member.objects.in_subtree(organisation).members_on(day)
    figures = (
        Organisation.objects.filter(pk=organisation.pk)
        .values(
            members=subquery_count(members),
            introduced=subquery_count(
                members.eligible_on(day).filter(Exists(Referral.objects.active_on(day).filter(member=OuterRef("pk"))))
            ),
            residential_cells=subquery_count(
                Organisation.objects.subtree(organisation).valid_on(day).filter(kind=Organisation.Kind.RESIDENTIAL_CELL)
            ),
            **({} if at_root else _referral_counts_below_root(organisation, day)),
        )
        .get()
    )
    referrals = _referral_counts_at_root(path, day) if at_root else _added_up(figures)
    return OrganisationOverview(
        organisation=organisation,
        day=day,
        members=figures["members"],
        introduced=figures["introduced"],
        referrals_received=referrals["received"],
        referrals_awaiting_reception=referrals["awaiting_reception"],
        residential_cells=figures["residential_cells"],
    )


def _referral_counts_at_root(path: str, day: datetime.date) -> dict[str, int]:
    """The root's referral figures in one pass over the open referrals, each joined to its placement of ``day``
    and tested with ``ward_under_q`` on the joined rows (a second query: a scalar subquery per figure would read every
    referral again). At the root the parts used below it each read nearly every referral, five times (thanhuy at the
    province's size: about 110 -> 60 ms)."""
    ward_under = ward_under_q(day, path)
    return with_placement_on(Referral.objects.active_on(day), day).aggregate(
        received=Count("pk", filter=received_q(day) & ward_under),
        awaiting_reception=Count("pk", filter=awaiting_reception_q(day) & ward_under),
    )


def _added_up(figures: dict) -> dict[str, int]:
    """The figures of ``_referral_counts_below_root`` added up (those it left out are none)."""
    return {
        "received": figures.get("received_placed", 0) + figures.get("received_addressed", 0),
        "awaiting_reception": figures.get("awaiting_placed", 0) + figures.get("awaiting_addressed", 0),
    }


# The kinds whose subtree holds wards as a rule: asked for their received and waiting referrals straight away.
WARD_HOLDING_KINDS = (Kind.ROOT, Kind.WARD, Kind.UPPER_COMMITTEE)


def _holds_ward_referrals(organisation: Organisation, day: datetime.date) -> bool:
    """Whether any referral is addressed to an organisation of the subtree (or to a ward merged into one), or placed
    on ``day`` in a cell of one: the two parts of the received and waiting figures start from these rows, so when
    there are none both figures are 0. One small query, where the parts' joins cost a workplace's or a residential
    cell's overview 15 ms of planning and building for nothing (khupho1, coquan1: 21 -> 7 ms)."""
    addressed = Referral.objects.filter(receiving_ward__in=wards_addressed([organisation.path]))
    placed = Placement.objects.filter(in_force_q(day), residential_cell__parent__path__startswith=organisation.path)
    return Organisation.objects.filter(pk=organisation.pk).filter(Q(Exists(addressed)) | Q(Exists(placed))).exists()


def _referral_counts_below_root(organisation: Organisation, day: datetime.date) -> dict:
    """The referral figures of an organisation below the root, as scalar subqueries of the overview's query; the
    received and waiting ones only when the subtree may hold such referrals (a ward's, or ``_holds_ward_referrals``).

    ``ward_under_q`` in two disjoint parts, each driven by an index from the subtree's few organisations (one
    condition over the joined placement, cells and wards makes the database read every referral of the city, or
    hash every referral against the subtree's): the referrals placed on ``day`` in a cell of a ward under ``path``
    (placements never overlap: one a day at most), and the referrals not placed on ``day`` whose ward addressed (or
    its successor) is under ``path``, found among those addressed to a ward of the subtree or merged into one.
    """
    path = organisation.path
    if organisation.kind not in WARD_HOLDING_KINDS and not _holds_ward_referrals(organisation, day):
        return {}
    placed_here = Referral.objects.filter(
        pk__in=Placement.objects.filter(in_force_q(day), residential_cell__parent__path__startswith=path).values(
            "referral_id"
        )
    )
    placed_on_day = Placement.objects.filter(in_force_q(day), referral=OuterRef("pk"))
    addressed_here = (
        with_placement_on(Referral.objects.filter(receiving_ward__in=wards_addressed([path])), day)
        .exclude(Exists(placed_on_day))
        .filter(ward_under_q(day, path))
    )
    return {
        "received_placed": subquery_count(placed_here.received_as_of(day)),
        "received_addressed": subquery_count(addressed_here.received_as_of(day)),
        "awaiting_placed": subquery_count(placed_here.awaiting_reception_on(day)),
        "awaiting_addressed": subquery_count(addressed_here.awaiting_reception_on(day)),
    }
