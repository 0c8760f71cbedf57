"""An import a secretary can trust (issue 12), at the service: every problem of every sheet in one upload (a row that
depends on a refused row says so and still has its own cells checked), updates of recorded organisations and members
only with the tick, the template's example rows refused, and each row's outcome (created, or updated with each field's
before and after).

Messages are compared with the catalogue's words in the active language (``gettext``), so that the tests hold once
the lead translates them.
"""

import datetime
import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from django.utils.translation import gettext
from openpyxl import load_workbook

from branches.access import access_for
from branches.models import Organisation
from dongha76.services import day_text
from members.models import Member
from tests.factories import make_member, make_officer, make_organisation, make_referral, make_tree
from tests.workbooks.books import layout_workbook, snapshot
from workbooks.exporting import write_workbook
from workbooks.importing import import_workbook
from workbooks.importing.context import DEPENDS_ON, UPDATE_NOT_TICKED
from workbooks.layout import HOMES, MEMBERS, ORGANISATIONS, PLACEMENTS, REFERRALS, SHEETS
from workbooks.reading import EXAMPLE_ROW
from workbooks.template import template_workbook

pytestmark = pytest.mark.django_db

D = datetime.date
T, M, H, R, P = ORGANISATIONS.title, MEMBERS.title, HOMES.title, REFERRALS.title, PLACEMENTS.title
UNKNOWN_CODE = "No organisation has the code “%(code)s”, in this workbook or in the database."
BLANK = "This cell must not be blank."
FUTURE = "This date is in the future (today is %(today)s)."
DUPLICATE = "The same value already appears on row %(row)s of this sheet."
CELL_NOT_IN_WARD = "This residential cell does not belong to the receiving ward."
BORN_AFTER_ADMITTED = "The date of birth must be before the admission."
ORG_OUT_OF_SCOPE = "This organisation is outside the part of the tree you manage; ask the city committee to import it."


@pytest.fixture
def tree():
    return make_tree()


def today() -> datetime.date:
    return timezone.localdate()


def future() -> str:
    return day_text(today() + datetime.timedelta(days=30))


def depends(row: int, sheet: str) -> str:
    return gettext(str(DEPENDS_ON)) % {"row": row, "sheet": sheet}


def listed(result) -> set[tuple]:
    return {(p.sheet, p.row, p.column, str(p.message)) for p in result.problems}


def member(card, home, **fields) -> dict:
    row = {
        "card_number": card,
        "full_name": f"Nguyễn Văn {card}",
        "date_of_birth": "01/01/1980",
        "gender": "Nam",
        "admitted_on": "19/05/2005",
        "home_organisation": home,
        "working": "x",
    }
    row.update(fields)
    return row


# -- every problem at once -----------------------------------------------------------------------------------------


