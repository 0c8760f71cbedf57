"""A member's national ID (decree 13/2023/NĐ-CP, issue 10 finding 10): shown masked to everyone who sees the member,
in full only to the member's own committees (the workplace that keeps the record, the ward that receives the member
now) on the member's page, through a "show" step that is logged."""

import datetime

import pytest
from django.urls import reverse

from audit.models import AccessLog
from dongha76.privacy import mask_national_id
from members import services
from members.models import Member, Referral
from tests.factories import make_member, make_officer, make_referral

D = datetime.date
NATIONAL_ID = "045060100022"
MASKED = "••••••••0022"

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(tree):
    member = make_member(tree.cell, national_id=NATIONAL_ID, phone="0973425075")
    make_referral(
        member,
        receiving_ward=tree.ward1,
        issuing_organisation=tree.committee,
        received_on=D(2024, 3, 5),
        residential_cell=tree.ward1_cell1,
        placed_on=D(2024, 3, 6),
    )
    return member


@pytest.fixture
def users(tree):
    return {
        "city": make_officer(tree.root, role="staff"),
        "workplace": make_officer(tree.committee, role="staff"),
        "ward": make_officer(tree.ward1),
        "cell": make_officer(tree.ward1_cell1),
        "viewer": make_officer(tree.committee, role="viewer"),
    }


def detail(client, user, member):
    client.force_login(user)
    return client.get(reverse("members:member-detail", args=[member.pk])).content.decode()


def show(client, user, member, **headers):
    client.force_login(user)
    return client.post(reverse("members:member-national-id", args=[member.pk]), **headers)


def test_the_mask_keeps_the_last_four_digits():
    assert mask_national_id(NATIONAL_ID) == MASKED
    assert mask_national_id("") == ""
    assert mask_national_id("123") == "•••"


@pytest.mark.parametrize("role", ["city", "workplace", "ward", "cell", "viewer"])
def test_everyone_who_sees_the_member_sees_the_id_masked(client, users, member, role):
    page = detail(client, users[role], member)
    assert NATIONAL_ID not in page
    assert MASKED in page


@pytest.mark.parametrize(("role", "may_show"), [("city", True), ("workplace", True), ("ward", True), ("cell", False)])
def test_only_the_members_own_committees_get_the_show_step(client, users, member, role, may_show):
    page = detail(client, users[role], member)
    assert ('id="national-id-show"' in page) == may_show
    response = show(client, users[role], member)
    if may_show:
        assert response.status_code == 200
        assert NATIONAL_ID in response.content.decode()
    else:
        assert response.status_code == 404
        assert not AccessLog.objects.exists()


def test_showing_is_logged_and_answers_htmx_with_the_number_alone(client, users, member, tree):
    response = show(client, users["ward"], member, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    body = response.content.decode()
    assert NATIONAL_ID in body and "<html" not in body
    entry = AccessLog.objects.get()
    assert (entry.user, entry.kind, entry.subject, entry.organisation, entry.address) == (
        users["ward"],
        AccessLog.Kind.NATIONAL_ID_SHOWN,
        member.card_number,
        tree.cell,
        "127.0.0.1",
    )


def test_showing_needs_a_post(client, users, member):
    client.force_login(users["ward"])
    assert client.get(reverse("members:member-national-id", args=[member.pk])).status_code == 405


def test_a_ward_the_member_has_left_no_longer_shows_it(client, users, member):
    Referral.objects.filter(member=member).update(ended_on=D(2024, 6, 1), end_reason=Referral.EndReason.MOVED_RESIDENCE)
    assert 'id="national-id-show"' not in detail(client, users["ward"], member)
    assert show(client, users["ward"], member).status_code == 404


def test_the_history_shows_a_changed_national_id_masked(client, users, member):
    services.member_update(member=member, by=users["workplace"], national_id="045060100099")

    page = detail(client, users["workplace"], member)

    assert NATIONAL_ID not in page and "045060100099" not in page
    assert MASKED in page and "••••••••0099" in page


def test_the_edit_form_shows_it_to_the_workplace_and_logs_it(client, users, member):
    client.force_login(users["workplace"])

    page = client.get(reverse("members:member-edit", args=[member.pk])).content.decode()

    assert NATIONAL_ID in page
    assert AccessLog.objects.get().kind == AccessLog.Kind.NATIONAL_ID_SHOWN


def test_the_edit_form_answers_no_other_method_than_get_and_post(client, users, member):
    """Second audit: OPTIONS on the edit page answered the form, national ID included, without a log entry."""
    client.force_login(users["workplace"])
    for method in ("options", "put", "delete", "patch"):
        response = getattr(client, method)(reverse("members:member-edit", args=[member.pk]))
        assert response.status_code == 405, method
        assert NATIONAL_ID not in response.content.decode()
    assert not AccessLog.objects.exists()


def test_the_member_form_tells_a_taken_national_id_only_so_often(client, tree, users):
    """The form's "already used" answer about a member the user does not see is logged, and limited per day."""
    hidden = make_member(tree.grassroots_cell, national_id="045190106659")
    client.force_login(users["workplace"])
    url = reverse("members:member-create")
    data = {
        "card_number": "45012345",
        "full_name": "Nguyễn Văn Mới",
        "date_of_birth": "01/01/1990",
        "gender": "male",
        "admitted_on": "19/05/2015",
        "home_organisation": tree.cell.pk,
        "national_id": hidden.national_id,
    }

    first = " ".join(map(str, client.post(url, data).context["form"].errors["national_id"]))
    AccessLog.objects.create(user=users["workplace"], kind=AccessLog.Kind.NATIONAL_ID_FOUND, rows=10)
    later = " ".join(map(str, client.post(url, data).context["form"].errors["national_id"]))

    assert AccessLog.objects.filter(kind=AccessLog.Kind.NATIONAL_ID_FOUND).count() == 2
    assert first != later and first not in later
    assert not Member.objects.filter(card_number="45012345").exists()
