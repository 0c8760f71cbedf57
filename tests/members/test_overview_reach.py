"""The home page's figures of a ward count the referrals of its book after mergers: they are the dashboard's
headline's (``OrganisationOverview.of_headline``), which counts a referral under its ward of the day (the ward of the
cell it is placed in, else the ward addressed or its successor, two successions deep)."""

import datetime

import pytest

from branches.models import Organisation
from members.selectors import OrganisationOverview
from reports import figures
from tests.factories import make_member, make_organisation, make_referral

D = datetime.date
Kind = Organisation.Kind
pytestmark = pytest.mark.django_db


def home_figures(organisation, day):
    """The home page's figures of ``organisation`` on ``day``."""
    return OrganisationOverview.of_headline(organisation, day, figures.headline(organisation, day))


def _merge(ward, into, on):
    Organisation.objects.filter(pk=ward.pk).update(valid_to=on, successor=into)


def test_a_ward_counts_the_referrals_of_wards_merged_into_it_two_successions_deep(tree):
    ward3 = make_organisation(kind=Kind.WARD, parent=tree.root, name="Đảng bộ Phường 3", sector=tree.ward1.sector)
    elsewhere = make_organisation(kind=Kind.WARD, parent=tree.root, name="Đảng bộ Phường 9", sector=tree.ward1.sector)
    member = make_member(tree.cell, admitted_on=D(2010, 3, 1))
    received = {"introduced_on": D(2024, 5, 2), "received_on": D(2024, 5, 9)}
    make_referral(member, receiving_ward=ward3, **received)  # ward3 -> ward1 -> ward2
    make_referral(make_member(tree.cell, admitted_on=D(2010, 3, 1)), receiving_ward=tree.ward1, **received)
    make_referral(make_member(tree.cell, admitted_on=D(2010, 3, 1)), receiving_ward=tree.ward2)  # not received
    make_referral(make_member(tree.cell, admitted_on=D(2010, 3, 1)), receiving_ward=elsewhere, **received)
    _merge(ward3, tree.ward1, D(2025, 1, 1))
    _merge(tree.ward1, tree.ward2, D(2025, 7, 1))

    for day, ward, received_count, awaiting in [
        (D(2024, 12, 31), tree.ward1, 1, 0),
        (D(2024, 12, 31), ward3, 1, 0),
        (D(2025, 3, 1), tree.ward1, 2, 0),
        (D(2025, 3, 1), ward3, 0, 0),
        (D(2025, 7, 1), tree.ward2, 2, 1),
        (D(2025, 7, 1), tree.ward1, 0, 0),
    ]:
        overview = home_figures(ward, day)
        assert (overview.referrals_received, overview.referrals_awaiting_reception) == (received_count, awaiting)

    city = home_figures(tree.root, D(2025, 7, 1))
    assert (city.referrals_received, city.referrals_awaiting_reception) == (3, 1)


def test_a_placed_referral_counts_under_the_ward_of_its_cell(tree):
    member = make_member(tree.cell, admitted_on=D(2010, 3, 1))
    make_referral(
        member,
        receiving_ward=tree.ward1,
        introduced_on=D(2024, 5, 2),
        received_on=D(2024, 5, 9),
        placed_on=D(2024, 5, 20),
        residential_cell=tree.ward1_cell2,
    )

    assert home_figures(tree.ward1, D(2024, 6, 1)).referrals_received == 1
    assert home_figures(tree.ward2, D(2024, 6, 1)).referrals_received == 0
    assert home_figures(tree.root, D(2024, 6, 1)).referrals_received == 1
