"""The preview of an import in the browser (issue 12): every row that creates, changes or has a problem, per sheet with
its key, an update's fields before → after; filtered by sheet and kind, a page at a time; the tick that lets rows of
recorded organisations and members change them; the confirm button's counts; the workbook given back with its "Lỗi"
and "Thay đổi" columns. Through the test client, as a city staff user."""

import html
import io
import re
from urllib.parse import unquote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils.translation import gettext
from openpyxl import load_workbook

from members.models import Member
from tests.factories import make_officer
from tests.workbooks.books import snapshot
from tests.workbooks.test_import_trust import every_sheet_wrong
from tests.workbooks.test_views import build_workbook, city, city_client, client_for, good_rows, page_text, tree
from workbooks.annotating import CHANGE_HEADER, ERROR_HEADER
from workbooks.importing import ImportResult
from workbooks.importing.context import RowOutcome
from workbooks.layout import MEMBERS, ORGANISATIONS, SHEETS
from workbooks.models import ImportChange, WorkbookImport
from workbooks.preview import PER_PAGE, change_texts, store_preview
from workbooks.reading import EXAMPLE_ROW, Problem

__all__ = ["city", "city_client", "tree"]  # fixtures

pytestmark = pytest.mark.django_db

Status = WorkbookImport.Status
Kind = ImportChange.Kind


def upload(client, content: bytes, *, update_existing: bool = False, name: str = "so.xlsx"):
    data = {"file": SimpleUploadedFile(name, content)}
    if update_existing:
        data["update_existing"] = "on"
    return client.post(reverse("workbooks:import"), data)


def detail(client, record: WorkbookImport, **params):
    return client.get(reverse("workbooks:import-detail", args=[record.pk]), params)


