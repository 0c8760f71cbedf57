"""The uploaded workbook given back with its problems (``workbooks.annotating.workbook_with_errors``): a "Lỗi" column
right of each sheet's last column, on the rows concerned, produced in streaming mode (read-only in, write-only out)
with what the import read: every row, values and their styles, never a formula."""

import datetime
import io
import re
import zipfile

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font

import workbooks.annotating
from dongha76.excel import keep_as_text
from tests.workbooks.books import MEMBER_HEADERS, MEMBERS, REFERRAL_HEADERS, REFERRALS
from workbooks.annotating import ERROR_HEADER, workbook_with_errors

SHEET_PART = "xl/worksheets/sheet1.xml"


def problem(sheet, row, column, message) -> dict:
    return {"sheet": sheet, "row": row, "column": column, "message": message}


def source_book() -> bytes:
    """Members (headers on row 3 under a title, a column of the user's own right of them, a blank row 6), referrals
    without problems, and the template's instructions sheet."""
    book = Workbook()
    members = book.active
    members.title = MEMBERS
    members.append(["Danh sách đảng viên"])
    members["A1"].font = Font(bold=True, size=13)
    members.append([])
    members.append([*MEMBER_HEADERS, "Ghi chú"])
    members.append(["45000001", "Nguyễn Văn An", datetime.date(1980, 4, 15), "Nam", "03/02/2005", "GDDT-01", "x"])
    members.append(["045000002", "=1+1 là hai", "31/02/1980", "Nữ", "01/06/2010", "KHONG-CO", "x", None, None, "ghi"])
    members.append([])
    members.append(["45000003", "Lê Văn Ba", "01/01/1970", "Nam", "01/01/2000", "GDDT-01", None])
    members["C4"].number_format = "dd/mm/yyyy"
    keep_as_text(members["B5"])  # typed as text ('=1+1 là hai in Excel), not a formula
    members.column_dimensions["B"].width = 31
    members.freeze_panes = "A4"
    referrals = book.create_sheet(REFERRALS)
    referrals.append(REFERRAL_HEADERS)
    referrals.append(["45000001", "1-GT", "10/03/2018", "P1"])
    book.create_sheet("Hướng dẫn").append(["Điền các trang theo mẫu."])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def annotate(content: bytes, problems: list[dict], header_rows: dict[str, int]):
    return load_workbook(io.BytesIO(workbook_with_errors(content, problems, header_rows)))


def column_values(sheet, column: int) -> dict[int, object]:
    return {row: sheet.cell(row=row, column=column).value for row in range(1, sheet.max_row + 1)}


def test_the_errors_column_is_right_of_the_last_column_on_the_rows_concerned():
    problems = [
        problem(MEMBERS, 5, "Ngày sinh", "“31/02/1980” is not a date."),
        problem(MEMBERS, 5, "Mã chi bộ", "No organisation has the code “KHONG-CO”."),
        problem(MEMBERS, 7, "Đang công tác", "Blank."),
        problem(MEMBERS, None, "Số CCCD", "This required column is missing."),  # the whole sheet: the header row
    ]

    book = annotate(source_book(), problems, {MEMBERS: 3, REFERRALS: 1})

    members = book[MEMBERS]
    error_column = len(MEMBER_HEADERS) + 2  # right of "Ghi chú", the user's own column
    assert members.max_column == error_column
    assert column_values(members, error_column) == {
        1: None,
        2: None,
        3: f"{ERROR_HEADER}\nSố CCCD: This required column is missing.",
        4: None,
        5: "Ngày sinh: “31/02/1980” is not a date.\nMã chi bộ: No organisation has the code “KHONG-CO”.",
        6: None,
        7: "Đang công tác: Blank.",
    }
    assert members.cell(row=3, column=error_column).font.b
    assert members.cell(row=5, column=error_column).fill.fgColor.rgb.endswith("F8D7DA")
    assert members.cell(row=5, column=error_column).alignment.wrap_text
    assert members.column_dimensions[members.cell(row=1, column=error_column).column_letter].width == 70
    # the sheets without problems come back as they were, those outside the layout too
    assert book.sheetnames == [MEMBERS, REFERRALS, "Hướng dẫn"]
    assert [list(row) for row in book[REFERRALS].iter_rows(values_only=True)] == [
        REFERRAL_HEADERS,
        ["45000001", "1-GT", "10/03/2018", "P1", None, None, None, None],
    ]
    assert book["Hướng dẫn"]["A1"].value == "Điền các trang theo mẫu."


