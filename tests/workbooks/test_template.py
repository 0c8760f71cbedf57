"""The downloadable template: the instructions sheet first, then the layout's sheets with its headers and example
rows that fit together (and import into an empty database without a problem)."""

import io

import pytest
from openpyxl import load_workbook

from dongha76.excel import DATE_FORMAT
from workbooks.importing import import_workbook
from workbooks.layout import HOMES, MEMBERS, ORGANISATIONS, PLACEMENTS, REFERRALS, SHEETS, Value
from workbooks.template import DESCRIPTIONS, INSTRUCTIONS_TITLE, TEXT_FORMAT, describe, template_workbook

HEADER_ROW = 3


@pytest.fixture(scope="module")
def book():
    return load_workbook(io.BytesIO(template_workbook()))


def rows(book, sheet) -> list[dict]:
    keys = [column.key for column in sheet.columns]
    return [
        dict(zip(keys, row, strict=False))
        for row in book[sheet.title].iter_rows(min_row=HEADER_ROW + 1, max_col=len(keys), values_only=True)
    ]


def test_the_instructions_come_first_then_the_sheets_of_the_layout(book):
    assert book.sheetnames == [INSTRUCTIONS_TITLE, *(sheet.title for sheet in SHEETS)]


def test_each_sheet_is_laid_out_like_the_export(book):
    for sheet in SHEETS:
        worksheet = book[sheet.title]
        assert worksheet["A1"].value == sheet.heading
        assert [cell.value for cell in worksheet[HEADER_ROW]] == [column.header for column in sheet.columns]
        assert all(cell.font.b for cell in worksheet[HEADER_ROW])
        assert worksheet.freeze_panes == "A4"
        assert worksheet.max_row > HEADER_ROW


def test_the_example_rows_fit_together(book):
    organisations = {row["code"]: row for row in rows(book, ORGANISATIONS)}
    (member,) = rows(book, MEMBERS)
    (referral,) = rows(book, REFERRALS)
    for row in organisations.values():
        assert row["parent"] is None or row["parent"] in organisations
    kinds = {code: row["kind"] for code, row in organisations.items()}
    assert sorted(kinds.values()) == [
        "cell",
        "cell",
        "committee",
        "residential_cell",
        "residential_cell",
        "root",
        "ward",
    ]
    home = organisations[member["home_organisation"]]
    assert home["kind"] == "cell"
    assert referral["card_number"] == member["card_number"]
    assert referral["issuing_organisation"] == home["parent"]
    assert kinds[referral["receiving_ward"]] == "ward"
    assert organisations[referral["residential_cell"]]["parent"] == referral["receiving_ward"]
    assert member["admitted_on"] < referral["introduced_on"] <= referral["received_on"]
    first_home, latest_home = rows(book, HOMES)
    assert first_home["card_number"] == latest_home["card_number"] == member["card_number"]
    assert first_home["started_on"] == member["admitted_on"] < latest_home["started_on"] < referral["introduced_on"]
    assert latest_home["organisation"] == member["home_organisation"] != first_home["organisation"]
    assert organisations[first_home["organisation"]]["kind"] == "cell"
    (placement,) = rows(book, PLACEMENTS)
    assert (placement["card_number"], placement["introduced_on"]) == (member["card_number"], referral["introduced_on"])
    assert organisations[placement["residential_cell"]]["parent"] == referral["receiving_ward"]
    assert placement["residential_cell"] != referral["residential_cell"]
    assert placement["started_on"] > referral["received_on"]


def test_examples_come_from_the_layout_with_text_codes_and_real_dates(book):
    (member,) = rows(book, MEMBERS)
    for column in MEMBERS.columns:
        if column.example is not None and column.value is not Value.DATE:
            assert member[column.key] == column.example
    worksheet = book[MEMBERS.title]
    card, national_id, born = worksheet["A4"], worksheet["J4"], worksheet["C4"]
    assert (card.value, card.data_type, card.number_format) == ("VD-45012345", "s", TEXT_FORMAT)
    assert (national_id.value, national_id.data_type) == ("045080012345", "s")
    assert born.value.strftime("%d/%m/%Y") == MEMBERS.column("date_of_birth").example
    assert born.number_format == DATE_FORMAT
    assert worksheet.column_dimensions["A"].number_format == TEXT_FORMAT


def test_the_instructions_list_every_column_and_the_allowed_codes_in_vietnamese(book):
    text = "\n".join(
        str(value) for row in book[INSTRUCTIONS_TITLE].iter_rows(values_only=True) for value in row if value
    )
    for sheet in SHEETS:
        assert f"“{sheet.title}”" in text
        for column in sheet.columns:
            assert column.header in text
    assert "residential_cell — Chi bộ khu phố/thôn" in text
    assert "male — Nam" in text
    assert "moved_residence — " in text


def test_every_column_is_described():
    for sheet in SHEETS:
        for column in sheet.columns:
            assert describe(sheet, column), (sheet.key, column.key)
    keys = {(sheet.key, column.key) for sheet in SHEETS for column in sheet.columns}
    assert set(DESCRIPTIONS) <= keys


def without_example_prefix(content: bytes) -> io.BytesIO:
    """The template with the "VD-" of every code and card number removed: its rows, as real ones."""
    book = load_workbook(io.BytesIO(content))
    for worksheet in book.worksheets:
        for row in worksheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith("VD-"):
                    cell.value = cell.value.removeprefix("VD-")
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    return out


@pytest.mark.django_db
def test_the_examples_without_their_prefix_import_into_an_empty_database_without_a_problem():
    """As downloaded, the examples are refused (``test_import_trust``); typed as real rows, they fit together."""
    result = import_workbook(without_example_prefix(template_workbook()), by=None, dry_run=True, file_name="mau.xlsx")
    assert result.problems_as_dicts() == []
    assert {key: counts.create for key, counts in result.counts.items()} == {
        "organisations": 7,
        "members": 1,
        "homes": 2,
        "referrals": 1,
        "placements": 1,
    }