def plain(response) -> str:
    """The page as a reader sees it: tags gone, entities read, spaces collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page_text(response))))


def listed(response) -> list[tuple[str, str, int]]:
    """The preview rows on the page: (kind, sheet key, row)."""
    return [
        (kind, sheet, int(row))
        for kind, sheet, row in re.findall(
            r'data-change="(\w+)" data-sheet="(\w*)" data-row="(\d+)"', page_text(response)
        )
    ]


def confirm_label(created: int, updated: int) -> str:
    return gettext("Confirm: create %(created)s, update %(updated)s") % {"created": created, "updated": updated}


@pytest.fixture
def imported(city_client, tree):
    """The good rows of ``test_views`` imported: a residential cell, two members, a referral."""
    upload(city_client, build_workbook(good_rows(tree)))
    record = WorkbookImport.objects.get()
    city_client.post(reverse("workbooks:import-confirm", args=[record.pk]))
    record.refresh_from_db()
    assert record.status == Status.IMPORTED
    return good_rows(tree)


def changed_member(rows) -> dict:
    """The first member with a new name and date of birth."""
    return {"members": [{**rows["members"][0], "full_name": "Nguyễn Văn Nhập Mới", "date_of_birth": "16/04/1980"}]}


# -- the preview of an update --------------------------------------------------------------------------------------


def test_an_update_shows_each_changed_field_before_and_after_then_imports(city_client, imported):
    response = upload(city_client, build_workbook(changed_member(imported)), update_existing=True)
    record = WorkbookImport.objects.latest("pk")
    assert record.update_existing
    assert record.status == Status.CHECKED, record.problems

    response = city_client.get(response.url)
    assert response.status_code == 200
    text = plain(response)
    assert listed(response) == [(Kind.UPDATE, MEMBERS.key, 2)]
    change = ImportChange.objects.get(record=record)
    assert change.key == "45000001"
    assert ["Họ và tên", "Nguyễn Văn Nhập", "Nguyễn Văn Nhập Mới"] in change.changes
    assert ["Ngày sinh", "15/04/1980", "16/04/1980"] in change.changes
    assert "45000001" in text
    assert "Họ và tên : Nguyễn Văn Nhập → Nguyễn Văn Nhập Mới" in text
    assert "Ngày sinh : 15/04/1980 → 16/04/1980" in text
    assert 'id="update-existing" data-ticked="yes"' in page_text(response)
    assert confirm_label(0, 1) in text

    city_client.post(reverse("workbooks:import-confirm", args=[record.pk]))
    record.refresh_from_db()
    assert record.status == Status.IMPORTED
    member = Member.objects.get(card_number="45000001")
    assert (member.full_name, member.date_of_birth.isoformat()) == ("Nguyễn Văn Nhập Mới", "1980-04-16")
    # the confirmation checked again and replaced the preview's rows, not added to them
    assert list(record.changes.values_list("kind", "row")) == [(Kind.UPDATE, 2)]


def test_an_update_without_the_tick_is_refused_and_listed_as_a_problem(city_client, imported):
    """The row is listed once, as a problem (not as the update it would be), and given back in "Lỗi"."""
    response = upload(city_client, build_workbook(changed_member(imported)))
    record = WorkbookImport.objects.latest("pk")
    assert not record.update_existing
    assert record.status == Status.REFUSED
    assert [(problem["sheet"], problem["row"]) for problem in record.problems] == [(MEMBERS.title, 2)]

    response = city_client.get(response.url)
    assert listed(response) == [(Kind.PROBLEM, MEMBERS.key, 2)]
    assert record.problems[0]["message"] in html.unescape(page_text(response))
    assert 'id="update-existing" data-ticked="no"' in page_text(response)
    assert 'id="confirm-form"' not in page_text(response)
    assert Member.objects.get(card_number="45000001").full_name == "Nguyễn Văn Nhập"
    members = load_workbook(io.BytesIO(city_client.get(reverse("workbooks:import-errors", args=[record.pk])).content))[
        MEMBERS.title
    ]
    assert (
        members.cell(2, len(MEMBERS.columns) + 1).value
        == f"{MEMBERS.columns[0].header}: {record.problems[0]['message']}"
    )
    # the form to upload it again keeps the choice made (unticked)
    assert response.context["form"].initial == {"update_existing": False}


def test_the_upload_form_offers_the_tick_with_its_help(city_client):
    response = city_client.get(reverse("workbooks:import"))
    text = html.unescape(page_text(response))
    assert 'name="update_existing"' in text and 'type="checkbox"' in text
    assert gettext("Update existing rows") in text
    assert (
        gettext(
            "Without it, a row of an organisation or a member already recorded that would change it is a problem: "
            "nothing already recorded is overwritten by surprise."
        )
        in text
    )


# -- the confirm button --------------------------------------------------------------------------------------------


def test_the_confirm_button_shows_the_counts(city_client, tree):
    response = upload(city_client, build_workbook(good_rows(tree)))
    response = city_client.get(response.url)
    button = re.search(r'<button[^>]*id="confirm-button"[^>]*>(.*?)</button>', page_text(response), re.S)
    assert button and html.unescape(button.group(1)).strip() == confirm_label(4, 0)


# -- filter and pages ----------------------------------------------------------------------------------------------


@pytest.fixture
def many(city_client, tree):
    """A refused workbook: one new organisation, 120 new members, 3 members with a bad date (rows 122-124)."""
    rows = good_rows(tree)
    member = rows["members"][0]
    members = [{**member, "card_number": f"4600{n:04d}"} for n in range(120)]
    members += [{**member, "card_number": f"4700{n:04d}", "date_of_birth": "31/02/1980"} for n in range(3)]
    upload(city_client, build_workbook({"organisations": rows["organisations"], "members": members}))
    record = WorkbookImport.objects.get()
    assert record.status == Status.REFUSED
    return record


def test_the_rows_are_listed_a_page_at_a_time_in_the_workbooks_order(city_client, many):
    response = detail(city_client, many)
    first = listed(response)
    assert len(first) == PER_PAGE
    assert first[0] == (Kind.CREATE, ORGANISATIONS.key, 2)
    assert first[1:] == [(Kind.CREATE, MEMBERS.key, row) for row in range(2, PER_PAGE + 1)]
    last = listed(detail(city_client, many, page=3))
    assert last[-3:] == [(Kind.PROBLEM, MEMBERS.key, row) for row in (122, 123, 124)]
    assert len(last) == 1 + 120 + 3 - 2 * PER_PAGE
    # a page that does not exist: the last one; not a number: the first one
    assert listed(detail(city_client, many, page=99)) == last
    assert listed(detail(city_client, many, page="x")) == first
    assert 'id="changes-pages"' in page_text(response)


def test_the_rows_are_filtered_by_sheet_and_kind_with_their_counts(city_client, many):
    response = detail(city_client, many, kind="problem")
    assert listed(response) == [(Kind.PROBLEM, MEMBERS.key, row) for row in (122, 123, 124)]
    assert page_text(response).count('class="problem-message"') == 3
    kinds = {choice.value: choice.count for choice in response.context["preview"].kinds}
    assert kinds == {Kind.CREATE: 121, Kind.UPDATE: 0, Kind.PROBLEM: 3}
    assert re.search(r'<option value="problem" data-count="3" selected>', page_text(response))

    response = detail(city_client, many, sheet=ORGANISATIONS.key)
    assert listed(response) == [(Kind.CREATE, ORGANISATIONS.key, 2)]
    kinds = {choice.value: choice.count for choice in response.context["preview"].kinds}
    assert kinds == {Kind.CREATE: 1, Kind.UPDATE: 0, Kind.PROBLEM: 0}
    assert 'id="changes-pages"' not in page_text(response)

    response = detail(city_client, many, sheet=ORGANISATIONS.key, kind="problem")
    assert listed(response) == [] and 'id="changes-empty"' in page_text(response)


@pytest.mark.parametrize("params", [{"sheet": "khong-co"}, {"kind": "delete"}, {"sheet": "'; --", "kind": ["a", "b"]}])
def test_a_filter_value_that_is_not_a_choice_is_ignored_with_a_message(city_client, many, params):
    response = detail(city_client, many, **params)
    assert response.status_code == 200
    assert 'id="filter-ignored"' in page_text(response)
    assert len(listed(response)) == PER_PAGE


def test_a_problem_of_a_whole_sheet_is_listed_without_a_row(city_client, tree):
    """A required column missing: the sheet's problem, row 0, no key."""
    content = build_workbook({"organisations": good_rows(tree)["organisations"]})
    book = load_workbook(io.BytesIO(content))
    book[ORGANISATIONS.title].delete_cols(2)  # "Tên"
    buffer = io.BytesIO()
    book.save(buffer)
    response = upload(city_client, buffer.getvalue())
    record = WorkbookImport.objects.get()
    assert record.status == Status.REFUSED
    change = record.changes.get(kind=Kind.PROBLEM, row=0)
    assert (change.sheet, change.key) == (ORGANISATIONS.key, "")
    assert [column for column, _message in change.problems] == ["Tên"]
    response = city_client.get(response.url)
    assert (Kind.PROBLEM, ORGANISATIONS.key, 0) in listed(response)
    assert 'id="import-problems"' not in page_text(response)  # listed once, in the preview


