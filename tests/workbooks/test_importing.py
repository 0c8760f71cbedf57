"""Importing the committees' workbook (``workbooks.importing.import_workbook``): what a good workbook writes, how cells
are read, and every refusal of the issue, each with its message (sheet, row, column) and the database unchanged.

Messages already in the Vietnamese catalogue are asserted in Vietnamese; for the import's own new messages the test
asserts what stays the same once they are translated: the value quoted, the sheet, row and column, and the message
as ``gettext`` gives it in the active language.
"""

import datetime
import io

import pytest
from django.utils import timezone
from django.utils.translation import gettext

from branches.access import access_for
from branches.models import Organisation
from members.models import Exemption, Member, Referral
from tests.factories import make_member, make_officer, make_organisation, make_referral, make_tree
from tests.workbooks.books import (
    MEMBER_HEADERS,
    MEMBERS,
    NOT_XLSX,
    ORGS,
    REFERRAL_HEADERS,
    REFERRALS,
    member_row,
    member_sheet,
    org_row,
    org_sheet,
    referral_row,
    referral_sheet,
    replace_in_zip,
    snapshot,
    workbook,
    zip_bytes,
)
from workbooks import reading
from workbooks.exporting import write_workbook
from workbooks.importing import WorkbookRefused, import_workbook
from workbooks.importing.scope import CARD_OUT_OF_SIGHT
from workbooks.reading import IMPOSSIBLE_CELL

pytestmark = pytest.mark.django_db

Kind = Organisation.Kind
MISSING_CODE = "No organisation has the code “%(code)s”, in this workbook or in the database."
ORG_OUT_OF_SCOPE = "This organisation is outside the part of the tree you manage; ask the city committee to import it."
MEMBER_OUT_OF_SCOPE = "This member's cell is outside the part of the tree you manage."
DUPLICATE = "The same value already appears on row %(row)s of this sheet."
DEPENDS_ON = "This row depends on row %(row)s of the sheet “%(sheet)s”, which has a problem; fix that row first."
REQUIRED_COLUMN = "This required column is missing."
OPEN_REFERRAL_VI = "đang có giới thiệu sinh hoạt chưa kết thúc"
FUTURE_VI = "Ngày này chưa đến"


@pytest.fixture
def tree():
    return make_tree()


def run(book, **options):
    return import_workbook(book, by=options.pop("by", None), **options)


def listed(result) -> list[tuple]:
    return [(p.sheet, p.row, p.column, str(p.message)) for p in result.problems]


def refused(book, before, **options) -> list[tuple]:
    """Import ``book``, check that it is refused and that nothing was written; the problems as tuples."""
    result = run(book, **options)
    assert not result.ok, "the workbook should have been refused"
    assert not result.applied
    assert snapshot() == before, "a refused workbook wrote to the database"
    return listed(result)


def only(problems: list[tuple], sheet: str, row: int | None, column: str) -> str:
    """The message of the single problem found, after checking where it is."""
    assert [(sheet, row, column)] == [problem[:3] for problem in problems], problems
    return problems[0][3]


# -- a good workbook -------------------------------------------------------------------------------------------------


def good_sheets() -> dict[str, list[list]]:
    """A whole small city from scratch: children listed before their parents on purpose."""
    return {
        ORGS: org_sheet(
            org_row("P1-KP1", "Chi bộ Khu phố 1", "residential_cell", "P1"),
            org_row("SYT-VP", "Chi bộ Văn phòng", "cell", "SYT"),
            org_row("P1-KP2", "Chi bộ Khu phố 2", "Chi bộ khu phố/thôn", "P1"),
            org_row("P1", "Đảng bộ Phường 1", "ward", "DH"),
            org_row("SYT-KH", "Chi bộ Kế hoạch", "cell", "SYT"),
            org_row("SYT", "Đảng bộ Sở Y tế", "Đảng bộ cơ sở", "DH"),
            org_row("P5-KP1", "Chi bộ Khu phố 7", "residential_cell", "P5"),
            org_row("P5", "Đảng bộ Phường 5", "Đảng ủy phường/xã", "DH"),
            org_row("DH", "Đảng bộ thành phố Đông Hà", "root"),
            org_row("STC", "Sở Tài chính tỉnh", "outside"),
        ),
        MEMBERS: member_sheet(
            member_row("45000001", "SYT-VP", name="Nguyễn Văn An"),
            member_row("45000002", "SYT-VP", gender="Nữ", exempt_introduction="x"),
            member_row("45000003", "P1-KP2", working=None),
            member_row("45000004", "STC", exempt_activities=None),
        ),
        REFERRALS: referral_sheet(
            referral_row("45000001", "P1", introduced="10/03/2018", received="20/03/2018", cell="P1-KP1"),
            referral_row(
                "45000004",
                "P5",
                introduced="01/02/2015",
                received="05/02/2015",
                cell="P5-KP1",
                ended="01/01/2019",
                reason="moved_residence",
            ),
            referral_row("45000004", "P1", letter="3-GT", introduced="02/01/2019"),
        ),
    }


def org(code: str) -> Organisation:
    return Organisation.objects.get(code=code)


def test_a_good_workbook_creates_the_tree_members_exemptions_and_referrals():
    result = run(workbook(good_sheets()))

    assert result.ok, listed(result)
    assert result.applied
    assert result.counts_as_dict() == {
        "organisations": {"create": 10, "update": 0, "unchanged": 0, "rows": 10},
        "members": {"create": 4, "update": 0, "unchanged": 0, "rows": 4},
        "referrals": {"create": 3, "update": 0, "unchanged": 0, "rows": 3},
    }
    root = org("DH")
    assert root.kind == Kind.ROOT and root.parent is None
    assert org("P1-KP1").parent == org("P1") and org("P1").parent == root
    assert org("P1-KP2").kind == Kind.RESIDENTIAL_CELL  # the Vietnamese label
    assert org("SYT").kind == Kind.COMMITTEE and org("P5").kind == Kind.WARD
    assert org("SYT-VP").is_within(root) and org("SYT-VP").is_within(org("SYT"))
    assert set(Organisation.objects.subtree(root).values_list("code", flat=True)) == {
        "DH",
        "P1",
        "P1-KP1",
        "P1-KP2",
        "SYT",
        "SYT-VP",
        "SYT-KH",
        "P5",
        "P5-KP1",
    }
    assert org("STC").kind == Kind.OUTSIDE and org("STC").parent is None

    an = Member.objects.get(card_number="45000001")
    assert an.full_name == "Nguyễn Văn An" and an.search_name == "nguyen van an"
    assert an.home_organisation == org("SYT-VP") and an.retired_on is None and an.working
    assert an.date_of_birth == datetime.date(1980, 1, 1) and an.gender == Member.Gender.MALE
    assert Member.objects.get(card_number="45000002").gender == Member.Gender.FEMALE
    exemption = Exemption.objects.get(member__card_number="45000002")
    assert (exemption.kind, exemption.started_on, exemption.ended_on) == (
        Exemption.Kind.INTRODUCTION,
        datetime.date(2005, 5, 19),
        None,
    )
    retired = Member.objects.get(card_number="45000003")
    assert retired.retired_on == retired.admitted_on == datetime.date(2005, 5, 19)

    referral = Referral.objects.get(member=an)
    assert referral.issuing_organisation == org("SYT")  # blank: the grassroots organisation of the member's cell
    assert referral.receiving_ward == org("P1") and referral.residential_cell == org("P1-KP1")
    assert referral.received_on == referral.placed_on == datetime.date(2018, 3, 20)  # blank placement: reception
    assert referral.ended_on is None and referral.letter_number == "12-GT/ĐU"
    first, second = Referral.objects.filter(member__card_number="45000004").order_by("introduced_on")
    assert first.issuing_organisation == org("STC")  # an outside organisation introduces its own members
    assert (first.ended_on, first.end_reason) == (datetime.date(2019, 1, 1), Referral.EndReason.MOVED_RESIDENCE)
    assert second.receiving_ward == org("P1") and second.received_on is None and second.ended_on is None

    assert Organisation.history.count() == 10
    assert Member.history.count() == 4
    assert Exemption.history.count() == 1
    assert Referral.history.count() == 3


