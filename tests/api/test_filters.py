"""The lists' filters (as_of, organisation, changed_since), the cursor pagination, and the schema."""

import datetime

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone, translation

from api.models import ApiToken
from branches.models import OrganisationName
from members.models import Member
from tests.factories import make_member, make_officer, make_referral, make_tree

pytestmark = pytest.mark.django_db

D = datetime.date


@pytest.fixture
def city(db):
    tree = make_tree()
    user = make_officer(tree.root, role="staff", username="thanhuy-api")
    _, key = ApiToken.issue(user, "tests")
    return {"tree": tree, "auth": {"HTTP_AUTHORIZATION": f"Bearer {key}"}}


def ids(client, name, auth, **params) -> list[int]:
    response = client.get(reverse(f"api:{name}-list"), params, **auth)
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_as_of_keeps_the_members_of_the_party_on_that_day(client, city):
    tree = city["tree"]
    old = make_member(tree.cell, admitted_on=D(2000, 1, 1))
    new = make_member(tree.cell, admitted_on=D(2020, 1, 1))
    left = make_member(tree.cell, admitted_on=D(2000, 1, 1), left_on=D(2010, 1, 1), left_reason="died")
    assert ids(client, "member", city["auth"], as_of="2015-06-30") == [old.pk]
    assert set(ids(client, "member", city["auth"])) == {old.pk, new.pk, left.pk}


def test_as_of_keeps_the_referrals_open_on_that_day(client, city):
    tree = city["tree"]
    member = make_member(tree.cell)
    referral = make_referral(member, receiving_ward=tree.ward1, introduced_on=D(2024, 3, 1))
    assert ids(client, "referral", city["auth"], as_of="2024-02-28") == []
    assert ids(client, "referral", city["auth"], as_of="2024-03-01") == [referral.pk]


def test_organisation_keeps_its_subtree(client, city):
    tree = city["tree"]
    at_committee = make_member(tree.cell)
    at_school = make_member(tree.grassroots_cell)
    assert ids(client, "member", city["auth"], organisation=tree.committee.code) == [at_committee.pk]
    assert ids(client, "member", city["auth"], organisation=tree.grassroots_cell.code) == [at_school.pk]
    organisations = client.get(reverse("api:organisation-list"), {"organisation": tree.ward1.code}, **city["auth"])
    assert {row["code"] for row in organisations.json()["results"]} == {
        tree.ward1.code,
        tree.ward1_cell1.code,
        tree.ward1_cell2.code,
    }


def test_the_tree_as_of_a_day_has_the_names_of_that_day(client, city):
    ward = city["tree"].ward1
    OrganisationName.objects.create(
        organisation=ward, name="Đảng bộ Phường Cũ", valid_from=D(2000, 1, 1), valid_to=D(2020, 1, 1)
    )
    rows = client.get(reverse("api:organisation-list"), {"as_of": "2019-06-30"}, **city["auth"]).json()["results"]
    assert next(row for row in rows if row["code"] == ward.code)["name"] == "Đảng bộ Phường Cũ"
    body = client.get(reverse("api:organisation-detail", args=[ward.pk]), **city["auth"]).json()
    assert body["name"] == ward.name
    assert body["parent"] == city["tree"].root.code


def test_changed_since_keeps_the_rows_changed_at_or_after_the_moment(client, city):
    tree = city["tree"]
    unchanged = make_member(tree.cell)
    changed = make_member(tree.cell)
    Member.history.filter(id=unchanged.pk).update(history_date=timezone.now() - datetime.timedelta(days=2))
    Member.history.filter(id=changed.pk).update(history_date=timezone.now() - datetime.timedelta(days=2))
    moment = timezone.now() - datetime.timedelta(days=1)
    changed.phone = "0912345678"
    changed.save()
    assert ids(client, "member", city["auth"], changed_since=moment.isoformat()) == [changed.pk]
    # a naive moment is Vietnam's time; a date alone is its midnight
    naive = timezone.localtime(moment).replace(tzinfo=None).isoformat()
    assert ids(client, "member", city["auth"], changed_since=naive) == [changed.pk]
    day = timezone.localdate(moment).isoformat()
    assert changed.pk in ids(client, "member", city["auth"], changed_since=day)


