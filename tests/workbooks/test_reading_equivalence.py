"""The streaming reader of ``workbooks.reading`` (issue 15: a cell read at less than half openpyxl's cost) reads every
cell exactly as openpyxl's read-only mode with ``data_only`` does: the same rows, numbered the same, the same values of
the same types. Compared on the workbooks the tests and the app write (the test books, the template, an export, a
write-only workbook as the benchmark writes it) and on a hand-written sheet holding every kind of cell."""

import datetime
import io
import warnings
import zipfile

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Border, Side
from openpyxl.utils.datetime import CALENDAR_MAC_1904

from members.models import Member
from tests.factories import make_member, make_tree
from tests.workbooks.books import (
    MEMBERS,
    ORGS,
    REFERRALS,
    member_row,
    member_sheet,
    org_row,
    org_sheet,
    referral_row,
    referral_sheet,
    workbook,
)
from workbooks import reading
from workbooks.exporting import write_workbook
from workbooks.template import template_workbook

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def typed(value):
    """A value with its type: 1 == 1.0 == True, a date equals nothing else, but the readers must agree on the type."""
    return (type(value).__name__, value)


def openpyxl_rows(content: bytes) -> dict[str, dict[int, tuple]]:
    """Each sheet's rows as openpyxl's read-only mode reads them, by row number (the rows that hold cells)."""
    book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    try:
        sheets = {}
        for sheet in book.worksheets:
            sheet.reset_dimensions()
            rows = enumerate(sheet.iter_rows(values_only=True), start=1)
            sheets[sheet.title] = {number: tuple(map(typed, values)) for number, values in rows if values}
        return sheets
    finally:
        book.close()


def streamed_rows(content: bytes) -> dict[str, dict[int, tuple]]:
    book = reading.open_workbook(io.BytesIO(content))
    try:
        sheets = {}
        for sheet in book.worksheets:
            rows = ((number, reading._row_values(cells)) for number, cells in reading._sheet_rows(sheet))
            sheets[sheet.title] = {number: tuple(map(typed, values)) for number, values in rows if values}
        return sheets
    finally:
        book.close()


