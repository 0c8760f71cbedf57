"""The member screens through the browser's eyes (the test client): who sees which member, search and filters, the
Excel export, the member's file, creating and editing members, members of outside organisations, exemptions."""

import datetime
import html
import io
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from audit.models import AccessLog
from branches.models import Officer
from dongha76.text import search_key
from members.models import Attendance, Exemption, Meeting, Member, Referral, ResidenceComment, YearEndRating
from tests.factories import make_member, make_officer, make_referral, make_user, move_home

pytestmark = pytest.mark.django_db

D = datetime.date
TODAY = timezone.localdate()


def days_ago(n: int) -> datetime.date:
    return TODAY - datetime.timedelta(days=n)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def listed(response) -> set[int]:
    """The members shown on a list page (its table rows carry the member's id)."""
    assert response.status_code == 200
    return {int(pk) for pk in re.findall(r'data-member="(\d+)"', response.content.decode())}


def ids(*members: Member) -> set[int]:
    return {member.pk for member in members}


@pytest.fixture
def people(tree):
    """Members on both sides of the tree, with referrals in each state as of today."""
    own = make_member(tree.cell, full_name="Nguyễn Văn Đức")  # eligible, never introduced
    school = make_member(tree.grassroots_cell, full_name="Lê Thị Hoa")  # another workplace
    placed = make_member(tree.cell, full_name="Trần Văn Nam")
    make_referral(
        placed,
        receiving_ward=tree.ward1,
        introduced_on=days_ago(100),
        received_on=days_ago(90),
        residential_cell=tree.ward1_cell1,
        placed_on=days_ago(80),
    )
    received = make_member(tree.cell, full_name="Phạm Văn Bình")
    make_referral(received, receiving_ward=tree.ward1, introduced_on=days_ago(20), received_on=days_ago(10))
    introduced = make_member(tree.cell, full_name="Hoàng Thị Mai")
    make_referral(introduced, receiving_ward=tree.ward2, introduced_on=days_ago(5))
    stalled = make_member(tree.cell, full_name="Võ Văn Tâm")
    make_referral(stalled, receiving_ward=tree.ward2, introduced_on=days_ago(45))
    outside = make_member(tree.outside, full_name="Đặng Đức Anh")
    make_referral(
        outside,
        receiving_ward=tree.ward1,
        issuing_organisation=tree.outside,
        introduced_on=days_ago(60),
        received_on=days_ago(55),
    )
    outside2 = make_member(tree.outside, full_name="Ngô Văn Sơn")
    make_referral(outside2, receiving_ward=tree.ward2, issuing_organisation=tree.outside, introduced_on=days_ago(60))
    retired = make_member(tree.ward1_cell2, full_name="Bùi Văn Lộc", retired_on=D(2015, 6, 1))
    return {
        "own": own,
        "school": school,
        "placed": placed,
        "received": received,
        "introduced": introduced,
        "stalled": stalled,
        "outside": outside,
        "outside2": outside2,
        "retired": retired,
    }


@pytest.fixture
def cadre(tree):
    return make_officer(tree.committee, role="secretary")


@pytest.fixture
def ward_secretary(tree):
    return make_officer(tree.ward1, role="secretary")


@pytest.fixture
def cell_secretary(tree):
    return make_officer(tree.ward1_cell1, role="secretary")


@pytest.fixture
def city(tree):
    return make_officer(tree.root, role="staff")


LIST = reverse("members:member-list")


# --- who sees whom ------------------------------------------------------------------------------------------------


def test_the_list_needs_a_login(people):
    response = Client().get(LIST)
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_workplace_cadre_sees_the_members_of_their_committee(people, cadre):
    p = people
    assert listed(client_for(cadre).get(LIST)) == ids(
        p["own"], p["placed"], p["received"], p["introduced"], p["stalled"]
    )


def test_ward_secretary_sees_members_referred_to_the_ward_and_its_own(people, ward_secretary):
    p = people
    assert listed(client_for(ward_secretary).get(LIST)) == ids(p["placed"], p["received"], p["retired"])
    # a member of an outside organisation is behind the status filter
    everyone = listed(client_for(ward_secretary).get(LIST, {"status": "all"}))
    assert everyone == ids(p["placed"], p["received"], p["outside"], p["retired"])


def test_cell_secretary_sees_the_members_placed_in_the_cell(people, cell_secretary, tree):
    own_member = make_member(tree.ward1_cell1, full_name="Lý Văn Cường", retired_on=D(2020, 1, 1))
    assert listed(client_for(cell_secretary).get(LIST)) == ids(people["placed"], own_member)


def test_city_staff_see_everyone(people, city):
    assert listed(client_for(city).get(LIST, {"status": "all"})) == ids(*people.values())


def test_a_user_without_a_post_sees_no_one(people):
    assert listed(client_for(make_user()).get(LIST)) == set()


