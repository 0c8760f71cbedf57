"""The member list reads the referral state of a page's rows in a second query keyed by their ids
(``members.selectors.paging.listed``): the same rows, order and values as the annotations on the
whole query (``with_referral_state``), for a slice, the whole list, a sort by the state and the export's values."""

import datetime

import pytest

from branches.models import Officer
from members.selectors import member_list, visible_members, visible_referrals, with_referral_state
from members.selectors.people import REFERRAL_STATE_FIELDS
from tests.factories import make_member, make_officer, make_referral, make_tree

pytestmark = pytest.mark.django_db

DAY = datetime.date(2024, 6, 30)


def _rows(members):
    return [(member.pk, *(getattr(member, field) for field in REFERRAL_STATE_FIELDS)) for member in members]


def test_a_page_reads_the_same_states_as_the_annotated_query():
    tree = make_tree()
    ward = tree.ward1
    members = [make_member(tree.cell, full_name=f"Nguyễn Văn {letter}") for letter in "ABCDEFG"]
    make_referral(members[0], receiving_ward=ward, introduced_on=datetime.date(2024, 6, 20))
    make_referral(members[1], receiving_ward=ward, introduced_on=datetime.date(2024, 3, 1))
    make_referral(
        members[2], receiving_ward=ward, introduced_on=datetime.date(2024, 3, 1), received_on=datetime.date(2024, 3, 5)
    )
    make_referral(
        members[3],
        receiving_ward=ward,
        introduced_on=datetime.date(2024, 3, 1),
        received_on=datetime.date(2024, 3, 5),
        placed_on=datetime.date(2024, 3, 9),
        residential_cell=tree.ward1_cell1,
    )
    for user in (
        make_officer(tree.root, role=Officer.Role.STAFF, username="city"),
        make_officer(ward, username="ward"),
        make_officer(tree.committee, username="committee"),
    ):
        expected = with_referral_state(visible_members(user), day=DAY, referrals=visible_referrals(user))
        for order in (("full_name", "pk"), ("-referral_state", "pk"), ("referral_state", "-pk")):
            listed = member_list(user, day=DAY).order_by(*order)
            wanted = _rows(expected.order_by(*order))
            assert _rows(listed) == wanted
            assert _rows(member_list(user, day=DAY).order_by(*order)[1:4]) == wanted[1:4]
            assert list(listed.values_list("pk", *REFERRAL_STATE_FIELDS)) == wanted
        assert any(row[1] for row in _rows(member_list(user, day=DAY)[:50]))


def test_a_page_costs_one_query_for_its_states_whatever_its_rows(django_assert_num_queries):
    tree = make_tree()
    for number in range(12):
        member = make_member(tree.cell, full_name=f"Trần Thị {number:02}")
        make_referral(member, receiving_ward=tree.ward1, introduced_on=datetime.date(2024, 6, 1))
    user = make_officer(tree.committee, username="committee")
    for size in (3, 12):
        members = member_list(user, day=DAY).order_by("full_name")[:size]
        with django_assert_num_queries(2):  # the rows, then their states
            assert len(_rows(members)) == size
