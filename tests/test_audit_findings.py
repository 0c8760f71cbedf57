"""The audit's reproductions on the demo data, step by step through the browser's path (issue 10, findings 1a, 1b, 1c
and 2; finding 3 is in test_exports_per_role.py, finding 4 and the rules behind all of them in
tests/workbooks/test_import_scope.py). Each was a way around scope; each now changes nothing. Slow: the demo data
is built once for the module."""

import datetime
import io

import pytest
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook

from branches.models import Organisation
from members.models import Member, Referral
from workbooks.models import WorkbookImport

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

MEMBER_HEADERS = [
    "Số thẻ",
    "Họ và tên",
    "Ngày sinh",
    "Giới tính",
    "Ngày vào Đảng",
    "Mã chi bộ",
    "Đang công tác",
    "Miễn giới thiệu",
    "Miễn sinh hoạt",
    "Điện thoại",
    "Địa chỉ",
]
REFERRAL_HEADERS = [
    "Số thẻ",
    "Số giấy",
    "Ngày giới thiệu",
    "Mã nơi giới thiệu",
    "Mã đảng ủy nơi cư trú",
    "Ngày tiếp nhận",
    "Mã chi bộ nơi cư trú",
    "Ngày kết thúc",
    "Lý do kết thúc",
]


def client_for(username: str) -> Client:
    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    return client


def xlsx(title: str, headers: list[str], *rows: list) -> bytes:
    book = Workbook()
    book.active.title = title
    book.active.append(headers)
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def upload_and_confirm(client: Client, content: bytes) -> WorkbookImport:
    """What the audit did: upload, and confirm whatever the preview allows."""
    file = io.BytesIO(content)
    file.name = "audit.xlsx"
    assert client.post(reverse("workbooks:import"), {"file": file}).status_code == 302
    record = WorkbookImport.objects.latest("pk")
    client.post(reverse("workbooks:import-confirm", args=[record.pk]))
    record.refresh_from_db()
    return record


def dmy(day: datetime.date) -> str:
    return day.strftime("%d/%m/%Y")


def messages(record: WorkbookImport) -> list[str]:
    return [problem["message"] for problem in record.problems]


def test_1a_phuong1_may_not_update_an_outside_member_referred_to_another_ward(demo):
    p1 = Organisation.objects.get(code="P1")
    to_p1 = Referral.objects.filter(member=OuterRef("pk"), receiving_ward=p1)
    member = (
        Member.objects.filter(home_organisation__kind=Organisation.Kind.OUTSIDE, referrals__ended_on__isnull=True)
        .exclude(referrals__receiving_ward=p1)
        .exclude(Exists(to_p1))
        .select_related("home_organisation")
        .first()
    )
    before = (member.phone, member.residential_address)
    row = [
        member.card_number,
        member.full_name,
        dmy(member.date_of_birth),
        member.gender,
        dmy(member.admitted_on),
        member.home_organisation.code,
        "x",
        None,
        None,
        "0999999999",
        "Nhà của kẻ gian",
    ]

    record = upload_and_confirm(client_for("phuong1"), xlsx("Đảng viên", MEMBER_HEADERS, row))

    assert record.status == WorkbookImport.Status.REFUSED
    member.refresh_from_db()
    assert (member.phone, member.residential_address) == before


def test_1b_phuong1_may_not_take_over_another_wards_open_referral(demo):
    p1 = Organisation.objects.get(code="P1")
    referral = (
        Referral.objects.filter(ended_on__isnull=True, receiving_ward__code="P2")
        .exclude(Exists(Referral.objects.filter(member=OuterRef("member"), receiving_ward=p1)))
        .select_related("member")
        .first()
    )
    row = [referral.member.card_number, referral.letter_number, dmy(referral.introduced_on), None, "P1"]

    record = upload_and_confirm(client_for("phuong1"), xlsx("Giới thiệu", REFERRAL_HEADERS[:5], row))

    assert record.status == WorkbookImport.Status.REFUSED
    assert messages(record) == [
        f"Không có đảng viên nào mang số thẻ “{referral.member.card_number}” trong tệp Excel này hoặc trong hệ thống."
    ]
    referral.refresh_from_db()
    assert referral.receiving_ward.code == "P2"


def test_1c_phuong1_may_not_pull_a_member_in_with_a_back_dated_ended_referral(demo):
    """The audit's exact row: 48000026 | 1-GT | 01/01/2000 | GDDT | P1 | 05/01/2000 | | 10/01/2000 | other."""
    member = Member.objects.get(card_number="48000026")
    client = client_for("phuong1")
    assert client.get(reverse("members:member-detail", args=[member.pk])).status_code == 404
    row = ["48000026", "1-GT", "01/01/2000", "GDDT", "P1", "05/01/2000", None, "10/01/2000", "other"]

    record = upload_and_confirm(client, xlsx("Giới thiệu", REFERRAL_HEADERS, row))

    assert record.status == WorkbookImport.Status.REFUSED
    assert not Referral.objects.filter(member=member, introduced_on=datetime.date(2000, 1, 1)).exists()
    page = client.get(reverse("members:member-detail", args=[member.pk]))
    assert page.status_code == 404
    assert member.national_id not in page.content.decode()


def test_2_phuong1_may_not_retire_a_workplaces_member_through_the_end_step(demo):
    """The audit: /members/6305/edit/ is 404 to phuong1, yet POST /referrals/2874/end/ with end_reason=retired and
    transfer_home=on retired the member and moved the home into P1-KP10, and coquan1 lost its member."""
    referral = Referral.objects.select_related("member").get(member__card_number="48006305", ended_on__isnull=True)
    member = referral.member
    home = member.home_organisation_id
    ward, workplace = client_for("phuong1"), client_for("coquan1")
    assert ward.get(reverse("members:member-edit", args=[member.pk])).status_code == 404
    assert workplace.get(reverse("members:member-detail", args=[member.pk])).status_code == 200

    ward.post(
        reverse("members:referral-end", args=[referral.pk]),
        {"ended_on": dmy(timezone.localdate()), "end_reason": "retired", "transfer_home": "on"},
    )

    member.refresh_from_db()
    assert (member.retired_on, member.home_organisation_id) == (None, home)
    assert workplace.get(reverse("members:member-detail", args=[member.pk])).status_code == 200
