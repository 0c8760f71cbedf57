"""The breakdown by grassroots organisation carried from a stored day (``reports.snapshots.by_grassroots_on``,
``ReportSnapshot`` part "by_grassroots_organisation"): the counts that add up member by member
(``figures.grassroots_counts``) are the stored day's carried by the members whose rows changed in between; the rows
themselves, their names and their meetings and comments are read as of the day. Every stored day still stored after a
write that changes it equals the whole counts, and the report reads the carried rows.
"""

import datetime

import pytest

from branches import services as branch_services
from branches.models import Organisation
from members import places, services
from members.models import Meeting, Referral, ResidenceComment
from reports import figures, report, snapshots, steps
from reports.models import ReportSnapshot
from tests.factories import make_member, make_organisation, make_referral
from tests.reports.test_snapshots import tree  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db

D = datetime.date
DAYS = [D(2017, 12, 31), D(2018, 3, 31), D(2018, 9, 30)]
PART = ReportSnapshot.Part.BY_GRASSROOTS_ORGANISATION


@pytest.fixture(autouse=True)
def large(monkeypatch):
    """Every subtree counts as large: every one stores its days."""
    monkeypatch.setattr(steps, "STEPPED_FROM", 0)


def organisations() -> list[Organisation]:
    return list(Organisation.objects.order_by("path"))


def store_all() -> dict:
    stored = {(o.pk, day): snapshots.by_grassroots_on(o, day) for o in organisations() for day in DAYS}
    assert ReportSnapshot.objects.filter(part=PART).count() == len(stored)
    return stored


def assert_exact(before: dict, *, changed: bool = True) -> None:
    fresh = {(o.pk, day): figures.by_grassroots_organisation(o, day) for o in organisations() for day in DAYS}
    for row in ReportSnapshot.objects.filter(part=PART):
        counts = snapshots._decoded_grassroots(row.figures)
        assert counts == figures.grassroots_counts(row.organisation, row.day), row
    for organisation in organisations():
        for day in DAYS:
            assert snapshots.by_grassroots_on(organisation, day) == fresh[organisation.pk, day]
    differing = {key for key, rows in fresh.items() if before.get(key) != rows}
    assert bool(differing) == changed, differing


@pytest.fixture
def counted(monkeypatch) -> list:
    """The calls of ``figures.grassroots_counts``: (as_of, whether only some members)."""
    calls = []
    function = figures.grassroots_counts

    def recorded(organisation, as_of, members=None):
        calls.append((as_of, members is not None))
        return function(organisation, as_of, members)

    monkeypatch.setattr(figures, "grassroots_counts", recorded)
    return calls


def rows_of(rows) -> dict:
    return {row.code: row for row in rows}


def test_a_later_day_is_carried_and_its_rows_read_that_day(tree, counted):  # noqa: F811
    first = snapshots.by_grassroots_on(tree.root, D(2018, 4, 25))
    assert counted == [(D(2018, 4, 25), False)]  # nothing stored: whole
    assert first == figures.by_grassroots_organisation(tree.root, D(2018, 4, 25))
    counted.clear()
    # In between: the teacher's referral stalls (introduced 02/05), a member joins the committee's cell, the
    # grassroots cell is renamed, a periodic meeting is missed... and a comment is sent late.
    make_member(tree.cell, admitted_on=D(2018, 5, 3))
    branch_services.organisation_rename(
        organisation=tree.grassroots_cell, name="Chi bộ Trường THPT Lê Lợi", effective_on=D(2018, 5, 10), by=None
    )
    snapshots.by_grassroots_on(tree.root, D(2018, 4, 25))
    counted.clear()
    carried = snapshots.by_grassroots_on(tree.root, D(2018, 5, 20))
    assert counted == [(D(2018, 5, 20), True), (D(2018, 4, 25), True)]  # the members who changed, on both days
    assert carried == figures.by_grassroots_organisation(tree.root, D(2018, 5, 20))
    rows = rows_of(carried)
    assert rows[tree.grassroots_cell.code].name == "Chi bộ Trường THPT Lê Lợi"
    assert rows[tree.committee.code].members == rows_of(first)[tree.committee.code].members + 1
    counted.clear()
    assert snapshots.by_grassroots_on(tree.root, D(2018, 5, 20)) == carried
    assert counted == []  # stored


def test_the_meetings_and_comments_are_counted_on_the_day(tree):  # noqa: F811
    snapshots.by_grassroots_on(tree.root, D(2018, 12, 1))
    services.meeting_create(
        residential_cell=tree.ward1_cell1, held_on=D(2018, 3, 1), kind=Meeting.Kind.PERIODIC, by=None
    )
    written = services.residence_comment_write(
        member=tree.placed,
        year=2018,
        residential_cell=tree.ward1_cell1,
        verdict=ResidenceComment.Verdict.GOOD,
        written_on=D(2018, 12, 2),
        by=None,
    )
    services.residence_comment_send(comment=written, sent_on=D(2018, 12, 5), by=None)
    snapshots.by_grassroots_on(tree.root, D(2018, 12, 1))
    carried = snapshots.by_grassroots_on(tree.root, D(2018, 12, 10))
    assert carried == figures.by_grassroots_organisation(tree.root, D(2018, 12, 10))
    ward = rows_of(carried)[tree.ward1.code]
    assert (ward.late_comments, ward.missed_half_years) == (1, 1)  # one cell of two met in the first half


