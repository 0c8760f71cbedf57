"""The counts of a user's lists stored by the organisation whose rows the user sees (``members.selectors.counted_by``,
``reports.snapshots.list_counts_on``): the home page's to-do, the comment list's and the ratings list's counts.

Each write test stores every organisation's counts of today, makes one write through a service, checks that the write
changed some organisation's counts (so that a stored row kept would be found), then compares every stored row still
there, and every read, with a fresh count. ``test_without_the_watched_report_day_the_count_goes_stale`` and
``test_a_write_under_no_root_still_makes_the_citys_counts_stale`` show the triggers' part of it failing without it.
"""

import dataclasses
import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from branches.access import Committee
from branches.models import Officer, Organisation
from members import places, services
from members.models import Exemption, Referral, ResidenceComment, YearEndRating
from members.periods import HalfYear
from members.selectors.comments import comment_counts, comment_rows, comment_year, rating_counts, rating_rows
from members.selectors.counted_by import (
    COMMENT_COUNTS,
    MEMBER_COUNT,
    RATING_COUNTS,
    TODO_COUNTS,
    comment_counts_for,
    counted_by,
    member_count_for,
    rating_counts_for,
)
from members.selectors.people import members_in_status
from members.selectors.scope import visible_members
from members.selectors.todo import todo_for
from reports import snapshots, stale
from reports.models import ReportSnapshot
from tests.factories import make_member, make_officer
from tests.reports.test_snapshots import snapshot_tree

pytestmark = pytest.mark.django_db

D = datetime.date
TODAY = D(2018, 9, 30)
PARTS = (TODO_COUNTS, COMMENT_COUNTS, RATING_COUNTS, MEMBER_COUNT)


@pytest.fixture
def tree():
    return snapshot_tree()


@pytest.fixture(autouse=True)
def _today(monkeypatch):
    noon = datetime.datetime.combine(TODAY, datetime.time(12), tzinfo=timezone.get_current_timezone())
    monkeypatch.setattr(timezone, "now", lambda: noon)


def counting() -> list[Organisation]:
    """The organisations whose committees have a to-do (an outside organisation's has none)."""
    return list(Organisation.objects.exclude(kind=Organisation.Kind.OUTSIDE).order_by("path"))


def fresh_counts(organisation: Organisation) -> dict[str, dict]:
    """The counts of ``organisation``'s committee, counted now and not stored, by part."""
    committee = Committee(organisation)
    round_ = comment_year(committee, TODAY.year, today=TODAY)
    return {
        TODO_COUNTS: dataclasses.asdict(todo_for(committee, day=TODAY, shown=0)),
        COMMENT_COUNTS: comment_counts(comment_rows(committee, round_)),
        RATING_COUNTS: rating_counts(rating_rows(committee, round_)),
        MEMBER_COUNT: {"total": members_in_status(visible_members(committee), "", day=TODAY).count()},
    }


def read_counts(organisation: Organisation) -> dict[str, dict]:
    """The same counts as read through the stored rows (stored first when missing)."""
    committee = Committee(organisation)
    round_ = comment_year(committee, TODAY.year, today=TODAY)
    stored = snapshots.list_counts_on
    return {
        TODO_COUNTS: dataclasses.asdict(todo_for(committee, day=TODAY, shown=0, stored=stored)),
        COMMENT_COUNTS: comment_counts_for(committee, round_, stored=stored),
        RATING_COUNTS: rating_counts_for(committee, round_, stored=stored),
        MEMBER_COUNT: {"total": member_count_for(committee, TODAY, stored=stored)},
    }


def store_all() -> dict:
    counts = {organisation.pk: read_counts(organisation) for organisation in counting()}
    assert ReportSnapshot.objects.filter(part__in=PARTS).count() == len(PARTS) * len(counts)
    return counts


def assert_exact(before: dict) -> None:
    """Every stored row still there equals a fresh count, and so does every read; and the write changed some count."""
    fresh = {organisation.pk: fresh_counts(organisation) for organisation in counting()}
    for row in ReportSnapshot.objects.filter(part__in=PARTS):
        expected = fresh[row.organisation_id][row.part]
        assert {name: expected[name] for name in row.figures} == row.figures, (row.organisation_id, row.part)
    for organisation in counting():
        assert read_counts(organisation) == fresh[organisation.pk], organisation
    assert any(fresh[pk] != counts for pk, counts in before.items()), "the write changed no count"


# -- which users share an organisation's counts ------------------------------------------------------------------------


def test_whose_rows_a_user_sees(tree, django_user_model):
    secretary = make_officer(tree.ward1, role=Officer.Role.SECRETARY)
    viewer = make_officer(tree.ward1, role=Officer.Role.VIEWER)
    assert counted_by(secretary) == counted_by(viewer) == tree.ward1
    two_posts = make_officer(tree.ward1)
    Officer.objects.create(user=two_posts, organisation=tree.ward2, role="secretary", started_on=D(2000, 1, 1))
    assert counted_by(two_posts) is None  # two scopes' union
    city = make_officer(tree.root, role=Officer.Role.VIEWER)
    Officer.objects.create(user=city, organisation=tree.ward2, role="secretary", started_on=D(2000, 1, 1))
    assert counted_by(city) == tree.root  # every row, the root's rounds
    assert counted_by(django_user_model.objects.create_superuser("admin", password="x")) is None  # every tree's
    Officer.objects.create(user=city, organisation=tree.outside, role="viewer", started_on=D(2000, 1, 1))
    del city._dongha76_access
    assert counted_by(city) is None  # beyond the root's tree


