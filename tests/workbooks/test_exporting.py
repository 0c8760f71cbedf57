"""Exporting the committees' workbook: the layout's sheets and headers, codes as text, dates, flags, choices as
codes, the latest exemption, the subtree of --org, a bounded number of queries, the command, and a round trip through
the import that changes nothing."""

import datetime
import io

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from branches.access import access_for
from dongha76.excel import DATE_FORMAT
from members import places
from members.models import Exemption, Member, Referral
from members.services import member_retire
from tests.factories import Kind, make_member, make_officer, make_organisation, make_referral, make_tree, move_home
from workbooks.exporting import SOURCES, write_workbook
from workbooks.importing import import_workbook
from workbooks.layout import HOMES, MEMBERS, ORGANISATIONS, PLACEMENTS, REFERRALS, SHEETS

pytestmark = pytest.mark.django_db

D = datetime.date
HEADER_ROW = 3


@pytest.fixture
def tree():
    tree = make_tree()
    tree.zero_cell = make_organisation(kind=Kind.RESIDENTIAL_CELL, parent=tree.ward1, code="007", name="Khu phố 007")
    return tree


@pytest.fixture
def people(tree):
    """A working member with leading zeros everywhere and a referral history; a retired one; members whose latest
    exemption is open, lifted, or follows an older one of the other kind; a member of the outside organisation."""
    zeros = make_member(
        tree.cell,
        card_number="00012345",
        full_name="Nguyễn Văn An",
        national_id="045080012345",
        phone="0912345678",
        residential_address="12 Lê Lợi",
        official_on=D(2006, 5, 19),
    )
    make_referral(
        zeros,
        receiving_ward=tree.ward2,
        issuing_organisation=tree.committee,
        letter_number="07-GT/ĐU",
        introduced_on=D(2019, 3, 1),
        received_on=D(2019, 3, 5),
        residential_cell=tree.ward2_cell1,
        placed_on=D(2019, 3, 6),
        reported_on=D(2019, 3, 10),
        ended_on=D(2020, 1, 2),
        end_reason=Referral.EndReason.MOVED_RESIDENCE,
    )
    make_referral(
        zeros,
        receiving_ward=tree.ward1,
        issuing_organisation=tree.committee,
        introduced_on=D(2020, 2, 1),
        received_on=D(2020, 2, 3),
        residential_cell=tree.zero_cell,
        placed_on=D(2020, 2, 3),
    )
    retired = make_member(tree.ward1_cell1, card_number="20000001", retired_on=D(2015, 7, 1), gender="female")
    armed = make_member(tree.grassroots_cell, card_number="30000001")
    Exemption.objects.create(member=armed, kind="introduction", reason="Quân đội", started_on=D(2010, 1, 1))
    lifted = make_member(tree.cell, card_number="30000002")
    Exemption.objects.create(
        member=lifted, kind="introduction", reason="Công an", started_on=D(2012, 1, 1), ended_on=D(2021, 6, 1)
    )
    switched = make_member(tree.cell, card_number="30000003")
    Exemption.objects.create(
        member=switched, kind="introduction", reason="Cũ", started_on=D(2011, 1, 1), ended_on=D(2021, 1, 1)
    )
    Exemption.objects.create(member=switched, kind="activities", reason="Biệt phái", started_on=D(2022, 4, 1))
    outsider = make_member(tree.outside, card_number="40000001", left_on=D(2023, 1, 1), left_reason="died")
    # A member transferred from the grassroots cell to the committee's cell, then retired into a residential cell;
    # the open referral of "zeros" re-placed in another cell of the ward.
    moved = make_member(tree.grassroots_cell, card_number="60000001")
    move_home(moved, tree.cell, D(2015, 1, 1))
    member_retire(member=moved, retired_on=D(2021, 7, 1), transfer_to=tree.ward1_cell2, by=None)
    places.move_placement(
        referral=Referral.objects.get(member=zeros, ended_on=None),
        residential_cell=tree.ward1_cell1,
        on=D(2022, 5, 1),
        by=None,
    )
    return {
        "zeros": zeros,
        "retired": retired,
        "armed": armed,
        "lifted": lifted,
        "switched": switched,
        "out": outsider,
        "moved": moved,
    }


