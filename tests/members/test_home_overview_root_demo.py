"""The home page's figures of the root count its referrals in one pass on the demo data, as by the parts below the
root (slow; the hand-built tree is in test_home_overview_root.py)."""

import datetime

import pytest

from branches.models import Organisation
from tests.conftest import DEMO_TODAY
from tests.members.test_home_overview_root import (
    assert_one_pass_counts_as_the_parts,
    assert_the_headline_gives_the_overview,
)

D = datetime.date
pytestmark = pytest.mark.django_db


@pytest.mark.slow
def test_the_roots_referrals_in_one_pass_as_by_parts_on_the_demo(demo):
    root = Organisation.objects.get(code="QT")
    for day in (D(2018, 9, 30), D(2025, 6, 30), D(2025, 7, 1), DEMO_TODAY):
        counts = assert_one_pass_counts_as_the_parts(root, day)
        assert counts["received"] > 0
    # The home page's day is today: the overview counts members by their home of today (``in_subtree``), the headline
    # by their home of the day, which differ on a past day for the members who moved since.
    for code in ("QT", "DH"):
        assert_the_headline_gives_the_overview(Organisation.objects.get(code=code), DEMO_TODAY)
