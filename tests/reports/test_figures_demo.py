"""With the demo data, ``figures`` for the city as of 30/9/2018 gives exactly the seed article's table: 2127 of 2142
members introduced, 99.3%."""

import datetime
import io
import json

import pytest
from django.core.management import call_command

from branches.models import Organisation
from reports import figures
from reports.report import build_report, report_as_json
from tests.factories import make_officer

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

SEED_DAY = datetime.date(2018, 9, 30)

# The seed article's table (issue 5, "Acceptance").
SEED_TABLE = {
    "members": 6150,
    "grassroots_organisations": 35,
    "subordinate_cells": 233,
    "residential_cells": 83,
    "eligible": 2142,
    "introduced": 2127,
    "referral_rate": 99.3,
    "received_from_outside": 3558,
}


def test_the_figures_command_gives_the_seed_table(demo):
    out = io.StringIO()
    call_command("figures", "--org", "DH", "--as-of", "2018-09-30", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert {key: data[key] for key in SEED_TABLE} == SEED_TABLE
    assert data["organisation"]["code"] == "DH"
    assert data["as_of"] == "2018-09-30"


def test_the_headline_and_its_breakdowns_add_up(demo):
    city = Organisation.objects.get(code="DH")
    headline = figures.headline(city, SEED_DAY)
    assert str(headline.referral_rate) == "99.3"
    rows = figures.by_grassroots_organisation(city, SEED_DAY)
    assert len(rows) == headline.grassroots_organisations
    assert sum(row.eligible for row in rows) == headline.eligible
    assert sum(row.introduced for row in rows) == headline.introduced
    assert sum(row.received_from_outside for row in rows) == headline.received_from_outside
    assert sum(row.received for row in rows) == headline.received
    sectors = figures.by_sector(city, SEED_DAY)
    assert sum(row.eligible for row in sectors) == headline.eligible
    assert sum(row.introduced for row in sectors) == headline.introduced
    cells = [row for row in figures.by_ward_and_cell(city, SEED_DAY) if row.kind == Organisation.Kind.RESIDENTIAL_CELL]
    assert len(cells) == headline.residential_cells


def test_the_api_gives_the_seed_table(client, demo):
    client.force_login(make_officer(Organisation.objects.get(code="DH"), role="viewer"))
    response = client.get("/reports/api/figures/", {"org": "DH", "as_of": "2018-09-30"})
    assert response.status_code == 200
    data = response.json()
    assert {key: data[key] for key in SEED_TABLE} == SEED_TABLE
    assert data == json.loads(json.dumps(report_as_json(build_report(Organisation.objects.get(code="DH"), SEED_DAY))))