def export(**options):
    buffer = io.BytesIO()
    counts = write_workbook(buffer, **options)
    buffer.seek(0)
    return load_workbook(buffer), counts


def cells(book, sheet) -> list[dict]:
    """The data rows of a sheet as dicts column key -> cell."""
    worksheet = book[sheet.title]
    headers = [cell.value for cell in worksheet[HEADER_ROW]]
    assert headers == [column.header for column in sheet.columns]
    keys = [column.key for column in sheet.columns]
    return [
        dict(zip(keys, row, strict=False)) for row in worksheet.iter_rows(min_row=HEADER_ROW + 1, max_col=len(keys))
    ]


def values(book, sheet) -> list[dict]:
    return [{key: cell.value for key, cell in row.items()} for row in cells(book, sheet)]


def by_key(rows: list[dict], key: str) -> dict:
    return {row[key]: row for row in rows}


def test_every_column_of_the_layout_has_a_source():
    for sheet in SHEETS:
        assert list(SOURCES[sheet.key]) == [column.key for column in sheet.columns]


def test_the_sheets_have_the_layout_titles_headings_and_headers(people):
    book, counts = export()
    assert book.sheetnames == [sheet.title for sheet in SHEETS]
    for sheet in SHEETS:
        worksheet = book[sheet.title]
        assert worksheet["A1"].value == sheet.heading
        assert [cell.value for cell in worksheet[HEADER_ROW]] == [column.header for column in sheet.columns]
        assert all(cell.font.b for cell in worksheet[HEADER_ROW])
        assert worksheet.freeze_panes == "A4"
        assert counts[sheet.key] == worksheet.max_row - HEADER_ROW
    assert counts == {"organisations": 12, "members": 7, "homes": 3, "referrals": 2, "placements": 1}


def test_organisations_come_parents_first_with_codes_as_text(tree, people):
    book, _counts = export()
    rows = values(book, ORGANISATIONS)
    seen = set()
    for row in rows:
        assert row["parent"] is None or row["parent"] in seen
        seen.add(row["code"])
    zero = by_key(rows, "code")["007"]
    assert zero["kind"] == "residential_cell"
    assert zero["parent"] == tree.ward1.code
    assert zero["name"] == "Khu phố 007"
    assert zero["sector"] == "other"
    assert zero["valid_to"] is None
    root = by_key(rows, "code")[tree.root.code]
    assert (root["parent"], root["kind"], root["sector"]) == (None, "root", "party_state")
    code_cell = next(row["code"] for row in cells(book, ORGANISATIONS) if row["code"].value == "007")
    assert code_cell.data_type == "s"
    valid_from = next(row["valid_from"] for row in cells(book, ORGANISATIONS))
    assert valid_from.value.date() == D(2000, 1, 1)
    assert valid_from.number_format == DATE_FORMAT