def every_sheet_wrong(tree) -> tuple[io.BytesIO, set[tuple]]:
    """A workbook with a problem of its own in every sheet and rows that depend on refused rows, and every problem it
    must get, as (sheet title, row, column, message)."""
    ward, cell, other_ward_cell = tree.ward1, tree.cell, tree.ward2_cell1
    book = layout_workbook(
        {
            ORGANISATIONS.key: [
                {"code": "NEW1", "kind": "residential_cell", "parent": ward.code},  # 2: no name
                {"code": "NEW2", "name": "Khu phố 2", "parent": "NEW1"},  # 3: no kind; its parent is refused
                {"code": "NEW3", "name": "Khu phố 3", "kind": "residential_cell", "parent": "P9"},  # 4: unknown
                {"code": "NEW4", "name": "Khu phố 4", "kind": "residential_cell", "parent": ward.code},  # 5
                {"code": "NEW4", "name": "Khu phố 4", "kind": "residential_cell", "parent": ward.code},  # 6: twice
            ],
            MEMBERS.key: [
                member("80000001", cell.code, date_of_birth="01/01/2010"),  # 2: born after admission
                member("80000002", "NEW1", admitted_on=future()),  # 3: refused cell, admitted in the future
                member("80000003", cell.code),  # 4
                member("80000004", cell.code),  # 5
                member("80000005", "NEW4"),  # 6: its cell's code is given twice
            ],
            HOMES.key: [
                {"card_number": "80000001", "organisation": cell.code, "started_on": "19/05/2005"},  # 2: refused member
                {"card_number": "80000003", "organisation": "P9", "started_on": "19/05/2005"},  # 3: unknown cell
                {"card_number": "80000003", "organisation": cell.code, "started_on": future()},  # 4: future
            ],
            REFERRALS.key: [
                # 2: a member whose row is refused, to an unknown ward
                {"card_number": "80000001", "introduced_on": "10/03/2018", "receiving_ward": "P9"},
                # 3: a cell outside its ward
                {
                    "card_number": "80000003",
                    "introduced_on": "10/03/2018",
                    "receiving_ward": ward.code,
                    "received_on": "20/03/2018",
                    "residential_cell": other_ward_cell.code,
                },
                # 4: introduced in the future
                {"card_number": "80000004", "introduced_on": future(), "receiving_ward": ward.code},
            ],
            PLACEMENTS.key: [
                # 2: of a refused referral, and in the future
                {
                    "card_number": "80000001",
                    "introduced_on": "10/03/2018",
                    "residential_cell": tree.ward1_cell2.code,
                    "started_on": future(),
                },
                # 3: of a refused referral
                {
                    "card_number": "80000003",
                    "introduced_on": "10/03/2018",
                    "residential_cell": tree.ward1_cell2.code,
                    "started_on": "01/01/2020",
                },
            ],
        }
    )
    in_future = gettext(FUTURE) % {"today": day_text(today())}
    expected = {
        (T, 2, "Tên", gettext(BLANK)),
        (T, 3, "Loại", gettext(BLANK)),
        (T, 3, "Mã cấp trên", depends(2, T)),
        (T, 4, "Mã cấp trên", gettext(UNKNOWN_CODE) % {"code": "P9"}),
        (T, 6, "Mã", gettext(DUPLICATE) % {"row": 5}),
        (M, 2, "Ngày sinh", gettext(BORN_AFTER_ADMITTED)),
        (M, 3, "Mã chi bộ", depends(2, T)),
        (M, 3, "Ngày vào Đảng", in_future),
        (M, 6, "Mã chi bộ", depends(6, T)),
        (H, 2, "Số thẻ", depends(2, M)),
        (H, 3, "Mã chi bộ", gettext(UNKNOWN_CODE) % {"code": "P9"}),
        (H, 4, "Từ ngày", in_future),
        (R, 2, "Số thẻ", depends(2, M)),
        (R, 2, "Mã đảng ủy nơi cư trú", gettext(UNKNOWN_CODE) % {"code": "P9"}),
        (R, 3, "Mã chi bộ nơi cư trú", gettext(CELL_NOT_IN_WARD)),
        (R, 4, "Ngày giới thiệu", in_future),
        (P, 2, "Ngày giới thiệu", depends(2, R)),
        (P, 2, "Từ ngày", in_future),
        (P, 3, "Ngày giới thiệu", depends(3, R)),
    }
    return book, expected


def test_errors_in_every_sheet_arrive_in_one_upload(tree):
    """One workbook, a problem of its own in every sheet and rows that depend on refused rows: everything is told at
    once, each dependent row naming the row it waits for, with its own cells checked too."""
    book, expected = every_sheet_wrong(tree)
    before = snapshot()
    result = import_workbook(book, by=None)
    assert not result.applied and snapshot() == before
    assert listed(result) == expected
    keys = {sheet.title: sheet.key for sheet in SHEETS}
    refused_rows = {(keys[problem.sheet], problem.row) for problem in result.problems}
    assert not [outcome for outcome in result.outcomes if (outcome.sheet, outcome.row) in refused_rows]
    assert ("members", 4, "80000003", "create") in [(o.sheet, o.row, o.key, o.kind) for o in result.outcomes]


def test_rows_naming_a_refused_organisation_or_a_card_given_twice_name_that_row(tree):
    """In every later sheet, a code of a refused organisation, or a card number whose rows are refused as duplicates,
    is answered with the row to fix."""
    make_referral(
        make_member(tree.cell, card_number="80000073"),
        receiving_ward=tree.ward1,
        introduced_on=D(2018, 3, 10),
        received_on=D(2018, 3, 20),
        residential_cell=tree.ward1_cell1,
        placed_on=D(2018, 3, 20),
    )
    book = layout_workbook(
        {
            ORGANISATIONS.key: [{"code": "KPX", "kind": "residential_cell", "parent": tree.ward1.code}],
            MEMBERS.key: [
                member("80000071", tree.cell.code),
                member("80000072", tree.cell.code),
                member("80000072", tree.cell.code),
            ],
            HOMES.key: [{"card_number": "80000071", "organisation": "KPX", "started_on": "01/01/2015"}],
            REFERRALS.key: [
                {
                    "card_number": "80000071",
                    "introduced_on": "10/03/2018",
                    "receiving_ward": tree.ward1.code,
                    "received_on": "20/03/2018",
                    "residential_cell": "KPX",
                },
                {"card_number": "80000072", "introduced_on": "10/03/2018", "receiving_ward": tree.ward1.code},
            ],
            PLACEMENTS.key: [
                {
                    "card_number": "80000073",
                    "introduced_on": "10/03/2018",
                    "residential_cell": "KPX",
                    "started_on": "01/01/2020",
                }
            ],
        }
    )
    assert listed(import_workbook(book, by=None)) == {
        (T, 2, "Tên", gettext(BLANK)),
        (M, 4, "Số thẻ", gettext(DUPLICATE) % {"row": 3}),
        (H, 2, "Mã chi bộ", depends(2, T)),
        (R, 2, "Mã chi bộ nơi cư trú", depends(2, T)),
        (R, 3, "Số thẻ", depends(4, M)),
        (P, 2, "Mã chi bộ nơi cư trú", depends(2, T)),
    }