# --- search and filters -------------------------------------------------------------------------------------------


def test_search_without_accents_finds_the_name(people, city):
    assert listed(client_for(city).get(LIST, {"q": "nguyen van duc"})) == ids(people["own"])
    assert listed(client_for(city).get(LIST, {"q": "NGUYỄN  Văn đức"})) == ids(people["own"])
    assert listed(client_for(city).get(LIST, {"q": "duc"})) == ids(people["own"])
    assert listed(client_for(city).get(LIST, {"q": "duc", "status": "all"})) == ids(people["own"], people["outside"])


def test_search_by_the_start_of_the_card_number(people, city):
    member = make_member(people["own"].home_organisation, card_number="77001234")
    assert listed(client_for(city).get(LIST, {"q": "77001"})) == ids(member)


def test_search_stays_inside_the_scope(people, ward_secretary):
    assert listed(client_for(ward_secretary).get(LIST, {"q": "nguyen van duc"})) == set()


def test_filter_by_organisation_takes_its_subtree(people, city, tree):
    client = client_for(city)
    p = people
    assert listed(client.get(LIST, {"organisation": tree.committee.pk})) == ids(
        p["own"], p["placed"], p["received"], p["introduced"], p["stalled"]
    )
    assert listed(client.get(LIST, {"organisation": tree.ward1.pk})) == ids(p["retired"])
    assert listed(client.get(LIST, {"organisation": tree.outside.pk})) == set()  # outside members: a status
    assert listed(client.get(LIST, {"organisation": tree.outside.pk, "status": "outside"})) == ids(
        p["outside"], p["outside2"]
    )


def test_organisation_choices_are_the_visible_ones(people, cadre, tree):
    response = client_for(cadre).get(LIST)
    choices = {org.pk for org in response.context["filter"].form.fields["organisation"].queryset}
    assert choices == {tree.committee.pk, tree.cell.pk}
    # Another organisation is refused, and the list stays inside the scope.
    response = client_for(cadre).get(LIST, {"organisation": tree.ward1.pk})
    assert "organisation" in response.context["filter"].form.errors
    assert listed(response) <= ids(*people.values()) - ids(people["retired"], people["outside"])


def test_filter_working_or_retired(people, city, tree):
    died = make_member(tree.cell, full_name="Đỗ Văn Hải", left_on=D(2022, 1, 1), left_reason="died")
    client = client_for(city)
    assert listed(client.get(LIST, {"working": "retired"})) == ids(people["retired"])
    working = listed(client.get(LIST, {"working": "working"}))
    assert working == ids(*people.values()) - ids(people["retired"], people["outside"], people["outside2"])
    assert listed(client.get(LIST, {"working": "left"})) == ids(died)


def test_filter_by_exemption_in_force_today(people, city):
    Exemption.objects.create(
        member=people["school"], kind=Exemption.Kind.INTRODUCTION, reason="Nhiệm vụ đặc biệt", started_on=D(2020, 1, 1)
    )
    Exemption.objects.create(
        member=people["placed"], kind=Exemption.Kind.ACTIVITIES, reason="Đi học", started_on=days_ago(30)
    )
    # Lifted: not in force today.
    Exemption.objects.create(
        member=people["own"],
        kind=Exemption.Kind.ACTIVITIES,
        reason="Công tác xa",
        started_on=D(2019, 1, 1),
        ended_on=D(2020, 1, 1),
    )
    client = client_for(city)
    assert listed(client.get(LIST, {"exemption": "introduction"})) == ids(people["school"])
    assert listed(client.get(LIST, {"exemption": "activities"})) == ids(people["placed"])
    assert listed(client.get(LIST, {"exemption": "none", "status": "all"})) == ids(*people.values()) - ids(
        people["school"], people["placed"]
    )


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("not_introduced", {"own", "school"}),
        ("introduced", {"introduced", "stalled", "outside2"}),
        ("stalled", {"stalled", "outside2"}),
        ("received", {"received", "outside"}),
        ("placed", {"placed"}),
    ],
)
def test_filter_by_referral_state_today(people, city, state, expected):
    found = listed(client_for(city).get(LIST, {"referral_state": state, "status": "all"}))
    assert found == {people[name].pk for name in expected}


def test_an_ended_referral_leaves_the_member_not_introduced(people, city, tree):
    member = make_member(tree.cell, full_name="Cao Văn Kiên")
    make_referral(
        member, receiving_ward=tree.ward1, introduced_on=D(2020, 1, 1), ended_on=D(2021, 1, 1), end_reason="other"
    )
    assert member.pk in listed(client_for(city).get(LIST, {"referral_state": "not_introduced"}))


