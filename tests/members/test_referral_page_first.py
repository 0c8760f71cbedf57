"""City staff's referral list finds a page's ids first, then reads those rows whole
(``members.selectors.paging.PageFirst``, through ``referral_list``): the same rows, order and annotations as the one
query."""

import datetime

import pytest

from branches.models import Officer
from members.selectors import referral_list
from members.selectors.referrals import _referral_rows
from tests.factories import make_member, make_officer, make_referral, make_tree

pytestmark = pytest.mark.django_db

FIELDS = ("pk", "member_id", "introduced_on", "can_receive", "can_end", "can_report")


def _rows(referrals):
    return [
        (tuple(getattr(referral, field) for field in FIELDS), referral.member.full_name, referral.receiving_ward.name)
        for referral in referrals
    ]


def test_a_page_of_the_city_list_is_the_same_as_the_one_query():
    tree = make_tree()
    for number in range(9):
        make_referral(
            make_member(tree.cell, full_name=f"Lê Văn {number % 4}"),
            receiving_ward=(tree.ward1, tree.ward2)[number % 2],
            introduced_on=datetime.date(2024, 1, 1 + number % 3),
        )
    staff = make_officer(tree.root, role=Officer.Role.STAFF, username="city")
    for order in (("-introduced_on", "pk"), ("member__search_name", "-pk"), ("receiving_ward__name", "pk")):
        expected = _rows(_referral_rows(staff).order_by(*order))
        assert _rows(referral_list(staff).order_by(*order)) == expected
        for start, stop in ((0, 4), (4, 8), (8, 12)):
            assert _rows(referral_list(staff).order_by(*order)[start:stop]) == expected[start:stop]


def test_a_page_costs_two_queries_whatever_its_rows(django_assert_num_queries):
    tree = make_tree()
    for _ in range(10):
        make_referral(make_member(tree.cell), receiving_ward=tree.ward1)
    staff = make_officer(tree.root, role=Officer.Role.STAFF, username="city")
    for size in (2, 10):
        referrals = referral_list(staff).order_by("-introduced_on", "pk")[:size]
        with django_assert_num_queries(2):
            assert len(_rows(referrals)) == size
    with django_assert_num_queries(1):
        assert list(referral_list(staff).order_by("pk")[20:30]) == []
