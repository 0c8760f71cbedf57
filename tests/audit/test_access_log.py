"""The access log (issue 10, personal data): every export and download is logged with who, what, which organisation,
when and how many rows, and city staff read it."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from audit.models import AccessLog
from audit.services import record_access
from members.models import ResidenceComment
from tests.factories import make_member, make_officer, make_referral, make_tree
from tests.workbooks.books import MEMBERS, member_row, member_sheet, workbook
from workbooks.models import WorkbookImport

D = datetime.date
Kind = AccessLog.Kind

pytestmark = pytest.mark.django_db


@pytest.fixture
def tree():
    return make_tree()


@pytest.fixture
def city(tree):
    return make_officer(tree.root, role="staff", username="thanhuy")


def test_city_staff_read_the_log_newest_first_and_filter_it(client, tree, city):
    ward = make_officer(tree.ward1, username="phuong1")
    record_access(kind=Kind.MEMBER_EXPORT, by=ward, organisation=tree.ward1, rows=12)
    record_access(kind=Kind.TRACKING_BOOK, by=city, organisation=tree.root, subject="2024", rows=3)
    client.force_login(city)
    url = reverse("audit:access-log")

    page = client.get(url)

    assert page.status_code == 200
    rows = [(entry.username, entry.kind) for entry in page.context["table"].data]
    assert rows == [("thanhuy", Kind.TRACKING_BOOK), ("phuong1", Kind.MEMBER_EXPORT)]
    assert tree.ward1.name in page.content.decode()
    assert [e.username for e in client.get(url, {"kind": Kind.MEMBER_EXPORT}).context["table"].data] == ["phuong1"]
    assert [e.kind for e in client.get(url, {"username": "thanh"}).context["table"].data] == [Kind.TRACKING_BOOK]
    today = timezone.localdate().strftime("%d/%m/%Y")
    assert len(client.get(url, {"since": today, "until": today}).context["table"].data) == 2


def test_a_bad_day_in_the_filter_is_a_form_error(client, city):
    client.force_login(city)
    response = client.get(reverse("audit:access-log"), {"since": "01/01/0001", "until": "99/99/9999"})
    assert response.status_code == 200
    assert response.context["filter"].form.errors


def test_the_log_page_is_not_for_others(client, tree):
    for post in (tree.ward1, tree.committee, tree.ward1_cell1):
        client.force_login(make_officer(post))
        assert client.get(reverse("audit:access-log")).status_code == 404


def test_the_yearly_workbook_download_is_logged(client, tree, city):
    member = make_member(tree.cell)
    make_referral(member, receiving_ward=tree.ward1, introduced_on=D(2024, 3, 1))
    ResidenceComment.objects.create(
        member=member, year=2024, residential_cell=tree.ward1_cell1, verdict="good", written_on=D(2024, 11, 1)
    )
    client.force_login(city)

    response = client.get(reverse("reports:workbook"), {"org": tree.root.code, "year": "2024"})

    b"".join(response.streaming_content)
    entry = AccessLog.objects.get()
    assert (entry.user, entry.kind, entry.organisation, entry.rows) == (city, Kind.YEARLY_WORKBOOK, tree.root, 2)


def test_the_command_line_exports_are_logged_without_a_user(tree, tmp_path):
    make_member(tree.cell)
    call_command("export_workbook", output=str(tmp_path / "all.xlsx"), org=tree.committee.code, stdout=io.StringIO())
    call_command(
        "export_report", org=tree.root.code, year="2024", output=str(tmp_path / "r.xlsx"), stdout=io.StringIO()
    )

    entries = list(AccessLog.objects.order_by("pk").values_list("kind", "username", "organisation_code", "rows"))

    assert entries == [
        (Kind.WORKBOOK_EXPORT, "", tree.committee.code, 1),
        (Kind.REPORT_EXPORT, "", tree.root.code, 0),
    ]


def test_the_import_files_are_logged(client, tree, city):
    client.force_login(city)
    book = workbook({MEMBERS: member_sheet(member_row("45012345", tree.cell.code, born="31/02/1980"))})
    book.name = "so.xlsx"

    client.post(reverse("workbooks:import"), {"file": book})
    record = WorkbookImport.objects.get()
    assert client.get(reverse("workbooks:import-errors", args=[record.pk])).status_code == 200
    assert client.get(reverse("workbooks:template")).status_code == 200

    entries = list(AccessLog.objects.order_by("pk").values_list("kind", "username", "subject", "rows"))
    assert entries == [
        (Kind.IMPORT_UPLOAD, "thanhuy", "so.xlsx", 1),
        (Kind.IMPORT_ERRORS, "thanhuy", "so.xlsx", 1),
        (Kind.IMPORT_TEMPLATE, "thanhuy", "mau-nhap-du-lieu.xlsx", 0),
    ]
