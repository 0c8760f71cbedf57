"""The API's reads for each demo role, on the permission matrix's small world: a role lists and opens what its pages
show (the same scope functions) and gets 404 for an object outside its scope, exactly as the pages do. A page of a
list costs the same number of queries whatever its size."""

import io
import json

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from api.models import ApiToken
from branches.models import Organisation
from members.models import Attendance, Meeting, ResidenceComment
from tests.factories import make_member, make_organisation, make_referral
from tests.test_permission_matrix import MATRIX, ROLES, world  # noqa: F401 (world is a fixture used below)

pytestmark = pytest.mark.django_db

# object of the matrix's world -> the API's list of it
LISTS = {"member": "member", "referral": "referral", "meeting": "meeting", "comment": "comment"}
# ... and the page that shows that object: who the matrix lets open it (the comments' page lists them for everyone)
PAGES = {
    "member": MATRIX["members:member-detail"][1],
    "referral": MATRIX["members:referral-detail"][1],
    "meeting": MATRIX["members:meeting-detail"][1],
    "comment": MATRIX["members:comment-list"][1],
}
OUTSIDE_ROLES = [role for role in ROLES if role != "thanhuy"]


def bearer(user) -> dict:
    _, key = ApiToken.issue(user, "tests")
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def listed(client, name: str, auth: dict, **params) -> list[dict]:
    """Every row of a list, following the cursor."""
    rows, url = [], reverse(f"api:{name}-list")
    response = client.get(url, params, **auth)
    while True:
        assert response.status_code == 200, response.content
        body = response.json()
        rows += body["results"]
        if not body["next"]:
            return rows
        response = client.get(body["next"], **auth)


def data_queries(captured) -> list[str]:
    """The queries of a request but those of the throttle's cache and the transaction's bookkeeping."""
    return [
        query["sql"]
        for query in captured
        if "cache" not in query["sql"] and not query["sql"].startswith(("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE"))
    ]


@pytest.mark.parametrize("role", ROLES)
def test_each_role_lists_and_opens_its_scope_as_the_pages(client, world, role):  # noqa: F811
    """Inside the role's scope: listed and 200 for the roles whose page shows the object, 404 (and not listed) for
    the others, as the matrix says of the pages."""
    auth = bearer(world["users"][role])
    inside = world["inside"][role]
    for target, name in LISTS.items():
        ids = {row["id"] for row in listed(client, name, auth)}
        detail = client.get(reverse(f"api:{name}-detail", args=[inside[target].pk]), **auth)
        if role in PAGES[target]:
            assert inside[target].pk in ids, (role, name)
            assert detail.status_code == 200, (role, name)
            assert detail.json()["id"] == inside[target].pk
        else:
            assert inside[target].pk not in ids, (role, name)
            assert detail.status_code == 404, (role, name)
    codes = {row["code"] for row in listed(client, "organisation", auth)}
    assert inside["book"].code in codes


@pytest.mark.parametrize("role", OUTSIDE_ROLES)
def test_outside_the_scope_is_404_and_not_listed(client, world, role):  # noqa: F811
    auth = bearer(world["users"][role])
    outside = world["outside"][role]
    for target, name in LISTS.items():
        ids = {row["id"] for row in listed(client, name, auth)}
        assert outside[target].pk not in ids, (role, name)
        response = client.get(reverse(f"api:{name}-detail", args=[outside[target].pk]), **auth)
        assert response.status_code == 404, (role, name)
        assert response.json() == {"detail": "Không tìm thấy."}
    # an organisation outside the scope: not listed, 404 when opened, named in a filter or asked for figures
    book = outside["book"]
    assert book.code not in {row["code"] for row in listed(client, "organisation", auth)}
    assert client.get(reverse("api:organisation-detail", args=[book.pk]), **auth).status_code == 404
    assert client.get(reverse("api:member-list"), {"organisation": book.code}, **auth).status_code == 404
    figures = client.get(reverse("api:figures"), {"organisation": book.code, "as_of": "2024-06-30"}, **auth)
    assert figures.status_code == 404


def test_an_unknown_object_is_the_same_404(client, world):  # noqa: F811
    auth = bearer(world["users"]["phuong1"])
    outside = client.get(reverse("api:member-detail", args=[world["outside"]["phuong1"]["member"].pk]), **auth)
    unknown = client.get(reverse("api:member-detail", args=[10**9]), **auth)
    assert (outside.status_code, outside.content) == (unknown.status_code, unknown.content)


def test_anonymous_requests_are_401_with_a_challenge(client, world):  # noqa: F811
    for name in ("member-list", "referral-list", "meeting-list", "comment-list", "organisation-list", "figures"):
        response = client.get(reverse(f"api:{name}"))
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="api"'
        assert "detail" in response.json()


def test_the_session_of_a_signed_in_user_works_too(client, world):  # noqa: F811
    client.force_login(world["users"]["phuong1"])
    assert client.get(reverse("api:member-list")).status_code == 200


