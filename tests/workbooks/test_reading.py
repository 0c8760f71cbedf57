"""Reading an uploaded workbook (``workbooks.reading``): every row is read whatever the sheet claims about its size,
rows padded to absurd widths cost nothing, and a file whose cells or unpacked size exceed the documented limits is
refused before openpyxl parses anything."""

import io
import re
import zipfile

import pytest
from django.utils.translation import gettext

from members.models import Member
from tests.factories import make_tree
from tests.workbooks.books import MEMBERS, member_row, member_sheet, snapshot, workbook
from workbooks import reading
from workbooks.importing import WorkbookRefused, import_workbook

pytestmark = pytest.mark.django_db

SHEET_PART = "xl/worksheets/sheet1.xml"


@pytest.fixture
def tree():
    return make_tree()


def rewrite_part(book: io.BytesIO, name: str, change) -> io.BytesIO:
    """A copy of the .xlsx ``book`` with the part ``name`` passed through ``change`` (bytes -> bytes)."""
    out = io.BytesIO()
    with zipfile.ZipFile(book) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            target.writestr(info.filename, change(content) if info.filename == name else content)
    out.seek(0)
    return out


def with_dimension(book: io.BytesIO, ref: str) -> io.BytesIO:
    """The sheet's ``<dimension ref="...">`` record replaced by ``ref``, as a careless writer leaves it."""

    def change(xml: bytes) -> bytes:
        changed, count = re.subn(rb'<dimension ref="[^"]*"\s*/>', f'<dimension ref="{ref}"/>'.encode(), xml)
        assert count == 1, "the sheet should have one dimension record"
        return changed

    return rewrite_part(book, SHEET_PART, change)


def members_book(tree, count: int) -> io.BytesIO:
    return workbook({MEMBERS: member_sheet(*(member_row(f"4501{n:04d}", tree.cell.code) for n in range(count)))})


# -- finding 5: the dimension record is not trusted ----------------------------------------------------------------


def test_a_sheet_whose_dimension_record_understates_its_rows_is_read_whole(tree):
    """Finding 5: the sheet says A1:I2 but holds 50 rows; all 50 are imported, not 1."""
    book = with_dimension(members_book(tree, 50), "A1:I2")

    result = import_workbook(book, by=None)

    assert result.ok, result.problems
    assert result.counts["members"].rows == 50
    assert result.counts["members"].create == 50
    assert Member.objects.filter(card_number__startswith="4501").count() == 50


def test_a_sheet_whose_dimension_record_understates_its_columns_is_read_whole(tree):
    book = with_dimension(members_book(tree, 3), "A1:B4")

    result = import_workbook(book, by=None, dry_run=True)

    assert result.ok, result.problems
    assert result.counts["members"].create == 3


def test_a_sheet_without_a_dimension_record_is_read_whole(tree):
    book = rewrite_part(members_book(tree, 5), SHEET_PART, lambda xml: re.sub(rb"<dimension [^>]*/>", b"", xml))

    result = import_workbook(book, by=None, dry_run=True)

    assert result.ok, result.problems
    assert result.counts["members"].create == 5


def test_rows_padded_to_the_last_excel_column_are_read_only_as_wide_as_the_headers(tree):
    """A stray cell at XFD1 and a dimension of A1:XFD60 would make every row 16,384 values wide: the data rows are
    read only up to the last column the headers use."""
    book = members_book(tree, 60)

    def pad(xml: bytes) -> bytes:
        xml = xml.replace(b"</row>", b'<c r="XFD1" t="inlineStr"><is><t>ghi chu</t></is></c></row>', 1)
        return re.sub(rb'<dimension ref="[^"]*"\s*/>', b'<dimension ref="A1:XFD61"/>', xml)

    padded = rewrite_part(book, SHEET_PART, pad)
    sheets, _problems = reading.read_workbook(padded)
    padded.seek(0)

    assert all(set(row.cells) == sheets["members"].present for row in sheets["members"].rows)
    result = import_workbook(padded, by=None, dry_run=True)

    assert result.ok, result.problems
    assert result.counts["members"].create == 60


# -- finding 8: refused before openpyxl parses anything ------------------------------------------------------------

CELLS_REFUSED = (
    "The workbook has more than %(limit)s cells (formatted blank cells count too). Delete the unused rows and "
    "columns, or split it into several workbooks."
)
UNPACKS_TOO_MUCH = "This file unpacks to far more data than a workbook holds; it is refused."


def with_sheet_data(book: io.BytesIO, rows_xml: bytes) -> io.BytesIO:
    """``rows_xml`` (``<row>`` elements) added at the end of the first sheet's data."""
    return rewrite_part(book, SHEET_PART, lambda xml: xml.replace(b"</sheetData>", rows_xml + b"</sheetData>"))


