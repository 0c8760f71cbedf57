"""``figures.headline_and_grassroots``: the headline's members and handovers added up from the grassroots breakdown's
grouped counts are the headline's own, and the breakdown is the same, for the root, a district, a ward and a committee
on several days of the demo data, on both backends (issue 15: the dashboard reads those rows once)."""

import datetime

import pytest

from branches.models import Organisation
from reports import figures
from tests.conftest import DEMO_TODAY

D = datetime.date
Kind = Organisation.Kind
pytestmark = [pytest.mark.slow, pytest.mark.django_db]

DAYS = (D(2018, 9, 30), D(2025, 6, 30), D(2025, 7, 1), DEMO_TODAY)


def organisations() -> list[Organisation]:
    found = [Organisation.objects.get(kind=Kind.ROOT)]
    for kind in (Kind.UPPER_COMMITTEE, Kind.WARD, Kind.COMMITTEE):
        first = Organisation.objects.filter(kind=kind).order_by("path").first()
        if first is not None:
            found.append(first)
    return found


def test_the_headline_added_up_from_the_breakdown_is_the_headlines_own(demo):
    checked = 0
    for organisation in organisations():
        for day in DAYS:
            headline, rows = figures.headline_and_grassroots(organisation, day)
            assert headline == figures.headline(organisation, day), (organisation.code, day)
            assert rows == figures.by_grassroots_organisation(organisation, day), (organisation.code, day)
            checked += headline.received + headline.stalled + headline.members
    assert checked > 0


def test_it_takes_three_queries_fewer_at_the_root(demo, django_assert_num_queries):
    """Two passes fewer, and the shape of the root's lookup of members' homes (``figures._from_outside``) chosen
    once instead of twice."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    root = Organisation.objects.get(kind=Kind.ROOT)
    with CaptureQueriesContext(connection) as apart:
        figures.headline(root, DEMO_TODAY)
        figures.by_grassroots_organisation(root, DEMO_TODAY)
    with django_assert_num_queries(len(apart) - 3):
        figures.headline_and_grassroots(root, DEMO_TODAY)


def test_each_grassroots_row_counts_what_its_own_headline_counts(demo):
    """The breakdown's rows are added up from groups that keep the issuer only for the stalled referrals and the ward
    only for the received and stalled ones: each row still counts its own members, receptions and stalled referrals
    on each side, as its own headline does (received from outside is relative to the breakdown's subtree: not here)."""
    root = Organisation.objects.get(kind=Kind.ROOT)
    same = ("members", "eligible", "introduced", "received", "stalled", "stalled_issued", "stalled_addressed")
    counted = dict.fromkeys(same, 0)
    for day in DAYS:
        _headline, rows = figures.headline_and_grassroots(root, day)
        for row in rows:
            own = figures.headline(Organisation.objects.get(code=row.code), day)
            assert {name: getattr(row, name) for name in same} == {name: getattr(own, name) for name in same}, (
                row.code,
                day,
            )
            for name in same:
                counted[name] += getattr(row, name)
    assert all(counted.values()), counted
