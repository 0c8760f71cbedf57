"""The API's workflow steps through their real path: a client with a user's key posts JSON; the same scope, form and
service as the page answer. Refusals are the page's messages (Vietnamese; English when asked), outside the scope or a
step one may not record is 404 as on the page, and nothing is written then."""

import datetime
import json

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from api.models import ApiToken
from members.models import Attendance, Exemption, Meeting, Referral, ResidenceComment, YearEndRating
from tests.factories import make_member, make_officer, make_referral, make_tree

D = datetime.date
pytestmark = pytest.mark.django_db


def today() -> datetime.date:
    return timezone.localdate()


def vi(text: str, **params) -> str:
    with translation.override("vi"):
        message = translation.gettext(text)
    return message % params if params else message


class Api:
    """A client of the API as one user, with a key of theirs."""

    def __init__(self, client, user):
        self.client = client
        _token, self.key = ApiToken.issue(user, "test")

    def post(self, url: str, body=None, **headers):
        return self.client.post(
            url,
            data=json.dumps({} if body is None else body),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {self.key}",
            **headers,
        )

    def get(self, url: str):
        return self.client.get(url, HTTP_AUTHORIZATION=f"Bearer {self.key}")


@pytest.fixture
def tree():
    return make_tree()


@pytest.fixture
def people(tree):
    return {
        "city": make_officer(tree.root, role="staff"),
        "workplace": make_officer(tree.committee, role="staff"),
        "viewer": make_officer(tree.committee, role="viewer"),
        "ward1": make_officer(tree.ward1),
        "ward2": make_officer(tree.ward2),
        "cell1": make_officer(tree.ward1_cell1),
    }


@pytest.fixture
def api(client, people):
    return lambda role: Api(client, people[role])


@pytest.fixture
def member(tree):
    return make_member(tree.cell, full_name="Lê Thị Hoa", admitted_on=D(2010, 5, 1))


def url(name: str, *args) -> str:
    return reverse(f"api:{name}", args=args)


# -- the referral workflow ----------------------------------------------------------------------------------------


def test_the_whole_referral_workflow_through_the_api(api, tree, people, member):
    day = today()
    response = api("workplace").post(
        url("referral-introduce", member.pk),
        {"receiving_ward": tree.ward1.code, "letter_number": "1-GT/ĐU", "introduced_on": day.isoformat()},
    )
    assert response.status_code == 201, response.content
    referral = Referral.objects.get(member=member)
    body = response.json()
    assert body["id"] == referral.pk and body["receiving_ward"] == tree.ward1.code
    assert body["issuing_organisation"] == tree.committee.code
    assert referral.introduced_by == people["workplace"]

    response = api("ward1").post(url("referral-receive", referral.pk), {"received_on": day.isoformat()})
    assert response.status_code == 200, response.content
    assert response.json()["received_on"] == day.isoformat()

    response = api("ward1").post(
        url("referral-place", referral.pk), {"residential_cell": tree.ward1_cell1.code, "placed_on": day.isoformat()}
    )
    assert response.status_code == 200, response.content
    assert response.json()["residential_cell"] == tree.ward1_cell1.code
    assert [p["residential_cell"] for p in response.json()["placements"]] == [tree.ward1_cell1.code]

    # the cell's secretary records that the member reported (dd/mm/yyyy is read too, as on the pages)
    response = api("cell1").post(url("referral-report", referral.pk), {"reported_on": day.strftime("%d/%m/%Y")})
    assert response.status_code == 200, response.content

    response = api("ward1").post(
        url("referral-end", referral.pk), {"ended_on": day.isoformat(), "end_reason": "other", "notes": "chuyển"}
    )
    assert response.status_code == 200, response.content
    assert response.json()["referral"]["ended_on"] == day.isoformat()
    assert response.json()["new_referral"] is None
    referral.refresh_from_db()
    assert (referral.received_by, referral.placed_on, referral.reported_on, referral.end_reason) == (
        people["ward1"],
        day,
        day,
        "other",
    )
    assert referral.history.first().history_user == people["ward1"]


def test_moved_residence_ends_and_introduces_in_one_step(api, tree, member):
    referral = make_referral(
        member,
        receiving_ward=tree.ward1,
        issuing_organisation=tree.committee,
        introduced_on=D(2024, 3, 1),
        received_on=D(2024, 3, 5),
    )
    response = api("workplace").post(
        url("referral-end", referral.pk),
        {
            "ended_on": today().isoformat(),
            "end_reason": "moved_residence",
            "new_ward": tree.ward2.code,
            "new_letter_number": "9-GT/ĐU",
        },
    )
    assert response.status_code == 200, response.content
    new = Referral.objects.get(member=member, ended_on__isnull=True)
    assert response.json()["new_referral"]["id"] == new.pk
    assert new.receiving_ward == tree.ward2 and new.letter_number == "9-GT/ĐU"


