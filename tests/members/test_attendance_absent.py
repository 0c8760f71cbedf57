"""The misses of the irregular attendees' definition (``missed_periodic_meetings``) are read from their own index,
``attendance_absent`` (issue 15: city staff's home read all 337,914 attendances of the province, in parallel, for its
21,925 misses). On PostgreSQL the plan is read with sequential and bitmap scans off, as in
tests/reports/test_figures_lookups.py: a test's few rows would be read whole; what is checked is that the misses are
answered from the index alone (the tree's misses; a test's irregular attendees may be planned member by member)."""

import pytest
from django.db import connection

from members.models import Attendance, Member
from members.selectors.meetings import missed_periodic_meetings
from members.selectors.people import irregular_attendees_under
from tests.reports.test_figures import DAY, attendance, tree  # noqa: F401 (fixtures)
from tests.reports.test_figures_lookups import _plan, postgresql_only

pytestmark = pytest.mark.django_db


def test_the_attendance_marked_absent_has_its_own_index():
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Attendance._meta.db_table)
    index = constraints["attendance_absent"]
    assert (index["columns"], index["index"], index["unique"]) == (["meeting_id", "member_id"], True, False)


@postgresql_only
def test_the_misses_are_read_from_the_index_alone(tree, attendance):  # noqa: F811
    # The misses of the whole tree, as the city's counts read them (the irregular attendees' query of a test's few
    # rows may as well be planned from each member's own attendance, with the statistics earlier tests left).
    misses = missed_periodic_meetings(DAY.year, DAY).values("meeting", "member")
    assert misses.count() > 0
    assert irregular_attendees_under(Member.objects.all(), tree.root, day=DAY).count() > 0
    plan = _plan(*misses.query.sql_with_params())
    assert "Index Only Scan using attendance_absent" in plan, plan
