"""The uploaded workbook given back with its problems: a column "Lỗi" added to each sheet that has any, on the rows
they are about, so that a user fixes the file they know rather than copying from a list.

Streamed, so that memory stays flat whatever the number of rows (issue 10, finding 8): each sheet is read in
openpyxl's read-only mode and written row by row in write-only mode. A sheet with problems is read twice, the first
time only to find its last column. What comes back is what the import read:

- every row, whatever the sheet's ``<dimension>`` record claims (as ``workbooks.reading`` reads it);
- values, with each cell's style (number format, font, fill, border, alignment), the column widths and the frozen
  panes; a formula comes back as its last computed value, never as a formula, and a text that begins like one stays
  text (city staff may open another user's file);
- not merged cells, comments, pictures, charts or chart sheets.
"""

import io
from copy import copy

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._read_only import ReadOnlyWorksheet
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.xml.functions import iterparse

from dongha76.excel import keep_as_text, looks_like_formula, workbook_bytes
from dongha76.text import search_key

ERROR_HEADER = "Lỗi"
ERROR_FILL = PatternFill("solid", fgColor="F8D7DA")
ERROR_FONT = Font(bold=True, color="842029")
ERROR_ALIGNMENT = Alignment(wrap_text=True, vertical="top")
ERROR_WIDTH = 70
MAX_WIDTHS = 1000  # column widths carried over: a <col> spanning the whole sheet is not copied 16,384 times


def workbook_with_errors(content: bytes, problems: list[dict], header_rows: dict[str, int]) -> bytes:
    """``content`` (an .xlsx the reader has already accepted) with an error column on each sheet named in
    ``problems``, right of its last column; ``header_rows`` says on which row each sheet's headers are (by sheet
    title), where a problem of the whole sheet (a missing column) is written too."""
    by_sheet: dict[str, dict[int, list[str]]] = {}
    headers = {search_key(title): row for title, row in header_rows.items()}
    for problem in problems:
        key = search_key(problem["sheet"])
        row = problem["row"] or headers.get(key) or 1
        text = f"{problem['column']}: {problem['message']}" if problem["column"] else problem["message"]
        by_sheet.setdefault(key, {}).setdefault(row, []).append(text)
    source = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    target = Workbook(write_only=True)
    try:
        for worksheet in source.worksheets:
            key = search_key(worksheet.title)
            _copy_sheet(
                worksheet,
                target.create_sheet(worksheet.title),
                messages=by_sheet.get(key, {}),
                header_row=headers.get(key) or 1,
            )
    finally:
        source.close()
    return workbook_bytes(target)


def _copy_sheet(
    source: ReadOnlyWorksheet, target: WriteOnlyWorksheet, *, messages: dict[int, list[str]], header_row: int
) -> None:
    source.reset_dimensions()
    target.sheet_state = source.sheet_state
    widths, frozen = _layout(source)
    error_column = None
    if messages:
        error_column = max((len(row) for row in source.iter_rows(values_only=True)), default=0) + 1
        widths = {column: width for column, width in widths.items() if column < error_column}
        widths[error_column] = ERROR_WIDTH
    for column, width in sorted(widths.items()):
        target.column_dimensions[get_column_letter(column)].width = width
    if frozen:
        target.freeze_panes = frozen
    marked = sorted({*messages, header_row}) if error_column else []
    styles = _Styles(target)
    number = 0
    for number, row in enumerate(source.iter_rows(), start=1):
        values = [styles.copy(cell) for cell in row]
        if error_column and (number in messages or number == header_row):
            target.append(_with_error(values, error_column, _error_cell(target, number, messages, header_row)))
        else:
            target.append(values)
    for row in marked:  # a problem below the last row read (a sheet of headers only)
        while number < row - 1:
            number += 1
            target.append([])
        if row > number:
            number = row
            target.append(_with_error([], error_column, _error_cell(target, row, messages, header_row)))


def _with_error(values: list, error_column: int, cell: Cell) -> list:
    return [*values, *[None] * (error_column - 1 - len(values)), cell]


def _error_cell(target: WriteOnlyWorksheet, row: int, messages: dict[int, list[str]], header_row: int) -> Cell:
    texts = messages.get(row)
    cell = Cell(target, row=1, column=1)
    if texts:
        cell.fill = ERROR_FILL
        cell.alignment = ERROR_ALIGNMENT
    if row == header_row:
        cell.font = ERROR_FONT
        cell.value = ERROR_HEADER if not texts else "\n".join([ERROR_HEADER, *texts])
    else:
        cell.value = "\n".join(texts)
    if looks_like_formula(cell.value):  # a message quoting the user's "=..." cell
        keep_as_text(cell)
    return cell


class _Styles:
    """A read-only cell as a cell of the target sheet with the same value and style. Each style of the source is
    translated once into the target's style tables: a cell then costs a copy of its style's indices."""

    def __init__(self, target: WriteOnlyWorksheet):
        self.target = target
        self.arrays: dict[int, object] = {}

    def copy(self, cell):
        value = cell.value
        style_id = getattr(cell, "_style_id", 0)
        formula_like = looks_like_formula(value)
        if not style_id and not formula_like:
            return value  # a plain value is appended as it is: no cell object
        array = self.arrays.get(style_id)
        if array is None:
            probe = Cell(self.target, row=1, column=1)
            if style_id:
                probe.font = copy(cell.font)
                probe.fill = copy(cell.fill)
                probe.border = copy(cell.border)
                probe.alignment = copy(cell.alignment)
                probe.protection = copy(cell.protection)
                probe.number_format = cell.number_format
            array = self.arrays[style_id] = probe._style
        copied = Cell(self.target, row=1, column=1, value=value, style_array=array)
        if formula_like:
            keep_as_text(copied)
        return copied


def _layout(worksheet: ReadOnlyWorksheet) -> tuple[dict[int, float], str | None]:
    """The column widths and the frozen panes' top-left cell, read from the sheet's XML up to its data (openpyxl's
    read-only mode skips both)."""
    widths: dict[int, float] = {}
    frozen = None
    source = worksheet._get_source()  # the sheet's part in the archive (openpyxl pinned in requirements.txt)
    try:
        for _event, element in iterparse(source, events=("start",)):
            tag = element.tag.rsplit("}", 1)[-1]
            if tag == "sheetData":
                break
            if tag == "pane" and element.get("state") in ("frozen", "frozenSplit"):
                frozen = element.get("topLeftCell")
            elif tag == "col" and element.get("width"):
                first = int(element.get("min", 0))
                last = min(int(element.get("max", first)), first + MAX_WIDTHS, MAX_WIDTHS)
                for column in range(max(first, 1), last + 1):
                    widths[column] = float(element.get("width"))
    except (ValueError, SyntaxError):  # a damaged layout (ParseError is a SyntaxError): the values still come back
        pass
    finally:
        source.close()
    return widths, frozen