def test_the_list_shows_the_state_with_the_ward_and_cell(people, city, tree):
    response = client_for(city).get(LIST, {"q": "tran van nam"})
    body = response.content.decode()
    assert 'data-state="placed"' in body
    assert tree.ward1.name in body and tree.ward1_cell1.name in body
    stalled = client_for(city).get(LIST, {"q": "vo van tam"}).content.decode()
    assert 'data-state="stalled"' in stalled and tree.ward2.name in stalled


def test_filters_combine_and_the_export_link_keeps_them(people, city, tree):
    response = client_for(city).get(LIST, {"organisation": tree.committee.pk, "referral_state": "stalled"})
    assert listed(response) == ids(people["stalled"])
    link = html.unescape(re.search(r'href="([^"]*)" id="member-export-link"', response.content.decode()).group(1))
    assert link.startswith(reverse("members:member-export") + "?")
    assert f"organisation={tree.committee.pk}" in link and "referral_state=stalled" in link
    exported = client_for(city).get(link)
    rows = list(load_workbook(io.BytesIO(downloaded(exported))).active.iter_rows(min_row=4, values_only=True))
    assert [row[2] for row in rows] == ["Võ Văn Tâm"]


def test_sorting_and_pagination(city, tree):
    for n in range(60):
        make_member(tree.cell, full_name=f"Người Thứ {n:02d}")
    client = client_for(city)
    first_page = client.get(LIST)
    assert len(listed(first_page)) == 50
    second_page = client.get(LIST, {"page": 2})
    assert len(listed(second_page)) == 10
    descending = client.get(LIST, {"sort": "-full_name"}).content.decode()
    assert descending.index("Người Thứ 59") < descending.index("Người Thứ 58")
    for column in ("card_number", "date_of_birth", "home_organisation", "working", "referral_state"):
        assert client.get(LIST, {"sort": column}).status_code == 200


# --- Excel export -------------------------------------------------------------------------------------------------


def downloaded(response) -> bytes:
    """A download's bytes: exports are streamed from a temporary file, never built in memory."""
    assert response.streaming
    return b"".join(response.streaming_content)


def test_export_follows_the_lists_sorting_and_is_logged(people, city, tree):
    response = client_for(city).get(
        reverse("members:member-export"), {"sort": "-full_name", "organisation": tree.committee.pk}
    )
    names = [
        row[2] for row in load_workbook(io.BytesIO(downloaded(response))).active.iter_rows(min_row=4, values_only=True)
    ]
    assert names == sorted(names, key=search_key, reverse=True) and len(names) > 1
    entry = AccessLog.objects.get()
    assert (entry.user, entry.kind, entry.organisation, entry.rows) == (
        city,
        AccessLog.Kind.MEMBER_EXPORT,
        tree.committee,
        len(names),
    )
    assert tree.committee.name in entry.subject


