"""The downloadable template of the committees' workbook: the instructions sheet "Hướng dẫn", then the sheets of
``workbooks.layout`` laid out as the export writes them, each with example rows that import together (an organisation
tree, a member of one of its cells transferred from another, that member's referral to a ward and one of its
residential cells, and a re-placement in another cell of the ward)."""

import datetime

from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from dongha76.excel import DATE_FORMAT, MAX_WIDTH, new_workbook, workbook_bytes, write_sheet
from workbooks.layout import HOMES, MEMBERS, ORGANISATIONS, PLACEMENTS, REFERRALS, SHEETS, Column, Sheet, Value

INSTRUCTIONS_TITLE = "Hướng dẫn"
TEXT_FORMAT = "@"  # Excel's "Text": what is typed in the column stays as typed (leading zeros kept)

# Example rows beyond the layout's own examples (``Column.example``, used for every key not given here): the tree above
# the residential cell VD-P1-KP3 of the layout, so that the member (home VD-GDDT-01, before that VD-GDDT-02) and the
# referral (issued by VD-GDDT, to the ward VD-P1 and its cell VD-P1-KP3, then re-placed in VD-P1-KP4) refer to
# organisations of the same workbook. Every code and card number starts with "VD-" (ví dụ), which no real row has:
# the import refuses such rows (``workbooks.reading.EXAMPLE_PREFIX``), so that a template uploaded as downloaded
# changes nothing recorded.
EXAMPLE_ROWS: dict[str, list[dict[str, object]]] = {
    ORGANISATIONS.key: [
        {"code": "VD-DH", "name": "Đảng bộ thành phố Đông Hà", "kind": "root", "parent": None, "sector": "party_state"},
        {
            "code": "VD-GDDT",
            "name": "Đảng bộ Sở Giáo dục và Đào tạo",
            "kind": "committee",
            "parent": "VD-DH",
            "sector": "party_state",
        },
        {
            "code": "VD-GDDT-01",
            "name": "Chi bộ Văn phòng Sở",
            "kind": "cell",
            "parent": "VD-GDDT",
            "sector": "party_state",
        },
        {
            "code": "VD-GDDT-02",
            "name": "Chi bộ Phòng Tổ chức cán bộ",
            "kind": "cell",
            "parent": "VD-GDDT",
            "sector": "party_state",
        },
        {"code": "VD-P1", "name": "Đảng bộ Phường 1", "kind": "ward", "parent": "VD-DH", "sector": "ward"},
        {},  # the layout's example: the residential cell VD-P1-KP3 of the ward VD-P1
        {
            "code": "VD-P1-KP4",
            "name": "Chi bộ khu phố 4",
            "kind": "residential_cell",
            "parent": "VD-P1",
            "sector": "ward",
        },
    ],
    MEMBERS.key: [{}],
    # In GDDT-02 from the admission, in GDDT-01 (the sheet Đảng viên's cell) from the layout's example day.
    HOMES.key: [{"organisation": "VD-GDDT-02", "started_on": MEMBERS.column("admitted_on").example}, {}],
    REFERRALS.key: [{}],
    PLACEMENTS.key: [{}],
}