def test_a_referral_of_a_refused_member_checks_its_own_dates_and_codes(tree):
    """The member's row is refused: the referral says it waits for it, and what is wrong with its own cells."""
    book = layout_workbook(
        {
            MEMBERS.key: [member("80000011", "P9")],
            REFERRALS.key: [
                {
                    "card_number": "80000011",
                    "introduced_on": "10/03/2018",
                    "receiving_ward": tree.ward1.code,
                    "received_on": "01/03/2018",  # before the introduction
                    "residential_cell": "KP9",
                }
            ],
        }
    )
    problems = listed(import_workbook(book, by=None))
    assert problems == {
        (M, 2, "Mã chi bộ", gettext(UNKNOWN_CODE) % {"code": "P9"}),
        (R, 2, "Số thẻ", depends(2, M)),
        (R, 2, "Mã chi bộ nơi cư trú", gettext(UNKNOWN_CODE) % {"code": "KP9"}),
        (
            R,
            2,
            "Ngày tiếp nhận",
            gettext("This date cannot be before the date of the %(step)s.") % {"step": gettext("introduction")},
        ),
    }


def test_a_dependent_row_of_an_officer_tells_nothing_of_a_member_out_of_sight(tree):
    """An officer's member row about a member outside their part of the tree is refused as out of sight; the referral
    row that depends on it names that row only (no stored day of the member is quoted)."""
    hidden = make_member(tree.grassroots_cell, card_number="80000021")
    make_referral(hidden, receiving_ward=tree.ward2, introduced_on=D(2019, 1, 1))
    officer = make_officer(tree.committee)
    book = layout_workbook(
        {
            MEMBERS.key: [member(hidden.card_number, tree.cell.code, full_name="Đổi tên")],
            REFERRALS.key: [
                {"card_number": hidden.card_number, "introduced_on": "10/03/2018", "receiving_ward": tree.ward1.code}
            ],
        }
    )
    result = import_workbook(book, by=officer, access=access_for(officer))
    problems = listed(result)
    assert (R, 2, "Số thẻ", depends(2, M)) in problems
    assert [p for p in problems if p[0] == R] == [(R, 2, "Số thẻ", depends(2, M))]
    assert all("2019" not in p[3] and "2005" not in p[3] for p in problems)


# -- guarded updates -----------------------------------------------------------------------------------------------


def _renaming_book(tree, stored: Member):
    return layout_workbook(
        {
            ORGANISATIONS.key: [
                {
                    "code": tree.ward1_cell1.code,
                    "name": "Tên mới",
                    "kind": "residential_cell",
                    "parent": tree.ward1.code,
                }
            ],
            MEMBERS.key: [member(stored.card_number, stored.home_organisation.code, full_name="Trần Thị Mới")],
        }
    )


def test_an_update_without_the_tick_is_refused_and_with_it_is_written(tree):
    stored = make_member(tree.cell, card_number="80000031", full_name="Nguyễn Văn Cũ")
    before = snapshot()
    result = import_workbook(_renaming_book(tree, stored), by=None)
    assert not result.applied and snapshot() == before
    assert listed(result) == {
        (T, 2, "Mã", gettext(str(UPDATE_NOT_TICKED))),
        (M, 2, "Số thẻ", gettext(str(UPDATE_NOT_TICKED))),
    }
    # Refused for want of the tick only, the rows still show what they would change: that is what one decides on.
    assert [(o.sheet, o.row, o.kind, o.changes) for o in result.outcomes] == [
        ("organisations", 2, "update", (("Tên", tree.ward1_cell1.name, "Tên mới"),)),
        ("members", 2, "update", (("Họ và tên", "Nguyễn Văn Cũ", "Trần Thị Mới"),)),
    ]
    # ... but, as rows with a problem, they are not counted as updates.
    assert (result.counts["organisations"].update, result.counts["members"].update) == (0, 0)
    result = import_workbook(_renaming_book(tree, stored), by=None, update_existing=True)
    assert result.applied, listed(result)
    assert (result.counts["organisations"].update, result.counts["members"].update) == (1, 1)
    # Both histories say why they changed (the organisation's through the tree's service).
    reason = gettext("Imported from a workbook")
    assert Organisation.history.filter(id=tree.ward1_cell1.pk).latest("history_id").history_change_reason == reason
    assert Member.history.filter(id=stored.pk).latest("history_id").history_change_reason == reason
    assert Organisation.objects.get(pk=tree.ward1_cell1.pk).name == "Tên mới"
    assert Member.objects.get(pk=stored.pk).full_name == "Trần Thị Mới"