# -- the workbook given back ---------------------------------------------------------------------------------------


def test_the_workbook_comes_back_with_its_problems_and_changes(city_client, imported, tree):
    rows = changed_member(imported)
    rows["members"].append({**imported["members"][1], "card_number": "45000009", "date_of_birth": "31/02/1980"})
    rows["members"].append({**imported["members"][1], "card_number": "45000010"})
    response = upload(city_client, build_workbook(rows), update_existing=True, name="Sổ mới.xlsx")
    record = WorkbookImport.objects.latest("pk")
    assert record.status == Status.REFUSED
    text = page_text(city_client.get(response.url))
    download = reverse("workbooks:import-errors", args=[record.pk])
    assert download in text
    assert gettext("Download the workbook with its problems and changes") in html.unescape(text)

    response = city_client.get(download)
    assert response.status_code == 200
    assert unquote(response["Content-Disposition"]).endswith("Sổ mới-loi.xlsx")
    members = load_workbook(io.BytesIO(response.content))[MEMBERS.title]
    errors, changes = len(MEMBERS.columns) + 1, len(MEMBERS.columns) + 2
    assert (members.cell(1, errors).value, members.cell(1, changes).value) == (ERROR_HEADER, CHANGE_HEADER)
    assert members.cell(2, errors).value is None
    assert members.cell(2, changes).value == (
        "Họ và tên: Nguyễn Văn Nhập → Nguyễn Văn Nhập Mới; Ngày sinh: 15/04/1980 → 16/04/1980"
    )
    assert "31/02/1980" in members.cell(3, errors).value and members.cell(3, changes).value is None
    assert (members.cell(4, errors).value, members.cell(4, changes).value) == (None, "Tạo mới")


