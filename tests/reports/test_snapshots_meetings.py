"""Stored meeting counts (``reports.snapshots.meeting_counts_on``, ``ReportSnapshot`` part "meetings"): a later day's
attendance is the stored day's plus the meetings held in between, within a year, and its irregular attendees are
stepped by the members who changed; every snapshot still stored after any write that changes it equals
``figures.meeting_counts`` computed fresh, and the meetings' figures read it.

As in ``test_snapshots``, each write test stores the counts of every organisation for ``DAYS``, makes one write,
checks that the write changed the figures of some stored day (so a kept stale snapshot would fail the test), then
compares every stored and read figure with a fresh computation. ``test_without_the_triggers_a_snapshot_goes_stale``
shows that comparison failing with the meetings' and attendance's triggers dropped.
"""

import datetime

import pytest
from django.db import connection
from django.utils import timezone

from branches.models import Organisation
from members import places, services
from members.models import Attendance, Exemption, Meeting, Referral
from reports import figures, report, snapshots, stale, steps
from reports.models import ReportSnapshot
from tests.factories import make_member, make_organisation, make_referral
from tests.reports.test_snapshots import tree as headline_tree  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db

D = datetime.date
ONE_DAY = datetime.timedelta(days=1)
DAYS = [D(2018, 3, 31), D(2018, 6, 30), D(2018, 9, 30)]
PRESENT, ABSENT = Attendance.Status.PRESENT, Attendance.Status.ABSENT


def stored_counts():
    """The stored meeting counts (the report's part "meetings")."""
    return ReportSnapshot.objects.filter(part=ReportSnapshot.Part.MEETINGS)


@pytest.fixture(autouse=True)
def large(monkeypatch):
    """Every subtree counts as large (the factories' tree has a dozen organisations): every one stores its days."""
    monkeypatch.setattr(steps, "STEPPED_FROM", 0)


@pytest.fixture
def tree(headline_tree):  # noqa: F811
    """``test_snapshots``'s tree with a second member placed in the first ward's first cell, and that cell's periodic
    meetings of 10/03/2018 (both present) and 15/07/2018 (one present, one absent)."""
    tree = headline_tree
    tree.neighbour = make_member(tree.cell, admitted_on=D(2011, 1, 1))
    tree.neighbour_referral = make_referral(
        tree.neighbour,
        receiving_ward=tree.ward1,
        introduced_on=D(2017, 9, 1),
        received_on=D(2017, 9, 5),
        residential_cell=tree.ward1_cell1,
        placed_on=D(2017, 9, 10),
    )
    tree.march = meeting(tree.ward1_cell1, D(2018, 3, 10), {tree.placed: PRESENT, tree.neighbour: PRESENT})
    tree.july = meeting(tree.ward1_cell1, D(2018, 7, 15), {tree.placed: PRESENT, tree.neighbour: ABSENT})
    return tree


def meeting(cell, held_on, marks, kind=Meeting.Kind.PERIODIC) -> Meeting:
    recorded = services.meeting_create(residential_cell=cell, held_on=held_on, kind=kind, by=None)
    for member, status in marks.items():
        services.attendance_record(meeting=recorded, member=member, status=status, by=None)
    return recorded


def organisations() -> list[Organisation]:
    return list(Organisation.objects.order_by("path"))


def store_all() -> dict:
    stored = {}
    for organisation in organisations():
        for day in DAYS:
            stored[organisation.pk, day] = snapshots.meeting_counts_on(organisation, day)
    assert stored_counts().count() == len(stored)
    return stored


def counts(expected: int, present: int, irregular: int) -> figures.MeetingCounts:
    return figures.MeetingCounts(figures.AttendanceCounts(expected, present), irregular)


def assert_exact(before: dict, *, changed: bool = True) -> None:
    fresh = {(o.pk, day): figures.meeting_counts(o, day) for o in organisations() for day in DAYS}
    for row in stored_counts():
        assert snapshots._decoded_meetings(row.figures) == fresh[row.organisation_id, row.day], row
    for organisation in organisations():
        for day in DAYS:
            assert snapshots.meeting_counts_on(organisation, day) == fresh[organisation.pk, day]
    differing = {key for key, counts in fresh.items() if before.get(key) != counts}
    assert bool(differing) == changed, differing


def calls_of(monkeypatch, name: str, described) -> list:
    """The calls of ``figures.<name>`` from now on, each as ``described(as_of, its third argument or None)``, still
    made."""
    calls = []
    function = getattr(figures, name)

    def recorded(organisation, as_of, *args, **kwargs):
        calls.append(described(as_of, args[0] if args else next(iter(kwargs.values()), None)))
        return function(organisation, as_of, *args, **kwargs)

    monkeypatch.setattr(figures, name, recorded)
    return calls


