"""What a row changes, as the sheet shows it: for the preview of an import, each row's key and, for an update, each
field's value before and after, written as the export writes a cell (``workbooks.exporting``), so that what the
preview shows is what the user typed or would read in an exported workbook."""

import datetime
from collections.abc import Iterable

from branches.models import Organisation
from dongha76.services import day_text
from workbooks.exporting import CONVERTERS
from workbooks.layout import Sheet

SEPARATOR = " · "


def shown(sheet: Sheet, key: str, value) -> str:
    """A value of the column ``key`` as its cell shows it: dates dd/mm/yyyy, flags x or blank, choices their code,
    organisations their code."""
    if isinstance(value, Organisation):
        value = value.code
    cell = CONVERTERS[sheet.column(key).value](value)
    if cell is None:
        return ""
    if isinstance(cell, datetime.date):
        return day_text(cell)
    return str(cell)


def key_text(*parts) -> str:
    """A row's key as the sheet shows it, its parts joined: "45012345 · 10/03/2018"."""
    return SEPARATOR.join(day_text(part) if isinstance(part, datetime.date) else str(part) for part in parts)


def differences(sheet: Sheet, pairs: Iterable[tuple[str, object, object]]) -> tuple[tuple[str, str, str], ...]:
    """(column header, before, after) of each (column key, before, after) whose cell would read differently."""
    found = []
    for key, before, after in pairs:
        before_text, after_text = shown(sheet, key, before), shown(sheet, key, after)
        if before_text != after_text:
            found.append((sheet.column(key).header, before_text, after_text))
    return tuple(found)
