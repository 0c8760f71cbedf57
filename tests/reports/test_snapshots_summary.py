"""The yearly workbook's summary rows carried from a stored day (``reports.snapshots.summary_rows_on``,
``ReportSnapshot`` part "summary"): the counts that add up member by member (``figures.summary_counts``: the
breakdown's members and referrals, and each side's comment counts, by row) are the stored day's carried by the members
whose rows, comment or rating changed in between; the rows themselves (those that ended during the year too), their
names, meetings and late comments by cell are read as of the day. Every stored day still stored after a write that
changes it equals the whole counts, and the workbook reads the carried rows.

On ``test_workbook_sums``' city: a committee under the committee, referrals across two cities, members of outside
organisations, a member who moved, and a ward merged away on 01/07/2018 (a row of the year's summary that no longer
exists on the day).
"""

import datetime
import io

import pytest

from branches.models import Organisation
from members import places, services
from members.models import Referral, ResidenceComment
from reports import figures, snapshots, steps
from reports.models import ReportSnapshot
from reports.workbook import write_workbook
from tests.factories import make_member, make_organisation, make_referral
from tests.reports.test_snapshots_comments import comment
from tests.reports.test_workbook_sums import check_workbook, city  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db

D = datetime.date
PART = ReportSnapshot.Part.SUMMARY
# Before the default deadline (30/11), after it, and later: each after the merged ward ended.
DAYS = [D(2018, 11, 20), D(2018, 12, 5), D(2018, 12, 20)]


@pytest.fixture(autouse=True)
def large(monkeypatch):
    """Every subtree counts as large: every one stores its days."""
    monkeypatch.setattr(steps, "STEPPED_FROM", 0)


@pytest.fixture
def counted(monkeypatch) -> list:
    """The calls of ``figures.summary_counts``: (as_of, whether only some members)."""
    calls = []
    function = figures.summary_counts

    def recorded(organisation, year, as_of, members=None, rows=None):
        calls.append((as_of, members is not None))
        return function(organisation, year, as_of, members, rows)

    monkeypatch.setattr(figures, "summary_counts", recorded)
    return calls


def subtrees(city) -> list:  # noqa: F811
    return [city.root, city.committee, city.ward1, city.ward2]


def store_all(city) -> dict:  # noqa: F811
    stored = {(o.pk, day): snapshots.summary_rows_on(o, day.year, day) for o in subtrees(city) for day in DAYS}
    assert ReportSnapshot.objects.filter(part=PART).count() == len(stored)
    return stored


def assert_exact(city, before: dict) -> None:  # noqa: F811
    """Every stored day still stored equals the whole counts, every read the whole rows, and the write changed some
    stored day's rows (otherwise a stale stored day would go unnoticed)."""
    fresh = {(o.pk, day): figures.summary_rows(o, day.year, day) for o in subtrees(city) for day in DAYS}
    for row in ReportSnapshot.objects.filter(part=PART):
        assert snapshots._decoded_summary(row.figures) == figures.summary_counts(
            row.organisation, row.day.year, row.day
        ), row
    for organisation in subtrees(city):
        for day in DAYS:
            assert snapshots.summary_rows_on(organisation, day.year, day) == fresh[organisation.pk, day]
    assert {key for key, rows in fresh.items() if before[key] != rows}


def by_code(rows) -> dict:
    return {row.figures.code: row for row in rows}


def test_a_later_day_is_carried_and_its_rows_read_that_day(city, counted):  # noqa: F811
    first = snapshots.summary_rows_on(city.root, 2018, D(2018, 11, 20))
    assert counted == [(D(2018, 11, 20), False)]  # nothing stored: whole
    assert first == figures.summary_rows(city.root, 2018, D(2018, 11, 20))
    assert city.gone_ward.code in by_code(first)  # ended in July: still a row of the year
    counted.clear()
    # In between: a member joins the committee's cell and is introduced to ward 1, received and placed in its first
    # cell, whose comment is written and sent late.
    newcomer = make_member(city.cell, admitted_on=D(2018, 11, 22))
    make_referral(
        newcomer,
        receiving_ward=city.ward1,
        issuing_organisation=city.committee,
        introduced_on=D(2018, 11, 23),
        received_on=D(2018, 11, 24),
        residential_cell=city.ward1_cell1,
        placed_on=D(2018, 11, 25),
    )
    comment(newcomer, city.ward1_cell1, D(2018, 11, 26), sent_on=D(2018, 12, 2))
    snapshots.summary_rows_on(city.root, 2018, D(2018, 11, 20))  # stored again (the writes deleted it)
    counted.clear()
    carried = snapshots.summary_rows_on(city.root, 2018, D(2018, 12, 5))
    assert counted == [(D(2018, 12, 5), True), (D(2018, 11, 20), True)]  # the members who changed, on both days
    assert carried == figures.summary_rows(city.root, 2018, D(2018, 12, 5))
    rows, before = by_code(carried), by_code(first)
    assert rows[city.committee.code].figures.members == before[city.committee.code].figures.members + 1
    assert before[city.ward1.code].comments.residence.late == 0
    assert rows[city.ward1.code].comments.residence.late == 2  # the newcomer's, and one sent on 05/12
    counted.clear()
    assert snapshots.summary_rows_on(city.root, 2018, D(2018, 12, 5)) == carried
    assert counted == []  # stored


