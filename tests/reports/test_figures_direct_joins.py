"""Issue 15, fifth round: the attendance of ``figures.meetings`` and the two sides of ``figures.comment_sides`` read
no table they do not need.

- The members expected at a meeting are the placements in its cell: the meetings are joined to the placements on the
  cell's column (``Meeting.cell_placements``), not through the cell's row.
- ``comment_sides`` of the root: each side's due referrals are found from the subtree's rows (semi-joins), joined to
  their member's comment, their members counted once each, without grouping by organisation through the ancestor
  relation (below the root, the grouped shape of the summary rows: the same numbers).

The numbers themselves are checked in test_figures.py, test_figures_shapes.py and test_workbook_sums.py.
"""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from members.models import Meeting, Placement
from reports import figures
from tests.factories import make_member
from tests.reports.test_figures import DAY, attendance, comment, meeting, place, tree  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db

D = datetime.date


def test_a_meetings_cell_placements_are_the_placements_in_its_cell_on_any_day(tree):  # noqa: F811
    stayed, moved, elsewhere = make_member(tree.cell), make_member(tree.cell), make_member(tree.cell)
    place(stayed, tree.ward1_cell1, placed_on=D(2018, 3, 1))
    place(moved, tree.ward1_cell1, placed_on=D(2017, 3, 1), ended_on=D(2017, 12, 1))
    place(elsewhere, tree.ward1_cell2, placed_on=D(2018, 3, 1))
    held = meeting(tree.ward1_cell1, D(2018, 5, 10))
    meeting(tree.ward1_cell2, D(2018, 5, 10))
    placements = Meeting.objects.filter(pk=held.pk).values_list("cell_placements__referral__member", flat=True)
    assert sorted(placements) == sorted([stayed.pk, moved.pk])
    assert set(Placement.objects.filter(residential_cell=tree.ward1_cell1).values_list("pk", flat=True)) == set(
        Meeting.objects.filter(pk=held.pk).values_list("cell_placements", flat=True)
    )


def test_the_relation_has_no_column_and_is_no_field_of_the_history_or_of_instances():
    field = Meeting._meta.get_field("cell_placements")
    assert field in Meeting._meta.private_fields and field.column is None
    assert "cell_placements" not in {f.name for f in Meeting._meta.concrete_fields}
    assert "cell_placements" not in {f.name for f in Meeting.history.model._meta.get_fields()}
    assert not hasattr(Meeting(), "cell_placements")


def _attendance_query(organisation, day) -> str:
    with CaptureQueriesContext(connection) as captured:
        figures.meetings(organisation, day)
    (query,) = [query["sql"] for query in captured.captured_queries if 'AS "expected"' in query["sql"]]
    return query


def test_the_attendance_joins_the_meetings_to_the_placements_of_their_cell_directly(tree, attendance):  # noqa: F811
    for organisation in (tree.root, tree.ward1, tree.ward1_cell1):
        sql = _attendance_query(organisation, DAY)
        assert "branches_organisation" not in sql.replace("branches_organisationancestor", ""), sql
    # and the figures as test_figures counts them
    assert (
        figures.meetings(tree.ward1, DAY).attendance_expected,
        figures.meetings(tree.root, DAY).attendance_present,
    ) == (
        10,
        6,
    )


def test_the_roots_comment_sides_count_each_member_once_without_grouping_by_organisation(tree):  # noqa: F811
    twice, once = make_member(tree.cell), make_member(tree.cell)
    place(twice, tree.ward1_cell1, ended_on=D(2018, 12, 31))
    place(twice, tree.ward1_cell2)
    place(once, tree.ward1_cell2)
    comment(twice, tree.ward1_cell2, D(2018, 11, 1), sent_on=D(2018, 11, 2))
    day = D(2018, 12, 20)
    with CaptureQueriesContext(connection) as captured:
        sides = figures.comment_sides(tree.root, 2018, day)
    assert len(captured) == 3  # the deadline, each side
    for query in captured.captured_queries[1:]:
        assert "GROUP BY" not in query["sql"] and '"ancestor_id" AS "side"' not in query["sql"], query["sql"]
    for side in (sides.workplace, sides.residence):
        assert (side.due, side.written, side.sent, side.missing) == (2, 1, 1, 1)  # past the deadline: one missing
    ward = figures.comment_sides(tree.ward1, 2018, day)
    assert (ward.residence.due, ward.workplace.due) == (2, 0)  # placed in its cells; their homes are elsewhere