def test_a_ward_secretarys_home_counts_once_then_reads_its_stored_counts(client, tree):
    client.force_login(make_officer(tree.ward2, role=Officer.Role.SECRETARY))
    first = client.get(reverse("home"))
    assert ReportSnapshot.objects.filter(organisation=tree.ward2, day=TODAY, part__in=PARTS).count() == 2
    with CaptureQueriesContext(connection) as queries:
        second = client.get(reverse("home"))
    assert second.context["todo"] == first.context["todo"]
    assert second.context["todo"].stalled == 1
    read = [q["sql"] for q in queries.captured_queries if "members_referral" in q["sql"]]
    # The stored counts, and the first referrals waiting to be received (the one-click list): no count of referrals.
    assert len(read) == 1 and "COUNT(" not in read[0], read


def test_the_comment_list_reads_the_stored_counts_unless_filtered(client, tree):
    services.residence_comment_write(
        member=tree.placed, year=2018, residential_cell=tree.ward1_cell1, verdict="good", written_on=TODAY, by=None
    )
    client.force_login(make_officer(tree.ward1))
    url = reverse("members:comment-list", args=[2018])
    counts = client.get(url).context["counts"]
    assert counts["total"] == counts["written"] == 1
    stored = ReportSnapshot.objects.get(organisation=tree.ward1, day=TODAY, part=COMMENT_COUNTS)
    stored.figures = {**stored.figures, "written": 7}  # what the list shows comes from the row
    stored.save()
    assert client.get(url, {"state": "sent"}).context["counts"]["written"] == 7
    cell = tree.ward1_cell2.pk
    assert client.get(url, {"cell": cell}).context["counts"]["written"] == 0  # filtered: counted


def test_the_ratings_list_reads_the_stored_counts_unless_filtered(client, tree):
    client.force_login(make_officer(tree.root))
    url = reverse("members:rating-list", args=[2018])
    counts = client.get(url).context["counts"]
    assert counts["total"] == 3 and counts["rated"] == 0  # the placed, the waiting and the teacher work
    stored = ReportSnapshot.objects.get(organisation=tree.root, day=TODAY, part=RATING_COUNTS)
    stored.figures = {**stored.figures, "rated": 7}
    stored.save()
    assert client.get(url, {"warnings": "on", "page": 1}).context["counts"]["rated"] == 7
    assert client.get(url, {"q": "x"}).context["counts"]["rated"] == 0  # filtered: counted


def test_the_member_list_pages_by_the_stored_count_unless_filtered(client, tree):
    client.force_login(make_officer(tree.committee))
    url = reverse("members:member-list")
    assert client.get(url).context["table"].paginator.count == 2  # the placed and the waiting
    stored = ReportSnapshot.objects.get(organisation=tree.committee, day=TODAY, part=MEMBER_COUNT)
    stored.figures = {"total": 70}
    stored.save()
    assert client.get(url, {"page": 2}).context["table"].paginator.count == 70
    assert client.get(url, {"working": "working"}).context["table"].paginator.count == 2  # filtered: counted


def test_a_large_subtrees_counts_are_counted_not_stored(client, tree, monkeypatch):
    """Beyond ``LIST_COUNTS_STORED_UP_TO`` organisations, counting them while writes wait would hold every write of
    the nation for seconds: they are counted on each view instead."""
    monkeypatch.setattr(snapshots, "LIST_COUNTS_STORED_UP_TO", 3)  # the root's tree has 10, ward 1's 3
    client.force_login(make_officer(tree.root))
    assert client.get(reverse("home")).context["todo"].stalled == 1
    client.force_login(make_officer(tree.ward1))
    client.get(reverse("home"))
    assert set(ReportSnapshot.objects.filter(part__in=PARTS).values_list("organisation", flat=True)) == {tree.ward1.pk}


def test_another_years_comment_counts_are_counted_not_stored(client, tree):
    client.force_login(make_officer(tree.ward1))
    client.get(reverse("members:comment-list", args=[2017]))
    assert not ReportSnapshot.objects.filter(part=COMMENT_COUNTS).exists()


# -- every write keeps them exact ------------------------------------------------------------------------------------


def test_the_referral_steps(tree):
    before = store_all()
    services.referral_receive(referral=tree.stalled_referral, received_on=D(2018, 9, 1), by=None)
    assert_exact(before)
    before = store_all()
    referral = Referral.objects.get(pk=tree.stalled_referral.pk)
    services.referral_place(referral=referral, residential_cell=tree.ward2_cell1, placed_on=D(2018, 9, 2), by=None)
    assert_exact(before)
    before = store_all()
    services.referral_report(referral=Referral.objects.get(pk=referral.pk), reported_on=D(2018, 9, 3), by=None)
    assert_exact(before)
    before = store_all()
    services.referral_end(
        referral=Referral.objects.get(pk=referral.pk), ended_on=D(2018, 9, 4), end_reason="moved_residence", by=None
    )
    assert_exact(before)