def test_export_is_a_workbook_of_the_filtered_rows(people, city):
    response = client_for(city).get(reverse("members:member-export"), {"referral_state": "stalled", "status": "all"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert response["Content-Disposition"] == f'attachment; filename="dang-vien-{TODAY:%d-%m-%Y}.xlsx"'
    sheet = load_workbook(io.BytesIO(downloaded(response))).active
    assert TODAY.strftime("%d/%m/%Y") in sheet["A1"].value
    rows = list(sheet.iter_rows(min_row=4, values_only=True))
    assert {row[2] for row in rows} == {"Võ Văn Tâm", "Ngô Văn Sơn"}
    assert all(isinstance(row[3], datetime.datetime) for row in rows)  # a real date, not text


def test_export_stays_inside_the_scope(people, ward_secretary):
    response = client_for(ward_secretary).get(reverse("members:member-export"), {"status": "all"})
    sheet = load_workbook(io.BytesIO(downloaded(response))).active
    names = {row[2] for row in sheet.iter_rows(min_row=4, values_only=True)}
    assert names == {"Trần Văn Nam", "Phạm Văn Bình", "Đặng Đức Anh", "Bùi Văn Lộc"}


# --- the member's file --------------------------------------------------------------------------------------------


def detail(member) -> str:
    return reverse("members:member-detail", args=[member.pk])


@pytest.mark.parametrize(
    ("role", "inside", "outside"),
    [
        ("cadre", "own", "school"),
        ("cadre", "placed", "outside"),
        ("ward_secretary", "outside", "outside2"),
        ("ward_secretary", "received", "own"),
        ("cell_secretary", "placed", "received"),
        ("cell_secretary", "placed", "retired"),
    ],
)
def test_detail_answers_404_outside_the_scope(people, request, role, inside, outside):
    client = client_for(request.getfixturevalue(role))
    assert client.get(detail(people[inside])).status_code == 200
    assert client.get(detail(people[outside])).status_code == 404


def test_detail_of_a_missing_member_is_404_even_for_city_staff(city):
    assert client_for(city).get(reverse("members:member-detail", args=[999999])).status_code == 404


def test_detail_shows_identity_home_and_timeline(people, city, tree):
    member = people["placed"]
    referral = member.referrals.get()
    referral.reported_on = days_ago(70)
    referral.save()
    meeting = Meeting.objects.create(residential_cell=tree.ward1_cell1, held_on=days_ago(60), year=TODAY.year, half=1)
    Attendance.objects.create(meeting=meeting, member=member, status="excused", reason="Ốm")
    ResidenceComment.objects.create(
        member=member,
        year=2024,
        residential_cell=tree.ward1_cell1,
        verdict="good",
        written_on=days_ago(50),
        sent_on=days_ago(45),
    )
    YearEndRating.objects.create(member=member, year=2024, level="excellent", decided_on=days_ago(40))
    referral.ended_on = days_ago(30)
    referral.end_reason = "moved_residence"
    referral.save()

    response = client_for(city).get(detail(member))
    body = response.content.decode()
    assert member.full_name in body and tree.cell.name in body and tree.committee.name in body
    kinds = re.findall(r'data-kind="(\w+)"', body)
    # Newest first: ended, rating, comment, meeting, reported, placed, received, introduced.
    assert kinds == ["ended", "rating", "comment", "meeting", "reported", "placed", "received", "introduced"]
    assert referral.letter_number in body
    assert "Ốm" in body
    assert 'id="history"' in body


def test_detail_action_buttons_follow_the_rights(people, cadre, ward_secretary, tree):
    body = client_for(cadre).get(detail(people["own"])).content.decode()
    assert 'id="member-edit-link"' in body
    assert reverse("members:referral-introduce", args=[people["own"].pk]) in body
    assert 'id="exemption-set-link"' in body
    # A member with an open referral: no introduction, a link to the referral instead.
    body = client_for(cadre).get(detail(people["received"])).content.decode()
    assert 'id="member-introduce-link"' not in body
    assert reverse("members:referral-detail", args=[people["received"].referrals.get().pk]) in body
    # The ward reads a member it received but does not edit them (a member of a workplace in the tree).
    body = client_for(ward_secretary).get(detail(people["received"])).content.decode()
    assert 'id="member-edit-link"' not in body and 'id="exemption-set-link"' not in body
    # A viewer reads only.
    viewer = make_officer(tree.committee, role=Officer.Role.VIEWER)
    body = client_for(viewer).get(detail(people["own"])).content.decode()
    assert 'id="member-edit-link"' not in body and 'id="member-introduce-link"' not in body


def test_ward_sees_only_its_own_referrals_of_a_member_in_the_timeline(people, ward_secretary, tree):
    member = people["outside"]
    old = member.referrals.get()
    old.ended_on = days_ago(50)
    old.end_reason = "moved_residence"
    old.save()
    make_referral(member, receiving_ward=tree.ward2, issuing_organisation=tree.outside, introduced_on=days_ago(40))
    body = client_for(ward_secretary).get(detail(member)).content.decode()
    assert tree.ward1.name in body
    assert tree.ward2.name not in body


# --- create and edit ----------------------------------------------------------------------------------------------


def member_post(home, **changes) -> dict:
    data = {
        "card_number": "80001234",
        "full_name": "Nguyễn Thị Lan",
        "date_of_birth": "15/04/1985",
        "gender": "female",
        "national_id": "045185000123",
        "phone": "0912345678",
        "admitted_on": "19/05/2010",
        "official_on": "19/05/2011",
        "home_organisation": home.pk,
        "residential_address": "12 Lê Lợi, Phường 1",
    }
    data.update(changes)
    return data


def test_cadre_creates_a_member_of_their_cell(cadre, tree):
    response = client_for(cadre).post(reverse("members:member-create"), member_post(tree.cell), follow=True)
    member = Member.objects.get(card_number="80001234")
    assert response.redirect_chain[-1][0] == detail(member)
    assert (member.home_organisation, member.date_of_birth, member.full_name) == (
        tree.cell,
        D(1985, 4, 15),
        "Nguyễn Thị Lan",
    )
    assert member.history.get().history_user == cadre
    assert len(list(response.context["messages"])) == 1


def test_create_offers_only_cells_of_the_users_workplace(cadre, tree):
    response = client_for(cadre).get(reverse("members:member-create"))
    choices = set(response.context["form"].fields["home_organisation"].queryset)
    assert choices == {tree.cell}
    response = client_for(cadre).post(reverse("members:member-create"), member_post(tree.grassroots_cell))
    assert "home_organisation" in response.context["form"].errors
    assert not Member.objects.filter(card_number="80001234").exists()


def test_city_staff_may_put_a_member_in_any_cell(city, tree):
    choices = set(
        client_for(city).get(reverse("members:member-create")).context["form"].fields["home_organisation"].queryset
    )
    assert {tree.cell, tree.grassroots_cell, tree.ward1_cell1}.issubset(choices)
    assert tree.committee not in choices and tree.outside not in choices


def test_create_with_an_11_digit_national_id_shows_the_error_and_saves_nothing(cadre, tree):
    response = client_for(cadre).post(
        reverse("members:member-create"), member_post(tree.cell, national_id="04518500012")
    )
    assert response.status_code == 200
    assert response.context["form"].errors["national_id"] == ["Số CCCD gồm đúng 12 chữ số."]
    assert "Số CCCD gồm đúng 12 chữ số." in response.content.decode()
    assert not Member.objects.exists()


def test_create_shows_the_services_errors_next_to_the_fields(cadre, tree, people):
    duplicate = member_post(tree.cell, card_number=people["own"].card_number, admitted_on="01/01/2999")
    response = client_for(cadre).post(reverse("members:member-create"), duplicate)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "admitted_on" in errors
    assert Member.objects.count() == len(people)


def test_create_needs_a_workplace_post(cell_secretary, tree):
    assert client_for(cell_secretary).get(reverse("members:member-create")).status_code == 404


def test_edit_saves_through_the_service_with_history(people, cadre, tree):
    member = people["own"]
    url = reverse("members:member-edit", args=[member.pk])
    form = client_for(cadre).get(url).context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    data.update(
        date_of_birth=member.date_of_birth.strftime("%d/%m/%Y"),
        admitted_on=member.admitted_on.strftime("%d/%m/%Y"),
        home_organisation=tree.cell.pk,
        phone="0987654321",
        retired_on="01/01/2024",
    )
    response = client_for(cadre).post(url, data)
    assert response.status_code == 302
    member.refresh_from_db()
    assert (member.phone, member.retired_on) == ("0987654321", D(2024, 1, 1))
    assert member.history.first().history_user == cadre


def test_edit_refuses_a_date_in_the_future(people, cadre, tree):
    member = people["own"]
    url = reverse("members:member-edit", args=[member.pk])
    data = member_post(tree.cell, card_number=member.card_number, national_id="", retired_on="01/01/2999")
    response = client_for(cadre).post(url, data)
    assert response.status_code == 200
    assert "retired_on" in response.context["form"].errors
    member.refresh_from_db()
    assert member.retired_on is None


def test_edit_by_a_viewer_or_outside_the_scope_is_404(people, cadre, ward_secretary, tree):
    viewer = make_officer(tree.committee, role=Officer.Role.VIEWER)
    url = reverse("members:member-edit", args=[people["own"].pk])
    assert client_for(viewer).get(url).status_code == 404
    assert client_for(viewer).post(url, member_post(tree.cell)).status_code == 404
    assert client_for(ward_secretary).get(url).status_code == 404
    assert client_for(cadre).get(reverse("members:member-edit", args=[people["outside"].pk])).status_code == 404


def test_the_ward_edits_a_member_of_an_outside_organisation_it_received(people, ward_secretary, tree):
    url = reverse("members:member-edit", args=[people["outside"].pk])
    response = client_for(ward_secretary).get(url)
    assert response.status_code == 200
    assert set(response.context["form"].fields["home_organisation"].queryset) == {tree.outside}


# --- members of outside organisations -----------------------------------------------------------------------------

OUTSIDE_URL = reverse("members:outside-member-register")


def outside_post(tree, **changes) -> dict:
    data = {
        "card_number": "90005555",
        "full_name": "Trương Văn Hùng",
        "date_of_birth": "02/09/1978",
        "gender": "male",
        "national_id": "",
        "phone": "",
        "admitted_on": "03/02/2004",
        "residential_address": "5 Hùng Vương",
        "outside_organisation": tree.outside.pk,
        "letter_number": "27-GT/ĐU",
        "introduced_on": days_ago(10).strftime("%d/%m/%Y"),
        "receiving_ward": tree.ward1.pk,
        "received_on": days_ago(3).strftime("%d/%m/%Y"),
    }
    data.update(changes)
    return data


def test_ward_registers_a_member_of_an_outside_organisation(ward_secretary, tree):
    response = client_for(ward_secretary).post(OUTSIDE_URL, outside_post(tree))
    member = Member.objects.get(card_number="90005555")
    assert response.status_code == 302 and response["Location"] == detail(member)
    referral = member.referrals.get()
    assert member.home_organisation == tree.outside
    assert (referral.issuing_organisation, referral.receiving_ward, referral.letter_number) == (
        tree.outside,
        tree.ward1,
        "27-GT/ĐU",
    )
    assert (referral.introduced_on, referral.received_on, referral.received_by) == (
        days_ago(10),
        days_ago(3),
        ward_secretary,
    )
    assert referral.state == Referral.State.RECEIVED
    # The ward now sees and edits the member.
    assert client_for(ward_secretary).get(detail(member)).status_code == 200
    assert client_for(ward_secretary).get(reverse("members:member-edit", args=[member.pk])).status_code == 200


def test_outside_registration_defaults_and_choices(ward_secretary, tree):
    form = client_for(ward_secretary).get(OUTSIDE_URL).context["form"]
    assert form["received_on"].value() == TODAY
    assert set(form.fields["receiving_ward"].queryset) == {tree.ward1}
    assert set(form.fields["outside_organisation"].queryset) == {tree.outside}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"received_on": days_ago(20).strftime("%d/%m/%Y")}, "received_on"),  # before the introduction
        ({"received_on": (TODAY + datetime.timedelta(days=1)).strftime("%d/%m/%Y")}, "received_on"),
        ({"introduced_on": "01/01/2003"}, "introduced_on"),  # before the admission
        ({"national_id": "1234"}, "national_id"),
        ({"admitted_on": "01/01/2999"}, "admitted_on"),
    ],
)
def test_outside_registration_refusals_save_nothing(ward_secretary, tree, changes, field):
    response = client_for(ward_secretary).post(OUTSIDE_URL, outside_post(tree, **changes))
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not Member.objects.exists()
    assert not Referral.objects.exists()