def test_a_refusal_is_the_pages_message_in_vietnamese(api, client, tree, people, member):
    referral = make_referral(
        member, receiving_ward=tree.ward1, issuing_organisation=tree.committee, received_on=D(2024, 3, 5)
    )
    expected = vi("This referral was already received on %(date)s.", date="05/03/2024")
    response = api("ward1").post(url("referral-receive", referral.pk), {"received_on": today().isoformat()})
    assert response.status_code == 400
    assert response.json() == {"received_on": [expected]}
    # the page says the same
    client.force_login(people["ward1"])
    page = client.post(
        reverse("members:referral-receive", args=[referral.pk]), {"received_on": today().strftime("%d/%m/%Y")}
    )
    assert page.context["form"].errors["received_on"] == [expected]


def test_field_refusals_are_the_forms(api, tree, member):
    referral = make_referral(member, receiving_ward=tree.ward1, issuing_organisation=tree.committee)
    ward1 = api("ward1")
    future = (today() + datetime.timedelta(days=3)).isoformat()
    response = ward1.post(url("referral-receive", referral.pk), {"received_on": future})
    assert response.status_code == 400 and list(response.json()) == ["received_on"]
    assert ward1.post(url("referral-receive", referral.pk), {"received_on": "31/02/2026"}).json() == {
        "received_on": [vi("This date does not exist.")]
    }
    assert ward1.post(url("referral-receive", referral.pk), {}).json() == {
        "received_on": [vi("This field is required.")]
    }
    # a cell of another ward is not a choice: the form's message
    response = ward1.post(
        url("referral-place", referral.pk), {"residential_cell": tree.ward2_cell1.code, "placed_on": "01/01/2025"}
    )
    assert response.status_code == 400 and list(response.json()) == ["residential_cell"]
    referral.refresh_from_db()
    assert referral.received_on is None and referral.residential_cell is None


def test_english_when_the_client_asks(api, tree, member):
    referral = make_referral(
        member, receiving_ward=tree.ward1, issuing_organisation=tree.committee, received_on=D(2024, 3, 5)
    )
    response = api("ward1").post(
        url("referral-receive", referral.pk), {"received_on": "2024-03-06"}, HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9"
    )
    assert response.json() == {"received_on": ["This referral was already received on 05/03/2024."]}
    assert response["Content-Language"] == "en"


@pytest.mark.parametrize(
    "body",
    [[], "text", 7, {"received_on": ["2024-03-06"]}, {"received_on": {"day": 6}}, {"received_on": "2024-03-06\x00"}],
)
def test_a_body_that_is_not_the_steps_is_400_never_500(api, tree, member, body):
    referral = make_referral(member, receiving_ward=tree.ward1, issuing_organisation=tree.committee)
    response = api("ward1").post(url("referral-receive", referral.pk), body)
    assert response.status_code == 400
    assert all(isinstance(messages, list) for messages in response.json().values())
    assert Referral.objects.get(pk=referral.pk).received_on is None


def test_not_json_and_no_key(api, client, tree, member):
    referral = make_referral(member, receiving_ward=tree.ward1, issuing_organisation=tree.committee)
    ward1 = api("ward1")
    broken = client.post(
        url("referral-receive", referral.pk),
        data="{not json",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {ward1.key}",
    )
    assert broken.status_code == 400 and "detail" in broken.json()
    form = client.post(
        url("referral-receive", referral.pk), {"received_on": "06/03/2024"}, HTTP_AUTHORIZATION=f"Bearer {ward1.key}"
    )
    assert form.status_code == 415
    anonymous = client.post(url("referral-receive", referral.pk), "{}", content_type="application/json")
    assert anonymous.status_code == 401
    assert ward1.get(url("referral-receive", referral.pk)).status_code == 405
    assert Referral.objects.get(pk=referral.pk).received_on is None


