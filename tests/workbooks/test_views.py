"""The import pages through the test client: upload, preview, confirm; every problem listed and given back in the
workbook; files that are not workbooks at all; who may open what."""

import datetime
import html
import io
import re
from urllib.parse import unquote

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from openpyxl import Workbook, load_workbook

import workbooks.reading
import workbooks.services
from branches.models import Organisation
from dongha76.excel import XLSX_CONTENT_TYPE
from members.models import Member, Referral
from tests.factories import make_member, make_officer, make_tree, make_user
from workbooks.annotating import ERROR_HEADER
from workbooks.layout import MEMBERS, SHEETS
from workbooks.models import WorkbookImport

NOT_A_WORKBOOK = "This file is not an Excel workbook (.xlsx). Save it from Excel as .xlsx and retry."

pytestmark = pytest.mark.django_db

D = datetime.date
Status = WorkbookImport.Status


def build_workbook(rows: dict[str, list[dict]]) -> bytes:
    """A workbook with the layout's sheets named in ``rows`` (by sheet key): every header of the layout on row 1,
    then one row per dict (column key -> value; a missing key is a blank cell)."""
    book = Workbook()
    book.remove(book.active)
    for sheet in SHEETS:
        if sheet.key not in rows:
            continue
        worksheet = book.create_sheet(sheet.title)
        worksheet.append([column.header for column in sheet.columns])
        for row in rows[sheet.key]:
            worksheet.append([row.get(column.key) for column in sheet.columns])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def good_rows(tree) -> dict[str, list[dict]]:
    """A new residential cell of ward 1, a new member of the committee's cell, and their referral to that cell."""
    return {
        "organisations": [
            {"code": "P1-KP9", "name": "Chi bộ Khu phố 9", "kind": "residential_cell", "parent": tree.ward1.code},
        ],
        "members": [
            {
                "card_number": "45000001",
                "full_name": "Nguyễn Văn Nhập",
                "date_of_birth": "15/04/1980",
                "gender": "Nam",
                "admitted_on": D(2005, 2, 3),
                "home_organisation": tree.cell.code,
                "working": "x",
            },
            {
                "card_number": "45000002",
                "full_name": "Trần Thị Nhập",
                "date_of_birth": "20/10/1985",
                "gender": "Nữ",
                "admitted_on": "01/06/2010",
                "home_organisation": tree.cell.code,
                "working": "x",
            },
        ],
        "referrals": [
            {
                "card_number": "45000001",
                "letter_number": "12-GT/ĐU",
                "introduced_on": "10/03/2018",
                "receiving_ward": tree.ward1.code,
                "received_on": "20/03/2018",
                "residential_cell": "P1-KP9",
            },
        ],
    }


def upload(client: Client, content: bytes, name: str = "so-dang-vien.xlsx"):
    return client.post(reverse("workbooks:import"), {"file": SimpleUploadedFile(name, content)})


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page_text(response) -> str:
    return response.content.decode()


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def tree():
    return make_tree()


@pytest.fixture
def city(tree):
    return make_officer(tree.root, role="staff")


@pytest.fixture
def city_client(city):
    return client_for(city)


# -- the upload page -----------------------------------------------------------------------------------------------


def test_the_upload_page_explains_links_and_lists_the_last_ten_imports(city_client, city, tree):
    other = make_officer(tree.ward1)
    for n in range(12):
        WorkbookImport.objects.create(
            uploaded_by=city, file_name=f"so-{n}.xlsx", status=Status.CHECKED, counts={"members": {"rows": n}}
        )
    WorkbookImport.objects.create(uploaded_by=other, file_name="cua-phuong.xlsx", status=Status.CHECKED)
    response = city_client.get(reverse("workbooks:import"))
    assert response.status_code == 200
    text = page_text(response)
    assert reverse("workbooks:template") in text
    assert reverse("workbooks:columns") in text
    assert 'type="file"' in text and 'accept=".xlsx' in text
    assert 'enctype="multipart/form-data"' in text
    listed = [int(pk) for pk in re.findall(r'data-import="(\d+)"', text)]
    newest = list(WorkbookImport.objects.filter(uploaded_by=city).values_list("pk", flat=True)[:10])
    assert listed == newest  # own imports only, newest first, ten of them
    assert "cua-phuong.xlsx" not in text


