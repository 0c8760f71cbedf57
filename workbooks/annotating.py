"""The uploaded workbook given back with its problems: a column "Lỗi" added to each sheet that has any, on the rows
they are about, so that a user fixes the file they know rather than copying from a list."""

import io

from openpyxl import load_workbook
from openpyxl.styles import Alignment, Font, PatternFill

from dongha76.excel import workbook_bytes
from dongha76.text import search_key

ERROR_HEADER = "Lỗi"
ERROR_FILL = PatternFill("solid", fgColor="F8D7DA")


def workbook_with_errors(content: bytes, problems: list[dict], header_rows: dict[str, int]) -> bytes:
    """``content`` (an .xlsx the reader has already accepted) with an error column on each sheet named in
    ``problems``, right of its last column; ``header_rows`` says on which row each sheet's headers are (by sheet
    title), where a problem of the whole sheet (a missing column) is written too."""
    book = load_workbook(io.BytesIO(content))
    by_sheet: dict[str, dict[int, list[str]]] = {}
    headers = {search_key(title): row for title, row in header_rows.items()}
    for problem in problems:
        key = search_key(problem["sheet"])
        row = problem["row"] or headers.get(key) or 1
        text = f"{problem['column']}: {problem['message']}" if problem["column"] else problem["message"]
        by_sheet.setdefault(key, {}).setdefault(row, []).append(text)
    for worksheet in book.worksheets:
        messages = by_sheet.get(search_key(worksheet.title))
        if not messages:
            continue
        column = worksheet.max_column + 1
        header_row = headers.get(search_key(worksheet.title)) or 1
        header = worksheet.cell(row=header_row, column=column)
        header.font = Font(bold=True, color="842029")
        for row, texts in messages.items():
            cell = worksheet.cell(row=row, column=column)
            cell.value = "\n".join(texts)
            cell.fill = ERROR_FILL
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        header.value = ERROR_HEADER if header_row not in messages else f"{ERROR_HEADER}\n{header.value}"
        worksheet.column_dimensions[header.column_letter].width = 70
    return workbook_bytes(book)