@pytest.mark.parametrize(
    ("role", "name", "body"),
    [
        ("ward2", "referral-receive", {"received_on": "2024-03-06"}),  # another ward's referral
        ("workplace", "referral-receive", {"received_on": "2024-03-06"}),  # the workplace does not receive
        ("viewer", "referral-end", {"ended_on": "2024-03-06", "end_reason": "other"}),  # read-only post
        ("cell1", "referral-place", {"residential_cell": "x", "placed_on": "2024-03-06"}),
        ("ward2", "referral-report", {"reported_on": "2024-03-06"}),
    ],
)
def test_outside_the_scope_or_a_step_one_may_not_record_is_404(api, tree, member, role, name, body):
    referral = make_referral(member, receiving_ward=tree.ward1, issuing_organisation=tree.committee)
    before = list(Referral.objects.values())
    response = api(role).post(url(name, referral.pk), body)
    assert response.status_code == 404
    assert response.json() == {"detail": vi("Not found.")}
    assert list(Referral.objects.values()) == before


def test_introduce_outside_the_scope_is_404(api, tree, member):
    body = {"receiving_ward": tree.ward1.code, "letter_number": "1", "introduced_on": today().isoformat()}
    assert api("ward1").post(url("referral-introduce", member.pk), body).status_code == 404
    assert api("viewer").post(url("referral-introduce", member.pk), body).status_code == 404
    assert not Referral.objects.exists()


def test_a_step_costs_a_bounded_number_of_queries(api, tree, member, django_assert_max_num_queries):
    referral = make_referral(member, receiving_ward=tree.ward1, issuing_organisation=tree.committee)
    ward1 = api("ward1")
    # the service's own (the page's receive costs 39 with its session and redirect), the key, the throttle, the
    # referral read again for the answer: 47 on SQLite
    with django_assert_max_num_queries(50):
        assert ward1.post(url("referral-receive", referral.pk), {"received_on": "2024-03-06"}).status_code == 200


# -- meetings and attendance --------------------------------------------------------------------------------------


@pytest.fixture
def placed(tree, member):
    return make_referral(
        member,
        receiving_ward=tree.ward1,
        issuing_organisation=tree.committee,
        introduced_on=D(2024, 3, 1),
        received_on=D(2024, 3, 5),
        residential_cell=tree.ward1_cell1,
        placed_on=D(2024, 3, 6),
    )


def test_meeting_attendance_and_correction(api, tree, placed, member):
    cell1 = api("cell1")
    body = {"held_on": "2024-06-01", "kind": "periodic", "half_year": "2024-1", "summary": "Họp chi bộ"}
    response = cell1.post(url("meeting-create", tree.ward1_cell1.pk), body)
    assert response.status_code == 201, response.content
    meeting = Meeting.objects.get()
    assert response.json()["id"] == meeting.pk and response.json()["residential_cell"] == tree.ward1_cell1.code

    # the same meeting posted twice: 409, naming the meeting recorded the first time (the page leads to it)
    again = cell1.post(url("meeting-create", tree.ward1_cell1.pk), body)
    assert again.status_code == 409
    assert again.json()["meeting"] == meeting.pk and again.json()["detail"]
    assert Meeting.objects.count() == 1

    response = cell1.post(url("attendance-mark", meeting.pk, member.pk), {"status": "excused", "reason": "Ốm"})
    assert response.status_code == 200, response.content
    assert Attendance.objects.get().reason == "Ốm"
    wrong = cell1.post(url("attendance-mark", meeting.pk, member.pk), {"status": "late"})
    assert wrong.json() == {"status": [vi("Choose present, excused or absent.")]}

    response = cell1.post(url("meeting-update", meeting.pk), {**body, "summary": "Sửa"})
    assert response.status_code == 200 and response.json()["summary"] == "Sửa"
    assert [a["status"] for a in response.json()["attendance"]] == ["excused"]
    response = cell1.post(url("meeting-update", meeting.pk), {**body, "half_year": "2023-1"})
    assert response.json() == {
        "half_year": [vi("Choose the half-year of the date or the one before it.")],
    }


def test_all_present_and_a_member_not_on_the_sheet(api, tree, placed, member):
    meeting = Meeting.objects.create(
        residential_cell=tree.ward1_cell1, held_on=D(2024, 6, 1), kind="periodic", year=2024, half=1
    )
    ward1 = api("ward1")
    assert ward1.post(url("attendance-all-present", meeting.pk)).json() == {"marked": 1}
    assert ward1.post(url("attendance-all-present", meeting.pk)).json() == {"marked": 0}
    stranger = make_member(tree.ward1, full_name="Ngô Văn Lạ")
    response = ward1.post(url("attendance-mark", meeting.pk, stranger.pk), {"status": "present"})
    assert response.status_code == 400
    assert response.json() == {
        "non_field_errors": [
            vi(
                "This member was not placed in %(cell)s on %(date)s.",
                cell=str(tree.ward1_cell1),
                date="01/06/2024",
            )
        ]
    }


