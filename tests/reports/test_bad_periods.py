"""Finding 6 of issue 10 on the reports side: a year or a day outside 1930–2100, or not a year at all, is a 400 with a
message (the API, the workbook) or a form error (the dashboard), never a 500; the commands say so too."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from tests.factories import make_officer, make_tree

pytestmark = pytest.mark.django_db

HUGE_YEARS = ["99999", "0", "-1", "1e5", "99999999999999999999", "1929", "2101", "２０１８", "20 18"]
FAR_DAYS = ["0001-01-01", "9999-12-31", "1929-12-31", "2101-01-01", "99999-01-01", "+2018-01-01"]


@pytest.fixture
def tree():
    return make_tree()


@pytest.fixture
def city(client, tree):
    client.force_login(make_officer(tree.root, role="staff"))
    return client


@pytest.mark.parametrize("as_of", FAR_DAYS)
def test_the_api_answers_400_to_a_day_outside_the_bounds(city, tree, as_of):
    response = city.get(reverse("reports:figures-api"), {"org": tree.root.code, "as_of": as_of})

    assert response.status_code == 400
    assert "1930" in response.content.decode()


@pytest.mark.parametrize("year", HUGE_YEARS)
def test_the_api_answers_400_to_a_year_outside_the_bounds(city, tree, year):
    response = city.get(reverse("reports:figures-api"), {"org": tree.root.code, "as_of": "2018-09-30", "year": year})

    assert response.status_code == 400


@pytest.mark.parametrize("year", HUGE_YEARS)
def test_the_workbook_answers_400_to_a_year_outside_the_bounds(city, tree, year):
    response = city.get(reverse("reports:workbook"), {"org": tree.ward1.code, "year": year})

    assert response.status_code == 400
    assert response.content


@pytest.mark.parametrize("as_of", FAR_DAYS)
def test_the_workbook_answers_400_to_a_day_outside_the_bounds(city, tree, as_of):
    response = city.get(reverse("reports:workbook"), {"org": tree.ward1.code, "as_of": as_of})

    assert response.status_code == 400


@pytest.mark.parametrize("as_of", ["01/01/0001", "31/12/9999", "0001-01-01", "01/01/1929"])
def test_the_dashboard_shows_a_form_error_for_a_day_outside_the_bounds(city, tree, as_of):
    response = city.get(reverse("reports:dashboard"), {"as_of": as_of})

    assert response.status_code == 200
    assert response.context["form"].errors["as_of"]


@pytest.mark.parametrize("year", HUGE_YEARS)
def test_the_dashboard_shows_a_form_error_for_a_year_outside_the_bounds(city, tree, year):
    response = city.get(reverse("reports:dashboard-org", args=[tree.ward1.code]), {"year": year})

    assert response.status_code == 200
    assert response.context["form"].errors["year"]


@pytest.mark.parametrize("as_of", FAR_DAYS)
def test_the_figures_command_refuses_a_day_outside_the_bounds(tree, as_of):
    with pytest.raises(CommandError, match="1930"):
        call_command("figures", "--org", tree.root.code, "--as-of", as_of, stdout=io.StringIO())


@pytest.mark.parametrize("year", ["99999", "0", "1e5", "99999999999999999999"])
def test_the_figures_command_refuses_a_year_outside_the_bounds(tree, year):
    with pytest.raises(CommandError, match="--year"):
        call_command("figures", "--org", tree.root.code, "--as-of", "2018-09-30", "--year", year, stdout=io.StringIO())


@pytest.mark.parametrize("year", HUGE_YEARS)
def test_the_export_report_command_refuses_a_year_outside_the_bounds(tree, year, tmp_path):
    with pytest.raises(CommandError):
        call_command(
            "export_report",
            "--org",
            tree.root.code,
            "--year",
            year,
            "-o",
            str(tmp_path / "x.xlsx"),
            stdout=io.StringIO(),
        )


@pytest.mark.parametrize("url_name", ["reports:figures-api", "reports:workbook"])
def test_an_organisation_code_no_organisation_can_have_is_404(city, url_name):
    """A NUL character in ``org`` reached the query: PostgreSQL refuses it, a 500 the fuzz test found."""
    response = city.get(reverse(url_name), {"org": "P1\x00", "year": "2020"})

    assert response.status_code == 404
