"""Headlines carried from a stored day (``reports.snapshots`` with ``reports.steps``): today's from yesterday's for a
large subtree, a past day's from the nearest stored day before it; always the headline computed whole, after writes
of today and back-dated ones; and the home page of a large subtree reads its figures so."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from members import services
from members.selectors import OrganisationOverview
from reports import figures, snapshots, stale, steps
from reports.models import FigureSnapshot
from tests.factories import make_officer, make_referral
from tests.reports.test_snapshots import tree  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db

D = datetime.date
ONE_DAY = datetime.timedelta(days=1)


@pytest.fixture
def large(monkeypatch):
    """Every subtree counts as large (the factories' tree has a dozen organisations)."""
    monkeypatch.setattr(steps, "STEPPED_FROM", 0)


@pytest.fixture
def counted_whole(monkeypatch) -> list:
    """The headlines computed whole from now on (``figures.headline``'s calls), still computed."""
    calls = []
    whole = figures.headline
    monkeypatch.setattr(figures, "headline", lambda *args: calls.append(args) or whole(*args))
    return calls


def stored_days(organisation) -> set[datetime.date]:
    return set(FigureSnapshot.objects.filter(organisation=organisation).values_list("day", flat=True))


def test_todays_headline_is_carried_from_yesterdays_stored_one_and_stored(tree, large, monkeypatch):  # noqa: F811
    today = timezone.localdate()
    whole = figures.headline(tree.root, today)
    assert snapshots.headline_on(tree.root, today) == whole
    assert stored_days(tree.root) == {today - ONE_DAY, today}

    monkeypatch.setattr(figures, "headline", lambda *args: pytest.fail("computed whole"))
    monkeypatch.setattr(steps, "stepped", lambda *args: pytest.fail("stepped"))
    with CaptureQueriesContext(connection) as queries:
        assert snapshots.headline_on(tree.root, today) == whole
    assert len(queries) == 2  # the subtree's size, today's stored headline


def test_a_write_of_today_is_in_todays_carried_headline(tree, large):  # noqa: F811
    today = timezone.localdate()
    snapshots.headline_on(tree.root, today)
    make_referral(tree.waiting, receiving_ward=tree.ward1, introduced_on=today)
    assert stored_days(tree.root) == {today - ONE_DAY}  # today's deleted by the write, yesterday's left alone
    carried = snapshots.headline_on(tree.root, today)
    assert carried == figures.headline(tree.root, today)
    assert carried.awaiting_reception == 2  # the new one, and the stalled one of the tree
    assert carried.awaiting_reception_addressed == 2
    assert stored_days(tree.root) == {today - ONE_DAY, today}


def test_a_write_dated_after_today_keeps_todays_stored_headline_exact(tree, large):  # noqa: F811
    today = timezone.localdate()
    stored = snapshots.headline_on(tree.root, today)
    make_referral(tree.waiting, receiving_ward=tree.ward1, introduced_on=today + ONE_DAY)
    assert stored_days(tree.root) == {today - ONE_DAY, today}
    assert snapshots.headline_on(tree.root, today) == stored == figures.headline(tree.root, today)
    assert figures.headline(tree.root, today + ONE_DAY) != stored  # the row counts from its day


def test_a_back_dated_write_makes_yesterday_computed_again(tree, large):  # noqa: F811
    today = timezone.localdate()
    snapshots.headline_on(tree.root, today)
    services.referral_receive(referral=tree.stalled_referral, received_on=D(2018, 10, 1), by=None)
    assert stored_days(tree.root) == set()
    assert snapshots.headline_on(tree.root, today) == figures.headline(tree.root, today)
    assert stored_days(tree.root) == {today - ONE_DAY, today}


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_todays_headline_is_not_stored_while_another_transaction_writes(tree, large):  # noqa: F811
    """As a past day's (``test_nothing_is_stored_while_another_transaction_writes``): computed and shown, not
    stored, while a write holds the lock."""
    import psycopg2

    today = timezone.localdate()
    settings = connection.settings_dict
    other = psycopg2.connect(
        host=settings["HOST"], port=settings["PORT"] or 5432, user=settings["USER"], dbname=settings["NAME"]
    )
    try:
        other.cursor().execute("SELECT pg_advisory_xact_lock_shared(%s)", [stale.LOCK_KEY])
        assert snapshots.headline_on(tree.root, today) == figures.headline(tree.root, today)
        assert stored_days(tree.root) == set()
        other.rollback()
        snapshots.headline_on(tree.root, today)
        assert stored_days(tree.root) == {today - ONE_DAY, today}
    finally:
        other.close()


def test_a_past_day_is_carried_from_the_nearest_stored_day_before_it(tree, large, monkeypatch):  # noqa: F811
    snapshots.headline_on(tree.root, D(2018, 5, 1))  # computed whole, stored
    whole = figures.headline
    monkeypatch.setattr(figures, "headline", lambda *args: pytest.fail("computed whole"))
    carried = snapshots.headline_on(tree.root, D(2018, 5, 31))  # stalled from 2 June: not yet
    also = snapshots.headline_on(tree.root, D(2018, 6, 10))  # from the stored 31 May
    assert carried == whole(tree.root, D(2018, 5, 31))
    assert also == whole(tree.root, D(2018, 6, 10))
    assert (carried.stalled, also.stalled) == (0, 1)
    assert stored_days(tree.root) == {D(2018, 5, 1), D(2018, 5, 31), D(2018, 6, 10)}


def test_a_day_further_than_a_step_is_computed_whole(tree, large, counted_whole):  # noqa: F811
    snapshots.headline_on(tree.root, D(2018, 1, 1))
    snapshots.headline_on(tree.root, D(2018, 1, 1) + datetime.timedelta(days=steps.MAX_STEP_DAYS + 1))
    assert len(counted_whole) == 2


def test_no_step_over_a_restructure(tree, large, counted_whole):  # noqa: F811
    snapshots.headline_on(tree.root, D(2018, 1, 1))
    tree.ward2.valid_to = D(2018, 1, 5)
    tree.ward2.successor = tree.ward1
    tree.ward2.save()
    assert snapshots.headline_on(tree.root, D(2018, 1, 10)) == figures.headline(tree.root, D(2018, 1, 10))
    assert len(counted_whole) == 3  # 1 January, 10 January (the step refused), and the check


def test_a_small_subtree_is_counted_whole_without_a_snapshot_of_yesterday(tree):  # noqa: F811
    today = timezone.localdate()
    assert not steps.pays(tree.root)  # a dozen organisations
    assert snapshots.headline_on(tree.root, today) == figures.headline(tree.root, today)
    assert stored_days(tree.root) == {today}


def test_the_home_page_of_a_large_subtree_reads_the_carried_headline(client, tree, large):  # noqa: F811
    today = timezone.localdate()
    officer = make_officer(tree.root)
    client.force_login(officer)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    [(_post, overview)] = response.context["posts"]
    assert overview == OrganisationOverview.of_headline(tree.root, today, figures.headline(tree.root, today))
    assert stored_days(tree.root) == {today - ONE_DAY, today}
