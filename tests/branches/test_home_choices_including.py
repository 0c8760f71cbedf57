"""Issue 15, a member's form at the nation's size: the home cells offered are the user's cells plus the member's
current home, read as one OR of the cells' own conditions and the home's key. Beside a ``pk IN (subquery)`` the key
made PostgreSQL expect half the tree and read all 199,000 organisations by path for the form's first options (95 ms
of a ward secretary's member form); the same choices, in the same order, for every role."""

import pytest
from django.contrib.auth import get_user_model
from django.db.models import Q

from branches.access import access_for
from branches.models import Organisation
from branches.selectors import member_home_cells, outside_organisations
from tests.conftest import DEMO_TODAY

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

ROLES = ("thanhuy", "phuong1", "phuong2", "khupho1", "coquan1")


def access(username):
    return access_for(get_user_model().objects.get(username=username))


def out_of_reach(username):
    """A residential cell the user may not put a member in: a member's home they still see on the form."""
    offered = member_home_cells(access(username), day=DEMO_TODAY).values("pk")
    return Organisation.objects.filter(kind=Organisation.Kind.RESIDENTIAL_CELL).exclude(pk__in=offered).last()


@pytest.mark.parametrize("role", ROLES)
def test_the_home_cells_are_the_users_cells_and_the_members_home(demo, role):
    home = out_of_reach(role) or Organisation.objects.filter(kind=Organisation.Kind.RESIDENTIAL_CELL).first()
    cells = member_home_cells(access(role), day=DEMO_TODAY)
    expected = Organisation.objects.filter(Q(pk__in=cells.values("pk")) | Q(pk=home.pk)).order_by("path")

    offered = member_home_cells(access(role), day=DEMO_TODAY, including=home)

    assert list(offered.values_list("pk", flat=True)) == list(expected.values_list("pk", flat=True))
    assert home in offered


def test_an_outside_home_is_kept_among_the_outside_organisations(demo):
    home = Organisation.objects.filter(kind=Organisation.Kind.RESIDENTIAL_CELL).first()
    outside = outside_organisations(day=DEMO_TODAY)

    offered = outside_organisations(day=DEMO_TODAY, including=home)

    assert set(offered) == {*outside, home}


def test_a_ward_secretarys_home_cells_are_read_in_one_select(demo):
    home = out_of_reach("phuong1")

    offered = member_home_cells(access("phuong1"), day=DEMO_TODAY, including=home)

    assert str(offered.query).count("SELECT") == 1
