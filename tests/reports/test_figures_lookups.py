"""The indexes the figures' per-row lookups are answered from (issue 15): the attendance marked present, looked up
for each member expected at a meeting (``figures.with_expected_attendees``), and a committee's first introduction of
the year (``figures.tracking_book_activity``). On PostgreSQL the plans are read with sequential scans off, since
the test database's few rows would otherwise be read whole: what is checked is that the index answers the lookup
alone (an index-only scan), not which plan the planner picks on so few rows."""

import pytest
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext

from members.models import Attendance, Meeting
from reports import figures
from tests.reports.test_figures import DAY, attendance, tree  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db

postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL plans")


def test_the_attendance_marked_present_has_its_own_index():
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Attendance._meta.db_table)
    index = constraints["attendance_present"]
    assert (index["columns"], index["index"], index["unique"]) == (["meeting_id", "member_id"], True, False)


@postgresql_only
def test_the_index_holds_only_the_attendance_marked_present():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'attendance_present'")
        (definition,) = cursor.fetchone()
    assert definition.endswith("(meeting_id, member_id) WHERE ((status)::text = 'present'::text)")


def _plan(sql: str, params) -> str:
    """The plan of ``sql`` read through indexes, as at the province's size: with a test's few rows a sequential scan
    would do, and with the statistics earlier tests left a bitmap scan may (CI once planned the present attendance as
    one hashed bitmap scan of the index): neither says whether the lookup needs the table."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("RESET enable_seqscan")
        cursor.execute("RESET enable_bitmapscan")
    return plan


@postgresql_only
def test_whether_an_expected_member_was_present_is_read_from_the_index_alone(tree, attendance):  # noqa: F811
    meetings = Meeting.objects.filter(kind=Meeting.Kind.PERIODIC)
    rows, one_expected, is_present = figures.with_expected_attendees(meetings)
    counts = rows.values("pk").annotate(present=Count(one_expected, filter=is_present)).order_by()
    assert dict(counts.values_list("pk", "present"))[attendance["first"].pk] == 2  # as test_figures counts it
    plan = _plan(*counts.query.sql_with_params())
    assert "Index Only Scan using attendance_present" in plan, plan


@postgresql_only
def test_a_committees_first_introduction_is_read_from_the_index_alone(tree):  # noqa: F811
    with CaptureQueriesContext(connection) as captured:
        figures.tracking_book_activity(tree.root, DAY.year, DAY)
    (query,) = captured.captured_queries
    plan = _plan(query["sql"], None)
    assert "Index Only Scan using referral_issuer_introduced" in plan, plan
