"""Reading an uploaded workbook safely and turning its cells into values.

What is refused before openpyxl parses anything (``check_file``), each with a message naming the limit:

- a file over ``MAX_FILE_BYTES`` (10 MB), or that is not an .xlsx (whatever its name says);
- a zip whose parts would unpack to more than ``MAX_UNPACKED_BYTES`` (150 MB), or at a ratio only a zip bomb has
  (``MAX_RATIO``);
- a workbook of more cells, formatted blank cells included, than ``cell_limit`` allows: ``MAX_CELLS`` (2,000,000),
  and no more than ``MAX_CELLS_PER_BYTE`` (2) per byte of the file, though any file may hold ``FREE_CELLS``
  (100,000). The cell elements of every part are counted by streaming the zip in chunks (no XML parse; about 0.7 s
  for the largest accepted workbook).

The limits come from the largest workbook the import accepts: 100,000 rows (``MAX_ROWS``) of the widest sheet
(``Đảng viên``, 19 columns) with every column filled is 1.9 million cells, 112 MB unpacked and 8.7 MB packed when
openpyxl writes it (Excel's shared strings make it smaller). ``MAX_CELLS`` is 100,000 rows of 20 columns; the
unpacked limit leaves a third more for longer texts. A cell is read in 1 to 3 µs (openpyxl's read-only mode took 3 to
11 µs), so no accepted file costs more to read than that largest real workbook. Real workbooks hold at most 0.2 cells
per byte of file, or 0.5 when Excel writes a large bordered empty table; a small upload stuffed with millions of blank
cells holds tens: with two cells a byte, a file of 300 kB is read in a few seconds at most.

Then the workbook is opened by openpyxl (its sheets, styles and date system) and each sheet's XML is streamed row by
row (``_sheet_rows``: memory does not grow with the rows), reading each cell as openpyxl's read-only mode does, at
less than half its cost (issue 15). Two precautions: the ``<dimension>`` record a sheet carries is not trusted (a
careless writer's ``A1:I2`` on a sheet of 50 rows must not read one row), and data rows keep only the columns the
headers use, so a stray cell at XFD1 does not pad every row to 16,384 values. A workbook of more than ``MAX_ROWS``
rows is refused while reading.
"""

import contextlib
import dataclasses
import datetime
import re
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterator
from typing import IO
from xml.etree.ElementTree import XMLPullParser, iterparse

from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from openpyxl.packaging.relationship import get_dependents, get_rels_path
from openpyxl.reader.excel import ExcelReader
from openpyxl.utils.cell import coordinate_to_tuple, range_boundaries
from openpyxl.utils.datetime import from_excel, from_ISO8601
from openpyxl.worksheet._read_only import ReadOnlyWorksheet
from openpyxl.xml.constants import SHARED_STRINGS, SHEET_MAIN_NS