def test_outside_registration_rolls_back_the_member_when_the_referral_is_refused(ward_secretary, tree, people):
    # The card number is free but the ward is not the user's: the form refuses it before any write.
    response = client_for(ward_secretary).post(OUTSIDE_URL, outside_post(tree, receiving_ward=tree.ward2.pk))
    assert "receiving_ward" in response.context["form"].errors
    # A duplicate card number: the service refuses the member, nothing is written.
    response = client_for(ward_secretary).post(OUTSIDE_URL, outside_post(tree, card_number=people["own"].card_number))
    assert "card_number" in response.context["form"].errors
    assert Member.objects.count() == len(people)


def test_outside_registration_rolls_back_when_the_reception_step_is_refused(ward_secretary, tree):
    # The ward exists today but did not on the day of the letter: the member is written, then the referral refused.
    tree.ward1.valid_from = days_ago(5)
    tree.ward1.save()
    response = client_for(ward_secretary).post(OUTSIDE_URL, outside_post(tree))
    assert response.status_code == 200
    assert "receiving_ward" in response.context["form"].errors
    assert not Member.objects.exists()
    assert not Referral.objects.exists()


def test_outside_registration_is_for_the_ward_side_only(cadre, cell_secretary, tree):
    viewer = make_officer(tree.ward1, role=Officer.Role.VIEWER)
    for user in (cadre, cell_secretary, viewer):
        assert client_for(user).get(OUTSIDE_URL).status_code == 404
        assert client_for(user).post(OUTSIDE_URL, outside_post(tree)).status_code == 404
    assert not Member.objects.exists()


