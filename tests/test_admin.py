"""The Django admin: every registered model opens, and member search folds Vietnamese accents."""

import datetime

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from branches.models import Officer, Organisation
from members.models import Attendance, Exemption, Meeting, Member, Referral, ResidenceComment, YearEndRating

pytestmark = pytest.mark.django_db

User = get_user_model()
LONG_AGO = datetime.date(2015, 1, 1)


@pytest.fixture
def superuser():
    return User.objects.create_superuser(username="admin", password="Dong-Ha-76-quan-tri", email="admin@example.org")


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


def make_member(card_number: str, full_name: str, home: Organisation, **fields) -> Member:
    values = {"date_of_birth": datetime.date(1980, 5, 17), "gender": Member.Gender.MALE, "admitted_on": LONG_AGO}
    values.update(fields)
    return Member.objects.create(card_number=card_number, full_name=full_name, home_organisation=home, **values)


@pytest.fixture
def data(superuser):
    """One row of every model, so that every list column and every change page is rendered."""
    today = timezone.localdate()
    Group.objects.create(name="Ban Tổ chức Thành ủy")
    root = Organisation.objects.create(code="DH", name="Đảng bộ thành phố Đông Hà", kind=Organisation.Kind.ROOT)
    committee = Organisation.objects.create(
        code="SYT", name="Đảng bộ Sở Y tế", kind=Organisation.Kind.COMMITTEE, parent=root
    )
    cell = Organisation.objects.create(
        code="SYT-VP", name="Chi bộ Văn phòng", kind=Organisation.Kind.CELL, parent=committee
    )
    ward = Organisation.objects.create(code="P1", name="Đảng bộ Phường 1", kind=Organisation.Kind.WARD, parent=root)
    residential_cell = Organisation.objects.create(
        code="P1-KP1", name="Chi bộ khu phố 1", kind=Organisation.Kind.RESIDENTIAL_CELL, parent=ward
    )
    duc = make_member("DH000001", "Nguyễn Văn Đức", cell)
    lan = make_member("DH000002", "Trần Thị Lan", cell, gender=Member.Gender.FEMALE)
    Exemption.objects.create(
        member=lan, kind=Exemption.Kind.ACTIVITIES, reason="Học tập trung dài hạn", started_on=LONG_AGO
    )
    referral = Referral.objects.create(
        member=duc,
        issuing_organisation=committee,
        receiving_ward=ward,
        letter_number="12-GT/ĐU",
        introduced_on=today - datetime.timedelta(days=40),
        received_on=today - datetime.timedelta(days=30),
        residential_cell=residential_cell,
        placed_on=today - datetime.timedelta(days=20),
    )
    meeting = Meeting.objects.create(
        residential_cell=residential_cell, held_on=today, year=today.year, half=1 if today.month <= 6 else 2
    )
    Attendance.objects.create(meeting=meeting, member=duc, status=Attendance.Status.PRESENT)
    ResidenceComment.objects.create(
        member=duc,
        year=today.year,
        residential_cell=residential_cell,
        verdict=ResidenceComment.Verdict.GOOD,
        written_on=today,
    )
    YearEndRating.objects.create(member=duc, year=today.year, level=YearEndRating.Level.GOOD, decided_on=today)
    Officer.objects.create(user=superuser, organisation=ward, role=Officer.Role.STAFF, started_on=LONG_AGO)
    return {"ward": ward, "duc": duc, "lan": lan, "referral": referral}


def registered_models():
    """The models this project manages in the admin (django-axes registers read-only logs of its own)."""
    return sorted(
        (model for model in admin.site._registry if model._meta.app_label != "axes"),
        key=lambda model: model._meta.label,
    )


def test_the_login_lockouts_can_be_reviewed_in_the_admin(admin_client):
    for name in ("accessattempt", "accesslog", "accessfailurelog"):
        assert admin_client.get(reverse(f"admin:axes_{name}_changelist")).status_code == 200


