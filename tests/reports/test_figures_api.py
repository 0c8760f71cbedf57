"""``GET /reports/api/figures/?org=CODE&as_of=YYYY-MM-DD``: the figures of an organisation in the user's scope as JSON,
the same numbers as ``build_report`` + ``report_as_json``; 404 outside the scope, 400 for a bad date, the login page
for anonymous users."""

import datetime
import json

import pytest
from django.urls import reverse

from members.models import Referral
from reports.report import build_report, report_as_json
from tests.factories import make_member, make_officer, make_referral, make_tree, make_user

pytestmark = pytest.mark.django_db

D = datetime.date
DAY = D(2018, 9, 30)
AS_OF = DAY.isoformat()
URL_NAME = "reports:figures-api"

HEADLINE_KEYS = {
    "members",
    "grassroots_organisations",
    "subordinate_cells",
    "residential_cells",
    "eligible",
    "introduced",
    "referral_rate",
    "received",
    "received_from_outside",
    "awaiting_reception",
    "awaiting_placement",
    "stalled",
    "irregular_attendees",
}
SECTION_KEYS = {
    "organisation",
    "as_of",
    "meetings",
    "comments",
    "tracking_book",
    "by_grassroots_organisation",
    "by_sector",
    "by_ward_and_cell",
    "endings_by_reason",
}


@pytest.fixture
def tree():
    tree = make_tree()
    introduced = [make_member(tree.cell) for _ in range(2)]
    make_member(tree.cell)
    make_referral(
        introduced[0],
        receiving_ward=tree.ward1,
        introduced_on=D(2018, 3, 1),
        received_on=D(2018, 3, 5),
        residential_cell=tree.ward1_cell1,
        placed_on=D(2018, 3, 10),
    )
    make_referral(introduced[1], receiving_ward=tree.ward2, introduced_on=D(2018, 3, 1))
    make_referral(
        make_member(tree.outside),
        receiving_ward=tree.ward1,
        issuing_organisation=tree.outside,
        introduced_on=D(2018, 2, 1),
        received_on=D(2018, 2, 10),
    )
    make_referral(
        make_member(tree.ward2_cell1),  # retired at home, moved out of the city: not eligible
        receiving_ward=tree.ward2,
        introduced_on=D(2017, 2, 1),
        ended_on=D(2018, 4, 1),
        end_reason=Referral.EndReason.MOVED_RESIDENCE,
    )
    return tree


def get(client, org, as_of=AS_OF, **params):
    return client.get(reverse(URL_NAME), {"org": org, "as_of": as_of, **params})


def expected_json(organisation, day=DAY, year=None) -> dict:
    """What the API must answer: the report's JSON form, through a JSON round trip."""
    return json.loads(json.dumps(report_as_json(build_report(organisation, day, year=year))))


def test_the_url():
    assert reverse(URL_NAME) == "/reports/api/figures/"


def test_city_staff_get_the_figures_of_the_root(client, tree):
    client.force_login(make_officer(tree.root, role="staff"))
    response = get(client, tree.root.code)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    data = response.json()
    assert set(data) >= HEADLINE_KEYS | SECTION_KEYS
    assert data == expected_json(tree.root)
    assert data["organisation"] == {"code": tree.root.code, "name": tree.root.name}
    assert data["as_of"] == "2018-09-30"
    assert (data["members"], data["eligible"], data["introduced"], data["referral_rate"]) == (4, 3, 2, 66.7)
    # Received: the placed member and the outsider (every referral the wards received); from outside: the outsider.
    assert (data["received"], data["received_from_outside"]) == (2, 1)
    assert data["endings_by_reason"] == {"moved_residence": 1}


def test_the_names_are_not_escaped(client, tree):
    client.force_login(make_officer(tree.root, role="staff"))
    assert "Đảng bộ thành phố Đông Hà" in get(client, tree.root.code).content.decode()


@pytest.mark.parametrize("code", ["ward1", "ward1_cell1", "committee", "cell"])
def test_city_staff_get_any_organisation_of_the_tree(client, tree, code):
    client.force_login(make_officer(tree.root, role="viewer"))
    organisation = getattr(tree, code)
    response = get(client, organisation.code)
    assert response.status_code == 200
    assert response.json() == expected_json(organisation)