# --- exemptions ---------------------------------------------------------------------------------------------------


def test_set_and_clear_an_exemption(people, cadre):
    member = people["own"]
    client = client_for(cadre)
    response = client.post(
        reverse("members:exemption-set", args=[member.pk]),
        {"kind": "activities", "reason": "Học tập trung dài hạn", "started_on": days_ago(10).strftime("%d/%m/%Y")},
    )
    assert response.status_code == 302 and response["Location"] == detail(member)
    exemption = Exemption.objects.get(member=member)
    assert (exemption.kind, exemption.started_on, exemption.ended_on, exemption.recorded_by) == (
        "activities",
        days_ago(10),
        None,
        cadre,
    )
    body = client.get(detail(member)).content.decode()
    assert "Học tập trung dài hạn" in body and 'id="exemption-clear-link"' in body

    response = client.post(
        reverse("members:exemption-clear", args=[member.pk]), {"ended_on": TODAY.strftime("%d/%m/%Y")}
    )
    assert response.status_code == 302
    exemption.refresh_from_db()
    assert exemption.ended_on == TODAY


def test_exemption_refusals_show_on_the_form(people, cadre):
    member = people["received"]  # an open referral: cannot be exempt from introduction
    client = client_for(cadre)
    response = client.post(
        reverse("members:exemption-set", args=[member.pk]),
        {"kind": "introduction", "reason": "Nhiệm vụ đặc biệt", "started_on": TODAY.strftime("%d/%m/%Y")},
    )
    assert response.status_code == 200
    assert "kind" in response.context["form"].errors
    response = client.post(
        reverse("members:exemption-clear", args=[member.pk]), {"ended_on": TODAY.strftime("%d/%m/%Y")}
    )
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert not Exemption.objects.exists()


def test_exemptions_only_for_members_one_may_edit(people, ward_secretary, tree):
    viewer = make_officer(tree.committee, role=Officer.Role.VIEWER)
    for user in (viewer, ward_secretary):
        for name in ("exemption-set", "exemption-clear"):
            assert client_for(user).get(reverse(f"members:{name}", args=[people["own"].pk])).status_code == 404


# --- a constant number of queries ---------------------------------------------------------------------------------