def test_members_hold_text_codes_dates_flags_and_choice_codes(tree, people):
    book, _counts = export()
    rows = cells(book, MEMBERS)
    assert [row["card_number"].value for row in rows] == sorted(Member.objects.values_list("card_number", flat=True))
    zeros = next(row for row in rows if row["card_number"].value == "00012345")
    for key, expected in [
        ("card_number", "00012345"),
        ("national_id", "045080012345"),
        ("phone", "0912345678"),
        ("home_organisation", tree.cell.code),
    ]:
        assert zeros[key].value == expected
        assert zeros[key].data_type == "s"
    assert zeros["full_name"].value == "Nguyễn Văn An"
    assert zeros["gender"].value == "male"
    assert zeros["date_of_birth"].value.date() == D(1980, 1, 1)
    assert zeros["date_of_birth"].number_format == DATE_FORMAT
    assert zeros["admitted_on"].value.date() == D(2005, 5, 19)
    assert zeros["official_on"].value.date() == D(2006, 5, 19)
    assert zeros["working"].value == "x"
    for key in ("exempt_introduction", "exempt_activities", "retired_on", "exempt_from", "left_on", "left_reason"):
        assert zeros[key].value is None

    plain = by_key(values(book, MEMBERS), "card_number")
    retired = plain["20000001"]
    assert (retired["working"], retired["retired_on"].date(), retired["gender"]) == (None, D(2015, 7, 1), "female")
    assert retired["national_id"] is None
    assert retired["home_organisation"] == tree.ward1_cell1.code
    outsider = plain["40000001"]
    assert (outsider["left_on"].date(), outsider["left_reason"]) == (D(2023, 1, 1), "died")
    assert outsider["home_organisation"] == tree.outside.code


def test_the_latest_exemption_period_is_the_one_written_whatever_its_end(people):
    book, _counts = export()
    rows = by_key(values(book, MEMBERS), "card_number")
    armed = rows["30000001"]
    assert (armed["exempt_introduction"], armed["exempt_activities"]) == ("x", None)
    assert (armed["exempt_from"].date(), armed["exempt_until"], armed["exempt_reason"]) == (
        D(2010, 1, 1),
        None,
        "Quân đội",
    )
    lifted = rows["30000002"]
    assert (lifted["exempt_introduction"], lifted["exempt_activities"]) == ("x", None)
    assert (lifted["exempt_from"].date(), lifted["exempt_until"].date()) == (D(2012, 1, 1), D(2021, 6, 1))
    switched = rows["30000003"]
    assert (switched["exempt_introduction"], switched["exempt_activities"]) == (None, "x")
    assert (switched["exempt_from"].date(), switched["exempt_until"], switched["exempt_reason"]) == (
        D(2022, 4, 1),
        None,
        "Biệt phái",
    )


def test_referrals_come_by_card_number_then_introduction(tree, people):
    book, _counts = export()
    rows = values(book, REFERRALS)
    assert [(row["card_number"], row["introduced_on"].date()) for row in rows] == [
        ("00012345", D(2019, 3, 1)),
        ("00012345", D(2020, 2, 1)),
    ]
    ended, current = rows
    assert ended == {
        "card_number": "00012345",
        "letter_number": "07-GT/ĐU",
        "introduced_on": datetime.datetime(2019, 3, 1),
        "issuing_organisation": tree.committee.code,
        "receiving_ward": tree.ward2.code,
        "received_on": datetime.datetime(2019, 3, 5),
        "residential_cell": tree.ward2_cell1.code,
        "ended_on": datetime.datetime(2020, 1, 2),
        "end_reason": "moved_residence",
        "placed_on": datetime.datetime(2019, 3, 6),
        "reported_on": datetime.datetime(2019, 3, 10),
    }
    assert (current["residential_cell"], current["ended_on"], current["end_reason"]) == ("007", None, None)
    assert current["reported_on"] is None