from dongha76.dates import parse_day
from dongha76.periods import today
from dongha76.services import day_text
from dongha76.text import search_key
from workbooks.layout import NO_WORDS, SHEETS, YES_WORDS, Column, Sheet, Value

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_ROWS = 100_000
MAX_CELLS = 2_000_000  # 100,000 rows of 20 columns; the widest sheet has 19
MAX_CELLS_PER_BYTE = 2  # of the file: real workbooks hold 0.2 (0.5 for a large bordered empty table)
FREE_CELLS = 100_000  # whatever the file's size: a second of reading
MAX_UNPACKED_BYTES = 150 * 1024 * 1024  # the largest accepted workbook unpacks to 112 MB (openpyxl's inline strings)
MAX_RATIO = 200  # real workbooks compress 5-20 times; a zip bomb thousands of times
EXCEL_LAST_ROW = 1_048_576  # a row number beyond Excel's last row is a crafted file
HEADER_SEARCH_ROWS = 10  # the headers may sit under a title, as in the template (row 3)
# The start of a cell element, <c ...>, <c/> or with a namespace prefix (<x:c ...>): never <col>, <cols>, <cfRule>.
CELL_START = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c[\s/>]")
CHUNK_BYTES = 1024 * 1024
READ_PROGRESS_EVERY = 500  # rows read between two reports of the progress
EXCEL_EPOCH_LIMITS = (datetime.date(1900, 1, 1), datetime.date(2100, 12, 31))
NOT_A_DATE_CELL = _("“%(value)s” is not a date; write it as dd/mm/yyyy.")
IMPOSSIBLE_CELL = _("“%(value)s”: this date does not exist.")
NOT_XLSX = _("This file is not an Excel workbook (.xlsx). Save it from Excel as .xlsx and retry.")
UNPACKS_TOO_MUCH = _("This file unpacks to far more data than a workbook holds; it is refused.")
# The template's example rows use codes and card numbers that no real row has (``workbooks.template``): a row naming
# one in its key or a code column is the template's, left in by mistake, and would otherwise be read as real.
EXAMPLE_PREFIX = "VD-"
EXAMPLE_ROW = _("This is an example row of the template; delete the example rows before importing.")
CODE_KEYS = frozenset(
    {
        "code",
        "parent",
        "successor",
        "card_number",
        "home_organisation",
        "organisation",
        "issuing_organisation",
        "receiving_ward",
        "residential_cell",
    }
)


class WorkbookRefused(Exception):
    """The file as a whole cannot be read: nothing in it is looked at further."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


@dataclasses.dataclass
class Problem:
    """One thing wrong in the workbook, where a user finds it: sheet, row and column as Excel shows them."""

    sheet: str
    row: int | None
    column: str
    message: str
    key: str = ""  # the row's key as the sheet shows it, when it can be read (for the preview's list)

    def as_dict(self) -> dict:
        return {"sheet": self.sheet, "row": self.row, "column": self.column, "message": str(self.message)}


@dataclasses.dataclass
class Row:
    number: int  # as Excel numbers it
    cells: dict[str, object]  # column key -> raw value (absent columns are not in it)


@dataclasses.dataclass
class SheetData:
    sheet: Sheet
    header_row: int
    present: frozenset[str]  # keys of the columns found
    rows: list[Row]

    def has(self, key: str) -> bool:
        return key in self.present


def check_file(upload: IO[bytes], *, size: int | None = None) -> None:
    """Refuse, before any XML is parsed, a file too large, not a zip, not an .xlsx inside, a zip bomb, or a workbook
    of more cells than the largest accepted one holds; leaves the file at its start."""
    if size is None:
        upload.seek(0, 2)
        size = upload.tell()
    upload.seek(0)
    if size > MAX_FILE_BYTES:
        raise WorkbookRefused(_("The file is larger than 10 MB. Split it into several workbooks."))
    if size == 0 or not zipfile.is_zipfile(upload):
        upload.seek(0)
        raise WorkbookRefused(NOT_XLSX)
    upload.seek(0)
    try:
        with zipfile.ZipFile(upload) as archive:
            entries = archive.infolist()
            names = {entry.filename for entry in entries}
            unpacked = sum(entry.file_size for entry in entries)
            packed = sum(entry.compress_size for entry in entries) or 1
            if "xl/workbook.xml" not in names:
                raise WorkbookRefused(NOT_XLSX)
            if unpacked > MAX_UNPACKED_BYTES:
                raise WorkbookRefused(
                    f"{UNPACKS_TOO_MUCH} "
                    + _("At most %(limit)s MB unpacked is accepted.")
                    % {"limit": _number(MAX_UNPACKED_BYTES // (1024 * 1024))}
                )
            # Counted before the ratio is judged: a small file of blank formatted cells is told what is wrong.
            limit = cell_limit(size)
            if _count_cells(archive, entries, limit) > limit:
                raise WorkbookRefused(
                    _(
                        "The workbook has more than %(limit)s cells (formatted blank cells count too). Delete the "
                        "unused rows and columns, or split it into several workbooks."
                    )
                    % {"limit": _number(limit)}
                )
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, OSError, ValueError, EOFError, RuntimeError):
        # A damaged or encrypted part, an unknown compression: zipfile raises these while streaming (NotImplementedError
        # is a RuntimeError).
        raise WorkbookRefused(NOT_XLSX) from None
    finally:
        upload.seek(0)
    if unpacked / packed > MAX_RATIO:
        raise WorkbookRefused(UNPACKS_TOO_MUCH)


def cell_limit(size: int) -> int:
    """The most cells a file of ``size`` bytes may hold."""
    return min(MAX_CELLS, max(FREE_CELLS, MAX_CELLS_PER_BYTE * size))


def _count_cells(archive: zipfile.ZipFile, entries: list[zipfile.ZipInfo], limit: int) -> int:
    """The cell elements in every part of the archive (a crafted workbook may put its sheets anywhere), read in
    chunks of a megabyte; stops counting once over ``limit``. A tag cut by a chunk's end is carried over."""
    count = 0
    for entry in entries:
        if entry.is_dir():
            continue
        with archive.open(entry) as part:
            carry = b""
            while chunk := part.read(CHUNK_BYTES):
                data = carry + chunk
                cut = data.rfind(b"<")
                if cut == -1 or len(data) - cut > 64:  # no tag begins near the end: nothing to carry
                    cut = len(data)
                count += len(CELL_START.findall(data, 0, cut))
                carry = data[cut:]
                if count > limit:
                    return count
            count += len(CELL_START.findall(carry))
    return count