def blank_cells_book(tree, cells: int, *, per_row: int = 1000) -> io.BytesIO:
    """Two real member rows, then ``cells`` formatted blank cells (``<c s="1"/>``, as Excel writes a bordered empty
    cell), ``per_row`` to a row."""
    rows, rest = divmod(cells, per_row)
    blank_row = b"<row>" + b'<c s="1"/>' * per_row + b"</row>"
    xml = blank_row * rows + (b"<row>" + b'<c s="1"/>' * rest + b"</row>" if rest else b"")
    return with_sheet_data(members_book(tree, 2), xml)


def cells_in(book: io.BytesIO) -> int:
    with zipfile.ZipFile(book) as archive:
        count = reading._count_cells(archive, archive.infolist(), limit=10**9)
    book.seek(0)
    return count


@pytest.fixture
def no_parsing(monkeypatch):
    """openpyxl must not be reached: the file is refused on its zip alone."""

    def parse(*args, **kwargs):
        raise AssertionError("openpyxl parsed a file that should have been refused before")

    monkeypatch.setattr(reading, "open_workbook", parse)


def test_a_small_file_of_blank_formatted_cells_is_refused_before_parsing(tree, no_parsing):
    """Finding 8: an upload of under 300 kB holding 30 MB of blank cells is refused at once, with the limit named."""
    book = blank_cells_book(tree, 3_000_000)
    size = len(book.getvalue())
    assert size < 300 * 1024  # small on disk
    with zipfile.ZipFile(book) as archive:
        assert archive.getinfo(SHEET_PART).file_size > 30_000_000  # 30 MB of blank cells
    book.seek(0)
    before = snapshot()

    with pytest.raises(WorkbookRefused) as refused:
        import_workbook(book, by=None)

    limit = reading.cell_limit(size)
    assert limit == max(100_000, 2 * size)
    assert str(refused.value.message) == gettext(CELLS_REFUSED) % {"limit": reading._number(limit)}
    assert snapshot() == before


def test_more_cells_than_the_largest_workbook_holds_are_refused_whatever_the_file_size(tree, monkeypatch):
    """2,000,000 cells at most, however large the file (scaled down: 300 cells)."""
    monkeypatch.setattr(reading, "MAX_CELLS", 300)
    monkeypatch.setattr(reading, "FREE_CELLS", 10)
    book = members_book(tree, 50)  # 359 cells in a file of 6 kB or more
    assert cells_in(book) > 300 and reading.MAX_CELLS_PER_BYTE * len(book.getvalue()) > 300

    with pytest.raises(WorkbookRefused) as refused:
        import_workbook(book, by=None, dry_run=True)

    assert str(refused.value.message) == gettext(CELLS_REFUSED) % {"limit": "300"}


def test_the_cell_limit_grows_with_the_file_up_to_the_largest_workbook():
    assert reading.cell_limit(1_000) == 100_000  # any file may hold 100,000 cells
    assert reading.cell_limit(300 * 1024) == 614_400  # two cells a byte
    assert reading.cell_limit(1024 * 1024) == 2_000_000
    assert reading.cell_limit(10 * 1024 * 1024) == 2_000_000


def test_a_large_bordered_empty_table_as_excel_writes_it_is_accepted(tree):
    """Excel writes each formatted empty cell with its reference (about half a cell a byte once packed): a table of
    150,000 of them, more than any file may hold whatever its size, passes the limit of its size."""
    rows = []
    for row in range(4, 4 + 15_000):
        rows.append(f'<row r="{row}">' + "".join(f'<c r="{col}{row}" s="1"/>' for col in "ABCDEFGHIJ") + "</row>")
    book = with_sheet_data(members_book(tree, 2), "".join(rows).encode())
    assert cells_in(book) > reading.FREE_CELLS
    assert cells_in(book) <= reading.cell_limit(len(book.getvalue()))

    result = import_workbook(book, by=None, dry_run=True)

    assert result.ok, result.problems
    assert result.counts["members"].create == 2


def test_the_refusal_of_too_many_cells_is_shown_on_the_preview_and_the_file_not_kept(tree, no_parsing, client):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    from tests.factories import make_officer
    from workbooks.models import WorkbookImport

    client.force_login(make_officer(tree.root))
    before = snapshot()
    content = blank_cells_book(tree, 3_000_000).getvalue()
    message = gettext(CELLS_REFUSED) % {"limit": reading._number(reading.cell_limit(len(content)))}

    response = client.post(reverse("workbooks:import"), {"file": SimpleUploadedFile("trong.xlsx", content)})

    record = WorkbookImport.objects.get()
    assert response.status_code == 302
    assert record.status == WorkbookImport.Status.REFUSED
    assert [problem["message"] for problem in record.problems] == [message]
    assert bytes(record.content) == b""
    assert snapshot() == before
    assert message in response_text(client.get(response.url))


def response_text(response) -> str:
    import html

    return html.unescape(response.content.decode())


def test_a_workbook_with_exactly_the_cells_allowed_is_accepted_and_one_more_is_refused(tree, monkeypatch):
    book = members_book(tree, 20)
    cells = cells_in(book)
    assert cells == 9 + 20 * 7  # the headers, then seven cells a row (blank exemption flags are not written)

    monkeypatch.setattr(reading, "MAX_CELLS", cells)
    result = import_workbook(book, by=None, dry_run=True)
    assert result.ok, result.problems
    assert result.counts["members"].create == 20

    monkeypatch.setattr(reading, "MAX_CELLS", cells - 1)
    with pytest.raises(WorkbookRefused) as refused:
        import_workbook(book, by=None, dry_run=True)
    assert str(refused.value.message) == gettext(CELLS_REFUSED) % {"limit": reading._number(cells - 1)}


