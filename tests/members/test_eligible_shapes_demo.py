"""Both query shapes of ``eligible_on`` give the same members in every scope of the demo data, on three days (slow;
the hand-built cases are in test_eligible_shapes.py)."""

import datetime

import pytest
from django.contrib.auth import get_user_model

from members.models import Member
from members.selectors.referrals import eligible_not_introduced
from members.selectors.scope import visible_members
from tests.conftest import DEMO_TODAY
from tests.members.test_eligible_shapes import both_shapes

D = datetime.date
pytestmark = pytest.mark.django_db


@pytest.mark.slow
@pytest.mark.parametrize("day", [DEMO_TODAY, D(DEMO_TODAY.year, 1, 1), D(DEMO_TODAY.year - 2, 6, 30)])
def test_every_demo_scope_has_the_same_eligible_members_in_both_shapes(demo, day):
    users = get_user_model().objects.filter(officer_posts__isnull=False).distinct().order_by("username")
    assert users
    for user in users:
        members = visible_members(user)
        both_shapes(members, day)
        assert set(eligible_not_introduced(members, day).values_list("pk", flat=True)) == set(
            eligible_not_introduced(members.few(), day).values_list("pk", flat=True)
        )
    assert both_shapes(Member.objects.all(), day)