def _number(value: int) -> str:
    """A count as Vietnamese write it: 2.000.000."""
    return f"{value:,}".replace(",", ".")


def read_workbook(
    upload: IO[bytes], *, size: int | None = None, progress: Callable[[int, int], None] | None = None
) -> tuple[dict[str, SheetData], list[Problem]]:
    """The known sheets present in the file (by sheet key) and the problems of their layout (a missing column).

    ``progress(rows read, rows expected)`` is called every ``READ_PROGRESS_EVERY`` rows; the rows expected are those
    the sheets' ``<dimension>`` records claim (0 when they say nothing), a guess only."""
    check_file(upload, size=size)
    try:
        book = open_workbook(upload)
    except Exception:  # openpyxl raises whatever its parsers meet in a damaged file
        raise WorkbookRefused(NOT_XLSX) from None
    try:
        titles = {search_key(name): name for name in book.sheetnames}
        found: dict[str, SheetData] = {}
        problems: list[Problem] = []
        total_rows = 0
        expected = _claimed_rows(book, titles) if progress is not None else 0
        for sheet in SHEETS:
            name = titles.get(search_key(sheet.title))
            if name is None:
                continue
            try:
                on_rows = (lambda count, before=total_rows: progress(before + count, expected)) if progress else None
                data, missing = _read_sheet(sheet, book[name], limit=MAX_ROWS - total_rows, on_rows=on_rows)
            except WorkbookRefused:
                raise
            except Exception:
                # A damaged sheet: its XML is parsed as its rows are read, and the parsers raise whatever they meet
                # (IndexError for a missing shared string, ParseError, KeyError...).
                raise WorkbookRefused(NOT_XLSX) from None
            total_rows += len(data.rows)
            problems.extend(missing)
            found[sheet.key] = data
        if not found:
            raise WorkbookRefused(
                _("The workbook has none of the sheets %(sheets)s.")
                % {"sheets": ", ".join(f"“{sheet.title}”" for sheet in SHEETS)}
            )
        return found, problems
    finally:
        book.close()


