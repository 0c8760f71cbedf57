"""Writing workbooks the way Vietnamese offices read them: a title row, bold frozen headers, dd/mm/yyyy dates,
column widths that fit, and text that Excel never evaluates as a formula."""

import datetime
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.utils.functional import Promise
from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

DATE_FORMAT = "dd/mm/yyyy"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MAX_WIDTH = 60
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def looks_like_formula(value) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def keep_as_text(cell) -> None:
    """A text that begins like a formula (=, +, -, @) stays text: Excel shows it as typed and never evaluates it."""
    cell.data_type = "s"
    cell.quotePrefix = True


def write_sheet(workbook: Workbook, *, title: str, heading: str, headers: Sequence[str], rows: Iterable[Sequence]):
    """A sheet named ``title``: ``heading`` on row 1, headers on row 3 (bold, frozen), then the rows."""
    sheet = workbook.create_sheet(title=title[:31])
    widths = [len(str(h)) for h in headers]
    sheet.append([heading])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append([])
    sheet.append(list(headers))
    for cell in sheet[3]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for row in rows:
        sheet.append(list(row))
        for cell in sheet[sheet.max_row]:
            if looks_like_formula(cell.value):
                keep_as_text(cell)
        for i, value in enumerate(row[: len(widths)]):
            widths[i] = max(widths[i], len(_as_text(value)))
    for row in sheet.iter_rows(min_row=4):
        for cell in row:
            if isinstance(cell.value, datetime.date):
                cell.number_format = DATE_FORMAT
    sheet.freeze_panes = "A4"
    for i, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = min(MAX_WIDTH, width + 2)
    return sheet


def _as_text(value) -> str:
    if isinstance(value, datetime.date):
        return "00/00/0000"
    return "" if value is None else str(value)