def count_queries(client, url) -> int:
    client.get(url)  # warm up (sessions, content types)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def test_the_list_runs_a_constant_number_of_queries(tree, city, cadre):
    def populate(n: int) -> None:
        for i in range(n):
            member = make_member(tree.cell)
            if i % 3 == 0:
                make_referral(
                    member,
                    receiving_ward=tree.ward1,
                    introduced_on=days_ago(60),
                    received_on=days_ago(50),
                    residential_cell=tree.ward1_cell1,
                    placed_on=days_ago(40),
                )
            elif i % 3 == 1:
                make_referral(member, receiving_ward=tree.ward2, introduced_on=days_ago(45))

    populate(10)
    few = {user: count_queries(client_for(user), LIST) for user in (city, cadre)}
    few_filtered = count_queries(client_for(city), f"{LIST}?referral_state=placed&exemption=none&working=working")
    populate(190)
    many = {user: count_queries(client_for(user), LIST) for user in (city, cadre)}
    many_filtered = count_queries(client_for(city), f"{LIST}?referral_state=placed&exemption=none&working=working")
    assert few == many
    assert few_filtered == many_filtered
    export = reverse("members:member-export")
    assert count_queries(client_for(city), export) <= few[city]


def test_the_detail_page_runs_a_constant_number_of_queries(tree, city, cadre):
    def member_with(n: int) -> Member:
        member = make_member(tree.cell, admitted_on=D(1990, 1, 1))
        for i in range(n):
            day = D(1995, 1, 1) + datetime.timedelta(days=30 * i)
            make_referral(
                member,
                receiving_ward=tree.ward1,
                introduced_on=day,
                received_on=day,
                residential_cell=tree.ward1_cell1,
                placed_on=day,
                ended_on=day + datetime.timedelta(days=1),
                end_reason="other",
            )
            meeting, _created = Meeting.objects.get_or_create(  # one meeting of a kind per cell and day
                residential_cell=tree.ward1_cell1, held_on=day, defaults={"year": day.year, "half": 1}
            )
            Attendance.objects.create(meeting=meeting, member=member, status="absent")
            ResidenceComment.objects.create(
                member=member, year=1800 + i, residential_cell=tree.ward1_cell1, verdict="fair", written_on=day
            )
            YearEndRating.objects.create(member=member, year=1800 + i, level="good", decided_on=day)
            Exemption.objects.create(
                member=member,
                kind="activities",
                reason="Công tác xa",
                started_on=day + datetime.timedelta(days=2),
                ended_on=day + datetime.timedelta(days=3),
            )
            member.phone = f"09{i:08d}"
            member.save()
            move_home(member, tree.cell if i % 2 else tree.grassroots_cell, day + datetime.timedelta(days=1))
        return member

    small, big = member_with(10), member_with(200)
    for user in (city, cadre):
        client = client_for(user)
        assert count_queries(client, detail(small)) == count_queries(client, detail(big))
    assert client_for(city).get(detail(big)).content.decode().count("data-kind=") == 200 * 7


def test_the_list_tells_nothing_of_a_referral_out_of_the_readers_sight(tree):
    """Second audit: a ward saw in its member list (and export) the ward and cell a member had moved on to, from a
    referral whose page is 404 to it. The state, ward and cell come from the referrals the reader sees."""
    ward1 = make_officer(tree.ward1)
    member = make_member(tree.grassroots_cell, full_name="Hồ Văn Chuyển")
    make_referral(
        member,
        receiving_ward=tree.ward1,
        introduced_on=D(2020, 3, 1),
        ended_on=D(2024, 1, 1),
        end_reason=Referral.EndReason.MOVED_RESIDENCE,
    )
    elsewhere = make_referral(
        member,
        receiving_ward=tree.ward2,
        introduced_on=D(2024, 1, 1),
        received_on=D(2024, 1, 5),
        residential_cell=tree.ward2_cell1,
        placed_on=D(2024, 1, 6),
    )
    client = client_for(ward1)
    assert client.get(reverse("members:referral-detail", args=[elsewhere.pk])).status_code == 404

    page = client.get(LIST, {"q": "ho van chuyen"}).content.decode()
    exported = load_workbook(
        io.BytesIO(downloaded(client.get(reverse("members:member-export"), {"q": "ho van chuyen"})))
    )
    placed = client.get(LIST, {"referral_state": "placed"})

    assert listed(client.get(LIST, {"q": "ho van chuyen"})) == {member.pk}
    assert tree.ward2.name not in page and tree.ward2_cell1.name not in page
    row = next(exported.active.iter_rows(min_row=4, values_only=True))
    assert (row[8], row[9], row[10]) == ("", "", "") or (row[8], row[9], row[10]) == (None, None, None)
    assert member.pk not in listed(placed)


# --- the list's default and the drill-down filters (issue 13) ---------------------------------------------------