@pytest.fixture
def counted(monkeypatch) -> list:
    """The calls of ``figures.attendance``: (as_of, held_after)."""
    return calls_of(monkeypatch, "attendance", lambda as_of, held_after: (as_of, held_after))


@pytest.fixture
def irregular_counted(monkeypatch) -> list:
    """The calls of ``figures.irregular_attendees``: (as_of, whether only some members)."""
    return calls_of(monkeypatch, "irregular_attendees", lambda as_of, members: (as_of, members is not None))


# -- carried within a year ---------------------------------------------------------------------------------------------


def test_the_figures_count_each_meeting_as_of_its_own_day(tree):
    assert figures.attendance(tree.root, D(2018, 3, 9)) == figures.AttendanceCounts(0, 0)
    assert figures.attendance(tree.root, D(2018, 3, 31)) == figures.AttendanceCounts(2, 2)
    assert figures.attendance(tree.root, D(2018, 9, 30)) == figures.AttendanceCounts(4, 3)
    assert figures.attendance(tree.root, D(2018, 9, 30), held_after=D(2018, 3, 31)) == figures.AttendanceCounts(2, 1)
    assert figures.attendance(tree.ward2, D(2018, 9, 30)) == figures.AttendanceCounts(0, 0)
    assert figures.attendance(tree.root, D(2019, 1, 31)) == figures.AttendanceCounts(0, 0)  # the year of the day
    assert figures.meeting_counts(tree.root, D(2018, 7, 14)) == counts(2, 2, 0)
    assert figures.meeting_counts(tree.root, D(2018, 7, 15)) == counts(4, 3, 1)  # the neighbour missed July's
    assert figures.meeting_counts(tree.ward2, D(2018, 7, 15)).irregular == 0


def test_a_later_day_is_carried_from_the_nearest_stored_day(tree, counted, irregular_counted):
    assert snapshots.meeting_counts_on(tree.root, D(2018, 7, 1)) == counts(2, 2, 0)
    assert counted == [(D(2018, 7, 1), None)]  # nothing stored: whole
    assert irregular_counted == [(D(2018, 7, 1), False)]
    counted.clear(), irregular_counted.clear()
    assert snapshots.meeting_counts_on(tree.root, D(2018, 7, 31)) == counts(4, 3, 1)
    assert counted == [(D(2018, 7, 31), D(2018, 7, 1))]  # the meetings held since
    assert irregular_counted == [(D(2018, 7, 31), True), (D(2018, 7, 1), True)]  # the members who changed
    counted.clear(), irregular_counted.clear()
    assert snapshots.meeting_counts_on(tree.root, D(2018, 7, 31)) == counts(4, 3, 1)
    assert counted == irregular_counted == []  # stored
    assert set(stored_counts().filter(organisation=tree.root).values_list("day", flat=True)) == {
        D(2018, 7, 1),
        D(2018, 7, 31),
    }
    # More than ``steps.MAX_STEP_DAYS`` after the nearest stored day: whole.
    assert snapshots.meeting_counts_on(tree.root, D(2018, 9, 30)) == counts(4, 3, 1)
    assert counted == [(D(2018, 9, 30), None)]


def test_the_irregular_attendees_step_sees_the_misses_and_the_placements_between(tree):
    snapshots.meeting_counts_on(tree.root, D(2018, 7, 10))
    assert snapshots.meeting_counts_on(tree.root, D(2018, 7, 20)).irregular == 1  # a miss on 15/07
    # Placed elsewhere from 01/08: a miss stays with the cell it was in, and still counts.
    places.move_placement(
        referral=tree.neighbour_referral, residential_cell=tree.ward1_cell2, on=D(2018, 8, 1), by=None
    )
    snapshots.meeting_counts_on(tree.root, D(2018, 7, 20))
    assert snapshots.meeting_counts_on(tree.root, D(2018, 8, 10)) == counts(4, 3, 1)
    # Ended on 05/08: no longer placed, no longer an irregular attendee.
    services.referral_end(
        referral=Referral.objects.get(pk=tree.neighbour_referral.pk),
        ended_on=D(2018, 8, 5),
        end_reason=Referral.EndReason.MOVED_RESIDENCE,
        by=None,
    )
    snapshots.meeting_counts_on(tree.root, D(2018, 7, 20))
    assert snapshots.meeting_counts_on(tree.root, D(2018, 8, 10)) == figures.meeting_counts(tree.root, D(2018, 8, 10))
    assert snapshots.meeting_counts_on(tree.root, D(2018, 8, 10)).irregular == 0


