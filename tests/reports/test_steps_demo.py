"""A headline carried from one day to a later one (``reports.steps``) equals the headline computed whole, on the demo
data for pairs of days across its years (a module of its own: the demo's data stays for the module's tests)."""

import datetime

import pytest

from branches.models import Organisation
from reports import figures, steps

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

D = datetime.date
Kind = Organisation.Kind


def test_every_step_of_the_demo_equals_the_whole_headline(demo):
    """Steps of 1 to 31 days across the demo's years, for the city, a grassroots committee and a ward: the same
    figures as computed whole, and at least one figure different between the two days (so a step that added nothing
    would fail)."""
    city = Organisation.objects.get(kind=Kind.ROOT)
    committee = Organisation.objects.filter(kind=Kind.COMMITTEE).order_by("path").first()
    ward = Organisation.objects.filter(kind=Kind.WARD).order_by("path").first()
    pairs = [
        (D(2012, 3, 1), D(2012, 3, 31)),
        (D(2016, 12, 1), D(2016, 12, 31)),
        (D(2018, 9, 29), D(2018, 9, 30)),
        (D(2018, 9, 1), D(2018, 9, 30)),
        (D(2019, 6, 20), D(2019, 7, 10)),
        (D(2024, 12, 31), D(2025, 1, 1)),
    ]
    taken = moved = 0
    for organisation in (city, committee, ward):
        for since, until in pairs:
            base = figures.headline(organisation, since)
            step = steps.stepped(organisation, base, since, until)
            if step is None:
                continue
            taken += 1
            whole = figures.headline(organisation, until)
            assert step == whole, (organisation.code, since, until)
            moved += whole != base
    assert taken >= 12
    assert moved >= 6