def test_the_homes_of_members_who_moved_and_the_re_placements_of_referrals(tree, people):
    """Each period of a member who changed home, from its first day (the first from the admission); a member with
    one home since admission has no row. A referral's row of "Giới thiệu" keeps its first placement; each later one
    is a row of "Chuyển chi bộ nơi cư trú"."""
    book, _counts = export()
    assert values(book, HOMES) == [
        {
            "card_number": "60000001",
            "organisation": tree.grassroots_cell.code,
            "started_on": datetime.datetime(2005, 5, 19),
        },
        {"card_number": "60000001", "organisation": tree.cell.code, "started_on": datetime.datetime(2015, 1, 1)},
        {"card_number": "60000001", "organisation": tree.ward1_cell2.code, "started_on": datetime.datetime(2021, 7, 1)},
    ]
    home_cells = cells(book, HOMES)
    assert home_cells[0]["card_number"].data_type == "s"
    assert home_cells[0]["started_on"].number_format == DATE_FORMAT
    assert by_key(values(book, MEMBERS), "card_number")["60000001"]["home_organisation"] == tree.ward1_cell2.code
    assert values(book, PLACEMENTS) == [
        {
            "card_number": "00012345",
            "introduced_on": datetime.datetime(2020, 2, 1),
            "residential_cell": tree.ward1_cell1.code,
            "started_on": datetime.datetime(2022, 5, 1),
        }
    ]
    current = values(book, REFERRALS)[1]
    assert (current["residential_cell"], current["placed_on"].date()) == ("007", D(2020, 2, 3))


def test_an_organisation_gives_its_subtree_and_the_outside_members_its_wards_registered(tree, people):
    book, counts = export(organisation=tree.ward1)
    codes = [row["code"] for row in values(book, ORGANISATIONS)]
    assert codes == [tree.ward1.code, tree.ward1_cell1.code, tree.ward1_cell2.code, "007"]
    assert book[ORGANISATIONS.title]["A1"].value == f"{ORGANISATIONS.heading} — {tree.ward1.name} ({tree.ward1.code})"
    cards = [row["card_number"] for row in values(book, MEMBERS)]
    assert cards == ["20000001", "60000001"]
    assert values(book, REFERRALS) == []
    assert {row["card_number"] for row in values(book, HOMES)} == {"60000001"}
    assert counts == {"organisations": 4, "members": 2, "homes": 3, "referrals": 0, "placements": 0}

    # The member of the outside organisation comes with it once referred to a ward of the subtree.
    outsider = Member.objects.get(card_number="40000001")
    make_referral(outsider, receiving_ward=tree.ward1, issuing_organisation=tree.outside, introduced_on=D(2021, 1, 1))
    book, counts = export(organisation=tree.ward1)
    assert [row["code"] for row in values(book, ORGANISATIONS)][-1] == tree.outside.code
    assert [row["card_number"] for row in values(book, MEMBERS)] == ["20000001", "40000001", "60000001"]
    assert counts["referrals"] == 1

    # A committee: its own members only, never every outside organisation's.
    book, counts = export(organisation=tree.committee)
    assert [row["code"] for row in values(book, ORGANISATIONS)] == [tree.committee.code, tree.cell.code]
    assert [row["card_number"] for row in values(book, MEMBERS)] == ["00012345", "30000002", "30000003"]
    assert len(values(book, REFERRALS)) == 2
    assert len(values(book, PLACEMENTS)) == 1
    assert values(book, HOMES) == []  # the member who left the cell is the ward's now


def test_a_ward_exports_only_the_referrals_it_sees_and_imports_them_back_unchanged(tree, people):
    """A member of an outside organisation registered by ward 1 moved on to ward 2: ward 1 keeps them in its book
    (and in its export), but ward 2's referral is not ward 1's to see, nor to import back."""
    outsider = make_member(tree.outside, card_number="40000002")
    make_referral(
        outsider,
        receiving_ward=tree.ward1,
        issuing_organisation=tree.outside,
        introduced_on=D(2021, 1, 1),
        ended_on=D(2022, 1, 1),
        end_reason=Referral.EndReason.MOVED_RESIDENCE,
    )
    make_referral(outsider, receiving_ward=tree.ward2, issuing_organisation=tree.outside, introduced_on=D(2022, 1, 1))
    buffer = io.BytesIO()
    write_workbook(buffer, organisation=tree.ward1)
    buffer.seek(0)
    book = load_workbook(buffer)
    assert [(row["card_number"], row["receiving_ward"]) for row in values(book, REFERRALS)] == [
        ("40000002", tree.ward1.code)
    ]
    buffer.seek(0)
    officer = make_officer(tree.ward1)

    result = import_workbook(buffer, by=officer, access=access_for(officer))

    assert result.ok, result.problems
    assert {key: (c["create"], c["update"]) for key, c in result.counts_as_dict().items()} == {
        "organisations": (0, 0),
        "members": (0, 0),
        "homes": (0, 0),
        "referrals": (0, 0),
        "placements": (0, 0),
    }