def test_the_header_of_a_sheet_without_a_whole_sheet_problem_is_just_the_word():
    book = annotate(source_book(), [problem(REFERRALS, 2, "Số thẻ", "Unknown.")], {MEMBERS: 3, REFERRALS: 1})

    referrals = book[REFERRALS]
    assert referrals.cell(row=1, column=len(REFERRAL_HEADERS) + 1).value == ERROR_HEADER
    assert referrals.cell(row=2, column=len(REFERRAL_HEADERS) + 1).value == "Số thẻ: Unknown."
    assert book[MEMBERS].max_column == len(MEMBER_HEADERS) + 1  # untouched: no errors column


def test_values_styles_widths_and_frozen_panes_come_back():
    book = annotate(source_book(), [problem(MEMBERS, 4, "", "x")], {MEMBERS: 3})

    members = book[MEMBERS]
    assert members["A1"].value == "Danh sách đảng viên" and members["A1"].font.b and members["A1"].font.sz == 13
    assert members["C4"].value == datetime.datetime(1980, 4, 15)
    assert members["C4"].number_format == "dd/mm/yyyy"
    assert members["A5"].value == "045000002"  # text stays text, with its leading zero
    assert members.column_dimensions["B"].width == 31
    assert members.freeze_panes == "A4"
    assert [cell.value for cell in members[7]][:3] == ["45000003", "Lê Văn Ba", "01/01/1970"]


def test_text_that_looks_like_a_formula_stays_text_and_a_formula_comes_back_as_its_value():
    """City staff may open another user's file: nothing in it is evaluated when they do."""
    content = rewrite_sheet(
        source_book(),
        lambda xml: xml.replace(
            b"</row></sheetData>", b'<c r="K7" t="str"><f>HYPERLINK("http://x","y")</f><v>y</v></c></row></sheetData>'
        ),
    )

    book = annotate(content, [problem(MEMBERS, 5, "Họ và tên", "x")], {MEMBERS: 3})

    members = book[MEMBERS]
    assert members["B5"].value == "=1+1 là hai"
    assert members["B5"].data_type == "s"
    assert members["K7"].value == "y"
    assert members["K7"].data_type == "s"
    with zipfile.ZipFile(io.BytesIO(workbook_with_errors(content, [], {}))) as annotated:
        assert not any(b"<f>" in annotated.read(part) for part in annotated.namelist())


def rewrite_sheet(content: bytes, change) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            target.writestr(info.filename, change(data) if info.filename == SHEET_PART else data)
    return out.getvalue()


def test_every_row_comes_back_whatever_the_dimension_record_says():
    content = rewrite_sheet(
        source_book(), lambda xml: re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:B2"/>', xml)
    )

    book = annotate(content, [problem(MEMBERS, 7, "Số thẻ", "x")], {MEMBERS: 3})

    members = book[MEMBERS]
    assert members["A7"].value == "45000003"
    assert members.cell(row=7, column=len(MEMBER_HEADERS) + 2).value == "Số thẻ: x"


def test_a_problem_below_the_last_row_still_gets_its_row():
    """A sheet of headers only whose headers were looked for on row 3 (a missing column): the row is added."""
    book = Workbook()
    book.active.title = MEMBERS
    book.active.append(["Số thẻ"])
    out = io.BytesIO()
    book.save(out)

    annotated = annotate(out.getvalue(), [problem(MEMBERS, 4, "", "late")], {MEMBERS: 3})

    members = annotated[MEMBERS]
    assert column_values(members, 2) == {1: None, 2: None, 3: ERROR_HEADER, 4: "late"}


def test_the_upload_is_read_in_read_only_mode_and_written_in_write_only_mode(monkeypatch):
    """Memory stays flat: the whole workbook is never loaded (bench/preview_limits.py measures it)."""
    modes = []
    real_load = workbooks.annotating.load_workbook

    def load(*args, **kwargs):
        modes.append(kwargs.get("read_only", False))
        return real_load(*args, **kwargs)

    written = []
    real_bytes = workbooks.annotating.workbook_bytes

    def save(book):
        written.append(book.write_only)
        return real_bytes(book)

    monkeypatch.setattr(workbooks.annotating, "load_workbook", load)
    monkeypatch.setattr(workbooks.annotating, "workbook_bytes", save)

    workbook_with_errors(source_book(), [problem(MEMBERS, 4, "", "x")], {MEMBERS: 3})

    assert modes == [True]
    assert written == [True]


@pytest.mark.parametrize("header_rows", [{}, {MEMBERS: 0}])
def test_without_a_header_row_the_whole_sheet_problems_go_on_row_1(header_rows):
    book = annotate(source_book(), [problem(MEMBERS, None, "Số thẻ", "missing")], header_rows)

    members = book[MEMBERS]
    assert members.cell(row=1, column=len(MEMBER_HEADERS) + 2).value == f"{ERROR_HEADER}\nSố thẻ: missing"
