"""``figures.headline_and_grassroots`` against ``headline`` and ``by_grassroots_organisation`` apart, for an
organisation of every kind (an outside one, a subordinate and a residential cell, a grassroots cell) and one ended
before the day asked (review of issue 15: the dashboard of any organisation a user may open takes it)."""

import datetime

import pytest

from branches.models import Organisation
from reports import figures
from tests.conftest import DEMO_TODAY

Kind = Organisation.Kind
pytestmark = [pytest.mark.slow, pytest.mark.django_db]

DAYS = (datetime.date(2025, 6, 30), DEMO_TODAY)


def test_every_kind_and_an_ended_one(demo):
    chosen = [Organisation.objects.filter(kind=kind).order_by("path").first() for kind in Kind.values]
    chosen.append(Organisation.objects.filter(valid_to__isnull=False).order_by("valid_to").first())
    checked = [organisation for organisation in chosen if organisation is not None]
    assert len(checked) >= 6
    for organisation in checked:
        for day in DAYS:
            headline, rows = figures.headline_and_grassroots(organisation, day)
            assert headline == figures.headline(organisation, day), (organisation.code, day)
            assert rows == figures.by_grassroots_organisation(organisation, day), (organisation.code, day)