# -- the workbook's parts ------------------------------------------------------------------------------------------
#
# Issue 15 (100,000 rows in under 60 s): openpyxl's read-only mode spent 42% of an import's time reading the cells,
# a dict, a tuple and often a rich-text object per cell, and parsed each sheet once more at load time to find a size
# ``_read_sheet`` does not trust. The workbook's own parts (sheets, relations, styles, date system) are still read by
# openpyxl; the shared strings and the rows are read here with the same XML parser, cell by cell as openpyxl's
# ``WorkSheetParser.parse_cell`` does with ``data_only`` (tests/workbooks/test_reading_equivalence.py compares the
# two readers on every workbook the tests use and on one holding every kind of cell). The parser is the one openpyxl
# uses (the standard library's, no defusedxml here): expat 2.4+ refuses entity expansion attacks, and no external
# entity is ever fetched.

_NS = f"{{{SHEET_MAIN_NS}}}"
_ROW, _VALUE, _INLINE, _TEXT, _RUN, _STRING = (_NS + tag for tag in ("row", "v", "is", "t", "r", "si"))
_DIMENSION, _SHEET_DATA = _NS + "dimension", _NS + "sheetData"
_COLUMN_LETTERS = re.compile(r"[A-Z]{1,3}")


class _Worksheet(ReadOnlyWorksheet):
    """A sheet of the workbook, its rows read by ``_sheet_rows``. Its size is not read at load time: openpyxl parses
    the whole sheet for it when the ``<dimension>`` record is missing (openpyxl's own write-only mode leaves it out),
    and ``_read_sheet`` does not trust it anyway."""

    def _get_size(self):
        pass


class _WorkbookReader(ExcelReader):
    """openpyxl's reading of a workbook in read-only mode, but for its shared strings (``_shared_strings``) and the
    size of its sheets (``_Worksheet``)."""

    def read_strings(self):
        part = self.package.find(SHARED_STRINGS)
        if part is not None:
            with self.archive.open(part.PartName[1:]) as source:
                self.shared_strings = _shared_strings(source)

    def read_worksheets(self):
        # ``ExcelReader.read_worksheets`` in read-only mode, with ``_Worksheet``.
        for sheet, relation in self.parser.find_sheets():
            if relation.target not in self.valid_files:
                continue
            if "chartsheet" in relation.Type:
                self.read_chartsheet(sheet, relation)
                continue
            relations = get_rels_path(relation.target)
            if relations in self.valid_files:
                get_dependents(self.archive, relations)  # read as openpyxl does: a damaged one refuses the file
            worksheet = _Worksheet(self.wb, sheet.name, relation.target, self.shared_strings)
            worksheet.sheet_state = sheet.state
            self.wb._sheets.append(worksheet)


def open_workbook(upload: IO[bytes]):
    """The workbook as ``openpyxl.load_workbook(upload, read_only=True, data_only=True)`` opens it."""
    reader = _WorkbookReader(upload, read_only=True, data_only=True)
    reader.read()
    return reader.wb


def _text_content(node) -> str:
    """``openpyxl.cell.text.Text.from_tree(node).content``: the text of an inline string (``<is>``) or a shared one
    (``<si>``), its runs' texts joined, phonetic runs left out. Plain text and runs of text are read here; anything
    else (attributes, fonts, phonetics) by openpyxl itself, which validates them."""
    if not node.attrib:
        plain, runs = None, []
        for child in node:
            if child.tag == _TEXT and not len(child):
                plain = child.text
                continue
            if child.tag == _RUN and not child.attrib and all(part.tag == _TEXT for part in child):
                texts = [part.text for part in child]
                if texts and texts[-1] is not None:
                    runs.append(texts[-1])
                continue
            break
        else:
            return (plain or "") + "".join(runs) if runs else plain or ""
    from openpyxl.cell.text import Text

    return Text.from_tree(node).content


def _shared_strings(source) -> list[str]:
    """``openpyxl.reader.strings.read_string_table``: every ``<si>`` of the part, in order."""
    strings = []
    for _event, node in iterparse(source):  # noqa: S314 (as openpyxl: see above)
        if node.tag == _STRING:
            strings.append(_text_content(node).replace("x005F_", ""))
            node.clear()
    return strings


