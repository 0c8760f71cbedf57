"""Writing workbooks the way Vietnamese offices read them: a title row, bold frozen headers, dd/mm/yyyy dates,
column widths that fit, and text that Excel never evaluates as a formula."""

import datetime
import io
from collections.abc import Iterable, Sequence

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

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