def test_the_number_of_queries_does_not_grow_with_the_rows(tree, people, django_assert_max_num_queries):
    for n in range(30):
        member = make_member(tree.cell, card_number=f"5{n:07d}")
        Exemption.objects.create(member=member, kind="activities", reason="r", started_on=D(2020, 1, 1))
        make_referral(member, receiving_ward=tree.ward1, introduced_on=D(2021, 1, 1))
    for member in Member.objects.filter(card_number__startswith="5"):
        move_home(member, tree.grassroots_cell, D(2019, 1, 1))
    for referral in Referral.objects.filter(member__card_number__startswith="5"):
        referral.received_on = referral.placed_on = D(2021, 1, 2)
        referral.residential_cell = tree.ward1_cell1
        referral.save()
        places.move_placement(referral=referral, residential_cell=tree.ward1_cell2, on=D(2021, 6, 1), by=None)
    with django_assert_max_num_queries(6):  # one a sheet, the access check of none
        counts = write_workbook(io.BytesIO())
    assert counts["members"] == 37
    assert counts["homes"] == 3 + 2 * 30
    assert counts["placements"] == 1 + 30
    assert counts["referrals"] == 32


def test_an_empty_database_gives_the_headers_only():
    book, counts = export()
    assert counts == {"organisations": 0, "members": 0, "homes": 0, "referrals": 0, "placements": 0}
    for sheet in SHEETS:
        assert book[sheet.title].max_row == HEADER_ROW


def test_the_exported_workbook_imports_back_without_any_change(people):
    buffer = io.BytesIO()
    write_workbook(buffer)
    buffer.seek(0)
    result = import_workbook(buffer, by=None, dry_run=True, file_name="export.xlsx")
    assert result.problems_as_dicts() == []
    for sheet in SHEETS:
        counts = result.counts[sheet.key]
        assert (counts.create, counts.update, counts.unchanged) == (0, 0, counts.rows)
        assert counts.rows > 0


def test_the_command_writes_the_file_and_prints_the_counts(tmp_path, tree, people):
    target = tmp_path / "all.xlsx"
    out = io.StringIO()
    call_command("export_workbook", "-o", str(target), stdout=out)
    assert (
        "Tổ chức: 12, Đảng viên: 7, Quá trình sinh hoạt: 3, Giới thiệu: 2, Chuyển chi bộ nơi cư trú: 1 rows"
        in out.getvalue()
    )
    assert load_workbook(target).sheetnames == [sheet.title for sheet in SHEETS]

    out = io.StringIO()
    call_command("export_workbook", "-o", str(tmp_path / "ward.xlsx"), "--org", tree.ward1.code, stdout=out)
    assert f"({tree.ward1.code})" in out.getvalue()
    assert (
        "Tổ chức: 4, Đảng viên: 2, Quá trình sinh hoạt: 3, Giới thiệu: 0, Chuyển chi bộ nơi cư trú: 0 rows"
        in out.getvalue()
    )


def test_the_command_refuses_an_unknown_code_or_a_missing_folder(tmp_path, tree):
    with pytest.raises(CommandError, match="No organisation has the code 'NOPE'"):
        call_command("export_workbook", "-o", str(tmp_path / "x.xlsx"), "--org", "NOPE")
    with pytest.raises(CommandError, match="does not exist"):
        call_command("export_workbook", "-o", str(tmp_path / "missing" / "x.xlsx"))
    assert not (tmp_path / "x.xlsx").exists()