def test_a_member_shows_the_national_id_masked(client, world):  # noqa: F811
    auth = bearer(world["users"]["thanhuy"])
    member = world["inside"]["thanhuy"]["member"]
    body = client.get(reverse("api:member-detail", args=[member.pk]), **auth).json()
    assert body["national_id"] == "••••••••0001"
    assert body["home_organisation"] == member.home_organisation.code
    assert body["card_number"] == member.card_number


def test_a_referral_shows_its_steps_wards_and_cells(client, world):  # noqa: F811
    auth = bearer(world["users"]["phuong1"])
    referral = world["inside"]["phuong1"]["referral"]
    body = client.get(reverse("api:referral-detail", args=[referral.pk]), **auth).json()
    assert body["introduced_on"] == "2024-03-01"
    assert body["received_on"] == "2024-03-05"
    assert body["placed_on"] == "2024-03-06"
    assert body["receiving_ward"] == referral.receiving_ward.code
    assert body["residential_cell"] == referral.residential_cell.code
    assert body["issuing_organisation"] == referral.issuing_organisation.code
    assert body["placements"] == [
        {"residential_cell": referral.residential_cell.code, "started_on": "2024-03-06", "ended_on": None}
    ]


def test_a_meeting_shows_its_attendance(client, world):  # noqa: F811
    meeting = world["inside"]["khupho1"]["meeting"]
    member = world["inside"]["khupho1"]["member"]
    Attendance.objects.create(meeting=meeting, member=member, status="excused", reason="Ốm")
    body = client.get(reverse("api:meeting-detail", args=[meeting.pk]), **bearer(world["users"]["khupho1"])).json()
    assert body["residential_cell"] == meeting.residential_cell.code
    assert body["attendance"] == [
        {"member": member.pk, "card_number": member.card_number, "status": "excused", "reason": "Ốm"}
    ]


def test_figures_are_the_json_of_the_figures_command(client, world):  # noqa: F811
    book = world["inside"]["phuong1"]["book"]
    response = client.get(
        reverse("api:figures"),
        {"organisation": book.code, "as_of": "2024-06-30", "year": "2024"},
        **bearer(world["users"]["phuong1"]),
    )
    assert response.status_code == 200
    out = io.StringIO()
    call_command("figures", org=book.code, as_of="2024-06-30", year="2024", json=True, stdout=out)
    assert response.json() == json.loads(out.getvalue())


def test_figures_need_an_organisation_and_usable_values(client, world):  # noqa: F811
    auth = bearer(world["users"]["thanhuy"])
    url = reverse("api:figures")
    with translation.override("vi"):
        said = translation.gettext("Give an organisation's code.")
    assert client.get(url, **auth).json() == {"organisation": [said]}
    code = world["inside"]["thanhuy"]["book"].code
    for params, key in (({"as_of": "2024-02-30"}, "as_of"), ({"year": "20x4"}, "year"), ({"year": "1999"}, "year")):
        response = client.get(url, {"organisation": code, **params}, **auth)
        assert response.status_code == 400
        assert list(response.json()) == [key]


def add_rows(inside_member, count: int):
    """``count`` more rows of each list in the scope of the ward of ``inside_member``: residential cells, members
    referred and placed like it, a meeting with an attendance for each, and their comments."""
    referral = inside_member.referrals.get()
    ward, cell = referral.receiving_ward, referral.residential_cell
    meeting = Meeting.objects.create(residential_cell=cell, held_on="2024-09-01", kind="periodic", year=2024, half=2)
    for _ in range(count):
        make_organisation(kind=Organisation.Kind.RESIDENTIAL_CELL, parent=ward)
        member = make_member(inside_member.home_organisation)
        make_referral(
            member,
            receiving_ward=ward,
            issuing_organisation=referral.issuing_organisation,
            introduced_on="2024-03-01",
            received_on="2024-03-05",
            residential_cell=cell,
            placed_on="2024-03-06",
        )
        Attendance.objects.create(meeting=meeting, member=member, status="present")
        ResidenceComment.objects.create(
            member=member, year=2023, residential_cell=cell, verdict="good", written_on="2023-11-20"
        )


# list -> the data queries of one page: the token, its last use (written once a minute: here the first time), the
# user's posts (the scope), the keys of the ward's organisations (its subtree; the wards merged into it, for members
# and referrals: ``Access.keys``), the page, and one per prefetched relation
QUERIES = {"member": 6, "referral": 7, "meeting": 6, "comment": 5, "organisation": 4}


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_a_page_costs_the_same_queries_for_2_and_40_rows(client, world, name):  # noqa: F811
    user = world["users"]["phuong1"]
    counts = []
    for extra in (0, 40):
        if extra:
            add_rows(world["inside"]["phuong1"]["member"], extra)
        auth = bearer(user)  # a new token: its first use is written each time
        with CaptureQueriesContext(connection) as captured:
            response = client.get(reverse(f"api:{name}-list"), {"page_size": 100}, **auth)
        assert response.status_code == 200
        rows = response.json()["results"]
        # a meeting's rows are its attendance
        shown = sum(len(row["attendance"]) for row in rows) if name == "meeting" else len(rows)
        assert shown >= extra
        counts.append(len(data_queries(captured.captured_queries)))
    assert counts == [QUERIES[name], QUERIES[name]]