def test_importing_the_same_workbook_twice_changes_nothing():
    run(workbook(good_sheets()))
    before = snapshot()

    result = run(workbook(good_sheets()))

    assert result.ok and result.applied, listed(result)
    assert result.counts_as_dict() == {
        "organisations": {"create": 0, "update": 0, "unchanged": 10, "rows": 10},
        "members": {"create": 0, "update": 0, "unchanged": 4, "rows": 4},
        "referrals": {"create": 0, "update": 0, "unchanged": 3, "rows": 3},
    }
    assert snapshot() == before  # not a row, not a history row


def test_a_changed_row_updates():
    run(workbook(good_sheets()))
    history = {model: model.history.count() for model in (Organisation, Member, Referral, Exemption)}
    sheets = good_sheets()
    sheets[ORGS][1] = org_row("P1-KP1", "Chi bộ Khu phố 1 mới", "residential_cell", "P1")
    sheets[MEMBERS][1] = member_row("45000001", "SYT-KH", name="Nguyễn Văn An")
    sheets[REFERRALS][1] = referral_row(
        "45000001",
        "P1",
        introduced="10/03/2018",
        received="20/03/2018",
        cell="P1-KP1",
        ended="01/06/2020",
        reason="Chuyển nơi cư trú",  # the Vietnamese label
    )
    sheets[REFERRALS][3] = referral_row("45000004", "P1", letter="3-GT", introduced="02/01/2019", received="10/01/2019")

    result = run(workbook(sheets), update_existing=True)

    assert result.ok and result.applied, listed(result)
    assert result.counts_as_dict() == {
        "organisations": {"create": 0, "update": 1, "unchanged": 9, "rows": 10},
        "members": {"create": 0, "update": 1, "unchanged": 3, "rows": 4},
        "referrals": {"create": 0, "update": 2, "unchanged": 1, "rows": 3},
    }
    assert org("P1-KP1").name == "Chi bộ Khu phố 1 mới"
    assert Member.objects.get(card_number="45000001").home_organisation == org("SYT-KH")
    ended = Referral.objects.get(member__card_number="45000001")
    assert (ended.ended_on, ended.end_reason) == (datetime.date(2020, 6, 1), Referral.EndReason.MOVED_RESIDENCE)
    received = Referral.objects.get(member__card_number="45000004", introduced_on=datetime.date(2019, 1, 2))
    assert received.received_on == datetime.date(2019, 1, 10)
    assert Referral.objects.count() == 3  # keyed by card number and introduction date: updated, not added
    assert Organisation.history.count() == history[Organisation] + 1
    assert Member.history.count() == history[Member] + 1
    assert Referral.history.count() == history[Referral] + 2
    assert Exemption.history.count() == history[Exemption]


def test_a_dry_run_writes_nothing_but_says_what_it_would_do():
    before = snapshot()

    result = run(workbook(good_sheets()), dry_run=True)

    assert result.ok and not result.applied
    assert result.counts["organisations"].create == 10
    assert result.counts["members"].create == 4
    assert result.counts["referrals"].create == 3
    assert snapshot() == before


def test_a_dry_run_of_changes_counts_the_updates():
    run(workbook(good_sheets()))
    sheets = good_sheets()
    sheets[ORGS][1] = org_row("P1-KP1", "Chi bộ Khu phố 1 mới", "residential_cell", "P1")
    before = snapshot()

    result = run(workbook(sheets), dry_run=True, update_existing=True)

    assert result.ok and not result.applied
    assert result.counts["organisations"].update == 1 and result.counts["organisations"].unchanged == 9
    assert snapshot() == before


def test_an_exemption_added_to_an_unchanged_member_counts_as_an_update(tree):
    """The preview's counts say what the import does: a row that adds an exemption is not "unchanged"."""
    member = make_member(tree.cell)
    row = member_row(member.card_number, tree.cell.code, name=member.full_name, exempt_activities="x")

    result = run(workbook({MEMBERS: member_sheet(row)}), update_existing=True)

    assert result.ok, listed(result)
    assert Exemption.objects.filter(member=member, kind=Exemption.Kind.ACTIVITIES).exists()
    assert (result.counts["members"].update, result.counts["members"].unchanged) == (1, 0)


# -- how cells are read ----------------------------------------------------------------------------------------------


def test_headers_ignore_case_accents_and_spaces_and_extra_columns_are_ignored(tree):
    headers = [
        "  SỐ THẺ ",
        "ho va ten",
        "Ghi chú",
        "NGÀY SINH",
        "giới  tính",
        "Ngay vao dang",
        "MÃ CHI BỘ ",
        "dang cong tac",
        "Miễn Giới Thiệu",
        "mien sinh hoat",
        "Cột lạ",
    ]
    row = [
        "45012345",
        "Trần Thị Bình",
        "ghi chú bất kỳ",
        "02/03/1985",
        "Nữ",
        "04/05/2010",
        tree.cell.code,
        "x",
        None,
        None,
        12345,
    ]

    result = run(workbook({" đảng VIÊN ": [headers, row]}))

    assert result.ok, listed(result)
    member = Member.objects.get(card_number="45012345")
    assert (member.full_name, member.gender, member.home_organisation) == (
        "Trần Thị Bình",
        Member.Gender.FEMALE,
        tree.cell,
    )
    assert member.date_of_birth == datetime.date(1985, 3, 2)


def test_headers_under_a_title_as_in_the_template(tree):
    book = workbook({MEMBERS: member_sheet(member_row("45012345", tree.cell.code))}, title=True)

    result = run(book)

    assert result.ok, listed(result)
    assert result.header_rows == {MEMBERS: 3}
    assert Member.objects.filter(card_number="45012345").exists()


def test_problems_under_a_title_give_the_row_excel_shows(tree):
    book = workbook({MEMBERS: member_sheet(member_row("45012345", tree.cell.code, born="abc"))}, title=True)
    before = snapshot()

    problems = refused(book, before)

    assert "“abc”" in only(problems, MEMBERS, 4, "Ngày sinh")


def test_absent_sheets_are_fine(tree):
    only_orgs = run(workbook({ORGS: org_sheet(org_row("P1-KP9", kind="residential_cell", parent=tree.ward1.code))}))
    assert only_orgs.ok and only_orgs.applied, listed(only_orgs)
    assert set(only_orgs.counts) == {"organisations", "members", "referrals"}
    assert only_orgs.counts["members"].rows == 0 and only_orgs.counts["referrals"].rows == 0

    only_members = run(
        workbook({"Ghi chú": [["gì cũng được"]], MEMBERS: member_sheet(member_row("45012345", "P1-KP9"))})
    )
    assert only_members.ok, listed(only_members)
    assert Member.objects.get(card_number="45012345").home_organisation.code == "P1-KP9"

    working = make_member(tree.cell)
    only_referrals = run(
        workbook(
            {REFERRALS: referral_sheet(referral_row(working.card_number, tree.ward1.code, introduced="01/03/2018"))}
        )
    )
    assert only_referrals.ok, listed(only_referrals)
    assert only_referrals.counts["referrals"].create == 1 and only_referrals.counts["organisations"].rows == 0


def test_a_workbook_with_none_of_the_sheets_is_refused():
    before = snapshot()

    with pytest.raises(WorkbookRefused) as refused_:
        run(workbook({"Sheet1": [["a", "b"], [1, 2]]}))

    assert "Tổ chức" in str(refused_.value.message) and "Giới thiệu" in str(refused_.value.message)
    assert snapshot() == before


def test_card_numbers_and_codes_stored_as_numbers_are_read_as_text(tree):
    make_organisation(kind=Kind.CELL, parent=tree.committee, code="1234")
    sheets = {
        ORGS: org_sheet([5678, "Chi bộ số", "cell", tree.committee.code]),
        MEMBERS: member_sheet(
            member_row(45012345, 1234),  # int
            member_row(45012346.0, 5678.0),  # float, as Excel stores every number
            member_row("00123", tree.cell.code),  # text with leading zeros
        ),
    }

    result = run(workbook(sheets))

    assert result.ok, listed(result)
    assert Organisation.objects.filter(code="5678").exists()
    assert Member.objects.get(card_number="45012345").home_organisation.code == "1234"
    assert Member.objects.get(card_number="45012346").home_organisation.code == "5678"
    assert Member.objects.get(card_number="00123").home_organisation == tree.cell
    assert not Member.objects.filter(card_number__contains=".").exists()