def assert_read_alike(content: bytes) -> dict[str, dict[int, tuple]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a date beyond the calendar: both readers warn
        expected, streamed = openpyxl_rows(content), streamed_rows(content)
    assert streamed == expected
    return streamed


def test_the_test_books_are_read_alike():
    sheets = {
        ORGS: org_sheet(org_row("DH", "Đảng bộ thành phố", "root"), org_row("P1", None, "ward", "DH")),
        MEMBERS: member_sheet(member_row("45012345", "P1-KP1"), member_row("45012346", "P1-KP1", working=False)),
        REFERRALS: referral_sheet(referral_row("45012345", "P1", received="20/03/2018", cell="P1-KP1")),
    }
    for title in (False, True):
        read = assert_read_alike(workbook(sheets, title=title).getvalue())
        assert len(read[MEMBERS]) == 3 + title  # the title row above the headers


def test_the_template_is_read_alike():
    read = assert_read_alike(template_workbook())
    assert len(read) >= 6  # the instructions and the five sheets


@pytest.mark.django_db
def test_an_export_is_read_alike():
    tree = make_tree()
    for n in range(3):
        make_member(home=tree.cell, card_number=f"4601{n:04d}", national_id=f"04508001{n:04d}")
    out = io.BytesIO()
    write_workbook(out)
    read = assert_read_alike(out.getvalue())
    members = read[MEMBERS]
    assert Member.objects.count() == 3
    assert any(("datetime", datetime.datetime(2005, 5, 19)) in row for row in members.values())


def test_a_write_only_workbook_with_bordered_blank_cells_is_read_alike():
    """As the benchmark writes the largest workbook: a write-only sheet, dates styled, blank cells bordered."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(MEMBERS)
    border = Border(left=Side(style="thin"))

    def blank():
        cell = WriteOnlyCell(sheet)
        cell.border = border
        return cell

    def day(value):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "dd/mm/yyyy"
        return cell

    sheet.append(["STT", "Số thẻ", "Ngày sinh", "Đang công tác", "Ghi chú"])
    for n in range(50):
        sheet.append([n + 1, f"9{n:07d}", day(datetime.date(1980, 1, 1 + n % 28)), "x", blank()])
    out = io.BytesIO()
    book.save(out)
    read = assert_read_alike(out.getvalue())
    assert read[MEMBERS][2][2] == ("datetime", datetime.datetime(1980, 1, 1))


# -- every kind of cell --------------------------------------------------------------------------------------------

SHARED_STRINGS = f"""<?xml version="1.0" encoding="UTF-8"?>
<sst xmlns="{MAIN}" count="6" uniqueCount="6">
<si><t>plain</t></si>
<si><r><t>rich </t></r><r><rPr><i/><sz val="11"/></rPr><t>text</t></r></si>
<si><t>x005F_x0041_ kept</t></si>
<si><t xml:space="preserve">  spaced  </t><rPh sb="0" eb="1"><t>phonetic</t></rPh><phoneticPr fontId="1"/></si>
<si><t/></si>
<si><r><t>only</t></r><r><t>runs</t></r></si>
</sst>"""

ROWS = [
    (
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c>'
        '<c r="D1" t="s"><v>3</v></c><c r="E1" t="s"><v>4</v></c><c r="F1" t="s"><v>5</v></c></row>'
    ),
    (
        '<row r="2"><c r="A2" t="inlineStr"><is><t xml:space="preserve"> lead</t></is></c>'
        '<c r="B2" t="inlineStr"><is><r><rPr><b/></rPr><t>bo</t></r><r><t>ld</t></r></is></c>'
        '<c r="C2" t="inlineStr"/><c r="D2" t="inlineStr"><is/></c>'
        '<c r="E2" t="inlineStr"><is><t>a</t><rPh sb="0" eb="1"><t>ph</t></rPh></is></c>'
        '<c r="F2" t="inlineStr"><is><t>x005F_x0041_</t></is></c>'
        '<c r="G2" t="inlineStr"><is><t>Nguyễn Thị Phương Thảo</t></is></c></row>'
    ),
    (
        '<row r="3"><c r="A3"><v>42</v></c><c r="B3"><v>4.5</v></c><c r="C3"><v>1E3</v></c>'
        '<c r="D3" s="1"><v>43373</v></c><c r="E3" s="1"><v>43373.5</v></c><c r="F3" s="1"><v>0.25</v></c>'
        '<c r="G3" s="2"><v>1.5</v></c><c r="H3" s="1"><v>30</v></c><c r="I3" s="1"><v>99999999</v></c>'
        '<c r="J3" s="0"><v>7</v></c><c r="K3" s=""><v>8</v></c><c r="L3" t="n"><v>-3</v></c></row>'
    ),
    (
        '<row r="4"><c r="A4" t="b"><v>1</v></c><c r="B4" t="b"><v>0</v></c><c r="C4" t="e"><v>#N/A</v></c>'
        '<c r="D4" t="str"><f>A1</f><v>formula text</v></c><c r="E4"><f>1+1</f><v>2</v></c>'
        '<c r="F4" t="d"><v>2018-09-30T00:00:00</v></c><c r="G4"><v></v></c><c r="H4" s="1"/>'
        '<c r="I4" t="s"/><c r="J4"><f>A1</f></c></row>'
    ),
    ('<row r="6"><c><v>1</v></c><c><v>2</v></c><c r="E6"><v>5</v></c><c><v>6</v></c></row>'),
    ('<row><c r="a7"><v>7</v></c><c r="b7"><v>8</v></c></row>'),
    ('<row r="6"><c r="A6"><v>99</v></c></row>'),
    ('<row r="9" spans="1:3" ht="20" customHeight="1"><c r="C9"><v>3</v></c><c r="A9"><v>1</v></c></row>'),
    ('<row r="10"/>'),
    ('<row r="11"><c r="B11" s="1" t="n"><v>25569</v></c><c r="B11"><v>2</v></c></row>'),
    ('<row r="12.0"><c r="A12"><v>12</v></c></row>'),
    ('<row r="13"><c r="A12"><v>13</v></c><c r="XFD13" t="inlineStr"><is><t>far</t></is></c></row>'),
    ('<row r="1000"><c r="AA1000" t="s"><v>0</v></c></row>'),
]
CELLS = (
    f'<?xml version="1.0" encoding="UTF-8"?>\n<worksheet xmlns="{MAIN}"><dimension ref="A1:B2"/><sheetData>'
    + "".join(ROWS)
    + '</sheetData><pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
    + "</worksheet>"
)


def every_kind_of_cell(*, epoch_1904: bool = False) -> bytes:
    """A workbook whose first sheet is ``CELLS``, with the shared strings above, a date style (1) and a duration
    style (2)."""
    book = Workbook()
    if epoch_1904:
        book.epoch = CALENDAR_MAC_1904
    sheet = book.active
    sheet["A1"] = datetime.date(2018, 9, 30)
    sheet["A1"].number_format = "dd/mm/yyyy"
    sheet["A2"] = datetime.timedelta(hours=36)
    sheet["A2"].number_format = "[h]:mm"
    out = io.BytesIO()
    book.save(out)
    patched = io.BytesIO()
    with zipfile.ZipFile(out) as source, zipfile.ZipFile(patched, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                content = CELLS.encode()
            elif info.filename == "[Content_Types].xml":
                content = content.replace(
                    b"</Types>",
                    b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
                    b'officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
                )
            target.writestr(info.filename, content)
        target.writestr("xl/sharedStrings.xml", SHARED_STRINGS.encode())
    return patched.getvalue()


@pytest.mark.parametrize("epoch_1904", [False, True], ids=["1900", "1904"])
def test_every_kind_of_cell_is_read_alike(epoch_1904):
    content = every_kind_of_cell(epoch_1904=epoch_1904)
    book = load_workbook(io.BytesIO(content), read_only=True)
    assert {1, 2} <= book._date_formats and 2 in book._timedelta_formats  # the styles the sheet uses
    book.close()

    rows = assert_read_alike(content)["Sheet"]

    # What the sheet holds, so that the comparison is known to cover it.
    assert rows[1] == tuple(typed(text) for text in ["plain", "rich text", "x0041_ kept", "  spaced  ", "", "onlyruns"])
    assert rows[2][:3] == (typed(" lead"), typed("bold"), typed(None))
    assert rows[3][:3] == (typed(42), typed(4.5), typed(1000.0))
    assert rows[3][3] == typed(datetime.datetime(2018, 9, 30) if not epoch_1904 else datetime.datetime(2022, 10, 1))
    assert rows[3][8] == typed("#VALUE!")  # a serial beyond the calendar
    assert rows[4][:2] == (typed(True), typed(False))
    assert 5 not in rows and 8 not in rows  # missing rows
    assert rows[6] == tuple(map(typed, [1, 2, None, None, 5, 6]))
    assert rows[9] == (typed(1),)  # as wide as its last cell
    assert len(rows[13]) == 16384
    assert rows[1000][-1] == typed("plain")


@pytest.mark.parametrize(
    "cells",
    [
        '<c r="A1" t="s"><v>9</v></c>',  # a shared string that does not exist
        '<c r="A1"><v>abc</v></c>',  # a number that is not one
        '<c r="1A"><v>1</v></c>',  # a reference that is not one
        '<c r="A1" s="x"><v>1</v></c>',  # a style that is not one
        '<c r="A1" t="inlineStr"><is foo="1"><t>a</t></is></c>',  # openpyxl refuses unknown attributes
    ],
)
def test_a_damaged_cell_refuses_the_sheet_as_openpyxl_does(cells):
    content = every_kind_of_cell()
    patched = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(patched, "w") as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"<sheetData>", f'<sheetData><row r="1">{cells}</row>'.encode())
            target.writestr(info.filename, data)
    with pytest.raises(Exception):  # noqa: B017 (whatever openpyxl's parsers raise)
        openpyxl_rows(patched.getvalue())
    with pytest.raises(Exception):  # noqa: B017
        streamed_rows(patched.getvalue())
