"""The member figures counted by each member's status of the day (not at work, exempt, eligible, introduced), the
committees of the tracking book found by a lookup per committee, the year's endings read first: the same numbers
from every function, in a fixed number of queries."""

import datetime

from django.db import connection
from django.test.utils import CaptureQueriesContext

from branches.models import Organisation
from members.models import Exemption
from reports import figures
from tests.factories import make_member, make_organisation, make_referral, make_tree

Kind = Organisation.Kind
D = datetime.date
DAY = D(2025, 9, 30)


def _exempt(member):
    return Exemption.objects.create(
        member=member, kind=Exemption.Kind.INTRODUCTION, reason="Ốm dài ngày", started_on=D(2024, 1, 1)
    )


def _queries(call) -> tuple[object, int]:
    with CaptureQueriesContext(connection) as captured:
        value = call()
    return value, len(captured.captured_queries)


def test_each_member_counts_once_under_their_status_and_every_function_agrees(db):
    tree = make_tree()
    exempt_and_introduced = make_member(tree.cell)  # exempt wins: not eligible, not introduced
    _exempt(exempt_and_introduced)
    make_referral(exempt_and_introduced, receiving_ward=tree.ward1, introduced_on=D(2025, 2, 1))
    introduced = make_member(tree.cell)
    make_referral(introduced, receiving_ward=tree.ward1, introduced_on=D(2025, 2, 1))
    ended = make_member(tree.cell)  # its referral ended on the day: eligible, no longer introduced
    make_referral(ended, receiving_ward=tree.ward1, introduced_on=D(2025, 2, 1), ended_on=DAY, end_reason="died")
    retired = make_member(tree.cell, retired_on=D(2025, 1, 1))  # not at work, though exempt
    _exempt(retired)
    make_member(tree.ward1_cell1)  # a residential cell: not at work
    make_member(tree.grassroots_cell)  # eligible, another sector

    result, queries = _queries(lambda: figures.headline(tree.root, DAY))

    assert queries == 4  # the organisations, the members, the handovers, the shape of the root's home lookup
    assert (result.members, result.eligible, result.introduced, result.exempt_from_introduction) == (6, 3, 1, 1)
    sectors, queries = _queries(lambda: figures.by_sector(tree.root, DAY))
    assert queries == 1
    assert sum(row.eligible for row in sectors) == result.eligible
    assert sum(row.introduced for row in sectors) == result.introduced
    assert [row.sector for row in sectors] == sorted(row.sector for row in sectors)
    rows = {row.code: row for row in figures.by_grassroots_organisation(tree.root, DAY)}
    committee = rows[tree.committee.code]
    assert (committee.members, committee.eligible, committee.introduced) == (4, 2, 1)
    assert (rows[tree.grassroots_cell.code].eligible, rows[tree.ward1.code].eligible) == (1, 0)


def test_the_tracking_book_asks_each_committee_for_one_eligible_member_in_one_query(db):
    tree = make_tree()
    inner = make_organisation(kind=Kind.COMMITTEE, parent=tree.committee)
    only_exempt = make_organisation(kind=Kind.COMMITTEE, parent=tree.root)
    _exempt(make_member(make_organisation(kind=Kind.CELL, parent=only_exempt)))
    make_member(make_organisation(kind=Kind.CELL, parent=inner))  # eligible, under inner and the committee
    make_member(tree.grassroots_cell)
    introducing = make_member(tree.grassroots_cell)
    make_referral(
        introducing, receiving_ward=tree.ward1, issuing_organisation=tree.grassroots_cell, introduced_on=D(2025, 2, 1)
    )

    result, queries = _queries(lambda: figures.tracking_book_activity(tree.root, DAY.year, DAY))

    assert queries == 1  # the committees and the wards in one statement
    assert [ref.code for ref in result.committees_without_introductions] == [tree.committee.code, inner.code]
    assert [ref.code for ref in result.wards_without_receptions] == [tree.ward1.code]


def test_the_endings_of_the_year_count_on_either_side_in_one_query_after_the_shape(db):
    tree = make_tree()
    north = make_organisation(kind=Kind.UPPER_COMMITTEE, parent=tree.root)
    ward = make_organisation(kind=Kind.WARD, parent=north)
    make_referral(make_member(tree.cell), receiving_ward=ward, ended_on=D(2025, 3, 1), end_reason="died")
    make_referral(make_member(tree.cell), receiving_ward=tree.ward1, ended_on=D(2024, 12, 31), end_reason="died")

    on_day, queries = _queries(lambda: figures.endings_by_reason(north, DAY))

    assert queries == 2  # the shape (figures._shape_of), the endings
    assert on_day == {"died": 1}
    assert figures.endings_by_reason(tree.committee, DAY) == {"died": 1}  # the issuing side
    assert figures.endings_by_reason(tree.root, DAY) == {"died": 1}  # last year's ending not counted
    assert figures.endings_by_reason(north, D(2025, 2, 28)) == {}