def test_no_step_over_a_restructure(tree, counted, irregular_counted):
    snapshots.meeting_counts_on(tree.root, D(2018, 7, 1))
    make_organisation(kind=Organisation.Kind.RESIDENTIAL_CELL, parent=tree.ward2, valid_from=D(2018, 7, 20))
    snapshots.meeting_counts_on(tree.root, D(2018, 7, 1))
    counted.clear(), irregular_counted.clear()
    assert snapshots.meeting_counts_on(tree.root, D(2018, 7, 31)) == counts(4, 3, 1)
    assert counted == [(D(2018, 7, 31), None)] and irregular_counted == [(D(2018, 7, 31), False)]


def test_no_day_is_carried_into_another_year(tree, counted):
    snapshots.meeting_counts_on(tree.root, D(2018, 12, 31))
    counted.clear()
    meeting(tree.ward1_cell1, D(2019, 1, 20), {tree.placed: ABSENT})
    assert snapshots.meeting_counts_on(tree.root, D(2019, 1, 25)) == counts(2, 0, 1)
    assert counted == [(D(2019, 1, 25), None)]


def test_todays_is_carried_from_yesterdays_stored_one_and_stored(tree, counted, irregular_counted):
    today = timezone.localdate()
    yesterday = today - ONE_DAY
    if yesterday.year != today.year:
        pytest.skip("the first of January: today's counts are counted whole")
    meeting(tree.ward1_cell1, yesterday, {tree.placed: PRESENT, tree.neighbour: PRESENT})
    ad_hoc = meeting(tree.ward1_cell1, today, {tree.placed: ABSENT}, kind=Meeting.Kind.AD_HOC)
    held_today = meeting(tree.ward1_cell2, today, {})
    carried = snapshots.meeting_counts_on(tree.root, today)
    assert counted[-1] == (today, yesterday)
    assert irregular_counted[-2:] == [(today, True), (yesterday, True)]
    assert carried == figures.meeting_counts(tree.root, today)
    assert set(stored_counts().values_list("day", flat=True)) == {yesterday, today}
    counted.clear()
    assert snapshots.meeting_counts_on(tree.root, today) == carried  # today's read back
    assert counted == []
    # A write no count reads keeps them; a write of today deletes today's stored counts, leaves yesterday's alone,
    # and is in today's.
    services.attendance_record(meeting=tree.march, member=tree.placed, status=PRESENT, by=None)  # as it was
    services.meeting_update(meeting=held_today, by=None, summary="Sinh hoạt định kỳ")
    assert set(stored_counts().values_list("day", flat=True)) == {yesterday, today}
    services.attendance_record(meeting=ad_hoc, member=tree.placed, status=PRESENT, by=None)
    assert set(stored_counts().values_list("day", flat=True)) == {yesterday}
    counted.clear()
    carried = snapshots.meeting_counts_on(tree.root, today)
    assert counted == [(today, yesterday)]
    assert carried == figures.meeting_counts(tree.root, today)
    assert set(stored_counts().values_list("day", flat=True)) == {yesterday, today}


def test_a_small_subtree_is_counted_whole_and_stored(tree, counted, monkeypatch):
    monkeypatch.setattr(steps, "STEPPED_FROM", 1000)
    assert snapshots.meeting_counts_on(tree.root, D(2018, 9, 30)) == counts(4, 3, 1)
    assert set(stored_counts().values_list("day", flat=True)) == {D(2018, 9, 30)}  # no day before it
    counted.clear()
    again = snapshots.meeting_counts_on(tree.root, D(2018, 9, 30))
    assert not counted  # read back
    assert again == counts(4, 3, 1)


def test_the_meetings_figures_and_the_report_read_the_stored_counts(tree, counted):
    whole = figures.meetings(tree.root, D(2018, 9, 30))
    snapshots.meeting_counts_on(tree.root, D(2018, 9, 29))
    counted.clear()
    assert snapshots.meetings_on(tree.root, D(2018, 9, 30)) == whole
    assert report.build_report(tree.root, D(2018, 9, 30)).meetings == whole
    assert counted == [(D(2018, 9, 30), D(2018, 9, 29))]
    assert (whole.attendance_expected, whole.attendance_present, str(whole.attendance_rate)) == (4, 3, "75.0")
    assert whole.irregular_attendees == 1


# -- every write that changes a stored day's attendance deletes it ---------------------------------------------------