def row_count(response) -> int:
    """The total the list writes for the drill-down checks."""
    assert response.status_code == 200
    return int(re.search(r'data-row-count="(\d+)"', response.content.decode()).group(1))


def test_the_list_shows_the_members_of_today_and_past_and_outside_members_behind_a_status(people, city, tree):
    died = make_member(tree.cell, full_name="Đỗ Văn Hải", left_on=days_ago(30), left_reason="died")
    future = make_member(tree.cell, admitted_on=TODAY + datetime.timedelta(days=3))
    client = client_for(city)
    today = ids(*people.values()) - ids(people["outside"], people["outside2"])
    assert listed(client.get(LIST)) == today
    assert row_count(client.get(LIST)) == len(today)
    assert listed(client.get(LIST, {"status": "past"})) == ids(died)
    assert listed(client.get(LIST, {"status": "outside"})) == ids(people["outside"], people["outside2"])
    assert listed(client.get(LIST, {"status": "all"})) == ids(*people.values(), died, future)
    # "left the party or died" still lists those who left (not narrowed to today's members)
    assert listed(client.get(LIST, {"working": "left"})) == ids(died)
    assert client.get(LIST, {"status": "nonsense"}).status_code == 200  # a form error, not a 500


def test_the_home_page_number_of_members_opens_a_list_of_that_many(people, ward_secretary, tree):
    make_member(tree.ward1_cell1, left_on=days_ago(3), left_reason="died")
    client = client_for(ward_secretary)
    page = client.get(reverse("home")).content.decode()
    figure = r'href="([^"]*)" data-number>\s*<div class="app-figure-value" data-figure="members">([^<]*)<'
    link = re.search(figure, page)
    assert link, "the members figure links to the list"
    assert row_count(client.get(html.unescape(link.group(1)))) == int(link.group(2).replace(".", "")) == 1


def test_filter_to_introduce_and_introduced_count_as_the_dashboard(people, city, tree):
    Exemption.objects.create(
        member=people["school"], kind=Exemption.Kind.ACTIVITIES, reason="Ốm dài ngày", started_on=D(2020, 1, 1)
    )
    client = client_for(city)
    p = people
    # working members of a workplace cell not exempt from introduction (an activities exemption does not count)
    eligible = ids(p["own"], p["school"], p["placed"], p["received"], p["introduced"], p["stalled"])
    assert listed(client.get(LIST, {"introduction": "eligible"})) == eligible
    introduced = ids(p["placed"], p["received"], p["introduced"], p["stalled"])
    assert listed(client.get(LIST, {"introduction": "introduced"})) == introduced
    from reports.figures import headline

    figures = headline(tree.root, TODAY)
    assert (figures.eligible, figures.introduced) == (len(eligible), len(introduced))


def test_the_receiving_ward_filter_follows_a_merger_and_received_counts_every_received_referral(tree, city):
    member = make_member(tree.cell)
    make_referral(member, receiving_ward=tree.ward2, introduced_on=days_ago(50), received_on=days_ago(40))
    tree.ward2.valid_to = days_ago(20)  # ward 2 merged into ward 1: its referrals are ward 1's today
    tree.ward2.successor = tree.ward1
    tree.ward2.save()
    client = client_for(city)
    referrals = reverse("members:referral-list")
    assert row_count(client.get(referrals, {"state": "received", "receiving_ward": tree.ward1.pk})) == 1
    assert row_count(client.get(referrals, {"state": "awaiting_placement", "receiving_ward": tree.ward1.pk})) == 1
    assert row_count(client.get(referrals, {"concerning": tree.committee.pk})) == 1  # issued by it
    assert row_count(client.get(referrals, {"concerning": tree.grassroots_cell.pk})) == 0


def test_the_cell_list_shows_todays_cells_and_those_that_missed_a_half_year(tree, city):
    from members.periods import HalfYear

    over = [h for h in (HalfYear(TODAY.year - 1, 1), HalfYear(TODAY.year - 1, 2)) if h.last_day < TODAY][-1]
    Meeting.objects.create(
        residential_cell=tree.ward1_cell1,
        kind=Meeting.Kind.PERIODIC,
        year=over.year,
        half=over.half,
        held_on=over.last_day,
    )
    tree.ward2_cell2.valid_to = over.last_day  # ended on the half-year's last day: not due
    tree.ward2_cell2.save()
    client = client_for(city)
    cells = reverse("members:cell-list")
    assert row_count(client.get(cells)) == 3  # the cell that ended is not listed
    missed = client.get(cells, {"missed": f"{over.year}-{over.half}"})
    assert row_count(missed) == 2  # ward 1's second cell and ward 2's first
    assert row_count(client.get(cells, {"missed": f"{over.year}-{over.half}", "ward": tree.ward1.pk})) == 1
    assert client.get(cells, {"missed": "2999-1"}).status_code == 200  # not a choice: a form error
