"""The residential cell pages."""

import datetime

from django.db.models import (
    Exists,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)

from branches.models import Organisation
from dongha76.db import subquery_count
from members.models import Exemption, Member, Placement, Referral
from members.models.history import home_on_q
from members.selectors.scope import (
    visible_referrals,
    visible_residential_cells,
)

Kind = Organisation.Kind

# -- cells ---------------------------------------------------------------------------------------------------------
# The residential cell pages: the list of the cells a user may see with their figures, and one cell's referred
# members. Each starts from ``visible_residential_cells`` / ``visible_referrals`` and adds what the page shows as
# subquery annotations, so a page runs the same number of queries whatever the number of rows.


def a_year_before(day: datetime.date) -> datetime.date:
    """The same day a year earlier (28 February for 29 February)."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def residential_cells_with_counts(user, *, day: datetime.date) -> QuerySet[Organisation]:
    """The residential cells the user may see, each with its ward and, as of ``day``: ``placed_members`` (referred
    members placed in it), ``awaiting_report`` (of those, not yet reported to the cell) and ``own_members`` (members
    whose home is the cell: retired members living there)."""
    placed = Referral.objects.placed_in_on(Q(pk=OuterRef(OuterRef("pk"))), day)
    return (
        visible_residential_cells(user)
        .select_related("parent")
        .annotate(
            placed_members=subquery_count(placed),
            awaiting_report=subquery_count(placed.filter(Q(reported_on__isnull=True) | Q(reported_on__gt=day))),
            own_members=subquery_count(
                Member.objects.members_on(day).filter(home_on_q(day, Q(pk=OuterRef(OuterRef("pk")))))
            ),
        )
        .order_by("path")
    )


def residential_cell_wards(user) -> QuerySet[Organisation]:
    """The wards of the residential cells the user may see: the choices of the ward filter of the cell list."""
    cells = visible_residential_cells(user)
    return Organisation.objects.filter(kind=Kind.WARD, pk__in=cells.values("parent")).order_by("path")


def cell_placed_referrals(user, cell: Organisation, *, day: datetime.date) -> QuerySet[Referral]:
    """The referrals placed in ``cell`` and active on ``day``, by name, with the member, the workplace (issuing
    organisation) and, when the member is exempt from residence activities on ``day``, the exemption's start and
    reason (``activities_exempt_since``, ``activities_exempt_reason``)."""

    exemption = Exemption.objects.in_force_on(day).filter(member=OuterRef("member"), kind=Exemption.Kind.ACTIVITIES)
    return (
        visible_referrals(user)
        .placed_in_on(Q(pk=cell.pk), day)
        .select_related("member", "issuing_organisation")
        .annotate(
            activities_exempt_since=Subquery(exemption.order_by("-started_on").values("started_on")[:1]),
            activities_exempt_reason=Subquery(exemption.order_by("-started_on").values("reason")[:1]),
        )
        .order_by("member__search_name", "member__card_number")
    )


def cell_departed_referrals(user, cell: Organisation, *, day: datetime.date) -> QuerySet[Referral]:
    """The referrals placed in ``cell`` that ended in the twelve months up to ``day``, latest first."""
    return (
        visible_referrals(user)
        .filter(ended_on__lte=day, ended_on__gt=a_year_before(day))
        .filter(Exists(Placement.objects.filter(referral=OuterRef("pk"), residential_cell=cell)))
        .select_related("member", "issuing_organisation")
        .order_by("-ended_on", "member__search_name")
    )
