"""Stored comment figures (``reports.snapshots.comments_on``, ``comment_sides_on``, ``ReportSnapshot``): a later
day's figures of the same year are the stored day's carried by the members whose rows, comment or rating changed in
between; every snapshot still stored after any write that changes it equals ``figures.comments`` (and
``comment_sides``) computed fresh, and the report reads them.

As in ``test_snapshots``, each write test stores the figures of every organisation for ``DAYS``, makes one write,
checks that the write changed the figures of some stored day (so a kept stale snapshot would fail the test), then
compares every stored and read figure with a fresh computation. ``test_without_the_triggers_a_snapshot_goes_stale``
shows that comparison failing with the comments' triggers dropped.
"""

import datetime

import pytest
from django.db import connection
from django.utils import timezone

from branches.models import Organisation
from members import places, services
from members.models import CommentRound, Exemption, ResidenceComment, YearEndRating
from reports import figures, report, snapshots, stale, steps
from reports.models import ReportSnapshot
from tests.factories import make_member, make_organisation, make_referral
from tests.reports.test_snapshots import tree as headline_tree  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db

D = datetime.date
ONE_DAY = datetime.timedelta(days=1)
# Before the default deadline (30/11), just after it, and later.
DAYS = [D(2018, 11, 20), D(2018, 12, 5), D(2018, 12, 20)]
GOOD, FAIR = ResidenceComment.Verdict.GOOD, ResidenceComment.Verdict.FAIR


@pytest.fixture(autouse=True)
def large(monkeypatch):
    """Every subtree counts as large (the factories' tree has a dozen organisations): every one stores its days."""
    monkeypatch.setattr(steps, "STEPPED_FROM", 0)


@pytest.fixture
def tree(headline_tree):  # noqa: F811
    """``test_snapshots``'s tree with a second member placed in the first ward's first cell; the placed member's
    comment of 2018 written 10/11, sent 25/11 (in time) and received 03/12, rated "good" on 15/12; the neighbour's
    written 01/12 and sent 10/12 (late)."""
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
    tree.placed_comment = comment(tree.placed, tree.ward1_cell1, D(2018, 11, 10), sent_on=D(2018, 11, 25))
    services.residence_comment_receive(comment=tree.placed_comment, received_on=D(2018, 12, 3), by=None)
    tree.rating = services.year_end_rating_record(
        member=tree.placed, year=2018, level=YearEndRating.Level.GOOD, decided_on=D(2018, 12, 15), by=None
    )
    tree.neighbour_comment = comment(tree.neighbour, tree.ward1_cell1, D(2018, 12, 1), sent_on=D(2018, 12, 10))
    return tree


def comment(member, cell, written_on, *, sent_on=None, verdict=GOOD, year=2018) -> ResidenceComment:
    written = services.residence_comment_write(
        member=member, year=year, residential_cell=cell, verdict=verdict, written_on=written_on, by=None
    )
    if sent_on is not None:
        written = services.residence_comment_send(comment=written, sent_on=sent_on, by=None)
    return written


def organisations() -> list[Organisation]:
    return list(Organisation.objects.order_by("path"))


def both_on(organisation: Organisation, day: datetime.date) -> tuple:
    return snapshots.comments_on(organisation, day.year, day), snapshots.comment_sides_on(organisation, day.year, day)


def fresh_both(organisation: Organisation, day: datetime.date) -> tuple:
    return figures.comments(organisation, day.year, day), figures.comment_sides(organisation, day.year, day)


def store_all() -> dict:
    stored = {(o.pk, day): both_on(o, day) for o in organisations() for day in DAYS}
    assert ReportSnapshot.objects.count() == 2 * len(stored)
    return stored


def decoded(row: ReportSnapshot):
    if row.part == ReportSnapshot.Part.COMMENTS:
        return snapshots._decoded_comments(row.figures)
    return snapshots._decoded_sides(row.figures)