def test_a_workbook_without_problems_comes_back_with_its_changes(city_client, tree):
    response = upload(city_client, build_workbook(good_rows(tree)), name="tot.xlsx")
    record = WorkbookImport.objects.get()
    assert record.status == Status.CHECKED
    text = html.unescape(page_text(city_client.get(response.url)))
    assert gettext("Download the workbook with a change column") in text
    response = city_client.get(reverse("workbooks:import-errors", args=[record.pk]))
    assert response.status_code == 200
    assert "tot-thay-doi.xlsx" in response["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.content))
    members = book[MEMBERS.title]
    column = len(MEMBERS.columns) + 1
    assert [members.cell(row, column).value for row in (1, 2, 3)] == [CHANGE_HEADER, "Tạo mới", "Tạo mới"]
    assert ERROR_HEADER not in [cell.value for cell in members[1]]


# -- queries -------------------------------------------------------------------------------------------------------


def test_the_page_runs_the_same_queries_for_two_or_three_thousand_rows(
    city_client, city, django_assert_max_num_queries
):
    def record_with(n):
        record = WorkbookImport.objects.create(
            uploaded_by=city, file_name="lon.xlsx", status=Status.CHECKED, content=b"PK", counts={}
        )
        ImportChange.objects.bulk_create(
            ImportChange(
                record=record,
                sheet=MEMBERS.key,
                sheet_order=2,
                row=i + 2,
                key=f"{i}",
                kind=Kind.UPDATE,
                changes=[["Họ và tên", "A", "B"], ["Ngày sinh", "01/01/1980", "02/01/1980"]],
            )
            for i in range(n)
        )
        return record

    for record in (record_with(2), record_with(3000)):
        for params in ({}, {"kind": "update", "page": "40"}, {"sheet": "members", "kind": "problem"}):
            # 6, and the bell of the menu (its count of unread reminders)
            with django_assert_max_num_queries(7):
                response = detail(city_client, record, **params)
            assert response.status_code == 200


def test_only_those_who_may_open_the_record_see_its_rows(tree, city_client, many):
    other = client_for(make_officer(tree.ward2))
    assert detail(other, many).status_code == 404
    assert other.get(reverse("workbooks:import-errors", args=[many.pk])).status_code == 404


# -- the preview's rows as stored ----------------------------------------------------------------------------------


def test_the_rows_stored_replace_the_earlier_ones_one_per_row_problems_first_of_the_file(city):
    """A row with an outcome and problems is one problem row carrying its key and changes; the file's problems come
    before every sheet's."""
    record = WorkbookImport.objects.create(uploaded_by=city, file_name="x.xlsx", status=Status.CHECKED)
    ImportChange.objects.create(record=record, sheet=MEMBERS.key, sheet_order=2, row=9, key="old", kind=Kind.CREATE)
    result = ImportResult(
        problems=[
            Problem("", None, "", "Someone else changed the same rows."),
            Problem(MEMBERS.title, 3, "Số thẻ", "Đã có."),
            Problem(MEMBERS.title, 3, "Ngày sinh", "Sai."),
            Problem(MEMBERS.title, None, "Số CCCD", "Thiếu cột."),
        ],
        counts={},
        applied=False,
        header_rows={MEMBERS.title: 1},
        outcomes=[
            RowOutcome(ORGANISATIONS.key, 2, "P1-KP9", "create"),
            RowOutcome(MEMBERS.key, 2, "45000001", "update", (("Họ và tên", "A", "B"),)),
            RowOutcome(MEMBERS.key, 3, "45000002", "update", (("Ngày sinh", "", "01/01/1980"),)),
        ],
    )
    store_preview(record, result)
    rows = [
        (change.kind, change.sheet, change.row, change.key, change.changes, change.problems)
        for change in record.changes.order_by("sheet_order", "row")
    ]
    assert rows == [
        (Kind.PROBLEM, "", 0, "", [], [["", "Someone else changed the same rows."]]),
        (Kind.CREATE, ORGANISATIONS.key, 2, "P1-KP9", [], []),
        (Kind.PROBLEM, MEMBERS.key, 0, "", [], [["Số CCCD", "Thiếu cột."]]),
        (Kind.UPDATE, MEMBERS.key, 2, "45000001", [["Họ và tên", "A", "B"]], []),
        (
            Kind.PROBLEM,
            MEMBERS.key,
            3,
            "45000002",
            [["Ngày sinh", "", "01/01/1980"]],
            [["Số thẻ", "Đã có."], ["Ngày sinh", "Sai."]],
        ),
    ]
    assert change_texts(record) == {
        ORGANISATIONS.title: {2: "Tạo mới"},
        MEMBERS.title: {2: "Họ và tên: A → B", 3: "Ngày sinh: (trống) → 01/01/1980"},
    }


# -- through the web: every problem of every sheet at once, and the template as downloaded ----------------------------


def test_errors_in_every_sheet_arrive_in_one_web_upload(city_client, tree):
    """The workbook of ``test_import_trust`` with a problem in each of the five sheets, uploaded through the form:
    every problem is on the page after one upload, each on its sheet's row, and nothing can be confirmed."""
    book, expected = every_sheet_wrong(tree)
    before = snapshot()
    upload(city_client, book.getvalue())
    record = WorkbookImport.objects.get()
    assert record.status == Status.REFUSED and snapshot() == before
    stored = {
        (change.sheet, change.row, column, message)
        for change in record.changes.filter(kind=Kind.PROBLEM)
        for column, message in change.problems
    }
    titles = {sheet.title: sheet.key for sheet in SHEETS}
    assert stored == {(titles[sheet], row, column, message) for sheet, row, column, message in expected}
    response = detail(city_client, record, kind="problem")
    page = plain(response)
    for _sheet, _row, _column, message in expected:
        assert html.unescape(message) in page
    assert {(sheet, row) for kind, sheet, row in listed(response)} == {
        (titles[sheet], row) for sheet, row, _column, _message in expected
    }
    assert 'id="confirm-form"' not in page_text(response)


def test_the_template_as_downloaded_is_refused_with_the_examples_message_on_the_page(city_client, tree):
    template = city_client.get(reverse("workbooks:template"))
    assert template.status_code == 200
    before = snapshot()
    upload(city_client, template.content, update_existing=True, name="mau-nhap-du-lieu.xlsx")
    record = WorkbookImport.objects.get()
    assert record.status == Status.REFUSED and snapshot() == before
    messages = {message for change in record.changes.all() for _column, message in change.problems}
    assert messages == {gettext(str(EXAMPLE_ROW))}
    assert not record.changes.exclude(kind=Kind.PROBLEM).exists()
    response = detail(city_client, record)
    assert gettext(str(EXAMPLE_ROW)) in plain(response)
    assert 'id="confirm-form"' not in page_text(response)