def test_a_workbook_unpacking_to_exactly_the_limit_is_accepted_and_one_byte_more_is_refused(tree, monkeypatch):
    book = members_book(tree, 20)
    with zipfile.ZipFile(book) as archive:
        unpacked = sum(entry.file_size for entry in archive.infolist())
    book.seek(0)

    monkeypatch.setattr(reading, "MAX_UNPACKED_BYTES", unpacked)
    assert import_workbook(book, by=None, dry_run=True).ok

    monkeypatch.setattr(reading, "MAX_UNPACKED_BYTES", unpacked - 1)
    with pytest.raises(WorkbookRefused) as refused:
        import_workbook(book, by=None, dry_run=True)
    message = str(refused.value.message)
    assert message.startswith(gettext(UNPACKS_TOO_MUCH))
    assert gettext("At most %(limit)s MB unpacked is accepted.") % {"limit": "0"} in message


def test_the_limits_are_those_documented():
    assert reading.MAX_CELLS == 2_000_000
    assert reading.MAX_UNPACKED_BYTES == 150 * 1024 * 1024
    assert reading.MAX_ROWS == 100_000
    assert reading.MAX_CELLS_PER_BYTE == 2
    assert reading.FREE_CELLS == 100_000


@pytest.mark.slow
def test_the_largest_accepted_workbook_passes_the_checks():
    """100,000 rows of the widest sheet with all 19 columns filled, as openpyxl writes them (inline strings, the
    largest form): under both limits, so that the limits refuse nothing a real workbook needs."""
    from workbooks.layout import MEMBERS as LAYOUT

    text = '<c r="{col}{row}" t="inlineStr"><is><t>{value}</t></is></c>'
    date = '<c r="{col}{row}" s="3" t="n"><v>29000</v></c>'
    letters = "ABCDEFGHIJKLMNOPQRS"
    values = {"B": "Nguyễn Thị Phương Thảo 12345", "L": "123 đường Lê Lợi, khu phố 10, Phường 5, thành phố Đông Hà"}
    dates = {column.header for column in LAYOUT.columns if column.value.value == "date"}
    kinds = ["date" if column.header in dates else "text" for column in LAYOUT.columns]
    assert len(kinds) == len(letters)
    header = "".join(
        text.format(col=col, row=3, value=column.header) for col, column in zip(letters, LAYOUT.columns, strict=True)
    )
    lines = [f'<row r="3">{header}</row>']
    for row in range(4, 100_004):
        cells = (
            date.format(col=col, row=row)
            if kind == "date"
            else text.format(col=col, row=row, value=values.get(col, "045080012345"))
            for col, kind in zip(letters, kinds, strict=True)
        )
        lines.append(f'<row r="{row}">{"".join(cells)}</row>')
    sheet = (
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        + "".join(lines)
        + "</sheetData></worksheet>"
    ).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("xl/workbook.xml", b"<workbook/>")
        archive.writestr(SHEET_PART, sheet)
    assert len(sheet) > 100 * 1024 * 1024
    assert cells_in(out) == 19 * 100_001

    reading.check_file(out)  # no refusal


def test_cells_are_counted_in_every_form_a_parser_accepts():
    sheet = (
        b'<x:worksheet xmlns:x="main"><x:cols><x:col min="1"/></x:cols><x:sheetData><x:row>'
        b'<x:c r="A1"/><x:c\tr="B1"><x:v>1</x:v></x:c><x:c/></x:row><row><c>1</c><c/><c r="C2" s="1"/>'
        b"<cfRule/></row></x:sheetData></x:worksheet>"
    )
    book = io.BytesIO()
    with zipfile.ZipFile(book, "w") as archive:
        archive.writestr("xl/elsewhere/anything.xml", sheet)
    assert cells_in(book) == 6


def test_a_cell_cut_by_the_end_of_a_chunk_is_counted_once(monkeypatch):
    monkeypatch.setattr(reading, "CHUNK_BYTES", 7)
    book = io.BytesIO()
    with zipfile.ZipFile(book, "w") as archive:
        archive.writestr(SHEET_PART, b'<row r="1">' + b'<c r="A1" s="1"/>' * 50 + b"<c/></row>")
    assert cells_in(book) == 51


def test_a_row_beyond_excels_last_row_is_refused(tree):
    book = with_sheet_data(
        members_book(tree, 2), b'<row r="1048577"><c r="A1048577" t="inlineStr"><is><t>4</t></is></c></row>'
    )
    before = snapshot()

    with pytest.raises(WorkbookRefused) as refused:
        import_workbook(book, by=None)

    assert str(refused.value.message) == gettext(reading.NOT_XLSX)
    assert snapshot() == before