def _column_of(coordinate: str, columns: dict[str, int]) -> int:
    """The column of a cell's reference ("C12" -> 3), as ``coordinate_to_tuple`` reads it (and refuses it: a
    ``ValueError``); its letters join ``columns`` when they are a column's name followed by a row's number."""
    column = coordinate_to_tuple(coordinate)[1]
    letters = coordinate.rstrip("0123456789")
    if _COLUMN_LETTERS.fullmatch(letters) and coordinate[len(letters) :].isascii():
        columns[letters] = column
    return column


def _sheet_rows(
    worksheet, *, first: int = 1, last: int | None = None
) -> Iterator[tuple[int, list[tuple[int, object]]]]:
    """The rows of a sheet from ``first`` to ``last`` as openpyxl's read-only mode gives them with ``values_only``
    (``ReadOnlyWorksheet._cells_by_row``, ``WorkSheetParser.parse_row`` and ``parse_cell``): each row's number and
    its cells as (column, value) in the order of the file. A row numbered before ``first`` or before a row already
    given is skipped, as there; a missing row is not given (openpyxl gives it blank)."""
    book = worksheet.parent
    strings, epoch = worksheet._shared_strings, book.epoch
    date_styles, duration_styles = book._date_formats, book._timedelta_formats
    columns: dict[str, int] = {}
    days: dict[tuple[str, object], object] = {}  # (serial, style) -> its date: the same few thousand days recur
    next_row, number = first, 0
    with book._archive.open(worksheet._worksheet_path) as source:
        for _event, element in iterparse(source):  # noqa: S314 (as openpyxl: see above)
            if element.tag != _ROW:
                continue
            row_text = element.get("r")
            if row_text is not None:
                try:
                    number = int(row_text)
                except ValueError:
                    real = float(row_text)
                    if not real.is_integer():
                        raise ValueError(f"{row_text} is not a valid row number") from None
                    number = int(real)
                if not (row_text.isascii() and row_text.isdigit()):
                    row_text = ""  # not the text its cells' references end with
            else:
                number += 1
                row_text = ""
            cells = []
            column = 0
            for cell in element:
                kind = cell.get("t", "n")
                reference = cell.get("r")
                style = cell.get("s", 0)
                if style:
                    style = int(style)
                value = None if kind == "inlineStr" else (cell.findtext(_VALUE) or None)
                if not reference:
                    column += 1
                elif row_text and reference.endswith(row_text) and reference[: -len(row_text)] in columns:
                    column = columns[reference[: -len(row_text)]]  # the usual "C12" of row 12, inlined: 2M cells
                else:
                    column = _column_of(reference, columns)
                if value is not None:
                    if kind == "n":
                        if style in date_styles:
                            key = (value, style)
                            day = days.get(key)
                            if day is None:
                                day = _excel_day(value, epoch, style in duration_styles, reference)
                                if day != "#VALUE!":
                                    days[key] = day
                            value = day
                        else:
                            value = float(value) if "." in value or "E" in value or "e" in value else int(value)
                    elif kind == "s":
                        value = strings[int(value)]
                    elif kind == "b":
                        value = bool(int(value))
                    elif kind == "d":
                        value = from_ISO8601(value)
                elif kind == "inlineStr":
                    text = cell.find(_INLINE)
                    if text is not None:
                        value = _text_content(text)
                cells.append((column, value))
            element.clear()
            if last is not None and number > last:
                return
            if number >= next_row:
                next_row = number + 1
                yield number, cells


def _excel_day(serial: str, epoch, duration: bool, reference):
    number = float(serial) if "." in serial or "E" in serial or "e" in serial else int(serial)
    try:
        return from_excel(number, epoch, timedelta=duration)
    except (OverflowError, ValueError):
        warnings.warn(
            f"Cell {reference} is marked as a date but the serial value {number} is outside the limits for dates. "
            "The cell will be treated as an error.",
            stacklevel=2,
        )
        return "#VALUE!"


