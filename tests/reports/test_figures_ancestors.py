"""The figures read through the ancestor relation: nested grassroots rows, referrals of a merged ward, and a fixed
number of queries whatever the number of organisations (the yearly summary included)."""

import datetime

from django.db import connection
from django.test.utils import CaptureQueriesContext

from branches.models import Organisation
from reports import figures
from tests.factories import make_member, make_organisation, make_referral, make_tree

Kind = Organisation.Kind
D = datetime.date
DAY = D(2025, 9, 30)


def test_a_member_counts_in_each_grassroots_row_above_their_home(db):
    tree = make_tree()
    inner = make_organisation(kind=Kind.COMMITTEE, parent=tree.committee)
    cell = make_organisation(kind=Kind.CELL, parent=inner)
    make_member(cell)
    make_member(tree.cell)

    rows = {row.code: row for row in figures.by_grassroots_organisation(tree.root, DAY)}

    assert (rows[tree.committee.code].members, rows[inner.code].members) == (2, 1)
    assert rows[tree.ward1.code].members == 0
    assert figures.headline(tree.root, DAY).members == 2


def test_a_referral_to_a_merged_ward_counts_under_its_successor_only(db):
    tree = make_tree()
    north = make_organisation(kind=Kind.UPPER_COMMITTEE, parent=tree.root)
    south = make_organisation(kind=Kind.UPPER_COMMITTEE, parent=tree.root)
    successor = make_organisation(kind=Kind.WARD, parent=south)
    merged = make_organisation(kind=Kind.WARD, parent=north, valid_to=D(2025, 1, 1), successor=successor)
    member = make_member(tree.cell)
    make_referral(member, receiving_ward=merged, introduced_on=D(2024, 11, 1))

    on_day = {org.code: figures.headline(org, DAY) for org in (north, south, tree.root)}
    assert [on_day[org.code].stalled_addressed for org in (north, south, tree.root)] == [0, 1, 1]
    before = figures.headline(north, D(2024, 12, 31))
    assert before.stalled_addressed == 1  # the merged ward itself, while it existed
    wards = {row.code: row for row in figures.by_ward_and_cell(south, DAY)}
    assert wards[successor.code].awaiting_reception == 1
    assert figures.by_grassroots_organisation(south, DAY)[0].stalled_addressed == 1


def _queries(call) -> int:
    with CaptureQueriesContext(connection) as captured:
        call()
    return len(captured.captured_queries)


def _grow(tree, committees: int) -> None:
    for _ in range(committees):
        committee = make_organisation(kind=Kind.COMMITTEE, parent=tree.root)
        cell = make_organisation(kind=Kind.CELL, parent=committee)
        make_referral(make_member(cell), receiving_ward=tree.ward1, introduced_on=D(2025, 3, 1))
    for _ in range(committees):
        make_organisation(kind=Kind.RESIDENTIAL_CELL, parent=tree.ward2)


def test_the_number_of_queries_does_not_grow_with_the_organisations(db):
    tree = make_tree()
    calls = {
        "summary_rows": lambda: figures.summary_rows(tree.root, DAY.year, DAY),
        "by_grassroots_organisation": lambda: figures.by_grassroots_organisation(tree.root, DAY),
        "tracking_book_activity": lambda: figures.tracking_book_activity(tree.root, DAY.year, DAY),
        "comments": lambda: figures.comments(tree.root, DAY.year, DAY),
        "comment_sides": lambda: figures.comment_sides(tree.root, DAY.year, DAY),
        "meetings": lambda: figures.meetings(tree.root, DAY),
        "headline": lambda: figures.headline(tree.root, DAY),
        "by_ward_and_cell": lambda: figures.by_ward_and_cell(tree.root, DAY),
        "by_sector": lambda: figures.by_sector(tree.root, DAY),
        "endings_by_reason": lambda: figures.endings_by_reason(tree.root, DAY),
    }
    _grow(tree, 2)
    small = {name: _queries(call) for name, call in calls.items()}
    _grow(tree, 12)
    large = {name: _queries(call) for name, call in calls.items()}

    assert large == small
    # The summary: the rows, the grouped counts, the ancestor relation, the deadline, two for the comment sides.
    assert small["summary_rows"] <= 12
    assert small["headline"] == 4  # with the shape of the root's lookup of members' homes (figures._from_outside)
