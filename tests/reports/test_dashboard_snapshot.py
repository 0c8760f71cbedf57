"""The dashboard of a past day reads its headline from the day's snapshot, in the query that reads the trend's
(issue 15): the same numbers as computed, stored on the first visit, and changed by a write that touches the day."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reports import figures, steps
from reports.models import FigureSnapshot, ReportSnapshot
from tests.factories import make_member, make_officer, make_referral
from tests.reports.test_dashboard import DASHBOARD, HEADLINE_KEYS, data, figure_on, today, tree  # noqa: F401

pytestmark = pytest.mark.django_db


def test_a_past_days_headline_is_stored_once_and_read_back_the_same(client, data, today, monkeypatch):  # noqa: F811
    day = today - datetime.timedelta(days=15)
    client.force_login(make_officer(data.root))
    params = {"as_of": day.strftime("%d/%m/%Y")}
    first = client.get(DASHBOARD, params).content.decode()
    assert FigureSnapshot.objects.filter(organisation=data.root, day=day).exists()
    computed = figures.headline(data.root, day)

    def not_again(organisation, as_of):
        raise AssertionError(f"the headline of {as_of} computed again")

    monkeypatch.setattr(figures, "headline", not_again)
    with CaptureQueriesContext(connection) as queries:
        again = client.get(DASHBOARD, params).content.decode()
    for key in HEADLINE_KEYS:
        assert figure_on(first, key) == figure_on(again, key) == str(getattr(computed, key)), key
    assert sum("reports_figuresnapshot" in q["sql"] for q in queries) == 1  # the trend's and the day's together


def test_a_write_on_or_before_the_day_changes_its_stored_headline(client, data, today):  # noqa: F811
    day = today - datetime.timedelta(days=15)
    client.force_login(make_officer(data.root))
    params = {"as_of": day.strftime("%d/%m/%Y")}
    before = client.get(DASHBOARD, params).content.decode()
    make_referral(make_member(data.cell), receiving_ward=data.ward1, introduced_on=day - datetime.timedelta(days=1))
    after = client.get(DASHBOARD, params).content.decode()
    assert int(figure_on(after, "introduced")) == int(figure_on(before, "introduced")) + 1
    assert figure_on(after, "introduced") == str(figures.headline(data.root, day).introduced)


def test_a_wards_dashboard_reads_its_stored_figures_until_a_write_under_it(client, data, today):  # noqa: F811
    """A small subtree's figures of today are stored too: a write in another ward leaves them (it deletes only the
    figures of the organisations it counts under), a write addressed to this ward deletes them."""
    client.force_login(make_officer(data.ward1))
    first = client.get(DASHBOARD).content.decode()
    assert FigureSnapshot.objects.filter(organisation=data.ward1, day=today).exists()
    assert ReportSnapshot.objects.filter(organisation=data.ward1, day=today).exists()

    make_referral(make_member(data.cell), receiving_ward=data.ward2, introduced_on=today)
    assert not FigureSnapshot.objects.filter(organisation=data.root, day=today).exists()
    assert FigureSnapshot.objects.filter(organisation=data.ward1, day=today).exists()
    assert ReportSnapshot.objects.filter(organisation=data.ward1, day=today).exists()
    with CaptureQueriesContext(connection) as queries:
        again = client.get(DASHBOARD).content.decode()
    assert not any("members_member" in q["sql"] for q in queries)  # nothing counted over the members
    for key in HEADLINE_KEYS:
        assert figure_on(again, key) == figure_on(first, key) == str(getattr(figures.headline(data.ward1, today), key))

    make_referral(make_member(data.cell), receiving_ward=data.ward1, introduced_on=today)
    assert not FigureSnapshot.objects.filter(organisation=data.ward1, day=today).exists()
    assert not ReportSnapshot.objects.filter(organisation=data.ward1, day=today).exists()
    after = client.get(DASHBOARD).content.decode()
    for key in HEADLINE_KEYS:
        assert figure_on(after, key) == str(getattr(figures.headline(data.ward1, today), key)), key
    assert any(figure_on(after, key) != figure_on(first, key) for key in HEADLINE_KEYS)


def test_a_large_subtrees_dashboard_reads_todays_stored_figures_until_a_write_of_today(
    client,
    data,  # noqa: F811
    today,  # noqa: F811
    monkeypatch,
):
    """Today's figures of a large subtree are stored by the first view; the next reads them back (no figure counted),
    and a write of today is on the view after it."""
    monkeypatch.setattr(steps, "STEPPED_FROM", 0)  # the factories' tree counts as large
    client.force_login(make_officer(data.root))
    with CaptureQueriesContext(connection) as first_queries:
        first = client.get(DASHBOARD).content.decode()
    assert ReportSnapshot.objects.filter(organisation=data.root, day=today).exists()
    assert FigureSnapshot.objects.filter(organisation=data.root, day=today).exists()
    with CaptureQueriesContext(connection) as queries:
        again = client.get(DASHBOARD).content.decode()
    assert len(queries) < len(first_queries) - 10
    assert not any("members_member" in q["sql"] for q in queries)  # nothing counted over the members
    for key in HEADLINE_KEYS:
        assert figure_on(again, key) == figure_on(first, key) == str(getattr(figures.headline(data.root, today), key))

    make_referral(make_member(data.cell), receiving_ward=data.ward1, introduced_on=today)
    assert not FigureSnapshot.objects.filter(day=today).exists()
    after = client.get(DASHBOARD).content.decode()
    assert int(figure_on(after, "introduced")) == int(figure_on(first, "introduced")) + 1
    for key in HEADLINE_KEYS:
        assert figure_on(after, key) == str(getattr(figures.headline(data.root, today), key)), key