def test_dates_as_excel_dates_or_text(tree):
    sheets = {
        MEMBERS: member_sheet(
            member_row(
                "45000001", tree.cell.code, born=datetime.datetime(1980, 4, 15), admitted=datetime.date(2005, 2, 3)
            ),
            member_row("45000002", tree.cell.code, born="15/04/1980", admitted="3/2/2005"),
            member_row("45000003", tree.cell.code, born=" 15/04/1980 ", admitted="03/02/2005"),
        )
    }

    result = run(workbook(sheets))

    assert result.ok, listed(result)
    for card in ("45000001", "45000002", "45000003"):
        member = Member.objects.get(card_number=card)
        assert (member.date_of_birth, member.admitted_on) == (datetime.date(1980, 4, 15), datetime.date(2005, 2, 3))


def test_flags_x_or_co_mean_yes_and_blank_means_no(tree):
    sheets = {
        MEMBERS: member_sheet(
            member_row("45000001", tree.cell.code, working="x"),
            member_row("45000002", tree.cell.code, working="Có"),
            member_row("45000003", tree.cell.code, working=" X "),
            member_row("45000004", tree.cell.code, working=None),
            member_row("45000005", tree.cell.code, working="có", exempt_activities="có"),
            member_row("45000006", tree.cell.code, exempt_introduction="x", exempt_activities=""),
        )
    }

    result = run(workbook(sheets))

    assert result.ok, listed(result)
    working = dict(Member.objects.values_list("card_number", "working"))
    assert working == {
        "45000001": True,
        "45000002": True,
        "45000003": True,
        "45000004": False,
        "45000005": True,
        "45000006": True,
    }
    assert dict(Exemption.objects.values_list("member__card_number", "kind")) == {
        "45000005": Exemption.Kind.ACTIVITIES,
        "45000006": Exemption.Kind.INTRODUCTION,
    }


def test_a_flag_that_is_neither_yes_nor_no_is_refused(tree):
    before = snapshot()

    problems = refused(
        workbook({MEMBERS: member_sheet(member_row("45000001", tree.cell.code, working="maybe"))}), before
    )

    assert "“maybe”" in only(problems, MEMBERS, 2, "Đang công tác")


def test_choices_take_the_code_or_the_label(tree):
    sheets = {
        ORGS: org_sheet(
            org_row("KP-A", kind="Chi bộ khu phố/thôn", parent=tree.ward1.code),
            org_row("KP-B", kind="chi bo khu pho/thon", parent=tree.ward1.code),
            org_row("KP-C", kind="RESIDENTIAL_CELL", parent=tree.ward1.code),
            org_row("KP-D", kind="Residential cell", parent=tree.ward1.code),
            org_row("CB-A", kind="Chi bộ trực thuộc", parent=tree.committee.code),
        ),
        MEMBERS: member_sheet(
            member_row("45000001", tree.cell.code, gender="Nam"),
            member_row("45000002", tree.cell.code, gender="nữ"),
            member_row("45000003", tree.cell.code, gender="male"),
            member_row("45000004", tree.cell.code, gender="Female"),
        ),
    }

    result = run(workbook(sheets))

    assert result.ok, listed(result)
    kinds = dict(
        Organisation.objects.filter(code__in=["KP-A", "KP-B", "KP-C", "KP-D", "CB-A"]).values_list("code", "kind")
    )
    assert kinds == {
        "KP-A": "residential_cell",
        "KP-B": "residential_cell",
        "KP-C": "residential_cell",
        "KP-D": "residential_cell",
        "CB-A": "cell",
    }
    genders = dict(Member.objects.values_list("card_number", "gender"))
    assert genders == {"45000001": "male", "45000002": "female", "45000003": "male", "45000004": "female"}


def test_end_reason_takes_the_code_or_the_label(tree):
    one = make_member(tree.cell)
    two = make_member(tree.cell)
    sheets = {
        REFERRALS: referral_sheet(
            referral_row(
                one.card_number,
                tree.ward1.code,
                introduced="01/03/2018",
                ended="01/03/2019",
                reason="Chuyển nơi cư trú",
            ),
            referral_row(two.card_number, tree.ward1.code, introduced="01/03/2018", ended="01/03/2019", reason="died"),
        )
    }

    result = run(workbook(sheets))

    assert result.ok, listed(result)
    assert Referral.objects.get(member=one).end_reason == Referral.EndReason.MOVED_RESIDENCE
    assert Referral.objects.get(member=two).end_reason == Referral.EndReason.DIED


def test_not_working_without_a_date_is_retired_since_admission(tree):
    result = run(
        workbook(
            {
                MEMBERS: member_sheet(
                    member_row(
                        "45000001", tree.ward1_cell1.code, working=None, born="01/01/1950", admitted="07/11/1975"
                    )
                )
            }
        )
    )

    assert result.ok, listed(result)
    member = Member.objects.get(card_number="45000001")
    assert member.retired_on == member.admitted_on == datetime.date(1975, 11, 7)
    assert not member.working


def test_a_retirement_date_is_kept_when_given(tree):
    sheets = {
        MEMBERS: [
            [*MEMBER_HEADERS, "Ngày nghỉ hưu"],
            [*member_row("45000001", tree.ward1_cell1.code, working=None), "01/07/2020"],
        ]
    }

    result = run(workbook(sheets))

    assert result.ok, listed(result)
    assert Member.objects.get(card_number="45000001").retired_on == datetime.date(2020, 7, 1)


def test_working_with_a_retirement_date_is_refused(tree):
    sheets = {
        MEMBERS: [
            [*MEMBER_HEADERS, "Ngày nghỉ hưu"],
            [*member_row("45000001", tree.cell.code, working="x"), "01/07/2020"],
        ]
    }
    before = snapshot()

    problems = refused(workbook(sheets), before)

    assert gettext("A member marked as working has no retirement date; clear one or the other.") == only(
        problems, MEMBERS, 2, "Ngày nghỉ hưu"
    )


def test_an_exemption_without_a_date_holds_since_admission(tree):
    sheets = {
        MEMBERS: member_sheet(
            member_row("45000001", tree.cell.code, exempt_introduction="x", admitted="01/02/2003"),
            member_row("45000002", tree.cell.code, exempt_activities="có", admitted="04/05/2006"),
        )
    }

    result = run(workbook(sheets))

    assert result.ok, listed(result)
    introduction = Exemption.objects.get(member__card_number="45000001")
    assert (introduction.kind, introduction.started_on, introduction.ended_on) == (
        Exemption.Kind.INTRODUCTION,
        datetime.date(2003, 2, 1),
        None,
    )
    activities = Exemption.objects.get(member__card_number="45000002")
    assert (activities.kind, activities.started_on) == (Exemption.Kind.ACTIVITIES, datetime.date(2006, 5, 4))


def test_an_exemption_with_its_dates(tree):
    sheets = {
        MEMBERS: [
            [*MEMBER_HEADERS, "Ngày miễn", "Ngày hết miễn", "Lý do miễn"],
            [*member_row("45000001", tree.cell.code, exempt_introduction="x"), "01/01/2010", "01/01/2021", "Quân đội"],
        ]
    }

    result = run(workbook(sheets))

    assert result.ok, listed(result)
    exemption = Exemption.objects.get(member__card_number="45000001")
    assert (exemption.started_on, exemption.ended_on, exemption.reason) == (
        datetime.date(2010, 1, 1),
        datetime.date(2021, 1, 1),
        "Quân đội",
    )


def test_an_absent_optional_column_leaves_the_field_and_a_blank_cell_clears_it(tree):
    member = make_member(tree.cell, phone="0912345678", residential_address="12 Lê Lợi")
    row = member_row(member.card_number, tree.cell.code, name=member.full_name, born="01/01/1980")

    result = run(workbook({MEMBERS: [[*MEMBER_HEADERS, "Địa chỉ"], [*row, None]]}), update_existing=True)

    assert result.ok, listed(result)
    member.refresh_from_db()
    assert member.phone == "0912345678"  # no column: as it was
    assert member.residential_address == ""  # a blank cell: none


