"""The home page's figures of the root count its referrals in one pass (issue 15): the same numbers as the parts the
overview uses below the root (placed in its cells; addressed to its wards, merged ones included), applied to the
root's path, on a tree with mergers and placements (on the demo data: test_home_overview_root_demo.py)."""

import datetime

import pytest

from branches.models import Organisation
from members.selectors import organisation_overview
from members.selectors.overview import (
    OrganisationOverview,
    _added_up,
    _referral_counts_at_root,
    _referral_counts_below_root,
)
from reports import figures
from tests.factories import make_member, make_organisation, make_referral

D = datetime.date
Kind = Organisation.Kind
pytestmark = pytest.mark.django_db


def by_parts(root: Organisation, day: datetime.date) -> dict[str, int]:
    """The root's referral figures as the overview counted them before: the parts it uses below the root."""
    parts = _referral_counts_below_root(root, day)
    return _added_up(Organisation.objects.filter(pk=root.pk).values(**parts).get())


def assert_the_headline_gives_the_overview(organisation: Organisation, day: datetime.date) -> None:
    """The home page reads a large subtree's figures from the dashboard's headline
    (``OrganisationOverview.of_headline``): the same numbers as counted by the overview itself."""
    headline = figures.headline(organisation, day)
    counted = organisation_overview(organisation=organisation, day=day)
    assert OrganisationOverview.of_headline(organisation, day, headline) == counted, (organisation.code, day)


def assert_one_pass_counts_as_the_parts(root: Organisation, day: datetime.date) -> dict[str, int]:
    one_pass = _referral_counts_at_root(root.path, day)
    assert one_pass == by_parts(root, day), day
    return one_pass


def test_the_roots_referrals_in_one_pass_as_by_parts(tree):
    ward3 = make_organisation(kind=Kind.WARD, parent=tree.root, name="Đảng bộ Phường 3", sector=tree.ward1.sector)
    received = {"introduced_on": D(2024, 5, 2), "received_on": D(2024, 5, 9)}
    make_referral(make_member(tree.cell, admitted_on=D(2010, 3, 1)), receiving_ward=ward3, **received)
    make_referral(make_member(tree.cell, admitted_on=D(2010, 3, 1)), receiving_ward=tree.ward1, **received)
    make_referral(make_member(tree.cell, admitted_on=D(2010, 3, 1)), receiving_ward=tree.ward2)  # not received
    make_referral(
        make_member(tree.outside, admitted_on=D(2010, 3, 1)),
        issuing_organisation=tree.outside,
        receiving_ward=tree.ward2,
        placed_on=D(2024, 6, 1),
        residential_cell=tree.ward2_cell1,
        **received,
    )
    make_referral(
        make_member(tree.grassroots_cell, admitted_on=D(2010, 3, 1)),
        receiving_ward=tree.ward1,
        ended_on=D(2024, 8, 1),
        end_reason="moved_residence",
        **received,
    )
    Organisation.objects.filter(pk=ward3.pk).update(valid_to=D(2025, 1, 1), successor=tree.ward1)
    Organisation.objects.filter(pk=tree.ward1.pk).update(valid_to=D(2025, 7, 1), successor=tree.ward2)

    found = {
        day: assert_one_pass_counts_as_the_parts(tree.root, day)
        for day in (D(2024, 5, 1), D(2024, 5, 2), D(2024, 5, 9), D(2024, 6, 1), D(2024, 8, 1), D(2025, 7, 1))
    }
    for day in found:
        assert_the_headline_gives_the_overview(tree.root, day)
    assert found[D(2024, 6, 1)] == {"received": 4, "awaiting_reception": 1}
    assert found[D(2025, 7, 1)] == {"received": 3, "awaiting_reception": 1}
    overview = organisation_overview(organisation=tree.root, day=D(2025, 7, 1))
    assert (overview.referrals_received, overview.referrals_awaiting_reception) == (3, 1)


def test_the_roots_overview_takes_two_queries(tree, django_assert_num_queries):
    with django_assert_num_queries(2):
        organisation_overview(organisation=tree.root, day=D(2025, 7, 1))