def test_a_superuser_is_city_staff(client, tree):
    client.force_login(make_user(is_superuser=True, is_staff=True))
    assert get(client, tree.root.code).status_code == 200


def test_a_ward_secretary_gets_their_ward_and_its_cells(client, tree):
    client.force_login(make_officer(tree.ward1))
    response = get(client, tree.ward1.code)
    assert response.status_code == 200
    data = response.json()
    assert data == expected_json(tree.ward1)
    # The placed member works at the committee, the outsider outside: both from outside the ward.
    assert (data["members"], data["received"], data["received_from_outside"]) == (0, 2, 2)
    assert data["grassroots_organisations"] == 1
    assert get(client, tree.ward1_cell2.code).json() == expected_json(tree.ward1_cell2)


@pytest.mark.parametrize("code", ["root", "ward2", "ward2_cell1", "committee", "outside"])
def test_a_ward_secretary_gets_404_outside_their_ward(client, tree, code):
    client.force_login(make_officer(tree.ward1))
    assert get(client, getattr(tree, code).code).status_code == 404


def test_a_committee_secretary_gets_their_committee_not_the_root(client, tree):
    client.force_login(make_officer(tree.committee))
    assert get(client, tree.committee.code).json() == expected_json(tree.committee)
    assert get(client, tree.cell.code).status_code == 200
    assert get(client, tree.root.code).status_code == 404
    assert get(client, tree.grassroots_cell.code).status_code == 404


def test_a_user_without_a_post_gets_404(client, tree):
    client.force_login(make_user())
    assert get(client, tree.root.code).status_code == 404


def test_a_post_ended_does_not_give_the_scope(client, tree):
    user = make_officer(tree.root, role="staff")
    user.officer_posts.update(ended_on=D(2010, 1, 1))
    client.force_login(user)
    assert get(client, tree.root.code).status_code == 404


def test_another_trees_organisation_is_404(client, tree):
    other = make_tree()
    client.force_login(make_officer(tree.ward1))
    assert get(client, other.ward1.code).status_code == 404


@pytest.mark.parametrize("code", ["NO-SUCH-ORG", ""])
def test_an_unknown_code_is_404(client, tree, code):
    client.force_login(make_officer(tree.root, role="staff"))
    assert get(client, code).status_code == 404


def test_no_org_parameter_is_404(client, tree):
    client.force_login(make_officer(tree.root, role="staff"))
    assert client.get(reverse(URL_NAME), {"as_of": DAY.isoformat()}).status_code == 404


@pytest.mark.parametrize("as_of", ["30/09/2018", "2018-02-30", "2018-13-01", "yesterday", ""])
def test_a_bad_date_is_400(client, tree, as_of):
    client.force_login(make_officer(tree.root, role="staff"))
    response = get(client, tree.root.code, as_of=as_of)
    assert response.status_code == 400


@pytest.mark.parametrize("year", ["abc", "1999", "2021"])
def test_a_bad_year_is_400(client, tree, year):
    client.force_login(make_officer(tree.root, role="staff"))
    assert get(client, tree.root.code, year=year).status_code == 400


def test_the_comment_round_of_another_year(client, tree):
    client.force_login(make_officer(tree.root, role="staff"))
    data = get(client, tree.root.code, year="2017").json()
    assert data["comments"]["year"] == 2017
    assert data == expected_json(tree.root, year=2017)


def test_the_date_changes_the_numbers(client, tree):
    client.force_login(make_officer(tree.root, role="staff"))
    early = get(client, tree.root.code, as_of="2018-02-15").json()
    assert early == expected_json(tree.root, D(2018, 2, 15))
    assert (early["introduced"], early["received_from_outside"], early["referral_rate"]) == (0, 1, 0.0)
    assert get(client, tree.root.code, as_of="2000-06-01").json()["referral_rate"] is None


def test_anonymous_users_are_sent_to_the_login_page(client, tree):
    response = get(client, tree.root.code)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login") + "?next=")
    assert "/reports/api/figures/" in response.url


def test_only_get(client, tree):
    client.force_login(make_officer(tree.root, role="staff"))
    response = client.post(reverse(URL_NAME) + f"?org={tree.root.code}&as_of=2018-09-30")
    assert response.status_code == 405