def test_a_referral_row_for_an_existing_referral_updates_it(tree):
    member = make_member(tree.cell)
    referral = make_referral(member, receiving_ward=tree.ward1, introduced_on=datetime.date(2018, 3, 10))
    sheets = {
        REFERRALS: referral_sheet(
            referral_row(
                member.card_number,
                tree.ward1.code,
                introduced="10/03/2018",
                received="15/03/2018",
                cell=tree.ward1_cell2.code,
            )
        )
    }

    result = run(workbook(sheets))

    assert result.ok, listed(result)
    assert result.counts["referrals"].update == 1
    referral.refresh_from_db()
    assert referral.received_on == referral.placed_on == datetime.date(2018, 3, 15)
    assert referral.residential_cell == tree.ward1_cell2
    assert Referral.objects.filter(member=member).count() == 1


# -- refused: the file as a whole ----------------------------------------------------------------------------------


def assert_file_refused(book, message_fragment: str) -> None:
    before = snapshot()
    with pytest.raises(WorkbookRefused) as refused_:
        run(book)
    assert message_fragment in str(refused_.value.message)
    assert snapshot() == before


def test_refused_a_text_file_renamed(tree):
    assert_file_refused(io.BytesIO("Số thẻ;Họ và tên\n45012345;An\n".encode()), gettext(NOT_XLSX))


def test_refused_an_empty_file(tree):
    assert_file_refused(io.BytesIO(b""), gettext(NOT_XLSX))


def test_refused_a_zip_that_is_not_a_workbook(tree):
    assert_file_refused(zip_bytes({"word/document.xml": b"<w:document/>", "hello.txt": b"hi"}), gettext(NOT_XLSX))


def test_refused_a_zip_with_a_corrupt_workbook_part(tree):
    book = zip_bytes({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"this is not xml"})
    assert_file_refused(book, gettext(NOT_XLSX))


def test_refused_a_workbook_whose_sheet_is_corrupt(tree):
    good = workbook({MEMBERS: member_sheet(member_row("45012345", tree.cell.code))})
    book = replace_in_zip(good, "xl/worksheets/sheet1.xml", b"<worksheet><sheetData><row><c>broken")
    assert_file_refused(book, gettext(NOT_XLSX))


def test_refused_a_workbook_whose_cell_points_at_a_missing_shared_string(tree):
    """A damaged (or crafted) sheet: a text cell naming entry 99 of a table of shared strings that has 9."""
    good = workbook({MEMBERS: member_sheet(member_row("45012345", tree.cell.code))})
    sheet = (
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        b'<row r="1"><c r="A1" t="s"><v>99</v></c></row></sheetData></worksheet>'
    )
    assert_file_refused(replace_in_zip(good, "xl/worksheets/sheet1.xml", sheet), gettext(NOT_XLSX))


def test_refused_a_zip_bomb(tree):
    book = zip_bytes({"xl/workbook.xml": b"<workbook/>", "xl/worksheets/sheet1.xml": bytes(20 * 1024 * 1024)})
    assert len(book.getvalue()) < 100_000  # tiny on disk

    assert_file_refused(book, gettext("This file unpacks to far more data than a workbook holds; it is refused."))


def test_refused_a_file_unpacking_to_too_much_even_at_a_plausible_ratio(tree, monkeypatch):
    monkeypatch.setattr(reading, "MAX_UNPACKED_BYTES", 10_000)
    book = workbook({MEMBERS: member_sheet(*(member_row(f"4500{n:04d}", tree.cell.code) for n in range(200)))})

    assert_file_refused(book, gettext("This file unpacks to far more data than a workbook holds; it is refused."))


def test_refused_a_file_over_10_mb(tree, monkeypatch):
    monkeypatch.setattr(reading, "MAX_FILE_BYTES", 1000)
    book = workbook({MEMBERS: member_sheet(*(member_row(f"4500{n:04d}", tree.cell.code) for n in range(50)))})
    assert len(book.getvalue()) > 1000

    assert_file_refused(book, "10 MB")


def test_refused_more_rows_than_allowed(tree, monkeypatch):
    monkeypatch.setattr(reading, "MAX_ROWS", 1000)
    rows = [member_row(f"45{n:06d}", tree.cell.code) for n in range(1001)]

    assert_file_refused(workbook({MEMBERS: member_sheet(*rows)}), "1.000")


def test_rows_are_counted_over_all_sheets(tree, monkeypatch):
    monkeypatch.setattr(reading, "MAX_ROWS", 5)
    sheets = {
        ORGS: org_sheet(*(org_row(f"KP{n}", parent=tree.ward1.code) for n in range(3))),
        MEMBERS: member_sheet(*(member_row(f"4500000{n}", tree.cell.code) for n in range(3))),
    }

    assert_file_refused(
        workbook(sheets),
        gettext("The workbook has more than %(limit)s rows. Split it into several workbooks.") % {"limit": "5"},
    )


def test_exactly_the_row_limit_is_accepted(tree, monkeypatch):
    monkeypatch.setattr(reading, "MAX_ROWS", 3)
    result = run(workbook({MEMBERS: member_sheet(*(member_row(f"4500000{n}", tree.cell.code) for n in range(3)))}))
    assert result.ok, listed(result)


# -- refused: the layout and the cells -------------------------------------------------------------------------------


def test_refused_a_missing_required_column(tree):
    headers = [header for header in MEMBER_HEADERS if header != "Giới tính"]
    row = member_row("45012345", tree.cell.code)
    del row[MEMBER_HEADERS.index("Giới tính")]
    before = snapshot()

    problems = refused(workbook({MEMBERS: [headers, row]}), before)

    assert only(problems, MEMBERS, None, "Giới tính") == gettext(REQUIRED_COLUMN)


def test_refused_missing_required_columns_are_all_listed(tree):
    before = snapshot()

    problems = refused(workbook({REFERRALS: [["Số thẻ", "Số giấy", "Ngày tiếp nhận"]]}), before)

    assert [problem[2] for problem in problems] == ["Ngày giới thiệu", "Mã đảng ủy nơi cư trú"]
    assert {problem[0] for problem in problems} == {REFERRALS}


def test_a_referral_sheet_without_the_optional_columns_leaves_those_fields_as_they_are(tree):
    member = make_member(tree.cell, card_number="45012345", admitted_on=datetime.date(2005, 2, 3))
    referral = make_referral(
        member,
        receiving_ward=tree.ward1,
        introduced_on=datetime.date(2018, 3, 10),
        received_on=datetime.date(2018, 3, 20),
    )
    headers = ["Số thẻ", "Ngày giới thiệu", "Mã đảng ủy nơi cư trú"]

    result = run(workbook({REFERRALS: [headers, ["45012345", "10/03/2018", tree.ward1.code]]}))

    assert result.ok, result.problems
    assert result.counts["referrals"].unchanged == 1
    referral.refresh_from_db()
    assert referral.received_on == datetime.date(2018, 3, 20)


@pytest.mark.parametrize("value", ["abc", "15/04", "1980-4-15", "15/04-1980", "1504198"])
def test_refused_a_date_that_is_not_a_date(tree, value):
    before = snapshot()

    problems = refused(workbook({MEMBERS: member_sheet(member_row("45012345", tree.cell.code, born=value))}), before)

    message = only(problems, MEMBERS, 2, "Ngày sinh")
    assert f"“{value}”" in message and "dd/mm/yyyy" in message


@pytest.mark.parametrize("value", ["31/02/2020", "29/02/1981", "00/05/1980", "12/13/1980"])
def test_refused_a_date_that_does_not_exist_with_its_own_message(tree, value):
    """The same message as a date box's (issue 13): "write it as dd/mm/yyyy" would say to do what was done."""
    before = snapshot()

    problems = refused(workbook({MEMBERS: member_sheet(member_row("45012345", tree.cell.code, born=value))}), before)

    message = only(problems, MEMBERS, 2, "Ngày sinh")
    assert message == str(IMPOSSIBLE_CELL) % {"value": value}