def test_another_year_is_counted_whole_and_a_small_subtree_whole_and_stored(city, counted, monkeypatch):  # noqa: F811
    day = D(2019, 1, 10)
    assert snapshots.summary_rows_on(city.root, 2018, day) == figures.summary_rows(city.root, 2018, day)
    assert not ReportSnapshot.objects.exists()
    monkeypatch.setattr(steps, "STEPPED_FROM", 1000)
    assert snapshots.summary_rows_on(city.root, 2018, D(2018, 12, 5)) == figures.summary_rows(
        city.root, 2018, D(2018, 12, 5)
    )
    assert set(ReportSnapshot.objects.values_list("day", flat=True)) == {D(2018, 12, 5)}  # no day before it


def test_no_step_into_another_year(city, counted):  # noqa: F811
    snapshots.summary_rows_on(city.root, 2018, D(2018, 12, 31))
    counted.clear()
    assert snapshots.summary_rows_on(city.root, 2019, D(2019, 1, 5)) == figures.summary_rows(
        city.root, 2019, D(2019, 1, 5)
    )
    assert counted == [(D(2019, 1, 5), False)]


def test_the_workbook_reads_the_carried_rows(city, counted):  # noqa: F811
    snapshots.summary_rows_on(city.root, 2018, D(2018, 12, 30))
    counted.clear()
    check_workbook(city.root, 2018, D(2018, 12, 31))  # every column adds up to the city's figures
    assert counted == [(D(2018, 12, 31), True), (D(2018, 12, 30), True)]
    carried = io.BytesIO()
    write_workbook(city.root, 2018, D(2018, 12, 31), carried)
    snapshots.clear_all()
    whole = io.BytesIO()
    write_workbook(city.root, 2018, D(2018, 12, 31), whole)
    assert counted[-1] == (D(2018, 12, 31), False)
    from openpyxl import load_workbook

    def cells(buffer):
        return list(load_workbook(io.BytesIO(buffer.getvalue()))["Tổng hợp"].iter_rows(values_only=True))

    assert cells(carried) == cells(whole)


# -- every write that changes a stored day's counts deletes it ---------------------------------------------------------


def test_comment_writes_back_dated(city):  # noqa: F811
    before = store_all(city)
    school = ResidenceComment.objects.get(sent_on__isnull=True)
    services.residence_comment_send(comment=school, sent_on=D(2018, 11, 28), by=None)
    assert_exact(city, before)
    before = store_all(city)
    late = ResidenceComment.objects.get(sent_on=D(2018, 12, 5))
    services.residence_comment_receive(comment=late, received_on=D(2018, 12, 8), by=None)
    assert_exact(city, before)


def test_people_and_referral_writes_back_dated(city):  # noqa: F811
    before = store_all(city)
    stalled = Referral.objects.filter(receiving_ward=city.ward1, received_on__isnull=True).first()
    services.referral_receive(referral=stalled, received_on=D(2018, 12, 1), by=None)
    assert_exact(city, before)
    before = store_all(city)
    placed = Referral.objects.filter(residential_cell=city.ward1_cell1).first()
    services.member_retire(member=placed.member, retired_on=D(2018, 11, 1), by=None)
    assert_exact(city, before)
    before = store_all(city)
    member = make_member(city.sub_cell, admitted_on=D(2010, 1, 1))
    places.move_home(member_id=member.pk, organisation=city.grassroots_cell, on=D(2018, 12, 10), by=None)
    assert_exact(city, before)


def test_a_row_that_ended_during_the_year_is_carried_too(city):  # noqa: F811
    """A committee merged away on 01/07 issued a referral before it ended, stalled since: its row keeps it until the
    referral is received, a change found through the rows of the year, not those of the day."""
    gone = make_organisation(kind=Organisation.Kind.COMMITTEE, parent=city.root, valid_to=D(2018, 7, 1))
    stalled = make_referral(
        make_member(city.cell), receiving_ward=city.ward2, issuing_organisation=gone, introduced_on=D(2018, 6, 1)
    )
    rows = by_code(snapshots.summary_rows_on(city.root, 2018, DAYS[0]))
    assert rows[gone.code].figures.stalled_issued == 1
    before = store_all(city)
    services.referral_receive(referral=stalled, received_on=D(2018, 12, 1), by=None)
    assert_exact(city, before)
    assert by_code(snapshots.summary_rows_on(city.root, 2018, DAYS[-1]))[gone.code].figures.stalled_issued == 0
