"""Finding 6 of issue 10 on the members side: a year filter or a meeting date outside 1930–2100 gets a form error, never
a 500; and finding 9's date bounds: no birth before 1900, no admission, official day, retirement or leaving after
today, whichever way the member is written (service, form, import's full_clean)."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from members import services
from members.models import Meeting, Member
from tests.factories import make_member, make_officer, make_referral, member_fields

pytestmark = pytest.mark.django_db

D = datetime.date
BAD_YEARS = ["99999", "0", "-1", "1e5", "99999999999999999999", "1929", "2101"]
FAR_DAYS = ["01/01/0001", "31/12/9999", "31/12/1929", "01/01/2101", "0001-01-01"]


@pytest.fixture
def ward_secretary(client, tree):
    client.force_login(make_officer(tree.ward1))
    return client


# -- the referral list's year filter ------------------------------------------------------------------------------


@pytest.mark.parametrize("year", BAD_YEARS)
def test_a_year_outside_the_bounds_is_a_filter_error_on_the_referral_list(ward_secretary, tree, year):
    make_referral(make_member(tree.cell), receiving_ward=tree.ward1)

    response = ward_secretary.get(reverse("members:referral-list"), {"year": year})

    assert response.status_code == 200
    assert response.context["filter"].form.errors["year"]


def test_a_year_inside_the_bounds_filters_the_referral_list(ward_secretary, tree):
    make_referral(make_member(tree.cell), receiving_ward=tree.ward1, introduced_on=D(2024, 3, 1))

    assert len(ward_secretary.get(reverse("members:referral-list"), {"year": "2024"}).context["table"].rows) == 1
    assert len(ward_secretary.get(reverse("members:referral-list"), {"year": "2023"}).context["table"].rows) == 0


# -- meeting dates ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("held_on", FAR_DAYS)
def test_a_far_date_in_the_meeting_form_refresh_falls_back_to_today(ward_secretary, tree, held_on):
    response = ward_secretary.get(reverse("members:meeting-create", args=[tree.ward1_cell1.pk]), {"held_on": held_on})

    assert response.status_code == 200
    assert response.context["form"]["held_on"].value() == timezone.localdate()


@pytest.mark.parametrize("held_on", FAR_DAYS)
def test_a_far_date_posted_to_meeting_create_is_a_form_error(ward_secretary, tree, held_on):
    response = ward_secretary.post(
        reverse("members:meeting-create", args=[tree.ward1_cell1.pk]),
        {"held_on": held_on, "kind": "periodic", "half_year": "2025-1", "summary": ""},
    )

    assert response.status_code == 200
    assert response.context["form"].errors["held_on"]
    assert not Meeting.objects.exists()


@pytest.mark.parametrize("held_on", FAR_DAYS)
def test_a_far_date_posted_to_meeting_edit_is_a_form_error(ward_secretary, tree, held_on):
    meeting = services.meeting_create(residential_cell=tree.ward1_cell1, held_on=D(2025, 6, 20), by=None)
    url = reverse("members:meeting-edit", args=[meeting.pk])

    assert ward_secretary.get(url, {"held_on": held_on}).status_code == 200
    response = ward_secretary.post(url, {"held_on": held_on, "kind": "periodic", "half_year": "2025-1", "summary": ""})

    assert response.status_code == 200
    assert response.context["form"].errors["held_on"]
    meeting.refresh_from_db()
    assert meeting.held_on == D(2025, 6, 20)


def test_the_meeting_service_refuses_a_far_date(tree):
    with pytest.raises(ValidationError) as error:
        services.meeting_create(residential_cell=tree.ward1_cell1, held_on=D(1, 1, 1), by=None)
    assert "held_on" in error.value.error_dict


# -- a member's dates (finding 9) ----------------------------------------------------------------------------------


def tomorrow() -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=1)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("date_of_birth", D(1, 1, 1)),
        ("date_of_birth", D(1899, 12, 31)),
        ("admitted_on", D(1, 1, 1)),
        ("official_on", D(9999, 12, 31)),
        ("retired_on", D(9999, 12, 31)),
        ("left_on", D(9999, 12, 31)),
    ],
)
def test_the_member_service_refuses_a_day_out_of_bounds(tree, field, value):
    fields = member_fields(tree.cell, **{field: value})
    if field == "left_on":
        fields["left_reason"] = Member.LeftReason.DIED

    with pytest.raises(ValidationError) as error:
        services.member_create(by=None, **fields)

    assert field in error.value.error_dict
    assert not Member.objects.exists()


@pytest.mark.parametrize("field", ["date_of_birth", "official_on", "retired_on", "admitted_on"])
def test_a_day_after_today_is_refused_by_the_model(tree, field):
    fields = member_fields(tree.cell, **{field: tomorrow()})
    member = Member(**fields)

    with pytest.raises(ValidationError) as error:
        member.full_clean()

    assert field in error.value.error_dict


def test_a_birth_date_of_1900_and_a_real_official_day_are_accepted(tree):
    member = services.member_create(
        by=None, **member_fields(tree.cell, date_of_birth=D(1900, 1, 1), official_on=D(2006, 5, 19))
    )
    assert member.pk


def test_the_member_edit_page_refuses_an_official_day_in_9999(client, tree):
    member = make_member(tree.cell)
    client.force_login(make_officer(tree.committee))
    url = reverse("members:member-edit", args=[member.pk])
    payload = {
        name: value.strftime("%d/%m/%Y") if isinstance(value, datetime.date) else value
        for name, value in client.get(url).context["form"].initial.items()
        if value is not None
    }
    payload["home_organisation"] = member.home_organisation_id

    response = client.post(url, {**payload, "official_on": "31/12/9999", "date_of_birth": "01/01/0001"})

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["official_on"] and errors["date_of_birth"]
    member.refresh_from_db()
    assert member.official_on is None