def assert_exact(before: dict, *, changed: bool = True) -> None:
    """Every snapshot still stored equals the figures computed now, and so does every read; ``changed``: the write
    changed the figures of some stored day."""
    fresh = {(o.pk, day): fresh_both(o, day) for o in organisations() for day in DAYS}
    for row in ReportSnapshot.objects.all():
        expected = fresh[row.organisation_id, row.day][0 if row.part == ReportSnapshot.Part.COMMENTS else 1]
        assert decoded(row) == expected, row
    for organisation in organisations():
        for day in DAYS:
            assert both_on(organisation, day) == fresh[organisation.pk, day]
    differing = {key for key, figures_ in fresh.items() if before.get(key) != figures_}
    assert bool(differing) == changed, differing


@pytest.fixture
def counted(monkeypatch) -> list:
    """The calls of ``figures.comments`` and ``figures.comment_sides``: (name, as_of, whether only some members)."""
    calls = []
    for name in ("comments", "comment_sides"):
        function = getattr(figures, name)

        def recorded(organisation, year, as_of, members=None, *, _name=name, _function=function):
            calls.append((_name, as_of, members is not None))
            return _function(organisation, year, as_of, members)

        monkeypatch.setattr(figures, name, recorded)
    return calls


# -- carried within a year ---------------------------------------------------------------------------------------------


def test_the_figures_of_the_fixture(tree):
    comments = figures.comments(tree.root, 2018, D(2018, 12, 20))
    assert (comments.due, comments.written, comments.sent, comments.received, comments.late) == (2, 2, 2, 1, 1)
    assert comments.verdicts_by_rating == {"good": {"good": 1}, "none": {"good": 1}}
    early = figures.comments(tree.root, 2018, D(2018, 11, 20))
    assert (early.due, early.written, early.sent, early.missing) == (2, 1, 0, 0)
    late = figures.comments(tree.root, 2018, D(2018, 12, 5))
    assert (late.written, late.sent, late.received, late.late, late.missing) == (2, 1, 1, 0, 0)
    sides = figures.comment_sides(tree.ward1, 2018, D(2018, 12, 20))
    assert sides.residence.due == 2 and sides.workplace.due == 0


def test_a_later_day_is_carried_from_the_nearest_stored_day(tree, counted):
    first = both_on(tree.root, D(2018, 11, 28))
    assert [call for call in counted if call[1] == D(2018, 11, 28)] == [
        ("comments", D(2018, 11, 28), False),
        ("comment_sides", D(2018, 11, 28), False),
    ]  # nothing stored: whole
    assert first == fresh_both(tree.root, D(2018, 11, 28))
    counted.clear()
    # Sent, received, written, rated and past the deadline in between.
    carried = both_on(tree.root, D(2018, 12, 20))
    assert ("comments", D(2018, 12, 20), True) in counted and ("comments", D(2018, 11, 28), True) in counted
    assert ("comment_sides", D(2018, 12, 20), True) in counted
    assert not [call for call in counted if not call[2]]  # never whole
    assert carried == fresh_both(tree.root, D(2018, 12, 20))
    counted.clear()
    counted.clear()
    assert both_on(tree.root, D(2018, 12, 20)) == carried
    assert counted == []  # stored
    assert set(ReportSnapshot.objects.filter(organisation=tree.root).values_list("part", "day")) == {
        (part, day) for part in ("comments", "comments_by_side") for day in (D(2018, 11, 28), D(2018, 12, 20))
    }
    # More than ``steps.MAX_STEP_DAYS`` after the nearest stored day: whole.
    both_on(tree.root, D(2018, 10, 1))
    counted.clear()
    both_on(tree.root, D(2018, 11, 10))
    assert ("comments", D(2018, 11, 10), False) in counted


def test_a_step_counts_a_member_due_since_and_one_no_longer_due(tree):
    both_on(tree.root, D(2018, 12, 1))
    # The neighbour's referral ended on 20/11 (before the deadline: no longer due); a new member placed on 25/11.
    services.referral_end(
        referral=tree.neighbour_referral,
        ended_on=D(2018, 11, 20),
        end_reason=tree.neighbour_referral.EndReason.MOVED_RESIDENCE,
        by=None,
    )
    newcomer = make_member(tree.cell, admitted_on=D(2012, 1, 1))
    make_referral(
        newcomer,
        receiving_ward=tree.ward1,
        introduced_on=D(2018, 11, 1),
        received_on=D(2018, 11, 5),
        residential_cell=tree.ward1_cell2,
        placed_on=D(2018, 11, 25),
    )
    both_on(tree.root, D(2018, 11, 15))
    carried = both_on(tree.root, D(2018, 12, 5))
    assert carried == fresh_both(tree.root, D(2018, 12, 5))
    assert (carried[0].due, carried[0].written, carried[0].missing) == (2, 1, 1)  # the newcomer's is missing