def test_a_post_without_a_file_says_so(city_client):
    response = city_client.post(reverse("workbooks:import"), {})
    assert response.status_code == 200
    assert gettext("Choose the workbook (.xlsx) to import.") in page_text(response)
    assert response.context["form"].errors["file"]
    assert not WorkbookImport.objects.exists()


def test_the_menu_shows_the_import_only_to_those_who_may_import(tree):
    importer = client_for(make_officer(tree.ward1))
    assert reverse("workbooks:import") in page_text(importer.get(reverse("home")))
    cell_secretary = client_for(make_officer(tree.ward1_cell1))
    assert reverse("workbooks:import") not in page_text(cell_secretary.get(reverse("home")))
    viewer = client_for(make_officer(tree.root, role="viewer"))
    assert reverse("workbooks:import") not in page_text(viewer.get(reverse("home")))


# -- a good workbook: preview, then import -------------------------------------------------------------------------


def test_a_good_workbook_is_previewed_without_writing_then_imported_on_confirmation(city_client, tree):
    response = upload(city_client, build_workbook(good_rows(tree)))
    record = WorkbookImport.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("workbooks:import-detail", args=[record.pk])
    assert record.status == Status.CHECKED

    # the preview: counts per sheet, a confirm button, nothing written yet
    response = city_client.get(response.url)
    text = page_text(response)
    assert response.status_code == 200
    assert "so-dang-vien.xlsx" in text
    counts = {sheet.title: sheet for sheet in response.context["counts"]}
    assert (counts["Tổ chức"].rows, counts["Tổ chức"].create) == (1, 1)
    assert (counts["Đảng viên"].rows, counts["Đảng viên"].create) == (2, 2)
    assert (counts["Giới thiệu"].rows, counts["Giới thiệu"].create) == (1, 1)
    assert reverse("workbooks:import-confirm", args=[record.pk]) in text
    assert 'id="import-problems"' not in text
    assert not Member.objects.filter(card_number__in=["45000001", "45000002"]).exists()
    assert not Organisation.objects.filter(code="P1-KP9").exists()

    # confirm: the rows exist, the page says so and offers no button any more
    response = city_client.post(reverse("workbooks:import-confirm", args=[record.pk]))
    assert response.status_code == 302
    assert response.url == reverse("workbooks:import-detail", args=[record.pk])
    assert any("so-dang-vien.xlsx" in message for message in messages_of(response))
    record.refresh_from_db()
    assert record.status == Status.IMPORTED and record.imported_at is not None
    assert set(Member.objects.filter(card_number__startswith="45").values_list("full_name", flat=True)) == {
        "Nguyễn Văn Nhập",
        "Trần Thị Nhập",
    }
    cell = Organisation.objects.get(code="P1-KP9")
    referral = Referral.objects.get(member__card_number="45000001")
    assert (referral.receiving_ward, referral.residential_cell) == (tree.ward1, cell)

    response = city_client.get(response.url)
    text = page_text(response)
    assert 'id="imported-at"' in text
    assert reverse("workbooks:import-confirm", args=[record.pk]) not in text
    assert not response.context["may_confirm"]

    # confirming twice imports nothing more and says why
    response = city_client.post(reverse("workbooks:import-confirm", args=[record.pk]))
    assert response.status_code == 302
    assert messages_of(response)
    assert Member.objects.filter(card_number__startswith="45").count() == 2


def test_confirm_checks_again_and_shows_the_new_problems(city_client, tree):
    rows = good_rows(tree)
    rows["members"][0]["national_id"] = "045080012345"
    upload(city_client, build_workbook(rows))
    record = WorkbookImport.objects.get()
    assert record.status == Status.CHECKED
    make_member(tree.grassroots_cell, national_id="045080012345")  # meanwhile, someone records that ID

    response = city_client.post(reverse("workbooks:import-confirm", args=[record.pk]), follow=True)
    record.refresh_from_db()
    assert record.status == Status.REFUSED
    assert not Member.objects.filter(card_number__startswith="45").exists()
    text = html.unescape(page_text(response))
    # The member's row, and its referral's row, which names the member's row it depends on.
    assert [(problem["sheet"], problem["column"]) for problem in record.problems] == [
        ("Đảng viên", "Số CCCD"),
        ("Giới thiệu", "Số thẻ"),
    ], record.problems
    assert record.problems[0]["message"] in text
    assert reverse("workbooks:import-confirm", args=[record.pk]) not in text


