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


def test_it_takes_two_queries_fewer(demo, django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    root = Organisation.objects.get(kind=Kind.ROOT)
    with CaptureQueriesContext(connection) as apart:
        figures.headline(root, DEMO_TODAY)
        figures.by_grassroots_organisation(root, DEMO_TODAY)
    with django_assert_num_queries(len(apart) - 2):
        figures.headline_and_grassroots(root, DEMO_TODAY)