def test_no_step_over_a_restructure(tree, counted):
    both_on(tree.root, D(2018, 12, 1))
    make_organisation(kind=Organisation.Kind.RESIDENTIAL_CELL, parent=tree.ward2, valid_from=D(2018, 12, 10))
    both_on(tree.root, D(2018, 12, 1))
    counted.clear()
    assert both_on(tree.root, D(2018, 12, 20)) == fresh_both(tree.root, D(2018, 12, 20))
    assert ("comments", D(2018, 12, 20), False) in counted


def test_another_years_round_is_counted_whole_and_stores_nothing(tree, counted):
    assert snapshots.comments_on(tree.root, 2017, D(2018, 3, 1)) == figures.comments(tree.root, 2017, D(2018, 3, 1))
    assert not ReportSnapshot.objects.exists()
    both_on(tree.root, D(2018, 12, 31))
    counted.clear()
    comment(tree.placed, tree.ward1_cell1, D(2019, 1, 10), year=2019)
    assert both_on(tree.root, D(2019, 1, 20)) == fresh_both(tree.root, D(2019, 1, 20))
    assert ("comments", D(2019, 1, 20), False) in counted  # no day of 2018 carried into 2019


def test_todays_is_carried_from_yesterdays_stored_one_and_stored(tree, counted):
    today = timezone.localdate()
    yesterday = today - ONE_DAY
    if yesterday.year != today.year:
        pytest.skip("the first of January: today's figures are counted whole")
    comment(tree.placed, tree.ward1_cell1, yesterday, year=today.year)
    written_today = comment(tree.neighbour, tree.ward1_cell1, today, year=today.year, verdict=FAIR)
    carried = both_on(tree.root, today)
    assert ("comments", today, True) in counted and ("comments", yesterday, True) in counted
    assert carried == fresh_both(tree.root, today)
    assert set(ReportSnapshot.objects.values_list("day", flat=True)) == {yesterday, today}
    counted.clear()
    assert both_on(tree.root, today) == carried  # today's read back
    assert counted == []
    # A write of today deletes today's stored figures, leaves yesterday's alone, and is in today's.
    services.residence_comment_send(comment=written_today, sent_on=today, by=None)
    assert set(ReportSnapshot.objects.values_list("day", flat=True)) == {yesterday}
    counted.clear()
    carried = both_on(tree.root, today)
    assert counted and all(members for _, _, members in counted)
    assert carried == fresh_both(tree.root, today)
    assert set(ReportSnapshot.objects.values_list("day", flat=True)) == {yesterday, today}


def test_a_small_subtree_is_counted_whole_and_stored(tree, counted, monkeypatch):
    monkeypatch.setattr(steps, "STEPPED_FROM", 1000)
    assert both_on(tree.root, D(2018, 12, 20)) == fresh_both(tree.root, D(2018, 12, 20))
    assert set(ReportSnapshot.objects.values_list("day", flat=True)) == {D(2018, 12, 20)}  # no day before it
    counted.clear()
    again = both_on(tree.root, D(2018, 12, 20))
    assert not counted  # read back
    assert again == fresh_both(tree.root, D(2018, 12, 20))


def test_the_report_reads_the_stored_figures(tree, counted):
    whole = fresh_both(tree.root, D(2018, 12, 20))
    both_on(tree.root, D(2018, 12, 19))
    counted.clear()
    built = report.build_report(tree.root, D(2018, 12, 20))
    assert (built.comments, built.comments_by_side) == whole
    assert counted and all(members for _, _, members in counted)
    assert report.report_as_json(built)["comments"]["late"] == 1


# -- every write that changes a stored day's comment figures deletes it -----------------------------------------------