def test_without_the_triggers_a_snapshot_goes_stale(tree):
    before = store_all()
    tables = (stale.MEETINGS_WATCHED, stale.SNAPSHOT_TABLES)
    backward = (
        stale.postgresql_backward(*tables) if connection.vendor == "postgresql" else stale.sqlite_backward(*tables)
    )
    with connection.cursor() as cursor:
        for statement in backward:
            if statement.startswith("DROP TRIGGER"):  # the functions are shared with the headline's triggers
                cursor.execute(statement)
    services.attendance_record(meeting=tree.july, member=tree.neighbour, status=PRESENT, by=None)
    with pytest.raises(AssertionError):
        assert_exact(before)


def test_an_attendance_corrected_back_dated(tree):
    before = store_all()
    services.attendance_record(meeting=tree.july, member=tree.neighbour, status=PRESENT, by=None)
    days = stored_counts().filter(organisation=tree.root).values_list("day", flat=True)
    assert set(days) == {D(2018, 3, 31), D(2018, 6, 30)}
    assert_exact(before)


def test_a_miss_corrected_after_a_re_placement_counts_where_the_member_is_placed_now(tree):
    """The neighbour, absent in July in the first ward's cell, is placed in the second ward's from August: the miss
    still makes them an irregular attendee there, so its correction changes the second ward's figures, not only those
    above the meeting's cell (``stale.MEETINGS_WATCHED``: the members recorded at it)."""
    places.move_placement(
        referral=tree.neighbour_referral, residential_cell=tree.ward2_cell1, on=D(2018, 8, 1), by=None
    )
    before = store_all()
    assert before[tree.ward2.pk, D(2018, 9, 30)].irregular == 1
    # The form refuses a mark once the member is placed elsewhere; an admin's correction or an import does not.
    Attendance.objects.filter(meeting=tree.july, member=tree.neighbour).update(status=PRESENT)
    assert_exact(before)


def test_a_meeting_turned_ad_hoc_after_a_re_placement_counts_where_its_absentees_are_placed_now(tree):
    places.move_placement(
        referral=tree.neighbour_referral, residential_cell=tree.ward2_cell1, on=D(2018, 8, 1), by=None
    )
    before = store_all()
    services.meeting_update(meeting=tree.july, by=None, kind=Meeting.Kind.AD_HOC)
    assert figures.meeting_counts(tree.ward2, D(2018, 9, 30)).irregular == 0
    assert_exact(before)


def test_all_present_on_a_meeting_back_dated(tree):
    held = meeting(tree.ward1_cell1, D(2018, 5, 5), {tree.placed: ABSENT})
    before = store_all()
    services.attendance_all_present(meeting=held, by=None)
    assert_exact(before)


def test_a_meeting_created_moved_and_turned_ad_hoc_back_dated(tree):
    before = store_all()
    added = meeting(tree.ward1_cell1, D(2018, 2, 20), {})  # expected with no mark: counted, not present
    assert_exact(before)
    before = store_all()
    services.meeting_update(meeting=added, by=None, held_on=D(2018, 4, 2))
    assert_exact(before)
    before = store_all()
    services.meeting_update(meeting=added, by=None, kind=Meeting.Kind.AD_HOC)
    assert_exact(before)
    before = store_all()
    services.meeting_update(meeting=added, by=None, summary="Nội dung")
    assert_exact(before, changed=False)
    assert stored_counts().count() == len(before)  # a column the figures do not read


def test_an_exemption_and_an_ending_back_dated(tree):
    before = store_all()
    services.exemption_set(
        member=tree.neighbour, kind=Exemption.Kind.ACTIVITIES, reason="Ốm dài ngày", started_on=D(2018, 7, 1), by=None
    )
    assert_exact(before)
    before = store_all()
    places.move_placement(referral=tree.placed_referral, residential_cell=tree.ward1_cell2, on=D(2018, 6, 1), by=None)
    assert_exact(before)


def test_bulk_writes_and_deletes(tree):
    before = store_all()
    Attendance.objects.filter(meeting=tree.march).update(status=ABSENT)
    assert_exact(before)
    before = store_all()
    Attendance.objects.filter(meeting=tree.july, member=tree.neighbour).delete()
    assert_exact(before, changed=False)  # expected whether marked or not: no figure changed
    before = store_all()
    Attendance.objects.bulk_create([Attendance(meeting=tree.july, member=tree.neighbour, status=PRESENT)])
    assert_exact(before)
    before = store_all()
    Attendance.objects.filter(meeting=tree.july).delete()
    Meeting.objects.filter(pk=tree.july.pk).delete()
    assert_exact(before)
