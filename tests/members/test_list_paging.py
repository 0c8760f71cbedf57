"""The lists read a page as its keys first (``members.selectors.paging``, issue 15): a small scope as its keys first
and the whole list's keys in order, a large one (beyond ``PINNED_AT_MOST``, the city's) a page of keys at a time.
Either way a page holds the same rows, in the same order, with the same annotations, and the paginator the same
count, as the one annotated query over the scope, for every order the tables offer."""

import datetime

import pytest

from branches.models import Officer
from members.selectors import (
    member_list,
    paging,
    referral_list,
    visible_members,
    visible_referrals,
    with_referral_state,
)
from members.selectors.people import REFERRAL_STATE_FIELDS
from members.selectors.referrals import _referral_rows
from tests.factories import make_member, make_officer, make_referral, make_tree

pytestmark = pytest.mark.django_db

DAY = datetime.date(2024, 6, 30)
MEMBER_ORDERS = [
    ("search_name", "card_number"),
    ("-search_name", "-card_number"),
    ("card_number",),
    ("-date_of_birth", "pk"),
    ("home_organisation__name", "pk"),
    ("-working", "retired_on", "pk"),
    ("referral_state", "pk"),
    ("-referral_state", "-pk"),
]
REFERRAL_ORDERS = [
    ("-introduced_on", "pk"),
    ("member__search_name", "pk"),
    ("-issuing_organisation__name", "pk"),
    ("receiving_ward__name", "-pk"),
    ("letter_number",),
    ("received_on", "pk"),
    ("-residential_cell__name", "pk"),
]


@pytest.fixture
def tree():
    tree = make_tree()
    for number in range(14):
        member = make_member(
            (tree.cell, tree.ward1_cell1, tree.grassroots_cell)[number % 3],
            full_name=f"Nguyễn Văn {'ABCDE'[number % 5]}",
            date_of_birth=datetime.date(1960 + number % 4, 1, 1),
            retired_on=datetime.date(2020, 1, 1) if number % 4 == 0 else None,
        )
        if number % 3 != 1:
            received, placed = number % 2 == 0, number % 4 == 0  # placed: received by ward1, in its cell
            make_referral(
                member,
                receiving_ward=(tree.ward1, tree.ward2)[number % 2],
                introduced_on=datetime.date(2024, 1 + number % 5, 1),
                received_on=datetime.date(2024, 6, 1) if received else None,
                placed_on=datetime.date(2024, 6, 2) if placed else None,
                residential_cell=tree.ward1_cell1 if placed else None,
            )
    return tree


@pytest.fixture
def users(tree):
    return [
        make_officer(tree.root, role=Officer.Role.STAFF, username="city"),
        make_officer(tree.ward1, username="ward"),
        make_officer(tree.committee, username="committee"),
        make_officer(tree.ward1_cell1, username="cell"),
    ]


def _members(rows):
    return [(m.pk, m.home_organisation.name, *(getattr(m, f) for f in REFERRAL_STATE_FIELDS)) for m in rows]


def _referrals(rows):
    return [(r.pk, r.member.full_name, r.can_receive, r.can_end, r.can_report) for r in rows]


@pytest.mark.parametrize("pinned_at_most", [1_000, 3])
def test_member_pages_hold_the_rows_of_the_one_query(users, pinned_at_most, monkeypatch):
    monkeypatch.setattr(paging, "PINNED_AT_MOST", pinned_at_most)  # 3: every scope too large to be pinned
    for user in users:
        whole = with_referral_state(visible_members(user), day=DAY, referrals=visible_referrals(user))
        for order in MEMBER_ORDERS:
            expected = _members(whole.select_related("home_organisation").order_by(*order))
            listed = member_list(user, day=DAY).order_by(*order)
            assert listed.count() == len(expected), (user, order)
            assert _members(member_list(user, day=DAY).order_by(*order)) == expected  # read whole (the export)
            for start, stop in ((0, 4), (4, 8), (8, 50)):
                assert _members(listed[start:stop]) == expected[start:stop], (user, order, start)


@pytest.mark.parametrize("pinned_at_most", [1_000, 3])
def test_referral_pages_hold_the_rows_of_the_one_query(users, pinned_at_most, monkeypatch):
    monkeypatch.setattr(paging, "PINNED_AT_MOST", pinned_at_most)
    for user in users:
        for order in REFERRAL_ORDERS:
            expected = _referrals(_referral_rows(user).order_by(*order))
            listed = referral_list(user).order_by(*order)
            assert listed.count() == len(expected), (user, order)
            assert _referrals(referral_list(user).order_by(*order)) == expected  # read whole, unsliced
            for start, stop in ((0, 3), (3, 7), (7, 50)):
                assert _referrals(listed[start:stop]) == expected[start:stop], (user, order, start)


def test_a_small_lists_keys_are_read_once_for_its_count_and_its_page(users, django_assert_num_queries):
    ward = users[1]
    listed = member_list(ward, day=DAY).order_by("search_name", "card_number")  # the scope read here, once
    with django_assert_num_queries(2):  # the list's keys in order, then the page's rows with their states
        assert listed.count() > 4
        assert len(_members(listed[0:4])) == 4


def test_a_scope_beyond_the_limit_is_not_pinned(tree, users, monkeypatch):
    ward = users[1]
    scope = visible_members(ward)
    keys, small = paging.pinned(scope)
    assert small and set(keys.values_list("pk", flat=True)) == set(scope.values_list("pk", flat=True))
    monkeypatch.setattr(paging, "PINNED_AT_MOST", scope.count() - 1)
    keys, small = paging.pinned(scope)
    assert not small and keys is scope
    _, small = paging.pinned(visible_members(users[0]))  # the city's staff: no condition to pin
    assert not small