def test_confirm_is_post_only_and_for_the_uploader_only(client, tree, city):
    ward = make_officer(tree.ward1)
    ward_client = client_for(ward)
    rows = good_rows(tree)
    upload(ward_client, build_workbook({"organisations": rows["organisations"]}))
    record = WorkbookImport.objects.filter(status=Status.CHECKED).get()
    confirm = reverse("workbooks:import-confirm", args=[record.pk])

    assert ward_client.get(confirm).status_code == 405
    city_client = client_for(city)
    assert city_client.get(reverse("workbooks:import-detail", args=[record.pk])).status_code == 200  # may look
    assert not city_client.get(reverse("workbooks:import-detail", args=[record.pk])).context["may_confirm"]
    assert city_client.post(confirm).status_code == 404  # may not import someone else's workbook
    other_ward = client_for(make_officer(tree.ward2))
    assert other_ward.post(confirm).status_code == 404
    assert other_ward.get(reverse("workbooks:import-detail", args=[record.pk])).status_code == 404
    assert not Organisation.objects.filter(code="P1-KP9").exists()

    assert ward_client.post(confirm).status_code == 302
    assert Organisation.objects.filter(code="P1-KP9", parent=tree.ward1).exists()


def test_the_importers_scope_is_applied(tree):
    """A ward imports nothing about the committee's members."""
    ward_client = client_for(make_officer(tree.ward1))
    response = upload(ward_client, build_workbook({"members": good_rows(tree)["members"]}), name="phuong.xlsx")
    record = WorkbookImport.objects.get()
    assert record.status == Status.REFUSED
    text = html.unescape(page_text(ward_client.get(response.url)))
    assert [(problem["row"], problem["column"]) for problem in record.problems] == [(2, "Mã chi bộ"), (3, "Mã chi bộ")]
    assert text.count(record.problems[0]["message"]) == 2


# -- a workbook with problems --------------------------------------------------------------------------------------


@pytest.fixture
def faulty(tree):
    """Rows 2-4 of the members' sheet: a bad date, an unknown cell, and a good row; the good row's referral to an
    unknown ward."""
    rows = good_rows(tree)
    rows["members"][0]["date_of_birth"] = "31/02/1980"
    rows["members"][1]["home_organisation"] = "KHONG-CO"
    rows["members"].append({**rows["members"][1], "card_number": "45000003", "home_organisation": tree.cell.code})
    rows["referrals"][0].update(card_number="45000003", receiving_ward="PHUONG-X")
    return rows


def test_every_problem_is_listed_and_given_back_in_the_workbook(city_client, faulty, tree):
    response = upload(city_client, build_workbook(faulty), name="Sổ Phường 1.xlsx")
    record = WorkbookImport.objects.get()
    assert record.status == Status.REFUSED
    assert not Member.objects.filter(card_number__startswith="45").exists()
    assert not Organisation.objects.filter(code="P1-KP9").exists()

    text = page_text(city_client.get(response.url))
    assert [(problem["sheet"], problem["row"]) for problem in record.problems] == [
        ("Đảng viên", 2),
        ("Đảng viên", 3),
        ("Giới thiệu", 2),
    ]
    for problem in record.problems:
        assert problem["message"] in html.unescape(text)
    assert text.count('class="problem-message"') == len(record.problems)
    assert "31/02/1980" in text
    assert "KHONG-CO" in text
    assert "PHUONG-X" in text
    errors_url = reverse("workbooks:import-errors", args=[record.pk])
    assert errors_url in text
    assert reverse("workbooks:import-confirm", args=[record.pk]) not in text
    assert 'id="upload-form"' in text  # try again with the fixed file

    response = city_client.get(errors_url)
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX_CONTENT_TYPE
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment")
    assert unquote(disposition).endswith("Sổ Phường 1-loi.xlsx")
    book = load_workbook(io.BytesIO(response.content))
    members = book[MEMBERS.title]
    error_column = len(MEMBERS.columns) + 1
    assert members.cell(row=1, column=error_column).value == ERROR_HEADER
    assert "31/02/1980" in members.cell(row=2, column=error_column).value
    assert "KHONG-CO" in members.cell(row=3, column=error_column).value
    assert members.cell(row=4, column=error_column).value is None
    referrals = book["Giới thiệu"]
    assert "PHUONG-X" in referrals.cell(row=2, column=referrals.max_column).value

    # the fixed workbook, uploaded from the preview's form
    faulty["members"][0]["date_of_birth"] = "28/02/1980"
    faulty["members"][1]["home_organisation"] = tree.cell.code
    faulty["referrals"][0]["receiving_ward"] = tree.ward1.code
    response = upload(city_client, build_workbook(faulty), name="Sổ Phường 1.xlsx")
    fixed = WorkbookImport.objects.latest("pk")
    assert fixed.status == Status.CHECKED
    assert city_client.post(reverse("workbooks:import-confirm", args=[fixed.pk])).status_code == 302
    assert Member.objects.filter(card_number__startswith="45").count() == 3


