"""Reading an uploaded workbook safely and turning its cells into values.

What is refused before a single row is read: a file over 10 MB, a file that is not an .xlsx (whatever its name says),
a zip whose content would unpack to more than ``MAX_UNPACKED_BYTES`` or at a ratio only a zip bomb has, and a
workbook of more than ``MAX_ROWS`` rows. Sheets are read in openpyxl's read-only mode: memory does not grow with the
number of rows.
"""

import dataclasses
import datetime
import re
import zipfile
from collections.abc import Iterator
from typing import IO

from django.utils import translation
from django.utils.translation import gettext_lazy as _
from openpyxl import load_workbook

from dongha76.services import day_text
from dongha76.text import search_key
from workbooks.layout import NO_WORDS, SHEETS, YES_WORDS, Column, Sheet, Value

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_ROWS = 100_000
MAX_UNPACKED_BYTES = 300 * 1024 * 1024
MAX_RATIO = 200  # real workbooks compress 5-20 times; a zip bomb thousands of times
HEADER_SEARCH_ROWS = 10  # the headers may sit under a title, as in the template (row 3)
DATE_TEXT = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
EXCEL_EPOCH_LIMITS = (datetime.date(1900, 1, 1), datetime.date(2100, 12, 31))
NOT_XLSX = _("This file is not an Excel workbook (.xlsx). Save it from Excel as .xlsx and retry.")


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
    """Refuse a file too large, not a zip, not an .xlsx inside, or a zip bomb; leaves the file at its start."""
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
    except (zipfile.BadZipFile, OSError, ValueError):
        raise WorkbookRefused(NOT_XLSX) from None
    finally:
        upload.seek(0)
    if "xl/workbook.xml" not in names:
        raise WorkbookRefused(NOT_XLSX)
    if unpacked > MAX_UNPACKED_BYTES or unpacked / packed > MAX_RATIO:
        raise WorkbookRefused(_("This file unpacks to far more data than a workbook holds; it is refused."))


def read_workbook(upload: IO[bytes], *, size: int | None = None) -> tuple[dict[str, SheetData], list[Problem]]:
    """The known sheets present in the file (by sheet key) and the problems of their layout (a missing column)."""
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
        for sheet in SHEETS:
            name = titles.get(search_key(sheet.title))
            if name is None:
                continue
            try:
                data, missing = _read_sheet(sheet, book[name].iter_rows(values_only=True), limit=MAX_ROWS - total_rows)
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


def _read_sheet(sheet: Sheet, rows: Iterator[tuple], *, limit: int) -> tuple[SheetData, list[Problem]]:
    by_match = {column.match_key: column for column in sheet.columns}
    header_row, positions, best = 0, {}, {}
    number = 0
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
        if number >= HEADER_SEARCH_ROWS:
            break
    if not header_row:
        missing = [column for column in sheet.required if column.key not in best]
        problems = [
            Problem(sheet.title, None, column.header, _("This required column is missing.")) for column in missing
        ]
        return SheetData(sheet, 0, frozenset(best), []), problems
    data_rows = []
    for number, values in enumerate(rows, start=header_row + 1):
        cells = {key: values[index] if index < len(values) else None for key, index in positions.items()}
        if all(_blank(value) for value in cells.values()):
            continue
        data_rows.append(Row(number, cells))
        if len(data_rows) > limit:
            raise WorkbookRefused(
                _("The workbook has more than %(limit)s rows. Split it into several workbooks.")
                % {"limit": f"{MAX_ROWS:,}".replace(",", ".")}
            )
    return SheetData(sheet, header_row, frozenset(positions), data_rows), []


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
    match = DATE_TEXT.match(text)
    if match:
        day, month, year = (int(part) for part in match.groups())
        try:
            parsed = datetime.date(year, month, day)
        except ValueError:
            parsed = None
        if parsed and EXCEL_EPOCH_LIMITS[0] <= parsed <= EXCEL_EPOCH_LIMITS[1]:
            return parsed
    raise CellError(_("“%(value)s” is not a date; write it as dd/mm/yyyy.") % {"value": text[:40]})


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