@pytest.mark.parametrize("model", registered_models(), ids=lambda model: model._meta.label)
def test_every_model_opens_in_the_admin(admin_client, data, model):
    opts = model._meta
    prefix = f"admin:{opts.app_label}_{opts.model_name}"

    assert admin_client.get(reverse(f"{prefix}_changelist")).status_code == 200
    assert admin_client.get(reverse(f"{prefix}_add")).status_code == 200
    obj = model._default_manager.first()
    assert obj is not None, f"the fixture makes no {opts.label}"
    assert admin_client.get(reverse(f"{prefix}_change", args=[obj.pk])).status_code == 200
    if hasattr(model, "history"):
        assert admin_client.get(reverse(f"{prefix}_history", args=[obj.pk])).status_code == 200


def test_the_project_models_are_registered():
    expected = {
        Organisation,
        Officer,
        Member,
        Exemption,
        Referral,
        Meeting,
        Attendance,
        ResidenceComment,
        YearEndRating,
    }
    assert expected <= set(admin.site._registry)


def test_member_search_folds_accents(admin_client, data):
    url = reverse("admin:members_member_changelist")

    response = admin_client.get(url, {"q": "nguyen van duc"})

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [data["duc"]]
    assert admin_client.get(url, {"q": "Nguyễn Văn Đức"}).context["cl"].result_list[0] == data["duc"]
    assert list(admin_client.get(url, {"q": "DH000002"}).context["cl"].result_list) == [data["lan"]]
    assert list(admin_client.get(url, {"q": "khong co ai"}).context["cl"].result_list) == []


def test_member_autocomplete_folds_accents(admin_client, data):
    response = admin_client.get(
        reverse("admin:autocomplete"),
        {"app_label": "members", "model_name": "referral", "field_name": "member", "term": "van duc"},
    )

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [str(data["duc"].pk)]


def test_referral_search_by_member_name_or_letter_number(admin_client, data):
    url = reverse("admin:members_referral_changelist")

    assert list(admin_client.get(url, {"q": "duc"}).context["cl"].result_list) == [data["referral"]]
    assert list(admin_client.get(url, {"q": "12-GT/ĐU"}).context["cl"].result_list) == [data["referral"]]
    assert list(admin_client.get(url, {"q": "lan"}).context["cl"].result_list) == []


def test_referral_list_shows_state_and_filters(admin_client, data):
    url = reverse("admin:members_referral_changelist")

    response = admin_client.get(url)
    assert str(Referral.State.PLACED.label) in response.content.decode()

    by_ward = admin_client.get(url, {"receiving_ward__id__exact": data["ward"].pk})
    assert list(by_ward.context["cl"].result_list) == [data["referral"]]
    placed = admin_client.get(url, {"state": Referral.State.PLACED})
    assert list(placed.context["cl"].result_list) == [data["referral"]]
    awaiting = admin_client.get(url, {"state": Referral.State.INTRODUCED})
    assert list(awaiting.context["cl"].result_list) == []
    ended = admin_client.get(url, {"end_reason__exact": Referral.EndReason.MOVED_RESIDENCE})
    assert list(ended.context["cl"].result_list) == []


def test_receiving_a_referral_in_the_admin_records_who_did_it(admin_client, superuser, data):
    today = timezone.localdate()
    referral = Referral.objects.create(
        member=data["lan"],
        issuing_organisation=data["duc"].home_organisation.parent,
        receiving_ward=data["ward"],
        introduced_on=today - datetime.timedelta(days=5),
    )
    url = reverse("admin:members_referral_change", args=[referral.pk])
    form = admin_client.get(url).context["adminform"].form
    payload = {name: form[name].value() or "" for name in form.fields}
    payload["received_on"] = today.strftime("%d/%m/%Y")

    response = admin_client.post(url, payload)

    assert response.status_code == 302, response.context["adminform"].form.errors
    referral.refresh_from_db()
    assert referral.received_on == today
    assert referral.received_by == superuser
    assert referral.introduced_by is None  # not touched here


def test_admin_header_is_the_product_name(admin_client):
    content = admin_client.get(reverse("admin:index")).content.decode()

    assert str(admin.site.site_header) in content
    assert "dongha76" in str(admin.site.site_header)


def test_admin_password_change_uses_the_site_page(admin_client):
    response = admin_client.get(reverse("admin:password_change"))

    assert response.status_code == 200
    assert 'name="old_password"' in response.content.decode()