def test_unchanged_rows_need_no_tick(tree):
    make_member(tree.cell, card_number="80000032")
    out = io.BytesIO()
    write_workbook(out)
    out.seek(0)
    result = import_workbook(out, by=None)
    assert result.ok, listed(result)
    assert all(counts.create == counts.update == 0 for counts in result.counts.values())
    assert result.outcomes == []


def test_an_out_of_scope_row_keeps_its_own_message_without_the_tick(tree):
    officer = make_officer(tree.ward1)
    book = layout_workbook(
        {
            ORGANISATIONS.key: [
                {"code": tree.cell.code, "name": "Đổi tên", "kind": "cell", "parent": tree.committee.code}
            ]
        }
    )
    result = import_workbook(book, by=officer, access=access_for(officer))
    assert listed(result) == {(T, 2, "Mã", gettext(ORG_OUT_OF_SCOPE))}


def test_the_command_updates_only_with_its_flag(tree, tmp_path):
    stored = make_member(tree.cell, card_number="80000033")
    path = tmp_path / "book.xlsx"
    path.write_bytes(_renaming_book(tree, stored).getvalue())
    with pytest.raises(CommandError):
        call_command("import_workbook", str(path), stdout=io.StringIO(), stderr=io.StringIO())
    assert Member.objects.get(pk=stored.pk).full_name == stored.full_name
    call_command("import_workbook", str(path), "--update-existing", stdout=io.StringIO(), stderr=io.StringIO())
    assert Member.objects.get(pk=stored.pk).full_name == "Trần Thị Mới"


# -- the template's examples ---------------------------------------------------------------------------------------


def test_the_template_as_downloaded_is_refused_with_the_examples_message(tree):
    before = snapshot()
    result = import_workbook(io.BytesIO(template_workbook()), by=None, file_name="mau.xlsx")
    assert not result.applied and snapshot() == before
    assert result.problems
    assert {str(problem.message) for problem in result.problems} == {gettext(str(EXAMPLE_ROW))}
    assert {problem.sheet for problem in result.problems} == {sheet.title for sheet in SHEETS}
    assert result.outcomes == []


def test_a_row_naming_an_example_code_is_refused(tree):
    book = layout_workbook(
        {ORGANISATIONS.key: [{"code": "KP10", "name": "Khu phố 10", "kind": "residential_cell", "parent": "VD-P1"}]}
    )
    assert listed(import_workbook(book, by=None)) == {(T, 2, "Mã cấp trên", gettext(str(EXAMPLE_ROW)))}


def test_the_example_codes_cannot_be_those_of_real_rows():
    book = load_workbook(io.BytesIO(template_workbook()))
    for sheet in SHEETS:
        worksheet = book[sheet.title]
        key = worksheet.cell(row=4, column=1).value
        assert str(key).startswith("VD-"), (sheet.title, key)


# -- per-row outcomes ----------------------------------------------------------------------------------------------


