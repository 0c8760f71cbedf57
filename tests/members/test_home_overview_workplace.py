"""The home page's figures of a workplace or a residential cell (issue 15): when no referral is addressed to its
subtree or placed in a cell under it, its received and waiting figures are 0 without asking their parts (one small
query decides, from the rows, not from the kinds); when some are, the parts are asked as for a ward."""

import datetime

import pytest

from branches.models import Organisation
from members.selectors import organisation_overview
from members.selectors.overview import _holds_ward_referrals
from tests.factories import make_member, make_organisation, make_referral

D = datetime.date
Kind = Organisation.Kind
pytestmark = pytest.mark.django_db
DAY = D(2024, 6, 1)


def referral_figures(organisation: Organisation) -> tuple[int, int]:
    overview = organisation_overview(organisation=organisation, day=DAY)
    return overview.referrals_received, overview.referrals_awaiting_reception


def by_parts(organisation: Organisation) -> tuple[int, int]:
    """The figures from the parts, asked whatever the check says (as before it)."""
    from members.selectors import overview

    real = overview._holds_ward_referrals
    overview._holds_ward_referrals = lambda organisation, day: True
    try:
        return referral_figures(organisation)
    finally:
        overview._holds_ward_referrals = real


@pytest.fixture
def referrals(tree):
    received = {"introduced_on": D(2024, 5, 2), "received_on": D(2024, 5, 9)}
    make_referral(make_member(tree.cell, admitted_on=D(2010, 3, 1)), receiving_ward=tree.ward1, **received)
    make_referral(
        make_member(tree.grassroots_cell, admitted_on=D(2010, 3, 1)),
        receiving_ward=tree.ward1,
        placed_on=D(2024, 5, 20),
        residential_cell=tree.ward1_cell1,
        **received,
    )
    make_referral(make_member(tree.cell, admitted_on=D(2010, 3, 1)), receiving_ward=tree.ward2)  # waiting


@pytest.mark.parametrize("name", ["committee", "cell", "grassroots_cell", "ward1_cell1", "ward2_cell2"])
def test_a_subtree_without_ward_referrals_counts_none_as_its_parts_do(tree, referrals, name, django_assert_num_queries):
    organisation = getattr(tree, name)
    assert not _holds_ward_referrals(organisation, DAY)
    with django_assert_num_queries(2):  # the check, then the overview without the parts
        figures = referral_figures(organisation)
    assert figures == by_parts(organisation) == (0, 0)


def test_a_committee_holding_a_ward_asks_the_parts(tree, referrals):
    ward = make_organisation(kind=Kind.WARD, parent=tree.committee, name="Đảng bộ Phường 7", sector=tree.ward1.sector)
    cell = make_organisation(kind=Kind.RESIDENTIAL_CELL, parent=ward, name="Chi bộ Khu phố 7")
    make_referral(
        make_member(tree.grassroots_cell, admitted_on=D(2010, 3, 1)),
        receiving_ward=ward,
        introduced_on=D(2024, 5, 2),
        received_on=D(2024, 5, 9),
        placed_on=D(2024, 5, 20),
        residential_cell=cell,
    )
    make_referral(make_member(tree.grassroots_cell, admitted_on=D(2010, 3, 1)), receiving_ward=ward)
    assert _holds_ward_referrals(tree.committee, DAY)
    assert referral_figures(tree.committee) == by_parts(tree.committee) == (1, 1)