def test_meetings_outside_the_scope_are_404(api, tree, placed, member):
    meeting = Meeting.objects.create(
        residential_cell=tree.ward1_cell1, held_on=D(2024, 6, 1), kind="periodic", year=2024, half=1
    )
    body = {"held_on": "2024-06-02", "kind": "periodic", "half_year": "2024-1"}
    for role in ("ward2", "workplace", "viewer"):
        client = api(role)
        assert client.post(url("meeting-create", tree.ward1_cell1.pk), body).status_code == 404, role
        assert client.post(url("meeting-update", meeting.pk), body).status_code == 404, role
        assert client.post(url("attendance-mark", meeting.pk, member.pk), {"status": "present"}).status_code == 404
        assert client.post(url("attendance-all-present", meeting.pk)).status_code == 404, role
    assert Meeting.objects.count() == 1 and not Attendance.objects.exists()


# -- comments and ratings -----------------------------------------------------------------------------------------


def test_comment_written_sent_received_and_the_rating(api, tree, placed, member):
    year = today().year - 1
    body = {"verdict": "good", "written_on": f"{year}-11-20", "keeps_contact": True, "attends_meetings": False}
    response = api("cell1").post(url("comment-write", year, member.pk), body)
    assert response.status_code == 201, response.content
    comment = ResidenceComment.objects.get()
    assert (comment.keeps_contact, comment.attends_meetings, comment.citizen_example) == (True, False, False)

    response = api("cell1").post(url("comment-update", comment.pk), {**body, "text": "Tốt"})
    assert response.status_code == 200 and response.json()["text"] == "Tốt"
    # the cell writes; the ward sends; the workplace records the arrival
    assert api("cell1").post(url("comment-send", comment.pk)).status_code == 404
    response = api("ward1").post(url("comment-send", comment.pk), {"sent_on": f"{year}-11-25"})
    assert response.status_code == 200 and response.json()["sent_on"] == f"{year}-11-25"
    assert api("cell1").post(url("comment-update", comment.pk), body).status_code == 400
    assert api("ward1").post(url("comment-receive", comment.pk)).status_code == 404
    response = api("workplace").post(url("comment-receive", comment.pk), {})
    assert response.status_code == 200 and response.json()["received_on"] == today().isoformat()
    again = api("workplace").post(url("comment-receive", comment.pk), {})
    assert again.status_code == 400
    assert again.json() == {
        "received_on": [vi("This comment was already received on %(date)s.", date=today().strftime("%d/%m/%Y"))]
    }

    response = api("workplace").post(url("rating-record", year, member.pk), {"level": "good"})
    assert response.status_code == 200, response.content
    response = api("workplace").post(url("rating-record", year, member.pk), {"level": "excellent"})
    assert response.status_code == 200 and response.json()["level"] == "excellent"
    assert YearEndRating.objects.get().level == "excellent"
    assert api("ward1").post(url("rating-record", year, member.pk), {"level": "good"}).status_code == 404


def test_a_year_without_a_round_is_404(api, tree, placed, member):
    body = {"verdict": "good", "written_on": "2024-11-20"}
    assert api("cell1").post(url("comment-write", 1999, member.pk), body).status_code == 404
    assert api("cell1").post(url("comment-write", today().year + 1, member.pk), body).status_code == 404
    assert api("workplace").post(url("rating-record", 1999, member.pk), {"level": "good"}).status_code == 404
    assert not ResidenceComment.objects.exists()


# -- exemptions ---------------------------------------------------------------------------------------------------


def test_exemption_set_refused_twice_and_lifted(api, member):
    workplace = api("workplace")
    body = {"kind": "activities", "reason": "Ốm dài ngày", "started_on": "2024-01-10"}
    response = workplace.post(url("exemption-set", member.pk), body)
    assert response.status_code == 201, response.content
    assert response.json()["kind"] == "activities" and response.json()["ended_on"] is None
    again = workplace.post(url("exemption-set", member.pk), body)
    assert again.status_code == 400 and list(again.json()) == ["kind"]
    response = workplace.post(url("exemption-clear", member.pk), {"ended_on": "2024-06-01"})
    assert response.status_code == 200 and response.json()["ended_on"] == "2024-06-01"
    # the ward does not change the member's record: 404, as the member's pages
    assert api("ward1").post(url("exemption-set", member.pk), body).status_code == 404
    assert api("viewer").post(url("exemption-clear", member.pk), {"ended_on": "2024-06-02"}).status_code == 404
    assert Exemption.objects.count() == 1