# What each column holds (the column's own ``help`` follows; it stands alone for the columns not listed).
DESCRIPTIONS: dict[tuple[str, str], object] = {
    (ORGANISATIONS.key, "code"): _(
        "The organisation's code, the key of the row: letters without accents, digits, dot, dash and underscore."
    ),
    (ORGANISATIONS.key, "name"): _("The organisation's full name."),
    (ORGANISATIONS.key, "kind"): _("The kind of organisation; it decides what it may stand under."),
    (ORGANISATIONS.key, "parent"): _(
        "The code of the organisation it stands directly under, in this sheet or already recorded."
    ),
    (ORGANISATIONS.key, "sector"): _("The sector it belongs to (blank: other)."),
    (ORGANISATIONS.key, "valid_from"): _("The day it was founded."),
    (ORGANISATIONS.key, "valid_to"): _("The day it was dissolved or merged into another."),
    (ORGANISATIONS.key, "address"): _("The address of its office."),
    (ORGANISATIONS.key, "successor"): _(
        "The code of the organisation that took over on the day this one was dissolved (a merger, a move)."
    ),
    (MEMBERS.key, "card_number"): _("The party card number, the key of the row."),
    (MEMBERS.key, "full_name"): _("The member's full name."),
    (MEMBERS.key, "date_of_birth"): _("The date of birth."),
    (MEMBERS.key, "gender"): _("The member's gender."),
    (MEMBERS.key, "admitted_on"): _("The day of admission to the party."),
    (MEMBERS.key, "home_organisation"): _(
        "The code of the member's cell: a workplace cell, a residential cell (retired members) or an outside "
        "organisation."
    ),
    (MEMBERS.key, "working"): _("x while the member is working; blank once retired."),
    (MEMBERS.key, "exempt_introduction"): _("x when the member is (or was last) exempt from introduction."),
    (MEMBERS.key, "exempt_activities"): _("x when the member is (or was last) exempt from residence activities."),
    (MEMBERS.key, "national_id"): _("The national ID (CCCD): 12 digits."),
    (MEMBERS.key, "phone"): _("The member's phone number."),
    (MEMBERS.key, "residential_address"): _("Where the member lives."),
    (MEMBERS.key, "official_on"): _("The day the member became an official member."),
    (MEMBERS.key, "retired_on"): _("The day the member retired."),
    (MEMBERS.key, "exempt_reason"): _("Why the member is exempt."),
    (MEMBERS.key, "left_on"): _("The day the member left the party or died."),
    (MEMBERS.key, "left_reason"): _("Given together with the day of leaving."),
    (HOMES.key, "card_number"): _("The card number of the member (in the sheet Đảng viên or recorded)."),
    (HOMES.key, "organisation"): _(
        "The code of the cell (or outside organisation) the member belonged to from that day on; the member's latest "
        "row is the cell of the sheet Đảng viên."
    ),
    (HOMES.key, "started_on"): _("The first day in that cell; with the card number, the key of the row."),
    (REFERRALS.key, "card_number"): _("The card number of the member introduced (in the sheet Đảng viên or recorded)."),
    (REFERRALS.key, "letter_number"): _("The number of the introduction letter."),
    (REFERRALS.key, "introduced_on"): _(
        "The date of the introduction letter; with the card number, the key of the row."
    ),
    (REFERRALS.key, "issuing_organisation"): _("The code of the organisation that issued the letter."),
    (REFERRALS.key, "receiving_ward"): _("The code of the ward/commune committee where the member lives."),
    (REFERRALS.key, "received_on"): _("The day the ward received the member; blank: not received yet."),
    (REFERRALS.key, "residential_cell"): _(
        "The code of the residential cell the member was placed in, under the receiving ward; blank: not placed yet."
    ),
    (REFERRALS.key, "ended_on"): _("The day the referral ended; blank while it is in force."),
    (REFERRALS.key, "end_reason"): _("Why the referral ended; given together with the day it ended."),
    (REFERRALS.key, "placed_on"): _("The day the member was placed in the residential cell."),
    (REFERRALS.key, "reported_on"): _("The day the member reported to the residential cell."),
    (PLACEMENTS.key, "card_number"): _("The card number of the member introduced."),
    (PLACEMENTS.key, "introduced_on"): _(
        "The date of the introduction letter: with the card number, it names the referral (sheet Giới thiệu or "
        "recorded)."
    ),
    (PLACEMENTS.key, "residential_cell"): _(
        "The code of the residential cell the member was placed in again (after a merger of khu phố, a move within "
        "the ward)."
    ),
    (PLACEMENTS.key, "started_on"): _(
        "The first day in that cell: after the first placement (sheet Giới thiệu) and before the referral ended."
    ),
}

VALUE_KINDS = {
    Value.TEXT: pgettext_lazy("workbook value", "Text"),
    Value.DATE: _("Date dd/mm/yyyy"),
    Value.FLAG: _("x or blank"),
    Value.CHOICE: _("A code or its label"),
}

RULES = (
    _(
        "Fill in the sheets Tổ chức, Đảng viên, Quá trình sinh hoạt, Giới thiệu and Chuyển chi bộ nơi cư trú; a sheet "
        "may be left out. Delete the example rows first."
    ),
    _("Headers may stand on any of the first 10 rows; case and accents do not matter; other columns are ignored."),
    _("Dates: an Excel date or a text dd/mm/yyyy."),
    _(
        "Codes, card numbers, national IDs and phone numbers are text: keep their columns in the Text format so that "
        "Excel keeps the leading zeros."
    ),
    _("Yes/no columns: x for yes, blank for no."),
    _("Lists of values: the code or the Vietnamese label shown below."),
    _(
        "A required column must be present. An optional column left out keeps what is recorded; a blank cell in a "
        "column that is present means none."
    ),
    _("Not working, or exempt, without a date: since the day of admission."),
    _(
        "Rows are found by Mã (organisations), Số thẻ (members), Số thẻ and Ngày giới thiệu (referrals): importing "
        "the same workbook twice changes nothing."
    ),
    _(
        "Quá trình sinh hoạt: a row for each cell a member belonged to, from its first day (the first row holds from "
        "the admission). A member given rows gets exactly that history; a member without rows keeps the one "
        "recorded (a new member: one cell since admission; a cell changed in the sheet Đảng viên: a transfer from "
        "today)."
    ),
    _(
        "Chuyển chi bộ nơi cư trú: a row for each time a referred member was placed in another residential cell, "
        "from its first day; the first placement is the referral's row of the sheet Giới thiệu. A referral given "
        "rows gets exactly those; a referral without rows keeps the ones recorded."
    ),
    _(
        "The workbook is imported whole or not at all: every problem is listed, and nothing is written until none "
        "is left."
    ),
)

