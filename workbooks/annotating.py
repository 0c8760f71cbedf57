"""The uploaded workbook given back with its problems and changes: a column "Lỗi" added to each sheet that has
problems and, beside it, a column "Thay đổi" to each sheet that has rows to create or change, on the rows they are
about, so that a user checks and fixes the file they know rather than copying from a list.

Streamed, so that memory stays flat whatever the number of rows (issue 10, finding 8): each sheet is read in
openpyxl's read-only mode and written row by row in write-only mode. A sheet with problems or changes is read twice,
the first time only to find its last column. What comes back is what the import read:

- every row, whatever the sheet's ``<dimension>`` record claims (as ``workbooks.reading`` reads it);
- values, with each cell's style (number format, font, fill, border, alignment), the column widths and the frozen
  panes; a formula comes back as its last computed value, never as a formula, and a text that begins like one stays
  text (city staff may open another user's file);
- not merged cells, comments, pictures, charts or chart sheets.
"""

import dataclasses
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
CHANGE_HEADER = "Thay đổi"
CHANGE_FILL = PatternFill("solid", fgColor="FFF3CD")
CHANGE_FONT = Font(bold=True, color="664D03")
MAX_WIDTHS = 1000  # column widths carried over: a <col> spanning the whole sheet is not copied 16,384 times


@dataclasses.dataclass(frozen=True)
class _Notes:
    """A column added right of a sheet's last one: its header, and its text on each row concerned."""

    header: str
    texts: dict[int, list[str]]
    fill: PatternFill
    font: Font


def workbook_with_errors(
    content: bytes,
    problems: list[dict],
    header_rows: dict[str, int],
    changes: dict[str, dict[int, str]] | None = None,
) -> bytes:
    """``content`` (an .xlsx the reader has already accepted) with an error column "Lỗi" on each sheet named in
    ``problems`` and a column "Thay đổi" (beside it) on each sheet named in ``changes`` ({sheet title: {row: what
    the row creates or changes}}), right of its last column; ``header_rows`` says on which row each sheet's headers
    are (by sheet title), where a problem of the whole sheet (a missing column) is written too."""
    by_sheet: dict[str, dict[int, list[str]]] = {}
    headers = {search_key(title): row for title, row in header_rows.items()}
    for problem in problems:
        key = search_key(problem["sheet"])
        row = problem["row"] or headers.get(key) or 1
        text = f"{problem['column']}: {problem['message']}" if problem["column"] else problem["message"]
        by_sheet.setdefault(key, {}).setdefault(row, []).append(text)
    changed = {
        search_key(title): {row: [text] for row, text in rows.items()} for title, rows in (changes or {}).items()
    }
    source = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    target = Workbook(write_only=True)
    try:
        for worksheet in source.worksheets:
            key = search_key(worksheet.title)
            notes = []
            if by_sheet.get(key):
                notes.append(_Notes(ERROR_HEADER, by_sheet[key], ERROR_FILL, ERROR_FONT))
            if changed.get(key):
                notes.append(_Notes(CHANGE_HEADER, changed[key], CHANGE_FILL, CHANGE_FONT))
            _copy_sheet(worksheet, target.create_sheet(worksheet.title), notes=notes, header_row=headers.get(key) or 1)
    finally:
        source.close()
    return workbook_bytes(target)


def _copy_sheet(source: ReadOnlyWorksheet, target: WriteOnlyWorksheet, *, notes: list[_Notes], header_row: int) -> None:
    source.reset_dimensions()
    target.sheet_state = source.sheet_state
    widths, frozen = _layout(source)
    first_note = None
    if notes:
        first_note = max((len(row) for row in source.iter_rows(values_only=True)), default=0) + 1
        widths = {column: width for column, width in widths.items() if column < first_note}
        for offset in range(len(notes)):
            widths[first_note + offset] = ERROR_WIDTH
    for column, width in sorted(widths.items()):
        target.column_dimensions[get_column_letter(column)].width = width
    if frozen:
        target.freeze_panes = frozen
    marked = {header_row}.union(*(note.texts for note in notes)) if notes else set()
    styles = _Styles(target)
    number = 0
    for number, row in enumerate(source.iter_rows(), start=1):
        values = [styles.copy(cell) for cell in row]
        if number in marked:
            target.append(_with_notes(values, first_note, _note_cells(target, number, notes, header_row)))
        else:
            target.append(values)
    for row in sorted(marked):  # a note below the last row read (a sheet of headers only)
        while number < row - 1:
            number += 1
            target.append([])
        if row > number:
            number = row
            target.append(_with_notes([], first_note, _note_cells(target, row, notes, header_row)))


def _with_notes(values: list, first_note: int, cells: list[Cell]) -> list:
    return [*values, *[None] * (first_note - 1 - len(values)), *cells]


def _note_cells(target: WriteOnlyWorksheet, row: int, notes: list[_Notes], header_row: int) -> list[Cell]:
    cells = []
    for note in notes:
        texts = note.texts.get(row)
        cell = Cell(target, row=1, column=1)
        if texts:
            cell.fill = note.fill
            cell.alignment = ERROR_ALIGNMENT
        if row == header_row:
            cell.font = note.font
            cell.value = note.header if not texts else "\n".join([note.header, *texts])
        else:
            cell.value = "\n".join(texts) if texts else None
        if looks_like_formula(cell.value):  # a message quoting the user's "=..." cell
            keep_as_text(cell)
        cells.append(cell)
    return cells


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