@pytest.mark.parametrize(
    "value", ["15/04/1980", "15/4/80", "15041980", "150480", "15.04.1980", "15-04-1980", "1980-04-15"]
)
def test_a_typed_date_cell_is_read_like_a_date_box(tree, value):
    result = run(workbook({MEMBERS: member_sheet(member_row("45012345", tree.cell.code, born=value))}))

    assert result.ok, result.problems
    assert Member.objects.get(card_number="45012345").date_of_birth == datetime.date(1980, 4, 15)


def test_refused_an_unknown_kind(tree):
    before = snapshot()

    problems = refused(workbook({ORGS: org_sheet(org_row("KP9", kind="tổ dân phố", parent=tree.ward1.code))}), before)

    message = only(problems, ORGS, 2, "Loại")
    assert "“tổ dân phố”" in message and "residential_cell" in message


def test_refused_an_unknown_gender(tree):
    before = snapshot()

    problems = refused(workbook({MEMBERS: member_sheet(member_row("45012345", tree.cell.code, gender="N"))}), before)

    assert "“N”" in only(problems, MEMBERS, 2, "Giới tính")


def test_refused_an_unknown_end_reason(tree):
    member = make_member(tree.cell)
    row = referral_row(member.card_number, tree.ward1.code, ended="01/01/2019", reason="đi xa")
    before = snapshot()

    problems = refused(workbook({REFERRALS: referral_sheet(row)}), before)

    assert "“đi xa”" in only(problems, REFERRALS, 2, "Lý do kết thúc")


def test_refused_an_unknown_home_cell(tree):
    before = snapshot()

    problems = refused(workbook({MEMBERS: member_sheet(member_row("45012345", "KHONG-CO"))}), before)

    assert only(problems, MEMBERS, 2, "Mã chi bộ") == gettext(MISSING_CODE) % {"code": "KHONG-CO"}


def test_refused_an_unknown_receiving_ward(tree):
    member = make_member(tree.cell)
    before = snapshot()

    problems = refused(workbook({REFERRALS: referral_sheet(referral_row(member.card_number, "P99"))}), before)

    assert only(problems, REFERRALS, 2, "Mã đảng ủy nơi cư trú") == gettext(MISSING_CODE) % {"code": "P99"}


def test_refused_an_unknown_residential_cell(tree):
    member = make_member(tree.cell)
    row = referral_row(member.card_number, tree.ward1.code, received="15/03/2018", cell="P1-KP99")
    before = snapshot()

    problems = refused(workbook({REFERRALS: referral_sheet(row)}), before)

    assert only(problems, REFERRALS, 2, "Mã chi bộ nơi cư trú") == gettext(MISSING_CODE) % {"code": "P1-KP99"}


def test_refused_an_unknown_card_number(tree):
    before = snapshot()

    problems = refused(workbook({REFERRALS: referral_sheet(referral_row("99999999", tree.ward1.code))}), before)

    assert "“99999999”" in only(problems, REFERRALS, 2, "Số thẻ")


def test_refused_a_parent_that_does_not_exist(tree):
    before = snapshot()

    problems = refused(workbook({ORGS: org_sheet(org_row("KP9", parent="P99"))}), before)

    assert only(problems, ORGS, 2, "Mã cấp trên") == gettext(MISSING_CODE) % {"code": "P99"}


def test_refused_a_cycle_in_the_tree(tree):
    sheets = {
        ORGS: org_sheet(
            org_row("A", kind="committee", parent="B"),
            org_row("B", kind="committee", parent="A"),
            org_row("C", kind="cell", parent="A"),  # under the cycle: it names the row it depends on
        )
    }
    before = snapshot()

    problems = refused(workbook(sheets), before)

    assert [problem[:3] for problem in problems] == [
        (ORGS, 2, "Mã cấp trên"),
        (ORGS, 3, "Mã cấp trên"),
        (ORGS, 4, "Mã cấp trên"),
    ]
    for problem in problems[:2]:
        assert "A → B → A" in problem[3] or "B → A → B" in problem[3]
    assert problems[2][3] == gettext(DEPENDS_ON) % {"row": 2, "sheet": ORGS}


def test_refused_an_organisation_under_itself(tree):
    before = snapshot()

    problems = refused(workbook({ORGS: org_sheet(org_row("A", kind="committee", parent="A"))}), before)

    assert "A → A" in only(problems, ORGS, 2, "Mã cấp trên")


MOVED_WITH_HISTORY = (
    "Members, referrals, meetings or subordinate organisations have belonged to this organisation: it cannot be moved "
    "under another one, or the past would change. A change of place is a restructure: use the restructure, which "
    "ends this organisation and starts its successor under the new parent."
)


def test_refused_a_cycle_through_the_database(tree):
    """An organisation of the database moved under one of its own descendants: it has a subordinate organisation, so
    the move is a restructure (issue 11), which the tree refuses before any cycle could form."""
    child = make_organisation(kind=Kind.COMMITTEE, parent=tree.committee, code="CON")
    before = snapshot()

    book = workbook({ORGS: org_sheet(org_row(tree.committee.code, "X", "committee", child.code))})
    problems = refused(book, before, update_existing=True)

    assert only(problems, ORGS, 2, "Mã cấp trên") == gettext(MOVED_WITH_HISTORY)


def test_refused_a_kind_under_a_parent_it_cannot_stand_under(tree):
    before = snapshot()

    problems = refused(
        workbook({ORGS: org_sheet(org_row("KP9", kind="residential_cell", parent=tree.committee.code))}), before
    )

    assert only(problems, ORGS, 2, "Mã cấp trên")


def test_refused_a_duplicate_code_within_the_file(tree):
    sheets = {ORGS: org_sheet(org_row("KP9", parent=tree.ward1.code), org_row("KP9", parent=tree.ward2.code))}
    before = snapshot()

    problems = refused(workbook(sheets), before)

    assert only(problems, ORGS, 3, "Mã") == gettext(DUPLICATE) % {"row": 2}


def test_refused_a_duplicate_card_number_within_the_file(tree):
    sheets = {
        MEMBERS: member_sheet(
            member_row("45012345", tree.cell.code),
            member_row("45000002", tree.cell.code),
            member_row("45012345", tree.cell.code, name="Người khác"),
        )
    }
    before = snapshot()

    problems = refused(workbook(sheets), before)

    assert only(problems, MEMBERS, 4, "Số thẻ") == gettext(DUPLICATE) % {"row": 2}


def test_refused_a_duplicate_card_number_written_once_as_a_number_and_once_as_text(tree):
    sheets = {MEMBERS: member_sheet(member_row(45012345, tree.cell.code), member_row("45012345", tree.cell.code))}
    before = snapshot()

    problems = refused(workbook(sheets), before)

    assert only(problems, MEMBERS, 3, "Số thẻ") == gettext(DUPLICATE) % {"row": 2}


def test_refused_a_duplicate_national_id_within_the_file(tree):
    sheets = {
        MEMBERS: [
            [*MEMBER_HEADERS, "Số CCCD"],
            [*member_row("45000001", tree.cell.code), "045080012345"],
            [*member_row("45000002", tree.cell.code), "045080012345"],
        ]
    }
    before = snapshot()

    problems = refused(workbook(sheets), before)

    assert only(problems, MEMBERS, 3, "Số CCCD") == gettext(DUPLICATE) % {"row": 2}


def test_refused_a_duplicate_referral_within_the_file(tree):
    member = make_member(tree.cell)
    sheets = {
        REFERRALS: referral_sheet(
            referral_row(
                member.card_number, tree.ward1.code, introduced="01/03/2018", ended="01/03/2019", reason="other"
            ),
            referral_row(member.card_number, tree.ward2.code, introduced="01/03/2018"),
        )
    }
    before = snapshot()

    problems = refused(workbook(sheets), before)

    assert only(problems, REFERRALS, 3, "Ngày giới thiệu") == gettext(DUPLICATE) % {"row": 2}


# -- refused: referrals ----------------------------------------------------------------------------------------------


def test_refused_a_reception_before_the_introduction(tree):
    member = make_member(tree.cell)
    row = referral_row(member.card_number, tree.ward1.code, introduced="10/03/2018", received="09/03/2018")
    before = snapshot()

    problems = refused(workbook({REFERRALS: referral_sheet(row)}), before)

    assert only(problems, REFERRALS, 2, "Ngày tiếp nhận") == "Ngày này không được trước ngày giới thiệu."