def workbook_bytes(workbook: Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def new_workbook() -> Workbook:
    workbook = Workbook()
    workbook.remove(workbook.active)
    return workbook


# -- write-only (streamed) workbooks: memory does not grow with the number of rows ---------------------------------


def new_write_only_workbook() -> Workbook:
    """A workbook whose rows go to disk as they are appended (openpyxl's write-only mode)."""
    return Workbook(write_only=True)


class _BoundCells(list):
    """A row of cells ``StreamedSheet.append`` made ready: their values bound, their columns set."""


class StreamedSheet:
    """A write-only sheet laid out like ``write_sheet``'s: ``heading`` on row 1, bold frozen headers on row 3, rows
    from row 4. Column widths are given up front (write-only sheets cannot be measured after the rows are written);
    ``number_formats`` maps a column index to the format of its numbers (e.g. ``"0.0%"`` for a share stored as 0.993);
    ``groups`` names groups of columns on row 2, each over its first column.
    Dates get dd/mm/yyyy; a text that begins like a formula stays text.

    ``append`` writes through cells made once per column and kind (plain, date, formatted number, quoted text, bold)
    whose value it replaces on each row: openpyxl serialises a row before its ``append`` returns, so the cells are
    free again for the next row. openpyxl's own ``append`` makes a new cell object for every date or styled value,
    and this sheet used to make one more of its own with its style set anew each time: at a province's hundreds of
    thousands of rows, those objects were most of the time spent above openpyxl's own writing (issue 15)."""

    FIRST_ROW = 4

    def __init__(
        self,
        workbook: Workbook,
        *,
        title: str,
        heading: str,
        headers: Sequence[str],
        widths: Sequence[float],
        number_formats: dict[int, str] | None = None,
        groups: Sequence[str | None] | None = None,
    ):
        self.sheet = workbook.create_sheet(title=title[:31])
        # The sheet's step from an appended row to its cells (openpyxl 3.1.5, pinned): the cells ``append`` bound
        # are taken as they are; any other row (``self.sheet.append`` of values) goes openpyxl's own way.
        self.sheet._values_to_row = self._cells_of_row
        self.number_formats = number_formats or {}
        self.rows_written = 0
        self._plain: list[Cell] = []  # column - 1 -> the column's unstyled cell
        self._styled: dict[tuple, Cell] = {}  # (column, number format, quoted, bold) -> the column's styled cell
        for i, width in enumerate(widths, start=1):
            self.sheet.column_dimensions[get_column_letter(i)].width = min(MAX_WIDTH, width)
        self.sheet.freeze_panes = f"A{self.FIRST_ROW}"
        self.sheet.append([self.cell(heading, font=Font(bold=True, size=13))])
        bold = Font(bold=True)
        # Row 2: the name of each group of columns over its first column (``groups``), or blank.
        self.sheet.append([None if group is None else self.cell(group, font=bold) for group in groups or []])
        wrap = Alignment(wrap_text=True, vertical="top")
        self.sheet.append([self.cell(header, font=bold, alignment=wrap) for header in headers])

    @property
    def next_row(self) -> int:
        """The number of the row the next ``append`` writes."""
        return self.FIRST_ROW + self.rows_written

    def cell(self, value, *, number_format: str | None = None, font: Font | None = None, alignment=None):
        """A cell of its own (the title and header rows, or a value ``append`` takes as it is)."""
        cell = WriteOnlyCell(self.sheet, value=value)
        if looks_like_formula(value):
            keep_as_text(cell)
        elif isinstance(value, datetime.date):
            cell.number_format = DATE_FORMAT
        elif number_format and isinstance(value, int | float | Decimal) and not isinstance(value, bool):
            cell.number_format = number_format
        if font is not None:
            cell.font = font
        if alignment is not None:
            cell.alignment = alignment
        return cell

    def _styled_cell(self, column: int, number_format: str | None, quoted: bool, bold: bool) -> Cell:
        key = (column, number_format, quoted, bold)
        cell = self._styled.get(key)
        if cell is None:
            cell = self._styled[key] = WriteOnlyCell(self.sheet)
            cell.column = column
            if number_format:
                cell.number_format = number_format
            if quoted:
                cell.quotePrefix = True
            if bold:
                cell.font = Font(bold=True)
        return cell

    def append(self, values: Sequence, *, bold: bool = False) -> None:
        """One row: dates shown dd/mm/yyyy, numbers in their column's ``number_formats``, a text that begins like a
        formula kept as text, every cell of a bold row bold; each value's type as openpyxl infers it."""
        plain = self._plain
        while len(plain) < len(values):
            plain.append(WriteOnlyCell(self.sheet))
            plain[-1].column = len(plain)
        formats = self.number_formats
        row = _BoundCells()
        for i, value in enumerate(values):
            if value is None:
                continue
            kind = type(value)
            if kind is not str and isinstance(value, Promise):  # a lazily translated label
                value, kind = str(value), str
            if kind is str:
                quoted = value.startswith(FORMULA_STARTS)
                cell = self._styled_cell(i + 1, None, quoted, bold) if quoted or bold else plain[i]
                cell.value = value
                if quoted:
                    cell.data_type = "s"  # never a formula
            elif isinstance(value, datetime.date):
                cell = self._styled_cell(i + 1, DATE_FORMAT, False, bold)
                cell.value = value
            elif isinstance(value, int | float | Decimal):
                number_format = None if kind is bool else formats.get(i + 1)
                cell = self._styled_cell(i + 1, number_format, False, bold) if number_format or bold else plain[i]
                cell.value = value
            else:  # a cell of its own (``cell``), or a value openpyxl styles itself (a time): not reused
                cell = value if isinstance(value, Cell) else self.cell(value, font=Font(bold=True) if bold else None)
                cell.column = i + 1
            row.append(cell)
        self.sheet.append(row)
        self.rows_written += 1

    def _cells_of_row(self, values, row_index: int):
        if type(values) is not _BoundCells:
            return WriteOnlyWorksheet._values_to_row(self.sheet, values, row_index)
        for cell in values:
            cell.row = row_index
        return values

    def append_blank(self) -> None:
        self.sheet.append([])
        self.rows_written += 1