def test_without_the_triggers_a_snapshot_goes_stale(tree):
    before = store_all()
    tables = (stale.COMMENTS_WATCHED, stale.SNAPSHOT_TABLES)
    backward = (
        stale.postgresql_backward(*tables) if connection.vendor == "postgresql" else stale.sqlite_backward(*tables)
    )
    with connection.cursor() as cursor:
        for statement in backward:
            if statement.startswith("DROP TRIGGER"):  # the functions are shared with the headline's triggers
                cursor.execute(statement)
    ResidenceComment.objects.filter(pk=tree.neighbour_comment.pk).update(verdict=FAIR)
    with pytest.raises(AssertionError):
        assert_exact(before)


def test_a_comment_written_corrected_sent_and_received_back_dated(tree):
    newcomer = make_member(tree.cell, admitted_on=D(2012, 1, 1))
    make_referral(
        newcomer,
        receiving_ward=tree.ward1,
        introduced_on=D(2018, 9, 1),
        received_on=D(2018, 9, 5),
        residential_cell=tree.ward1_cell2,
        placed_on=D(2018, 10, 1),
    )
    before = store_all()
    written = comment(newcomer, tree.ward1_cell2, D(2018, 11, 15))
    assert_exact(before)
    before = store_all()
    services.residence_comment_update(comment=written, by=None, verdict=FAIR, written_on=D(2018, 12, 1))
    assert_exact(before)
    before = store_all()
    services.residence_comment_update(comment=written, by=None, text="Gương mẫu")
    assert_exact(before, changed=False)
    assert ReportSnapshot.objects.count() == 2 * len(before)  # a column the figures do not read
    services.residence_comment_send(comment=written, sent_on=D(2018, 12, 2), by=None)
    assert_exact(before)
    before = store_all()
    services.residence_comment_receive(comment=tree.neighbour_comment, received_on=D(2018, 12, 12), by=None)
    assert_exact(before)


def test_a_rating_recorded_and_changed_back_dated(tree):
    before = store_all()
    services.year_end_rating_record(
        member=tree.neighbour, year=2018, level=YearEndRating.Level.FULFILLED, decided_on=D(2018, 12, 2), by=None
    )
    assert_exact(before)
    before = store_all()
    services.year_end_rating_update(
        rating=tree.rating, level=YearEndRating.Level.EXCELLENT, decided_on=D(2018, 12, 1), by=None
    )
    assert_exact(before)


def test_the_rounds_deadline_set_moved_and_deleted(tree):
    before = store_all()
    services.comment_round_set(organisation=tree.root, year=2018, deadline=D(2018, 12, 8), by=None)
    assert not ReportSnapshot.objects.exists()  # every day of 2018
    assert_exact(before)
    before = store_all()
    services.comment_round_set(organisation=tree.root, year=2018, deadline=D(2018, 11, 22), by=None)
    assert_exact(before)
    before = store_all()
    CommentRound.objects.filter(year=2018).delete()
    assert_exact(before)
    # Another year's round leaves 2018's stored days alone.
    store_all()
    services.comment_round_set(organisation=tree.root, year=2019, deadline=D(2019, 12, 1), by=None)
    assert ReportSnapshot.objects.count() == 2 * len(organisations()) * len(DAYS)


def test_an_exemption_and_a_placement_moved_back_dated(tree):
    before = store_all()
    services.exemption_set(
        member=tree.neighbour, kind=Exemption.Kind.ACTIVITIES, reason="Ốm dài ngày", started_on=D(2018, 11, 25), by=None
    )
    assert_exact(before)
    before = store_all()
    places.move_placement(referral=tree.placed_referral, residential_cell=tree.ward1_cell2, on=D(2018, 11, 1), by=None)
    assert_exact(before)


def test_bulk_writes_and_deletes(tree):
    before = store_all()
    ResidenceComment.objects.filter(pk=tree.neighbour_comment.pk).update(sent_on=D(2018, 12, 2))
    assert_exact(before)
    before = store_all()
    YearEndRating.objects.all().update(level=YearEndRating.Level.FULFILLED)
    assert_exact(before)
    before = store_all()
    YearEndRating.objects.all().delete()
    ResidenceComment.objects.filter(pk=tree.placed_comment.pk).delete()
    assert_exact(before)
    before = store_all()
    CommentRound.objects.bulk_create([CommentRound(organisation=tree.root, year=2018, deadline=D(2018, 12, 15))])
    assert_exact(before)