def test_refused_a_placement_before_the_reception(tree):
    member = make_member(tree.cell)
    sheets = {
        REFERRALS: [
            [*REFERRAL_HEADERS, "Ngày phân công"],
            [
                *referral_row(
                    member.card_number,
                    tree.ward1.code,
                    introduced="10/03/2018",
                    received="20/03/2018",
                    cell=tree.ward1_cell1.code,
                ),
                "15/03/2018",
            ],
        ]
    }
    before = snapshot()

    problems = refused(workbook(sheets), before)

    assert only(problems, REFERRALS, 2, "Ngày phân công") == "Ngày này không được trước ngày tiếp nhận."


def test_refused_an_end_before_the_introduction(tree):
    member = make_member(tree.cell)
    row = referral_row(member.card_number, tree.ward1.code, introduced="10/03/2018", ended="01/03/2018", reason="other")
    before = snapshot()

    problems = refused(workbook({REFERRALS: referral_sheet(row)}), before)

    assert only(problems, REFERRALS, 2, "Ngày kết thúc") == "Ngày này không được trước ngày giới thiệu."


def test_refused_a_cell_without_a_reception(tree):
    """A cell is given exactly when the member is placed, and a placement needs a reception."""
    member = make_member(tree.cell)
    row = referral_row(member.card_number, tree.ward1.code, introduced="10/03/2018", cell=tree.ward1_cell1.code)
    before = snapshot()

    problems = refused(workbook({REFERRALS: referral_sheet(row)}), before)

    assert len(problems) == 1 and problems[0][:2] == (REFERRALS, 2), problems


def test_refused_two_open_referrals_in_the_file(tree):
    member = make_member(tree.cell)
    sheets = {
        REFERRALS: referral_sheet(
            referral_row(member.card_number, tree.ward1.code, introduced="01/03/2018"),
            referral_row(member.card_number, tree.ward2.code, introduced="01/03/2019"),
        )
    }
    before = snapshot()

    problems = refused(workbook(sheets), before)

    message = only(problems, REFERRALS, 3, "Ngày giới thiệu")
    assert OPEN_REFERRAL_VI in message and "01/03/2018" in message and tree.ward1.name in message


def test_refused_a_second_open_referral_next_to_one_in_the_database(tree):
    member = make_member(tree.cell)
    make_referral(member, receiving_ward=tree.ward1, introduced_on=datetime.date(2018, 3, 1))
    before = snapshot()

    problems = refused(
        workbook(
            {REFERRALS: referral_sheet(referral_row(member.card_number, tree.ward2.code, introduced="01/03/2019"))}
        ),
        before,
    )

    message = only(problems, REFERRALS, 2, "Ngày giới thiệu")
    assert OPEN_REFERRAL_VI in message and "01/03/2018" in message


def test_refused_an_open_referral_dated_before_one_in_the_database(tree):
    """The problem names the referral the row conflicts with (01/03/2019), not the row's own referral."""
    member = make_member(tree.cell)
    make_referral(member, receiving_ward=tree.ward1, introduced_on=datetime.date(2019, 3, 1))
    before = snapshot()

    problems = refused(
        workbook(
            {REFERRALS: referral_sheet(referral_row(member.card_number, tree.ward2.code, introduced="01/03/2018"))}
        ),
        before,
    )

    message = only(problems, REFERRALS, 2, "Ngày kết thúc")
    assert OPEN_REFERRAL_VI in message and "01/03/2019" in message


def test_refused_overlapping_referrals(tree):
    member = make_member(tree.cell)
    sheets = {
        REFERRALS: referral_sheet(
            referral_row(
                member.card_number,
                tree.ward1.code,
                introduced="01/03/2018",
                ended="01/06/2019",
                reason="moved_residence",
            ),
            referral_row(member.card_number, tree.ward2.code, introduced="01/03/2019"),
        )
    }
    before = snapshot()

    problems = refused(workbook(sheets), before)

    message = only(problems, REFERRALS, 3, "Ngày giới thiệu")
    assert "Lần giới thiệu trước của đảng viên đã kết thúc ngày 01/06/2019" in message


def test_referrals_that_follow_one_another_are_accepted(tree):
    member = make_member(tree.cell)
    make_referral(
        member,
        receiving_ward=tree.ward1,
        introduced_on=datetime.date(2017, 3, 1),
        ended_on=datetime.date(2018, 3, 1),
        end_reason="moved_residence",
    )
    sheets = {REFERRALS: referral_sheet(referral_row(member.card_number, tree.ward2.code, introduced="01/03/2018"))}

    result = run(workbook(sheets))

    assert result.ok, listed(result)
    assert Referral.objects.filter(member=member).count() == 2


def test_refused_a_cell_not_in_the_receiving_ward(tree):
    member = make_member(tree.cell)
    row = referral_row(member.card_number, tree.ward1.code, received="15/03/2018", cell=tree.ward2_cell1.code)
    before = snapshot()

    problems = refused(workbook({REFERRALS: referral_sheet(row)}), before)

    assert only(problems, REFERRALS, 2, "Mã chi bộ nơi cư trú") == (
        "Chi bộ nơi cư trú này không trực thuộc đảng ủy phường/xã tiếp nhận."
    )


def test_refused_a_receiving_organisation_that_is_not_a_ward(tree):
    member = make_member(tree.cell)
    before = snapshot()

    problems = refused(
        workbook({REFERRALS: referral_sheet(referral_row(member.card_number, tree.committee.code))}), before
    )

    assert only(problems, REFERRALS, 2, "Mã đảng ủy nơi cư trú")


def test_refused_a_referral_of_a_member_exempt_from_introduction(tree):
    member = make_member(tree.cell)
    Exemption.objects.create(
        member=member, kind=Exemption.Kind.INTRODUCTION, reason="Quân đội", started_on=datetime.date(2010, 1, 1)
    )
    before = snapshot()

    problems = refused(
        workbook(
            {REFERRALS: referral_sheet(referral_row(member.card_number, tree.ward1.code, introduced="01/03/2018"))}
        ),
        before,
    )

    assert only(problems, REFERRALS, 2, "Số thẻ") == "Đảng viên này được miễn giới thiệu từ ngày 01/01/2010."


def test_refused_a_referral_of_a_member_exempted_in_the_same_workbook(tree):
    sheets = {
        MEMBERS: member_sheet(member_row("45012345", tree.cell.code, exempt_introduction="x", admitted="19/05/2005")),
        REFERRALS: referral_sheet(referral_row("45012345", tree.ward1.code, introduced="01/03/2018")),
    }
    before = snapshot()

    problems = refused(workbook(sheets), before)

    assert only(problems, REFERRALS, 2, "Số thẻ") == "Đảng viên này được miễn giới thiệu từ ngày 19/05/2005."


def test_a_referral_before_an_exemption_is_accepted(tree):
    member = make_member(tree.cell)
    Exemption.objects.create(
        member=member, kind=Exemption.Kind.INTRODUCTION, reason="Quân đội", started_on=datetime.date(2019, 1, 1)
    )
    row = referral_row(
        member.card_number, tree.ward1.code, introduced="01/03/2018", ended="01/01/2019", reason="exempted"
    )

    result = run(workbook({REFERRALS: referral_sheet(row)}))

    assert result.ok, listed(result)


def test_refused_a_referral_of_a_member_who_left_before_the_letter(tree):
    member = make_member(tree.cell, left_on=datetime.date(2017, 1, 1), left_reason=Member.LeftReason.DIED)
    row = referral_row(member.card_number, tree.ward1.code, introduced="01/03/2018", ended="01/03/2019", reason="died")
    before = snapshot()

    problems = refused(workbook({REFERRALS: referral_sheet(row)}), before)

    assert only(problems, REFERRALS, 2, "Số thẻ") == "Đảng viên này đã ra khỏi Đảng ngày 01/01/2017."


def test_refused_a_referral_before_the_admission(tree):
    member = make_member(tree.cell, admitted_on=datetime.date(2010, 1, 1))
    before = snapshot()

    problems = refused(
        workbook(
            {REFERRALS: referral_sheet(referral_row(member.card_number, tree.ward1.code, introduced="01/03/2009"))}
        ),
        before,
    )

    assert "01/01/2010" in only(problems, REFERRALS, 2, "Ngày giới thiệu")