def test_the_detail_page_runs_the_same_queries_for_two_or_two_thousand_problems(
    city_client, city, django_assert_max_num_queries
):
    """Session, user, posts, the record, the preview's counts and page (``test_preview_views`` counts them with rows):
    the problems of a record without preview rows are JSON on the record, the file is not even loaded."""

    def record_with(n):
        return WorkbookImport.objects.create(
            uploaded_by=city,
            file_name="lon.xlsx",
            status=Status.REFUSED,
            content=b"PK" * 1000,
            problems=[{"sheet": "Đảng viên", "row": i + 2, "column": "Ngày sinh", "message": "sai"} for i in range(n)],
            counts={"members": {"rows": n, "create": 0, "update": 0, "unchanged": 0}},
        )

    small, large = record_with(2), record_with(2000)
    for record in (small, large):
        with django_assert_max_num_queries(6):
            response = city_client.get(reverse("workbooks:import-detail", args=[record.pk]))
        assert response.status_code == 200
        assert page_text(response).count('class="problem-message"') == len(record.problems)
        assert response.context["record"].file_kept
        assert "content" in response.context["record"].get_deferred_fields()


def test_no_error_workbook_once_the_file_is_forgotten(city_client, city):
    record = WorkbookImport.objects.create(
        uploaded_by=city,
        file_name="cu.xlsx",
        status=Status.REFUSED,
        problems=[{"sheet": "Đảng viên", "row": 2, "column": "Ngày sinh", "message": "sai"}],
    )
    text = page_text(city_client.get(reverse("workbooks:import-detail", args=[record.pk])))
    assert reverse("workbooks:import-errors", args=[record.pk]) not in text
    assert city_client.get(reverse("workbooks:import-errors", args=[record.pk])).status_code == 404


def test_no_workbook_to_download_without_problems_or_changes(city_client, tree):
    """A workbook whose every row is already recorded as it says: nothing to write beside any row."""
    content = build_workbook({"organisations": good_rows(tree)["organisations"]})
    upload(city_client, content)
    city_client.post(reverse("workbooks:import-confirm", args=[WorkbookImport.objects.get().pk]))
    upload(city_client, content)
    record = WorkbookImport.objects.latest("pk")
    assert record.status == Status.CHECKED and record.counts["organisations"]["unchanged"] == 1
    assert city_client.get(reverse("workbooks:import-errors", args=[record.pk])).status_code == 404


# -- files that are not workbooks ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (b"Ho va ten;So the\nNguyen Van A;123\n", "danh-sach.xlsx"),  # a text file renamed
        (b"", "trong.xlsx"),  # an empty file
        (b"PK\x03\x04 not really a zip", "hong.xlsx"),  # a broken zip
        (b"%PDF-1.4 whatever", "to-trinh.pdf"),
    ],
)
def test_a_file_that_is_not_a_workbook_is_refused_with_its_reason(city_client, content, name):
    response = upload(city_client, content, name=name)
    record = WorkbookImport.objects.get()
    assert response.status_code == 302
    assert record.status == Status.REFUSED
    response = city_client.get(response.url)
    assert response.status_code == 200
    text = html.unescape(page_text(response))
    assert len(record.problems) == 1
    assert record.problems[0]["message"] in text
    with translation.override("vi"):
        assert record.problems[0]["message"] == translation.gettext(NOT_A_WORKBOOK)
    assert reverse("workbooks:import-errors", args=[record.pk]) not in text
    assert reverse("workbooks:import-confirm", args=[record.pk]) not in text