def test_a_meeting_counts_as_changed_when_its_attendance_changes(client, city):
    from members.models import Attendance, Meeting

    tree = city["tree"]
    member = make_member(tree.cell)
    meeting = Meeting.objects.create(residential_cell=tree.ward1_cell1, held_on=D(2024, 6, 1), year=2024, half=1)
    Meeting.history.update(history_date=timezone.now() - datetime.timedelta(days=2))
    moment = (timezone.now() - datetime.timedelta(days=1)).isoformat()
    assert ids(client, "meeting", city["auth"], changed_since=moment) == []
    Attendance.objects.create(meeting=meeting, member=member, status="present")
    assert ids(client, "meeting", city["auth"], changed_since=moment) == [meeting.pk]


@pytest.mark.parametrize(
    ("params", "key"),
    [
        ({"as_of": "2024-02-30"}, "as_of"),
        ({"as_of": "30/06/2024"}, "as_of"),
        ({"as_of": "0001-01-01"}, "as_of"),
        ({"as_of": "9999-12-31"}, "as_of"),
        ({"changed_since": "yesterday"}, "changed_since"),
        ({"changed_since": "2024-13-01T00:00:00"}, "changed_since"),
        ({"changed_since": "0001-01-01T00:00:00"}, "changed_since"),
        ({"changed_since": "2024-01-01T00:00:00+99:00"}, "changed_since"),
    ],
)
@pytest.mark.parametrize("name", ["member", "referral", "meeting", "comment", "organisation"])
def test_a_bad_filter_value_is_400_naming_it_in_vietnamese(client, city, name, params, key):
    response = client.get(reverse(f"api:{name}-list"), params, **city["auth"])
    assert response.status_code == 400
    body = response.json()
    assert list(body) == [key]
    assert body[key][0]


def test_the_as_of_message_is_the_apps_own(client, city):
    response = client.get(reverse("api:member-list"), {"as_of": "2024-02-30"}, **city["auth"])
    with translation.override("vi"):
        said = translation.gettext("Enter a date as YYYY-MM-DD between %(first)s and %(last)s.") % {
            "first": "01/01/1930",
            "last": "31/12/2100",
        }
    assert response.json() == {"as_of": [said]}


def test_an_unknown_organisation_or_one_no_code_can_be_is_404(client, city):
    for code in ("NOPE", "a\x00b"):
        response = client.get(reverse("api:member-list"), {"organisation": code}, **city["auth"])
        assert response.status_code == 404


def test_the_cursor_walks_every_row_once_in_bounded_pages(client, city):
    tree = city["tree"]
    made = [make_member(tree.cell).pk for _ in range(7)]
    seen, url, params = [], reverse("api:member-list"), {"page_size": 3}
    while url:
        body = client.get(url, params, **city["auth"]).json()
        assert len(body["results"]) <= 3
        seen += [row["id"] for row in body["results"]]
        url, params = body["next"], {}
    assert seen == sorted(made)


def test_the_page_size_is_capped(client, city, monkeypatch):
    monkeypatch.setattr("api.pagination.ByPrimaryKey.max_page_size", 2)
    for _ in range(3):
        make_member(city["tree"].cell)
    body = client.get(reverse("api:member-list"), {"page_size": 1000}, **city["auth"]).json()
    assert len(body["results"]) == 2
    assert body["next"]


def test_a_forged_cursor_is_404_with_a_message(client, city):
    response = client.get(reverse("api:member-list"), {"cursor": "not-a-cursor"}, **city["auth"])
    assert response.status_code == 404
    with translation.override("vi"):
        said = translation.gettext("This page link (cursor) is not valid: start again from the first page.")
    assert response.json() == {"detail": said}


def test_the_schema_generates_without_warnings(tmp_path):
    # --fail-on-warn raises on any warning; --validate checks it against the OpenAPI 3 specification
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    schema = (tmp_path / "schema.yaml").read_text()
    for path in ("/api/v1/members/", "/api/v1/referrals/{id}/", "/api/v1/meetings/", "/api/v1/figures/"):
        assert f"  {path}:" in schema


def test_the_schema_and_the_description_page_are_served_without_a_cdn(client, db):
    schema = client.get(reverse("api:schema"), {"format": "json"})
    assert schema.status_code == 200
    assert "/api/v1/organisations/" in schema.json()["paths"]
    page = client.get(reverse("api:docs"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "/static/drf_spectacular_sidecar/" in html
    assert "<style" not in html
    assert "<script>" not in html  # every script is a file (the CSP allows no inline script)
    assert "http" not in html.replace(page.wsgi_request.build_absolute_uri("/"), "")