def test_an_introduction(tree):
    before = store_all()
    services.referral_introduce(
        member=tree.waiting,
        issuing_organisation=tree.committee,
        receiving_ward=tree.ward2,
        letter_number="1-GT/ĐU",
        introduced_on=D(2018, 9, 29),
        by=None,
    )
    assert_exact(before)


def test_a_member_leaves_and_an_exemption(tree):
    before = store_all()
    services.member_update(member=tree.waiting, by=None, left_on=D(2018, 9, 1), left_reason="left_party")
    assert_exact(before)
    before = store_all()
    services.exemption_set(
        member=tree.placed, kind=Exemption.Kind.ACTIVITIES, reason="ốm", started_on=D(2018, 9, 1), by=None
    )
    assert_exact(before)


def test_a_home_move(tree):
    """The waiting member moves from the committee's cell to the school's: the committee's lists lose them."""
    before = store_all()
    places.move_home(member_id=tree.waiting.pk, organisation=tree.grassroots_cell, on=D(2018, 9, 1), by=None)
    assert_exact(before)


def test_a_new_member_of_a_cell(tree):
    before = store_all()
    make_member(tree.cell, admitted_on=D(2015, 1, 1))
    assert_exact(before)


def test_the_comment_steps_and_the_round(tree):
    before = store_all()
    comment = services.residence_comment_write(
        member=tree.placed, year=2018, residential_cell=tree.ward1_cell1, verdict="good", written_on=TODAY, by=None
    )
    assert_exact(before)
    before = store_all()
    services.residence_comment_send(comment=comment, sent_on=TODAY, by=None)
    assert_exact(before)
    before = store_all()
    services.residence_comment_receive(comment=ResidenceComment.objects.get(pk=comment.pk), received_on=TODAY, by=None)
    assert_exact(before)
    before = store_all()
    services.comment_round_set(organisation=tree.root, year=2018, deadline=D(2018, 9, 15), by=None)
    assert_exact(before)  # past the deadline: "not written" is now "missing", and the comment sent late


def test_a_rating(tree):
    before = store_all()
    services.year_end_rating_record(
        member=tree.placed, year=2018, level=YearEndRating.Level.GOOD, decided_on=TODAY, by=None
    )
    assert_exact(before)


def test_a_write_under_no_root_still_makes_the_citys_counts_stale(tree, monkeypatch):
    """A member of an outside organisation, never introduced, is rated: a row naming no organisation of the tree. City
    staff see it (the ratings list lists every rated member): the write deletes every root's stored counts. Made
    without the roots, the triggers keep the city's count of the day before."""
    outsider = make_member(tree.outside, admitted_on=D(2000, 1, 1))

    def rate(member):
        services.year_end_rating_record(
            member=member, year=2018, level=YearEndRating.Level.GOOD, decided_on=TODAY, by=None
        )

    before = store_all()
    rate(outsider)
    assert_exact(before)
    monkeypatch.setattr(stale, "_ABOVE", stale._ABOVE.split(" UNION SELECT id FROM branches_organisation")[0])
    replace_the_triggers(stale.WATCHED)
    store_all()
    rate(make_member(tree.outside, admitted_on=D(2000, 1, 1)))
    stored = ReportSnapshot.objects.get(organisation=tree.root, day=TODAY, part=RATING_COUNTS).figures
    assert stored["rated"] == fresh_counts(tree.root)[RATING_COUNTS]["rated"] - 1


def replace_the_triggers(watched) -> None:
    """The triggers made again from ``watched`` (and ``stale`` as it is), in the test's transaction."""
    forward, backward = {
        "sqlite": (stale.sqlite_forward, stale.sqlite_backward),
        "postgresql": (stale.postgresql_forward, stale.postgresql_backward),
    }[connection.vendor]
    with connection.cursor() as cursor:
        for statement in backward(stale.WATCHED) + forward(tuple(watched)):
            cursor.execute(statement)


def test_a_meeting(tree):
    before = store_all()
    services.meeting_create(
        residential_cell=tree.ward2_cell2, held_on=D(2018, 9, 20), by=None, half_year=HalfYear.of(TODAY)
    )
    assert_exact(before)


def test_without_the_watched_report_day_the_count_goes_stale(tree):
    """The figures do not read a referral's ``reported_on``; the to-do's "not reported" does. Without it among the
    watched dates, recording a report keeps the counts of the day before it."""
    referral = tree.placed_referral
    replace_the_triggers([dataclasses.replace(w, list_dates=()) for w in stale.WATCHED])
    store_all()
    services.referral_report(referral=referral, reported_on=D(2018, 9, 3), by=None)
    stored = ReportSnapshot.objects.get(organisation=tree.ward1, day=TODAY, part=TODO_COUNTS).figures
    assert stored["not_reported"] == 1
    assert fresh_counts(tree.ward1)[TODO_COUNTS]["not_reported"] == 0
