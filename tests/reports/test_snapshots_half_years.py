"""Stored half-years of the periodic meetings (``ReportSnapshot`` part "meeting_half_years",
``figures.half_year_meetings``): the residential cells due to meet and those that met, by half-year. Never stepped:
counted whole when not stored, read back when stored, a past day's and a large subtree's today's; every stored day
equals a fresh count after each write that changes it (the triggers of the meetings and the organisations)."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from branches.models import Organisation
from members import services
from members.models import Meeting
from reports import figures, snapshots, steps
from reports.models import ReportSnapshot
from reports.report import build_report
from tests.factories import make_organisation
from tests.reports.test_snapshots import tree as headline_tree  # noqa: F401 - the fixtures
from tests.reports.test_snapshots_meetings import meeting
from tests.reports.test_snapshots_meetings import tree as meetings_tree  # noqa: F401

pytestmark = pytest.mark.django_db

D = datetime.date
ONE_DAY = datetime.timedelta(days=1)
DAYS = [D(2018, 3, 31), D(2018, 6, 30), D(2018, 9, 30)]


@pytest.fixture
def large(monkeypatch):
    """Every subtree counts as large (the factories' tree has a dozen organisations): every one stores its days."""
    monkeypatch.setattr(steps, "STEPPED_FROM", 0)


@pytest.fixture
def tree(meetings_tree, large):  # noqa: F811
    return meetings_tree


def stored_half_years():
    return ReportSnapshot.objects.filter(part=ReportSnapshot.Part.MEETING_HALF_YEARS)


def half_years_on(organisation, day):
    return snapshots.meetings_on(organisation, day).half_years


def store_all() -> dict:
    stored = {}
    for organisation in Organisation.objects.order_by("path"):
        for day in DAYS:
            stored[organisation.pk, day] = half_years_on(organisation, day)
    assert stored_half_years().count() == len(stored)
    return stored


def assert_exact(before: dict) -> None:
    """Every stored and read day equals a fresh count, and the write changed some stored day's (so a snapshot kept
    stale would fail)."""
    fresh = {
        (o.pk, day): figures.half_year_meetings(o, day) for o in Organisation.objects.order_by("path") for day in DAYS
    }
    for row in stored_half_years():
        assert snapshots._HALF_YEARS.decoded(row.figures) == fresh[row.organisation_id, row.day], row
    for (pk, day), half_years in fresh.items():
        assert half_years_on(Organisation.objects.get(pk=pk), day) == half_years
    assert any(before.get(key) != half_years for key, half_years in fresh.items())


def test_a_past_day_is_counted_once_then_read_back(tree, monkeypatch):
    first = half_years_on(tree.root, D(2018, 9, 30))
    assert first == figures.half_year_meetings(tree.root, D(2018, 9, 30))
    assert [(h.half_year, h.cells_held) for h in first] == [("2018-H1", 1), ("2018-H2", 1)]
    monkeypatch.setattr(figures, "half_year_meetings", lambda *args: pytest.fail("counted"))
    assert half_years_on(tree.root, D(2018, 9, 30)) == first
    assert build_report(tree.root, D(2018, 9, 30), breakdowns=False).meetings.half_years == first


def test_never_stepped_from_an_earlier_day(tree):
    half_years_on(tree.root, D(2018, 9, 1))
    with CaptureQueriesContext(connection) as queries:
        half_years_on(tree.root, D(2018, 9, 30))
    assert not any("meeting_half_years" in q["sql"] and '"day" <' in q["sql"] for q in queries)


def test_a_meeting_held_back_dated(tree):
    before = store_all()
    meeting(tree.ward1_cell2, D(2018, 5, 2), {})
    assert_exact(before)


def test_a_meeting_moved_later_and_turned_ad_hoc(tree):
    before = store_all()
    services.meeting_update(meeting=tree.july, by=None, held_on=D(2018, 10, 5))  # after the last day: not yet held
    assert_exact(before)
    before = store_all()
    Meeting.objects.filter(pk=tree.march.pk).update(kind=Meeting.Kind.AD_HOC)
    assert_exact(before)


def test_a_meeting_deleted(tree):
    before = store_all()
    Meeting.objects.filter(pk=tree.march.pk).delete()
    assert_exact(before)


def test_a_cell_opened_and_a_cell_closed_back_dated(tree):
    before = store_all()
    make_organisation(kind=Organisation.Kind.RESIDENTIAL_CELL, parent=tree.ward2, valid_from=D(2018, 2, 1))
    assert_exact(before)
    before = store_all()
    tree.ward2_cell2.valid_to = D(2018, 4, 1)
    tree.ward2_cell2.save()
    assert_exact(before)


def test_todays_are_stored_and_a_meeting_of_today_deletes_them(tree, monkeypatch):
    today = timezone.localdate()
    if today.month == 1 and today.day == 1:
        pytest.skip("nothing before today in its year")
    stored = half_years_on(tree.root, today)
    assert set(stored_half_years().values_list("day", flat=True)) == {today}  # never stepped: yesterday's not needed
    counted = figures.half_year_meetings
    monkeypatch.setattr(figures, "half_year_meetings", lambda *args: pytest.fail("counted"))
    assert half_years_on(tree.root, today) == stored
    monkeypatch.setattr(figures, "half_year_meetings", counted)
    meeting(tree.ward2_cell1, today, {})
    assert not stored_half_years().exists()
    again = half_years_on(tree.root, today)
    assert again == figures.half_year_meetings(tree.root, today) != stored


def test_a_small_subtree_is_counted_whole_and_stored(tree, monkeypatch):
    monkeypatch.setattr(steps, "STEPPED_FROM", 1000)
    assert half_years_on(tree.root, D(2018, 9, 30)) == figures.half_year_meetings(tree.root, D(2018, 9, 30))
    assert set(stored_half_years().values_list("day", flat=True)) == {D(2018, 9, 30)}
