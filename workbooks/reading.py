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
unpacked limit leaves a third more for longer texts. openpyxl reads a cell in 3 to 11 µs (a blank one to an inline
text), so no accepted file costs more to read than that largest real workbook (20-35 s). Real workbooks hold at most
0.2 cells per byte of file, or 0.5 when Excel writes a large bordered empty table; a small upload stuffed with
millions of blank cells holds tens: with two cells a byte, a file of 300 kB is read in a few seconds at most.

Then the sheets are read in openpyxl's read-only mode (memory does not grow with the rows), with two precautions:
the ``<dimension>`` record a sheet carries is not trusted (``reset_dimensions``: a careless writer's ``A1:I2`` on a
sheet of 50 rows must not read one row), and data rows are read only as wide as the columns the headers use, so a
stray cell at XFD1 does not pad every row to 16,384 values. A workbook of more than ``MAX_ROWS`` rows is refused
while reading.
"""

import contextlib
import dataclasses
import datetime
import re
import zipfile
import zlib
from collections.abc import Callable
from typing import IO

from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from openpyxl import load_workbook

from dongha76.dates import parse_day
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
        book = load_workbook(upload, read_only=True, data_only=True)
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
                # A damaged sheet: the parts of an .xlsx are read lazily, row by row, in read-only mode, and openpyxl
                # raises whatever its parsers meet (IndexError for a missing shared string, ParseError, KeyError...).
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


def _claimed_rows(book, titles: dict[str, str]) -> int:
    rows = 0
    for sheet in SHEETS:
        name = titles.get(search_key(sheet.title))
        with contextlib.suppress(Exception):  # a damaged record: no guess; the reading says what is wrong
            rows += (book[name].max_row or 0) if name is not None else 0
    return rows


def _read_sheet(sheet: Sheet, worksheet, *, limit: int, on_rows=None) -> tuple[SheetData, list[Problem]]:
    # Finding 5 of issue 10: openpyxl's read-only mode stops at the rows and columns the sheet's <dimension> record
    # claims, and writers other than Excel leave it wrong. Forget it: every row is read, each as wide as it is.
    worksheet.reset_dimensions()
    header_row, positions, best = 0, {}, {}
    by_match = {column.match_key: column for column in sheet.columns}
    with contextlib.closing(worksheet.iter_rows(max_row=HEADER_SEARCH_ROWS, values_only=True)) as rows:
        for number, values in enumerate(rows, start=1):
            matched = {}
            for index, value in enumerate(values):
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
    # Only as wide as the headers need: a row padded to Excel's last column (XFD) costs no more than a short one.
    width = max(positions.values()) + 1
    data_rows = []
    rows = worksheet.iter_rows(min_row=header_row + 1, max_col=width, values_only=True)
    with contextlib.closing(rows):
        for number, values in enumerate(rows, start=header_row + 1):
            if number > EXCEL_LAST_ROW:  # openpyxl fills any gap in the row numbers: <row r="99999999"> is a trap
                raise WorkbookRefused(NOT_XLSX)
            cells = {key: values[index] if index < len(values) else None for key, index in positions.items()}
            if all(_blank(value) for value in cells.values()):
                continue
            data_rows.append(Row(number, cells))
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
        parsed = parse_day(text)
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


def cell_value(column: Column, raw):
    """The value of a cell for ``column``, or ``CellError`` with the message for the user."""
    if column.value is Value.DATE:
        return as_date(raw)
    if column.value is Value.FLAG:
        return as_flag(raw)
    if column.value is Value.CHOICE:
        return as_choice(raw, column.choices)
    return as_text(raw)