def _row_values(cells: list[tuple[int, object]]) -> tuple:
    """A row's values by position, as wide as its last cell's column (``ReadOnlyWorksheet._get_row``)."""
    if not cells:
        return ()
    values = [None] * cells[-1][0]
    for column, value in cells:
        if column <= len(values):
            values[column - 1] = value
    return tuple(values)


def _claimed_rows(book, titles: dict[str, str]) -> int:
    rows = 0
    for sheet in SHEETS:
        name = titles.get(search_key(sheet.title))
        with contextlib.suppress(Exception):  # a damaged record: no guess; the reading says what is wrong
            rows += (_dimension_rows(book[name]) or 0) if name is not None else 0
    return rows


def _dimension_rows(worksheet) -> int | None:
    """The last row the sheet's ``<dimension>`` record claims, read from the start of the sheet only (the record
    comes before the rows)."""
    parser = XMLPullParser(events=("start", "end"))
    with worksheet.parent._archive.open(worksheet._worksheet_path) as source:
        while chunk := source.read(CHUNK_BYTES // 16):
            parser.feed(chunk)
            for event, element in parser.read_events():
                if event == "end" and element.tag == _DIMENSION:
                    return range_boundaries(element.get("ref"))[3]
                if event == "start" and element.tag == _SHEET_DATA:
                    return None
    return None


def _read_sheet(sheet: Sheet, worksheet, *, limit: int, on_rows=None) -> tuple[SheetData, list[Problem]]:
    # Finding 5 of issue 10: a sheet's <dimension> record, which writers other than Excel leave wrong, is not
    # trusted: every row is read, each as wide as it is.
    header_row, positions, best = 0, {}, {}
    by_match = {column.match_key: column for column in sheet.columns}
    for number, cells in _sheet_rows(worksheet, last=HEADER_SEARCH_ROWS):
        matched = {}
        for index, value in enumerate(_row_values(cells)):
            column = by_match.get(search_key(str(value))) if value is not None else None
            if column is not None and column.key not in matched:
                matched[column.key] = index
        if len(matched) > len(best):
            best = matched
            if all(column.key in matched for column in sheet.required):
                header_row, positions = number, matched
                break
    if not header_row:
        missing = [column for column in sheet.required if column.key not in best]
        problems = [
            Problem(sheet.title, None, column.header, _("This required column is missing.")) for column in missing
        ]
        return SheetData(sheet, 0, frozenset(best), []), problems
    # Only the columns of the headers are kept: a row padded to Excel's last column (XFD) costs no more than a short
    # one.
    key_of = {index + 1: key for key, index in positions.items()}  # column number -> column key
    data_rows = []
    for number, cells in _sheet_rows(worksheet, first=header_row + 1):
        if number > EXCEL_LAST_ROW:  # a row number beyond Excel's last row: <row r="99999999"> is a trap
            raise WorkbookRefused(NOT_XLSX)
        values = {}
        for column, value in cells:
            key = key_of.get(column)
            if key is not None:
                values[key] = value
        if all(_blank(value) for value in values.values()):
            continue
        data_rows.append(Row(number, {key: values.get(key) for key in positions}))
        if on_rows is not None and len(data_rows) % READ_PROGRESS_EVERY == 0:
            on_rows(len(data_rows))
        if len(data_rows) > limit:
            raise WorkbookRefused(
                _("The workbook has more than %(limit)s rows. Split it into several workbooks.")
                % {"limit": _number(MAX_ROWS)}
            )
    data_rows, problems = _without_examples(sheet, data_rows)
    return SheetData(sheet, header_row, frozenset(positions), data_rows), problems


def _without_examples(sheet: Sheet, rows: list[Row]) -> tuple[list[Row], list[Problem]]:
    """The rows that are not the template's examples, and a problem for each one that is (on its first example
    code): such a row is refused whole, and the rest of the import never sees it."""
    columns = [column for column in sheet.columns if column.key in CODE_KEYS]
    kept, problems = [], []
    for row in rows:
        example = next(
            (column for column in columns if as_text(row.cells.get(column.key)).upper().startswith(EXAMPLE_PREFIX)),
            None,
        )
        if example is None:
            kept.append(row)
        else:
            problems.append(Problem(sheet.title, row.number, example.header, EXAMPLE_ROW))
    return kept, problems


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


# -- cell values ---------------------------------------------------------------------------------------------------


class CellError(ValueError):
    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


def as_text(value) -> str:
    """The text a user typed: a number Excel stored for a code or a card number comes back without ".0"."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "x" if value else ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime | datetime.date):
        return day_text(value)
    return str(value).strip()


def as_date(value) -> datetime.date | None:
    if _blank(value):
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    text = as_text(value)
    # A text date is read like a date box's (``parse_day``): the same forms, and a day that does not exist is told so.
    try:
        parsed = parse_day(text, today=today())  # the import's day (``periods.one_day``), read once
    except ValidationError as error:
        message = IMPOSSIBLE_CELL if error.code == "impossible" else NOT_A_DATE_CELL
        raise CellError(message % {"value": text[:40]}) from error
    if parsed and EXCEL_EPOCH_LIMITS[0] <= parsed <= EXCEL_EPOCH_LIMITS[1]:
        return parsed
    raise CellError(NOT_A_DATE_CELL % {"value": text[:40]})


def as_flag(value) -> bool:
    key = search_key(as_text(value))
    if key in YES_WORDS:
        return True
    if key in NO_WORDS:
        return False
    raise CellError(_("“%(value)s” is neither x (yes) nor blank (no).") % {"value": as_text(value)[:40]})


def as_choice(value, choices) -> str:
    text = as_text(value)
    if not text:
        return ""
    code = _choice_keys(choices).get(search_key(text))
    if code is not None:
        return code
    allowed = ", ".join(f"{code} ({label})" for code, label in choices.choices)
    raise CellError(_("“%(value)s” is not one of: %(allowed)s.") % {"value": text[:40], "allowed": allowed})


_CHOICE_KEYS: dict[tuple, dict[str, str]] = {}


def _choice_keys(choices) -> dict[str, str]:
    """What a user may write for each code of ``choices`` (folded): the code, its label in Vietnamese and in
    English. Computed once per language and choice class: a workbook has tens of thousands of such cells."""
    language = translation.get_language()
    keys = _CHOICE_KEYS.get((choices, language))
    if keys is None:
        keys = {}
        for code, label in choices.choices:
            with translation.override("en"):
                english = str(label)
            with translation.override("vi"):
                vietnamese = str(label)
            for written in (english, vietnamese, code):
                keys[search_key(written)] = code
        _CHOICE_KEYS[(choices, language)] = keys
    return keys


def cell_reader(column: Column) -> Callable[[object], object]:
    """``cell_value`` for one column, chosen once for the column rather than for each cell (issue 15). A date, a
    flag or a choice is read once for each distinct cell (a sheet repeats them: "x", "Nam", the same days); a cell
    that is not valid raises ``CellError`` each time. Language-dependent (a choice's labels): one per import."""
    if column.value is Value.DATE:
        read = as_date
    elif column.value is Value.FLAG:
        read = as_flag
    elif column.value is Value.CHOICE:
        choices = column.choices

        def read(raw):
            return as_choice(raw, choices)

    else:
        return as_text
    read_before: dict = {}

    def cached(raw):
        key = (raw.__class__, raw)  # 1, 1.0 and True are equal keys but different cells
        try:
            return read_before[key]
        except KeyError:
            value = read_before[key] = read(raw)
            return value
        except TypeError:  # a value that cannot be a key
            return read(raw)

    return cached


def cell_value(column: Column, raw):
    """The value of a cell for ``column``, or ``CellError`` with the message for the user."""
    if column.value is Value.DATE:
        return as_date(raw)
    if column.value is Value.FLAG:
        return as_flag(raw)
    if column.value is Value.CHOICE:
        return as_choice(raw, column.choices)
    return as_text(raw)