def test_the_diff_of_a_changed_name_and_date_shows_before_and_after(tree):
    organisation = make_organisation(
        kind=Organisation.Kind.RESIDENTIAL_CELL, parent=tree.ward1, name="Khu phố cũ", valid_from=D(2001, 1, 1)
    )
    stored = make_member(tree.cell, card_number="80000041", full_name="Nguyễn Văn Cũ", date_of_birth=D(1980, 1, 1))
    book = layout_workbook(
        {
            ORGANISATIONS.key: [
                {
                    "code": organisation.code,
                    "name": "Khu phố mới",
                    "kind": "residential_cell",
                    "parent": tree.ward1.code,
                    "valid_from": "02/02/2002",
                },
                {"code": "KP-NEW", "name": "Khu phố mới lập", "kind": "residential_cell", "parent": tree.ward1.code},
            ],
            MEMBERS.key: [
                member(stored.card_number, tree.cell.code, full_name="Nguyễn Văn Mới", date_of_birth="02/03/1981"),
                member("80000042", tree.cell.code),
            ],
        }
    )
    result = import_workbook(book, by=None, update_existing=True, dry_run=True)
    assert result.ok, listed(result)
    outcomes = [(o.sheet, o.row, o.key, o.kind, o.changes) for o in result.outcomes]
    assert outcomes == [
        (
            "organisations",
            2,
            organisation.code,
            "update",
            (("Tên", "Khu phố cũ", "Khu phố mới"), ("Ngày thành lập", "01/01/2001", "02/02/2002")),
        ),
        ("organisations", 3, "KP-NEW", "create", ()),
        (
            "members",
            2,
            "80000041",
            "update",
            (("Họ và tên", "Nguyễn Văn Cũ", "Nguyễn Văn Mới"), ("Ngày sinh", "01/01/1980", "02/03/1981")),
        ),
        ("members", 3, "80000042", "create", ()),
    ]


def test_history_and_referral_rows_are_keyed_as_the_sheet_shows_them(tree):
    moved = make_member(tree.cell, card_number="80000051")
    referral = make_referral(
        make_member(tree.cell, card_number="80000052"),
        receiving_ward=tree.ward1,
        introduced_on=D(2018, 3, 10),
        received_on=D(2018, 3, 20),
        residential_cell=tree.ward1_cell1,
        placed_on=D(2018, 3, 20),
        letter_number="1-GT",
    )
    book = layout_workbook(
        {
            HOMES.key: [
                # the first period, in another cell since the admission: an update; a new one: a creation
                {
                    "card_number": moved.card_number,
                    "organisation": tree.grassroots_cell.code,
                    "started_on": "19/05/2005",
                },
                {"card_number": moved.card_number, "organisation": tree.cell.code, "started_on": "01/01/2015"},
            ],
            REFERRALS.key: [
                {
                    "card_number": "80000052",
                    "letter_number": "2-GT",
                    "introduced_on": "10/03/2018",
                    "issuing_organisation": referral.issuing_organisation.code,
                    "receiving_ward": tree.ward1.code,
                    "received_on": "20/03/2018",
                    "residential_cell": tree.ward1_cell1.code,
                    "placed_on": "20/03/2018",
                }
            ],
            PLACEMENTS.key: [
                {
                    "card_number": "80000052",
                    "introduced_on": "10/03/2018",
                    "residential_cell": tree.ward1_cell2.code,
                    "started_on": "01/01/2020",
                }
            ],
        }
    )
    result = import_workbook(book, by=None, dry_run=True)
    assert result.ok, listed(result)
    outcomes = [(o.sheet, o.row, o.key, o.kind, o.changes) for o in result.outcomes]
    assert outcomes == [
        (
            "homes",
            2,
            "80000051 · 19/05/2005",
            "update",
            (("Mã chi bộ", tree.cell.code, tree.grassroots_cell.code),),
        ),
        ("homes", 3, "80000051 · 01/01/2015", "create", ()),
        ("referrals", 2, "80000052 · 10/03/2018", "update", (("Số giấy", "1-GT", "2-GT"),)),
        ("placements", 2, "80000052 · 10/03/2018 · 01/01/2020", "create", ()),
    ]
    assert result.counts["homes"].update == 1 and result.counts["homes"].create == 1


def test_rows_with_problems_record_no_outcome(tree):
    book = layout_workbook(
        {
            MEMBERS.key: [member("80000061", tree.cell.code), member("80000062", tree.cell.code, full_name=None)],
            REFERRALS.key: [{"card_number": "80000061", "introduced_on": future(), "receiving_ward": tree.ward1.code}],
        }
    )
    result = import_workbook(book, by=None, dry_run=True)
    assert {(p.sheet, p.row) for p in result.problems} == {(M, 3), (R, 2)}
    assert [(o.sheet, o.row, o.kind) for o in result.outcomes] == [("members", 2, "create")]


def test_a_changed_national_id_is_shown_masked_before_and_after(tree):
    """As the member's history shows it to anyone: seeing a national ID in full is a step of its own."""
    stored = make_member(tree.cell, card_number="80000081", national_id="045080012345")
    row = member(stored.card_number, tree.cell.code, full_name=stored.full_name, national_id="045080099999")
    book = layout_workbook({MEMBERS.key: [row]})
    result = import_workbook(book, by=None, update_existing=True, dry_run=True)
    assert result.ok, listed(result)
    (outcome,) = result.outcomes
    assert outcome.changes == (("Số CCCD", "••••••••2345", "••••••••9999"),)