def test_a_workbook_without_any_known_sheet_is_refused(city_client):
    book = Workbook()
    book.active.title = "Sheet1"
    book.active.append(["a", "b"])
    buffer = io.BytesIO()
    book.save(buffer)
    response = upload(city_client, buffer.getvalue())
    record = WorkbookImport.objects.get()
    assert record.status == Status.REFUSED
    assert city_client.get(response.url).status_code == 200


def test_a_file_too_large_is_refused_without_keeping_it(city_client, tree, monkeypatch):
    monkeypatch.setattr(workbooks.reading, "MAX_FILE_BYTES", 1000)
    monkeypatch.setattr(workbooks.services, "MAX_FILE_BYTES", 1000)
    content = build_workbook(good_rows(tree))
    assert len(content) > 1000
    response = upload(city_client, content)
    record = WorkbookImport.objects.get()
    assert record.status == Status.REFUSED
    assert record.content in (b"", memoryview(b""))
    assert city_client.get(response.url).status_code == 200


# -- the template and the column reference -------------------------------------------------------------------------


def test_the_template_downloads(city_client):
    response = city_client.get(reverse("workbooks:template"))
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX_CONTENT_TYPE
    assert response["Content-Disposition"].startswith("attachment")
    book = load_workbook(io.BytesIO(response.content))
    assert {sheet.title for sheet in SHEETS} <= set(book.sheetnames)


def test_the_column_reference_lists_every_column_and_the_allowed_values(city_client):
    response = city_client.get(reverse("workbooks:columns"))
    assert response.status_code == 200
    text = page_text(response)
    for sheet in SHEETS:
        assert sheet.title in text
        for column in sheet.columns:
            assert f'<strong class="column-header">{column.header}</strong>' in text
            if column.choices is not None:
                for code, _label in column.choices.choices:
                    assert f"<code>{code}</code>" in text


# -- who ------------------------------------------------------------------------------------------------------------


def test_a_user_who_may_not_import_gets_404_everywhere(tree, city):
    record = WorkbookImport.objects.create(
        uploaded_by=city,
        file_name="x.xlsx",
        status=Status.REFUSED,
        content=b"PK",
        problems=[{"sheet": "", "row": None, "column": "", "message": "x"}],
    )
    for user in (
        make_officer(tree.ward1_cell1),  # a residential cell writes no workbook
        make_officer(tree.root, role="viewer"),
        make_officer(tree.ward1, role="viewer"),
        make_user(),  # no post at all
    ):
        client = client_for(user)
        for url in (
            reverse("workbooks:import"),
            reverse("workbooks:template"),
            reverse("workbooks:columns"),
            reverse("workbooks:import-detail", args=[record.pk]),
            reverse("workbooks:import-errors", args=[record.pk]),
        ):
            assert client.get(url).status_code == 404, (user, url)
        assert client.post(reverse("workbooks:import"), {"file": SimpleUploadedFile("a.xlsx", b"x")}).status_code == 404
        assert client.post(reverse("workbooks:import-confirm", args=[record.pk])).status_code == 404
    assert WorkbookImport.objects.count() == 1


def test_another_importers_record_is_404(tree):
    ward1 = make_officer(tree.ward1)
    record = WorkbookImport.objects.create(
        uploaded_by=ward1,
        file_name="p1.xlsx",
        status=Status.REFUSED,
        content=b"PK",
        problems=[{"sheet": "", "row": None, "column": "", "message": "x"}],
    )
    committee = client_for(make_officer(tree.committee, role="staff"))
    assert committee.get(reverse("workbooks:import")).status_code == 200
    assert committee.get(reverse("workbooks:import-detail", args=[record.pk])).status_code == 404
    assert committee.get(reverse("workbooks:import-errors", args=[record.pk])).status_code == 404
    assert client_for(ward1).get(reverse("workbooks:import-detail", args=[record.pk])).status_code == 200


def test_anonymous_users_are_sent_to_log_in(client):
    response = client.get(reverse("workbooks:import"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