def test_no_step_over_a_restructure(tree, counted):  # noqa: F811
    snapshots.by_grassroots_on(tree.root, D(2018, 7, 1))
    make_organisation(kind=Organisation.Kind.GRASSROOTS_CELL, parent=tree.root, valid_from=D(2018, 7, 20))
    snapshots.by_grassroots_on(tree.root, D(2018, 7, 1))
    counted.clear()
    carried = snapshots.by_grassroots_on(tree.root, D(2018, 7, 31))
    assert counted == [(D(2018, 7, 31), False)]
    assert carried == figures.by_grassroots_organisation(tree.root, D(2018, 7, 31))


def test_a_small_subtree_is_counted_whole_and_stored(tree, counted, monkeypatch):  # noqa: F811
    monkeypatch.setattr(steps, "STEPPED_FROM", 1000)
    day = D(2018, 9, 30)
    assert snapshots.by_grassroots_on(tree.root, day) == figures.by_grassroots_organisation(tree.root, day)
    assert set(ReportSnapshot.objects.values_list("day", flat=True)) == {day}  # no day before it
    counted.clear()
    again = snapshots.by_grassroots_on(tree.root, day)
    assert not counted  # read back
    assert again == figures.by_grassroots_organisation(tree.root, day)


def test_the_report_reads_the_carried_rows(tree, counted):  # noqa: F811
    whole = figures.by_grassroots_organisation(tree.root, D(2018, 9, 30))
    snapshots.by_grassroots_on(tree.root, D(2018, 9, 29))
    counted.clear()
    built = report.build_report(tree.root, D(2018, 9, 30))
    assert built.by_grassroots_organisation == whole
    assert counted == [(D(2018, 9, 30), True), (D(2018, 9, 29), True)]
    assert built.headline == figures.headline(tree.root, D(2018, 9, 30))


# -- every write that changes a stored day's counts deletes it ---------------------------------------------------------


def test_people_and_referral_writes_back_dated(tree):  # noqa: F811
    before = store_all()
    make_referral(tree.waiting, receiving_ward=tree.ward2, introduced_on=D(2018, 2, 10))
    assert_exact(before)
    before = store_all()
    services.referral_receive(
        referral=Referral.objects.get(pk=tree.stalled_referral.pk), received_on=D(2018, 6, 1), by=None
    )
    assert_exact(before)
    before = store_all()
    places.move_home(member_id=tree.teacher.pk, organisation=tree.cell, on=D(2018, 2, 1), by=None)
    assert_exact(before)
    before = store_all()
    services.member_retire(member=tree.placed, retired_on=D(2018, 3, 1), by=None)
    assert_exact(before)


# -- the breakdown by ward and cell, carried the same way ------------------------------------------------------------

WARD_AND_CELL = ReportSnapshot.Part.BY_WARD_AND_CELL


def test_the_breakdown_by_ward_and_cell_is_carried_from_the_nearest_stored_day(tree, monkeypatch):  # noqa: F811
    calls = []
    function = figures.residence_counts

    def recorded(organisation, as_of, members=None):
        calls.append((as_of, members is not None))
        return function(organisation, as_of, members)

    monkeypatch.setattr(figures, "residence_counts", recorded)
    first = snapshots.by_ward_and_cell_on(tree.root, D(2018, 5, 25))
    assert calls == [(D(2018, 5, 25), False)]
    assert first == figures.by_ward_and_cell(tree.root, D(2018, 5, 25))
    calls.clear()
    # In between: the teacher's referral received by the second ward and placed in its first cell.
    received = services.referral_receive(
        referral=Referral.objects.get(pk=tree.stalled_referral.pk), received_on=D(2018, 6, 1), by=None
    )
    services.referral_place(referral=received, residential_cell=tree.ward2_cell1, placed_on=D(2018, 6, 5), by=None)
    snapshots.by_ward_and_cell_on(tree.root, D(2018, 5, 25))
    calls.clear()
    carried = snapshots.by_ward_and_cell_on(tree.root, D(2018, 6, 20))
    assert calls == [(D(2018, 6, 20), True), (D(2018, 5, 25), True)]
    assert carried == figures.by_ward_and_cell(tree.root, D(2018, 6, 20))
    rows = rows_of(carried)
    assert (rows[tree.ward2.code].received, rows[tree.ward2_cell1.code].placed) == (1, 1)
    assert set(ReportSnapshot.objects.filter(part=WARD_AND_CELL).values_list("day", flat=True)) == {
        D(2018, 5, 25),
        D(2018, 6, 20),
    }


def test_the_stored_breakdown_by_ward_and_cell_stays_exact(tree):  # noqa: F811
    def stored() -> dict:
        return {(o.pk, day): snapshots.by_ward_and_cell_on(o, day) for o in organisations() for day in DAYS}

    def exact(before: dict) -> None:
        fresh = {(o.pk, day): figures.by_ward_and_cell(o, day) for o in organisations() for day in DAYS}
        for row in ReportSnapshot.objects.filter(part=WARD_AND_CELL):
            counts = snapshots._decoded_residence(row.figures)
            assert counts == figures.residence_counts(row.organisation, row.day), row
        assert stored() == fresh
        assert {key for key, rows in fresh.items() if before[key] != rows}

    before = stored()
    places.move_placement(referral=tree.placed_referral, residential_cell=tree.ward1_cell2, on=D(2018, 3, 1), by=None)
    exact(before)
    before = stored()
    make_referral(
        make_member(tree.cell, admitted_on=D(2010, 1, 1)),
        receiving_ward=tree.ward2,
        introduced_on=D(2017, 11, 1),
        received_on=D(2017, 11, 20),
    )
    exact(before)