INSTRUCTION_HEADERS = (_("Column"), _("Required column"), _("Value"), _("What it holds"), _("Example"), _("Allowed"))
INSTRUCTION_WIDTHS = (24, 12, 20, 60, 18, 50)


def template_workbook() -> bytes:
    """The template as the bytes of an .xlsx file."""
    with translation.override("vi"):
        workbook = new_workbook()
        _instructions_sheet(workbook)
        for sheet in SHEETS:
            _example_sheet(workbook, sheet)
        return workbook_bytes(workbook)


def example_rows(sheet: Sheet) -> list[list]:
    """The example rows of a sheet, in the layout's column order: dates as dates, everything else as text."""
    defaults = {column.key: column.example for column in sheet.columns}
    return [
        [_example_value(column, {**defaults, **overrides}[column.key]) for column in sheet.columns]
        for overrides in EXAMPLE_ROWS[sheet.key]
    ]


def _example_value(column: Column, value):
    if value is None:
        return None
    if column.value is Value.DATE and isinstance(value, str):
        return datetime.datetime.strptime(value, "%d/%m/%Y").date()
    return str(value)


def _example_sheet(workbook, sheet: Sheet) -> None:
    rows = example_rows(sheet)
    worksheet = write_sheet(
        workbook,
        title=sheet.title,
        heading=sheet.heading,
        headers=[column.header for column in sheet.columns],
        rows=rows,
    )
    # New rows typed in a text column stay text (leading zeros), in a date column show dd/mm/yyyy.
    for index, column in enumerate(sheet.columns, start=1):
        number_format = DATE_FORMAT if column.value is Value.DATE else TEXT_FORMAT
        worksheet.column_dimensions[get_column_letter(index)].number_format = number_format
        for row in range(4, 4 + len(rows)):
            worksheet.cell(row=row, column=index).number_format = number_format


def _instructions_sheet(workbook) -> None:
    worksheet = workbook.create_sheet(title=INSTRUCTIONS_TITLE)
    bold, wrap = Font(bold=True), Alignment(wrap_text=True, vertical="top")
    worksheet.append([str(_("How to fill in the committees' workbook"))])
    worksheet["A1"].font = Font(bold=True, size=13)
    worksheet.append([])
    for number, rule in enumerate(RULES, start=1):
        worksheet.append([f"{number}. {rule}"])
    for sheet in SHEETS:
        worksheet.append([])
        worksheet.append([str(_("Sheet “%(title)s”: %(heading)s") % {"title": sheet.title, "heading": sheet.heading})])
        worksheet.cell(row=worksheet.max_row, column=1).font = Font(bold=True, size=12)
        worksheet.append([str(header) for header in INSTRUCTION_HEADERS])
        for cell in worksheet[worksheet.max_row]:
            cell.font = bold
        for column in sheet.columns:
            worksheet.append(_instruction_row(sheet, column))
            for cell in worksheet[worksheet.max_row]:
                cell.alignment = wrap
    for index, width in enumerate(INSTRUCTION_WIDTHS, start=1):
        worksheet.column_dimensions[get_column_letter(index)].width = min(MAX_WIDTH, width)


def describe(sheet: Sheet, column: Column) -> str:
    """What a column holds, in the active language: its description followed by the layout's help."""
    return " ".join(str(text) for text in (DESCRIPTIONS.get((sheet.key, column.key), ""), column.help) if text)


def _instruction_row(sheet: Sheet, column: Column) -> list:
    description = describe(sheet, column)
    example = _example_value(column, column.example)
    if isinstance(example, datetime.date):
        example = f"{example:%d/%m/%Y}"
    allowed = None
    if column.choices is not None:
        allowed = "\n".join(f"{code} — {label}" for code, label in column.choices.choices)
    return [
        column.header,
        str(_("Yes") if column.required else _("No")),
        str(VALUE_KINDS[column.value]),
        description,
        example,
        allowed,
    ]