@pytest.mark.parametrize("column", ["introduced", "received"])
def test_refused_a_referral_date_in_the_future(tree, column):
    member = make_member(tree.cell)
    future = timezone.localdate() + datetime.timedelta(days=5)
    dates = {"introduced": "01/03/2018", "received": None, column: future.strftime("%d/%m/%Y")}
    row = referral_row(member.card_number, tree.ward1.code, **dates)
    before = snapshot()

    problems = refused(workbook({REFERRALS: referral_sheet(row)}), before)

    header = {"introduced": "Ngày giới thiệu", "received": "Ngày tiếp nhận"}[column]
    assert FUTURE_VI in only(problems, REFERRALS, 2, header)


def test_refused_an_admission_in_the_future(tree):
    future = timezone.localdate() + datetime.timedelta(days=5)
    row = member_row("45012345", tree.cell.code, admitted=future.strftime("%d/%m/%Y"))
    before = snapshot()

    problems = refused(workbook({MEMBERS: member_sheet(row)}), before)

    assert FUTURE_VI in only(problems, MEMBERS, 2, "Ngày vào Đảng")


def test_refused_a_member_born_after_the_admission(tree):
    before = snapshot()

    problems = refused(
        workbook(
            {MEMBERS: member_sheet(member_row("45012345", tree.cell.code, born="01/01/2010", admitted="01/01/2005"))}
        ),
        before,
    )

    assert only(problems, MEMBERS, 2, "Ngày sinh") == "Ngày sinh phải trước ngày vào Đảng."


def test_refused_a_member_whose_home_is_not_a_cell(tree):
    before = snapshot()

    problems = refused(workbook({MEMBERS: member_sheet(member_row("45012345", tree.ward1.code))}), before)

    assert only(problems, MEMBERS, 2, "Mã chi bộ")


def test_refused_a_card_number_the_model_does_not_accept(tree):
    before = snapshot()

    problems = refused(workbook({MEMBERS: member_sheet(member_row("12", tree.cell.code))}), before)

    assert only(problems, MEMBERS, 2, "Số thẻ") == (
        "Số thẻ đảng viên gồm từ 4 đến 20 chữ số hoặc chữ cái, không có dấu cách."
    )


def test_refused_exempt_from_both(tree):
    row = member_row("45012345", tree.cell.code, exempt_introduction="x", exempt_activities="x")
    before = snapshot()

    problems = refused(workbook({MEMBERS: member_sheet(row)}), before)

    assert only(problems, MEMBERS, 2, "Miễn sinh hoạt")


# -- refused: scope --------------------------------------------------------------------------------------------------


@pytest.fixture
def committee_officer(tree):
    return make_officer(tree.committee)


def as_officer(officer) -> dict:
    return {"by": officer, "access": access_for(officer)}


def test_a_committee_officer_imports_inside_the_committee(tree, committee_officer):
    sheets = {
        ORGS: org_sheet(org_row("CB-MOI", kind="cell", parent=tree.committee.code)),
        MEMBERS: member_sheet(member_row("45012345", "CB-MOI")),
    }

    result = run(workbook(sheets), **as_officer(committee_officer))

    assert result.ok and result.applied, listed(result)
    member = Member.objects.get(card_number="45012345")
    assert member.home_organisation.code == "CB-MOI"
    assert member.history.get().history_user == committee_officer


def test_refused_an_organisation_outside_the_uploaders_scope(tree, committee_officer):
    before = snapshot()

    problems = refused(
        workbook({ORGS: org_sheet(org_row("KP9", kind="residential_cell", parent=tree.ward1.code))}),
        before,
        **as_officer(committee_officer),
    )

    assert only(problems, ORGS, 2, "Mã") == gettext(ORG_OUT_OF_SCOPE)


def test_refused_a_change_to_an_organisation_outside_the_uploaders_scope(tree, committee_officer):
    before = snapshot()

    problems = refused(
        workbook({ORGS: org_sheet(org_row(tree.ward1_cell1.code, "Tên mới", "residential_cell", tree.ward1.code))}),
        before,
        **as_officer(committee_officer),
    )

    assert only(problems, ORGS, 2, "Mã") == gettext(ORG_OUT_OF_SCOPE)


def test_refused_a_new_root_from_a_committee_officer(tree, committee_officer):
    before = snapshot()

    problems = refused(
        workbook({ORGS: org_sheet(org_row("NGOAI", kind="outside"))}), before, **as_officer(committee_officer)
    )

    assert only(problems, ORGS, 2, "Mã") == gettext(ORG_OUT_OF_SCOPE)


def test_refused_a_member_whose_cell_is_under_another_committee(tree, committee_officer):
    before = snapshot()

    problems = refused(
        workbook({MEMBERS: member_sheet(member_row("45012345", tree.grassroots_cell.code))}),
        before,
        **as_officer(committee_officer),
    )

    assert only(problems, MEMBERS, 2, "Mã chi bộ") == gettext(MEMBER_OUT_OF_SCOPE)


def test_refused_moving_a_member_of_another_committee_into_ones_own(tree, committee_officer):
    member = make_member(tree.grassroots_cell)
    before = snapshot()

    problems = refused(
        workbook({MEMBERS: member_sheet(member_row(member.card_number, tree.cell.code))}),
        before,
        **as_officer(committee_officer),
    )

    # the member is not even the committee's to see: only the card number is said to be taken (test_import_scope)
    assert only(problems, MEMBERS, 2, "Số thẻ") == gettext(CARD_OUT_OF_SIGHT)


def test_refused_a_member_of_an_outside_organisation_from_a_committee_officer(tree, committee_officer):
    before = snapshot()

    problems = refused(
        workbook({MEMBERS: member_sheet(member_row("45012345", tree.outside.code))}),
        before,
        **as_officer(committee_officer),
    )

    assert only(problems, MEMBERS, 2, "Mã chi bộ") == gettext(MEMBER_OUT_OF_SCOPE)


def test_a_ward_officer_registers_a_member_of_an_outside_organisation(tree):
    officer = make_officer(tree.ward1)
    sheets = {
        MEMBERS: member_sheet(member_row("45012345", tree.outside.code)),
        REFERRALS: referral_sheet(
            referral_row(
                "45012345", tree.ward1.code, introduced="01/03/2018", received="05/03/2018", cell=tree.ward1_cell1.code
            )
        ),
    }

    result = run(workbook(sheets), **as_officer(officer))

    assert result.ok and result.applied, listed(result)
    assert Referral.objects.get(member__card_number="45012345").issuing_organisation == tree.outside


def test_refused_a_referral_neither_of_whose_ends_is_in_scope(tree, committee_officer):
    member = make_member(tree.grassroots_cell)
    before = snapshot()

    problems = refused(
        workbook({REFERRALS: referral_sheet(referral_row(member.card_number, tree.ward1.code))}),
        before,
        **as_officer(committee_officer),
    )

    # a member the committee may not see reads like an unknown one (test_import_scope)
    assert only(problems, REFERRALS, 2, "Số thẻ") == gettext(
        "No member has the card number “%(card)s”, in this workbook or in the database."
    ) % {"card": member.card_number}


def test_a_viewer_may_import_nothing(tree):
    viewer = make_officer(tree.committee, role="viewer")
    before = snapshot()

    with pytest.raises(WorkbookRefused) as refusal:
        run(workbook({MEMBERS: member_sheet(member_row("45012345", tree.cell.code))}), **as_officer(viewer))

    assert "Nhập" in str(refusal.value.message) or "import" in str(refusal.value.message).lower()
    assert snapshot() == before


# -- every problem at once -------------------------------------------------------------------------------------------


