"""Issue 15, the comment list at the nation's size: the drill filter "due in or for" offers the user's wards, cells
and workplaces and the root, read as one OR of their own conditions. Its former shape, a ``pk IN (subquery)`` per
side, hashed every workplace of the nation (52,000) before its first options for a ward's secretary (80 ms of a
400 ms page); the same organisations, in the same order, for every role."""

import pytest
from django.contrib.auth import get_user_model
from django.db.models import Q

from branches.models import Organisation
from members.filters import CommentFilter
from members.models import ResidenceComment
from members.selectors import comment_filter_choices
from tests.conftest import DEMO_TODAY

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

ROLES = ("thanhuy", "phuong1", "phuong2", "khupho1", "coquan1")


def due_under_choices(username):
    user = get_user_model().objects.get(username=username)
    choices = comment_filter_choices(user, day=DEMO_TODAY)
    comment_filter = CommentFilter(None, queryset=ResidenceComment.objects.none(), **choices, year=DEMO_TODAY.year)
    return choices, comment_filter.filters["due_under"].queryset


@pytest.mark.parametrize("role", ROLES)
def test_due_under_offers_the_users_sides_and_the_root_in_path_order(demo, role):
    choices, due_under = due_under_choices(role)
    sides = Organisation.objects.filter(
        Q(pk__in=choices["wards"].values("pk"))
        | Q(pk__in=choices["cells"].values("pk"))
        | Q(pk__in=choices["workplaces"].values("pk"))
        | Q(kind=Organisation.Kind.ROOT)
    ).order_by("path")

    assert list(due_under.values_list("pk", flat=True)) == list(sides.values_list("pk", flat=True))


def test_a_workplace_cadres_due_under_reads_the_organisations_once(demo):
    # coquan1's wards and cells are every ward and cell: the four sides are four conditions of one SELECT.
    _, due_under = due_under_choices("coquan1")

    assert str(due_under.query).count("SELECT") == 1
