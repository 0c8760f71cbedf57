"""The stored tracking book's gaps (``ReportSnapshot`` part "tracking_book", ``snapshots.tracking_book_on``): the
committees without an introduction and the wards without a reception in the day's year. Never stepped: counted whole
when not stored, read back when stored, a past day's and a large subtree's today's. Stored by the organisations'
keys, so a rename or a corrected code shows as ``figures.tracking_book_activity`` would show it; every stored day
equals a fresh count after each write that changes it."""

import datetime

import pytest
from django.utils import timezone

from branches import services as branch_services
from branches.models import Organisation
from members import services
from members.models import Exemption
from reports import figures, snapshots, steps
from reports.models import ReportSnapshot
from reports.report import build_report
from tests.factories import make_referral
from tests.reports.test_snapshots import tree  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db

D = datetime.date
ONE_DAY = datetime.timedelta(days=1)
DAYS = [D(2018, 3, 31), D(2018, 9, 30)]


@pytest.fixture(autouse=True)
def large(monkeypatch):
    """Every subtree counts as large (the factories' tree has a dozen organisations): every one stores its days."""
    monkeypatch.setattr(steps, "STEPPED_FROM", 0)


def stored_books():
    return ReportSnapshot.objects.filter(part=ReportSnapshot.Part.TRACKING_BOOK)


def book_on(organisation, day):
    return snapshots.tracking_book_on(organisation, day.year, day)


def store_all() -> dict:
    stored = {}
    for organisation in Organisation.objects.order_by("path"):
        for day in DAYS:
            stored[organisation.pk, day] = book_on(organisation, day)
    assert stored_books().count() == len(stored)
    return stored


def assert_exact(before: dict, *, changed: bool = True) -> None:
    """Every stored and read day equals a fresh count; ``changed``: the write changed some stored day's (so a
    snapshot kept stale would fail)."""
    fresh = {
        (o.pk, day): figures.tracking_book_activity(o, day.year, day)
        for o in Organisation.objects.order_by("path")
        for day in DAYS
    }
    for row in stored_books():
        assert snapshots._TRACKING_BOOK.decoded(row.figures) == fresh[row.organisation_id, row.day], row
    for (pk, day), book in fresh.items():
        assert book_on(Organisation.objects.get(pk=pk), day) == book
    assert any(before.get(key) != book for key, book in fresh.items()) == changed


def codes(refs) -> list[str]:
    return [ref.code for ref in refs]


def test_a_past_day_is_counted_once_then_read_back(tree, monkeypatch):  # noqa: F811
    first = book_on(tree.root, D(2018, 9, 30))
    assert first == figures.tracking_book_activity(tree.root, 2018, D(2018, 9, 30))
    assert codes(first.committees_without_introductions) == [tree.committee.code]
    assert codes(first.wards_without_receptions) == [tree.ward2.code]
    monkeypatch.setattr(figures, "tracking_book_activity", lambda *args: pytest.fail("counted"))
    assert book_on(tree.root, D(2018, 9, 30)) == first
    assert build_report(tree.root, D(2018, 9, 30), breakdowns=False).tracking_book == first


def test_an_introduction_back_dated(tree):  # noqa: F811
    before = store_all()
    make_referral(tree.waiting, receiving_ward=tree.ward1, introduced_on=D(2018, 3, 1))
    assert_exact(before)


def test_a_reception_back_dated(tree):  # noqa: F811
    before = store_all()
    services.referral_receive(referral=tree.stalled_referral, received_on=D(2018, 6, 1), by=None)
    assert_exact(before)


def test_an_exemption_back_dated(tree):  # noqa: F811
    before = store_all()
    Exemption.objects.create(member=tree.teacher, kind=Exemption.Kind.INTRODUCTION, started_on=D(2018, 1, 1))
    assert_exact(before)


def test_a_rename_and_a_corrected_code_are_read_with_the_stored_book(tree):  # noqa: F811
    before = store_all()
    branch_services.organisation_rename(
        organisation=tree.committee, name="Đảng bộ Sở Y tế và Dân số", effective_on=D(2018, 10, 1), by=None
    )
    Organisation.objects.filter(pk=tree.ward2.pk).update(code="W2-NEW")
    assert stored_books().count() == len(before)  # neither is a figure: the stored books stay ...
    assert_exact(before)  # ... and name and code them as they are now
    assert codes(book_on(tree.root, D(2018, 9, 30)).wards_without_receptions) == ["W2-NEW"]


def test_todays_is_stored_and_an_introduction_of_today_deletes_it(tree, monkeypatch):  # noqa: F811
    today = timezone.localdate()
    stored = book_on(tree.root, today)
    assert set(stored_books().values_list("day", flat=True)) == {today}  # never stepped: yesterday's not needed
    counted = figures.tracking_book_activity
    monkeypatch.setattr(figures, "tracking_book_activity", lambda *args: pytest.fail("counted"))
    assert book_on(tree.root, today) == stored
    monkeypatch.setattr(figures, "tracking_book_activity", counted)
    make_referral(tree.waiting, receiving_ward=tree.ward1, introduced_on=today)
    assert not stored_books().exists()
    again = book_on(tree.root, today)
    assert again == figures.tracking_book_activity(tree.root, today.year, today) != stored


def test_another_years_book_is_counted_and_not_stored(tree):  # noqa: F811
    assert book_on(tree.root, D(2018, 9, 30)) == snapshots.tracking_book_on(tree.root, 2018, D(2018, 9, 30))
    stored_books().delete()
    book = snapshots.tracking_book_on(tree.root, 2017, D(2018, 9, 30))
    assert book == figures.tracking_book_activity(tree.root, 2017, D(2018, 9, 30))
    assert not stored_books().exists()


def test_a_small_subtree_is_counted_whole_and_stored(tree, monkeypatch):  # noqa: F811
    monkeypatch.setattr(steps, "STEPPED_FROM", 1000)
    assert book_on(tree.root, D(2018, 9, 30)) == figures.tracking_book_activity(tree.root, 2018, D(2018, 9, 30))
    assert set(stored_books().values_list("day", flat=True)) == {D(2018, 9, 30)}
