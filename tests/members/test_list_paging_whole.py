"""A list whose per-row annotations are built for a page alone (``paging.listed`` with ``shown``) still gives them
on every other way of reading it: iterated (a page, or the whole list in chunks), or read as values without naming
fields, as the one annotated query (and the class it replaced, which annotated on ``iterator`` and on every
``values``) did. A small list's keys, kept for its clones, are kept by the query and its values."""

import datetime

import pytest

from branches.models import Officer
from members.selectors import member_list, referral_list
from members.selectors.people import REFERRAL_STATE_FIELDS
from tests.factories import make_member, make_officer, make_referral, make_tree

pytestmark = pytest.mark.django_db

DAY = datetime.date(2024, 6, 30)


@pytest.fixture
def ward():
    tree = make_tree()
    for number in range(3):
        member = make_member(tree.cell, full_name=f"Nguyễn Văn {'ABC'[number]}")
        make_referral(member, receiving_ward=tree.ward1, introduced_on=datetime.date(2024, 1, 1))
    return make_officer(tree.ward1, role=Officer.Role.SECRETARY, username="ward")


def test_a_member_list_iterated_has_its_referral_states(ward):
    expected = [(m.pk, *(getattr(m, f) for f in REFERRAL_STATE_FIELDS)) for m in member_list(ward, day=DAY)]
    assert len(expected) == 3
    iterated = [(m.pk, *(getattr(m, f) for f in REFERRAL_STATE_FIELDS)) for m in member_list(ward, day=DAY).iterator()]
    assert iterated == expected


def test_a_member_list_read_as_values_has_its_referral_states(ward):
    rows = list(member_list(ward, day=DAY).values())
    assert len(rows) == 3 and all(set(REFERRAL_STATE_FIELDS) <= set(row) for row in rows)


def test_a_referral_list_iterated_has_the_users_steps(ward):
    expected = [(r.pk, r.can_receive, r.can_end, r.can_report) for r in referral_list(ward)]
    assert len(expected) == 3
    assert [(r.pk, r.can_receive, r.can_end, r.can_report) for r in referral_list(ward).iterator()] == expected
    page = referral_list(ward).order_by("pk")[1:3]
    assert [(r.pk, r.can_receive, r.can_end, r.can_report) for r in page.iterator()] == sorted(expected)[1:3]


def test_two_filters_printed_alike_do_not_share_their_keys(ward):
    """The keys read for a small list are kept for its clones by the query they answer. Printed, a query shows its
    values unquoted: a name holding SQL prints as two conditions would, and must not be answered with their keys."""
    listed = member_list(ward, day=DAY)
    name = listed.order_by("pk").first().full_name
    both = listed.filter(full_name=name, phone="")
    assert both.count() == 1
    alike = listed.filter(full_name=f'{name} AND "members_member"."phone" = ')
    assert str(alike.query) == str(both.query)
    assert alike.count() == 0


def test_a_sort_by_a_column_that_ties_ends_on_the_key(ward):
    """Rows that tie on the sorted column come back in any order on PostgreSQL, and a list's pages then repeat some
    and skip others (seen on the demo, sorted by workplace): a sort not ending on a unique column ends on the key."""
    assert member_list(ward, day=DAY).order_by("-home_organisation__name").query.order_by[-1] == "pk"
    assert referral_list(ward).order_by("letter_number").query.order_by[-1] == "pk"
    assert member_list(ward, day=DAY).order_by("search_name", "card_number").query.order_by == (
        "search_name",
        "card_number",
    )