def test_all_problems_are_reported_at_once(tree):
    member = make_member(tree.cell)
    sheets = {
        ORGS: org_sheet(
            org_row("KP9", kind="tổ dân phố", parent=tree.ward1.code),  # unknown kind
            org_row("KP10", kind="residential_cell", parent="P99"),  # missing parent
            org_row("KP11", kind="residential_cell", parent=tree.ward1.code),  # fine
        ),
        MEMBERS: member_sheet(
            member_row("45000001", tree.cell.code, born="31/02/1980"),  # not a date
            member_row("45000002", "KP11"),  # fine, under an organisation of the same workbook
            member_row("45000002", tree.cell.code),  # duplicate card number
            member_row("45000003", "KP10"),  # its cell's row is wrong: it names that row
        ),
        REFERRALS: referral_sheet(
            referral_row(member.card_number, "P99"),  # unknown ward
            referral_row("45000003", tree.ward1.code),  # its member's row is wrong: it names that row
        ),
    }
    before = snapshot()

    problems = refused(workbook(sheets), before)

    assert [problem[:3] for problem in problems] == [
        (ORGS, 2, "Loại"),
        (ORGS, 3, "Mã cấp trên"),
        (MEMBERS, 2, "Ngày sinh"),
        (MEMBERS, 4, "Số thẻ"),
        (MEMBERS, 5, "Mã chi bộ"),
        (REFERRALS, 2, "Mã đảng ủy nơi cư trú"),
        (REFERRALS, 3, "Số thẻ"),
    ]
    assert "“tổ dân phố”" in problems[0][3]
    assert "“P99”" in problems[1][3] and "“P99”" in problems[5][3]
    assert "“31/02/1980”" in problems[2][3]
    assert problems[3][3] == gettext(DUPLICATE) % {"row": 3}
    assert problems[4][3] == gettext(DEPENDS_ON) % {"row": 3, "sheet": ORGS}
    assert problems[6][3] == gettext(DEPENDS_ON) % {"row": 5, "sheet": MEMBERS}


def test_problems_of_one_row_in_several_columns_are_all_reported(tree):
    row = member_row("45012345", tree.cell.code, born="abc", gender="X", admitted="xyz")
    before = snapshot()

    problems = refused(workbook({MEMBERS: member_sheet(row)}), before)

    assert [problem[:3] for problem in problems] == [
        (MEMBERS, 2, "Ngày sinh"),
        (MEMBERS, 2, "Giới tính"),
        (MEMBERS, 2, "Ngày vào Đảng"),
    ]


# -- the tree changed and used in the same workbook -------------------------------------------------------------------


def test_an_organisation_moved_and_used_in_the_same_workbook(tree):
    """A committee with no history yet (a correction of where it stands) moved under a new one, then given a cell, a
    member and the member's referral: the referral is issued by it, wherever it now stands."""
    fresh = make_organisation(kind=Kind.COMMITTEE, parent=tree.root, code="SXD")
    sheets = {
        ORGS: org_sheet(
            org_row("KHOI", "Đảng bộ Khối", "committee", tree.root.code),
            org_row(fresh.code, fresh.name, "committee", "KHOI"),
            org_row("SXD-VP", "Chi bộ Văn phòng", "cell", fresh.code),
        ),
        MEMBERS: member_sheet(member_row("45900001", "SXD-VP")),
        REFERRALS: referral_sheet(referral_row("45900001", tree.ward1.code, introduced="01/03/2018")),
    }

    result = run(workbook(sheets), update_existing=True)

    assert result.ok, listed(result)
    cell = Organisation.objects.get(code="SXD-VP")
    assert cell.is_within(Organisation.objects.get(code="KHOI"))
    assert Referral.objects.get(member__card_number="45900001").issuing_organisation == fresh


def test_an_exported_tree_with_a_used_committee_moved_is_refused_as_a_restructure(tree):
    """What an export re-imported with one change looks like: the committee's row moved under a new one, its cell's
    row unchanged, and an open referral of a member of that cell. The committee has members: a move is a restructure,
    refused with the tree's words, and each row that depends on it names the row it waits for."""
    member = make_member(tree.cell)
    sheets = {
        ORGS: org_sheet(
            org_row("KHOI", "Đảng bộ Khối", "committee", tree.root.code),
            org_row(tree.committee.code, tree.committee.name, "committee", "KHOI"),
            org_row(tree.cell.code, tree.cell.name, "cell", tree.committee.code),
        ),
        MEMBERS: member_sheet(member_row(member.card_number, tree.cell.code, name=member.full_name)),
        REFERRALS: referral_sheet(referral_row(member.card_number, tree.ward1.code, introduced="01/03/2018")),
    }
    before = snapshot()

    problems = refused(workbook(sheets), before, update_existing=True)

    assert problems == [
        (ORGS, 3, "Mã cấp trên", gettext(MOVED_WITH_HISTORY)),
        (ORGS, 4, "Mã cấp trên", gettext(DEPENDS_ON) % {"row": 3, "sheet": ORGS}),
        (MEMBERS, 2, "Mã chi bộ", gettext(DEPENDS_ON) % {"row": 4, "sheet": ORGS}),
        (REFERRALS, 2, "Số thẻ", gettext(DEPENDS_ON) % {"row": 2, "sheet": MEMBERS}),
    ]


def test_an_unchanged_member_one_sees_but_may_not_change_is_accepted_as_an_unchanged_organisation_is(tree):
    """A ward's own export holds the workplace members referred to it and their workplaces' cells: imported back by
    the ward, those rows write nothing and must not refuse the workbook."""
    officer = make_officer(tree.ward1)
    member = make_member(tree.cell)
    make_referral(member, receiving_ward=tree.ward1, issuing_organisation=tree.committee)
    sheets = {
        ORGS: org_sheet(org_row(tree.cell.code, tree.cell.name, "cell", tree.committee.code)),
        MEMBERS: member_sheet(member_row(member.card_number, tree.cell.code, name=member.full_name)),
    }

    result = run(workbook(sheets), **as_officer(officer))

    assert result.ok, listed(result)
    assert result.counts["organisations"].unchanged == 1 and result.counts["members"].unchanged == 1


def test_a_committees_own_export_imported_back_by_it_changes_nothing(tree, committee_officer):
    member = make_member(tree.cell, phone="0912345678")
    make_referral(
        member,
        receiving_ward=tree.ward1,
        introduced_on=datetime.date(2018, 3, 1),
        received_on=datetime.date(2018, 3, 5),
        placed_on=datetime.date(2018, 3, 5),
        residential_cell=tree.ward1_cell1,
    )
    Exemption.objects.create(
        member=make_member(tree.cell), kind=Exemption.Kind.ACTIVITIES, reason="Ốm", started_on=datetime.date(2015, 1, 1)
    )
    make_member(tree.outside)
    book = io.BytesIO()
    write_workbook(book, organisation=tree.committee)
    book.seek(0)
    before = snapshot()

    result = run(book, **as_officer(committee_officer))

    assert result.ok, listed(result)
    assert result.counts["members"].create == result.counts["members"].update == 0
    assert snapshot() == before


def test_the_whole_export_imported_back_changes_nothing():
    run(workbook(good_sheets()))
    book = io.BytesIO()
    write_workbook(book)
    book.seek(0)
    before = snapshot()

    result = run(book)

    assert result.ok, listed(result)
    assert {key: (counts["create"], counts["update"]) for key, counts in result.counts_as_dict().items()} == {
        "organisations": (0, 0),
        "members": (0, 0),
        "homes": (0, 0),
        "referrals": (0, 0),
        "placements": (0, 0),
    }
    assert snapshot() == before


def test_a_conflict_with_another_import_is_told_in_words_not_in_the_databases(tree, monkeypatch):
    """Issue 10, finding 9: two imports that conflict showed PostgreSQL's own error text (tables, keys, values)."""
    from django.db import IntegrityError

    from workbooks.importing import CONCURRENT_CHANGE, ReferralPhase

    def clash(self):
        raise IntegrityError(
            'duplicate key value violates unique constraint "one_open_referral"\nDETAIL:  Key (member_id)=(26) exists.'
        )

    monkeypatch.setattr(ReferralPhase, "write", clash)
    member = make_member(tree.cell)
    before = snapshot()

    problems = refused(workbook({REFERRALS: referral_sheet(referral_row(member.card_number, tree.ward1.code))}), before)

    assert problems == [("", None, "", gettext(CONCURRENT_CHANGE))]
    assert "one_open_referral" not in problems[0][3] and "member_id" not in problems[0][3]
