"""``eligible_on`` has two query shapes (``MemberQuerySet.few``: each member asked for its home of the day, for a
small scope; otherwise the workplace homes read once): they must give the same members, on every day and scope."""

import datetime

import pytest

from members import services
from members.models import Member
from tests.conftest import DEMO_TODAY
from tests.factories import make_member, make_tree

D = datetime.date
pytestmark = pytest.mark.django_db


def both_shapes(members, day):
    whole, few = (
        set(members.eligible_on(day).values_list("pk", flat=True)),
        set(members.few().eligible_on(day).values_list("pk", flat=True)),
    )
    assert whole == few
    return whole


def test_a_member_retired_into_a_residential_cell_is_eligible_until_that_day_in_both_shapes():
    tree = make_tree()
    member = make_member(tree.cell, admitted_on=D(2010, 3, 1))
    services.member_retire(member=member, retired_on=D(2021, 4, 1), by=None, transfer_to=tree.ward1_cell1)
    assert both_shapes(Member.objects.all(), D(2021, 3, 31)) == {member.pk}
    assert both_shapes(Member.objects.all(), D(2021, 4, 1)) == set()
    assert both_shapes(Member.objects.all(), D(2010, 2, 28)) == set()


def test_the_hint_is_kept_through_the_selectors_and_changes_no_row():
    members = Member.objects.few().filter(pk__gt=0).members_on(DEMO_TODAY)
    assert members._few
    assert not Member.objects.filter(pk__gt=0)._few
