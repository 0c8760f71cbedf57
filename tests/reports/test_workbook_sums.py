"""Issue 11: the yearly workbook's ``Tổng hợp`` sheet adds up. Every summed column's rows add up to its total row, the
total row is the organisation's own figures (``build_report``), and a referral or a comment that concerns two rows
(issued by a committee, received by a ward) is counted once in the workplace side's columns and once in the residence
side's, never twice in one column. The sheet is read back with openpyxl, on a small hand-built tree (on the demo data:
test_workbook_sums_demo.py)."""

import datetime
import io

import pytest
from openpyxl import load_workbook

from branches.models import Organisation
from branches.services import organisation_rename
from members.models import Attendance, Meeting, ResidenceComment
from reports import figures
from reports.report import build_report, report_as_json
from reports.workbook import (
    ISSUED_COMMENTS,
    ISSUED_GROUP,
    RATE_HEADERS,
    RECEIVED_COMMENTS,
    RECEIVED_GROUP,
    SUMMARY,
    SUMMARY_HEADERS,
    TOTAL_LABEL,
    write_workbook,
)
from tests.factories import make_member, make_organisation, make_referral, make_tree, move_home

D = datetime.date
Kind = Organisation.Kind
SIDE_FIELDS = ("received", "received_from_outside", "stalled_issued", "stalled_addressed")
HEADER_ROW, FIRST = 3, 4
YEAR = 2018
DAY = D(2018, 9, 30)
INTRODUCED = D(2018, 3, 1)
END = D(2018, 12, 31)  # after the comment deadline (30/11): late and missing comments count


# -- reading the sheet back ----------------------------------------------------------------------------------------


def summary_of(organisation, year, as_of):
    """The summary sheet written for ``organisation`` and read back: headers, the rows, the total row, row 2."""
    buffer = io.BytesIO()
    write_workbook(organisation, year, as_of, buffer)
    sheet = load_workbook(io.BytesIO(buffer.getvalue()))[SUMMARY]
    headers = [cell.value for cell in sheet[HEADER_ROW]]
    groups = [cell.value for cell in sheet[2]]
    rows, total = [], None
    for values in sheet.iter_rows(min_row=FIRST, values_only=True):
        if values[1] == TOTAL_LABEL:
            total = dict(zip(headers, values, strict=False))
            break
        rows.append(dict(zip(headers, values, strict=False)))
    assert total is not None, "no total row"
    return headers, groups, rows, total


def assert_adds_up(headers, rows, total):
    """Every column but the code, the name and the rates: the rows add up to the total row. The rates of the total
    row are recomputed from its own sums."""
    summed = [header for header in headers[2:] if header not in RATE_HEADERS]
    assert len(summed) == len(headers) - 2 - len(RATE_HEADERS)
    wrong = {}
    for header in summed:
        values = [row[header] for row in rows]
        if total[header] is None:  # a half-year not begun yet: blank everywhere
            assert all(value is None for value in values), header
            continue
        if sum(values) != total[header]:
            wrong[header] = (sum(values), total[header])
    assert wrong == {}, "rows do not add up to the total (sum of rows, total)"
    introduced, eligible = total["Đã giới thiệu"], total["Thuộc diện giới thiệu"]
    assert total["Tỷ lệ giới thiệu"] == (pytest.approx(introduced / eligible, abs=0.0005) if eligible else None)
    expected, present = total["Lượt phải dự sinh hoạt định kỳ"], total["Lượt có mặt"]
    assert total["Tỷ lệ dự sinh hoạt"] == (pytest.approx(present / expected, abs=0.0005) if expected else None)


def report_figures(report) -> dict:
    """What the total row must hold, header by header, taken from ``build_report`` (and its JSON)."""
    headline, meetings, sides = report.headline, report.meetings, report.comments_by_side
    halves = {half.half_year[-2:]: half for half in meetings.half_years}
    data = report_as_json(report)
    expected = {
        "Đảng viên": data["members"],
        "Thuộc diện giới thiệu": data["eligible"],
        "Đã giới thiệu": data["introduced"],
        "Giới thiệu đi, chờ tiếp nhận quá 30 ngày": data["stalled_issued"],
        "Đã tiếp nhận": data["received"],
        "Tiếp nhận từ ngoài Đảng bộ": data["received_from_outside"],
        "Gửi đến, chờ tiếp nhận quá 30 ngày": data["stalled_addressed"],
        "Chi bộ đã sinh hoạt 6 tháng đầu năm": halves["H1"].cells_held,
        "Chi bộ phải sinh hoạt 6 tháng đầu năm": halves["H1"].cells_due,
        "Chi bộ đã sinh hoạt 6 tháng cuối năm": halves["H2"].cells_held if "H2" in halves else None,
        "Chi bộ phải sinh hoạt 6 tháng cuối năm": halves["H2"].cells_due if "H2" in halves else None,
        "Lượt phải dự sinh hoạt định kỳ": meetings.attendance_expected,
        "Lượt có mặt": meetings.attendance_present,
    }
    for field, label in [
        ("due", "phải có"),
        ("written", "đã viết"),
        ("sent", "đã gửi"),
        ("late", "gửi trễ hạn"),
        ("received", "nơi công tác đã nhận"),
    ]:
        expected[f"{ISSUED_COMMENTS} {label}"] = getattr(sides.workplace, field)
        expected[f"{RECEIVED_COMMENTS} {label}"] = getattr(sides.residence, field)
        assert data["comments_by_side"]["workplace"][field] == getattr(sides.workplace, field)
    assert headline.members == data["members"] and headline.stalled_addressed == data["stalled_addressed"]
    return expected


def assert_the_total_is_the_organisations_figures(total, report):
    expected = report_figures(report)
    assert set(expected) | set(RATE_HEADERS) == set(SUMMARY_HEADERS[2:])
    assert {header: total[header] for header in expected} == expected
    rate = report.headline.referral_rate
    assert total["Tỷ lệ giới thiệu"] == (None if rate is None else pytest.approx(float(rate) / 100))


def check_workbook(organisation, year, as_of):
    headers, groups, rows, total = summary_of(organisation, year, as_of)
    assert headers == SUMMARY_HEADERS
    assert_adds_up(headers, rows, total)
    assert_the_total_is_the_organisations_figures(total, build_report(organisation, as_of, year=year))
    return groups, rows, total


# -- a small tree --------------------------------------------------------------------------------------------------


@pytest.fixture
def city():
    """The test tree and the cases that used to be counted twice: a committee's member referred to a ward of the same
    city (stalled, or placed and commented), members of outside organisations and of another tree received by the
    wards, a referral to another tree's ward, a member who moved, a committee under the committee, and a ward that
    was merged away in the middle of the year after its cell had met."""
    tree = make_tree()
    other = make_tree()
    tree.sub_committee = make_organisation(kind=Kind.COMMITTEE, parent=tree.committee)
    tree.sub_cell = make_organisation(kind=Kind.CELL, parent=tree.sub_committee)
    tree.gone_ward = make_organisation(kind=Kind.WARD, parent=tree.root, valid_to=D(2018, 7, 1))
    tree.gone_cell = make_organisation(kind=Kind.RESIDENTIAL_CELL, parent=tree.gone_ward, valid_to=D(2018, 7, 1))
    tree.other = other

    def refer(member, ward, issuer, introduced_on=INTRODUCED, **fields):
        return make_referral(
            member, receiving_ward=ward, issuing_organisation=issuer, introduced_on=introduced_on, **fields
        )

    def placed(member, cell, issuer, **fields):
        return refer(
            member, cell.parent, issuer, received_on=D(2018, 3, 5), residential_cell=cell, placed_on=D(2018, 3, 10)
        )

    def comment(member, cell, **dates):
        ResidenceComment.objects.create(
            member=member, year=YEAR, residential_cell=cell, verdict=ResidenceComment.Verdict.GOOD, text="+", **dates
        )

    # Stalled: issued by the committee to ward 1 (both in the city): one in each side's column, never two.
    refer(make_member(tree.cell), tree.ward1, tree.committee, introduced_on=D(2018, 6, 1))
    # Stalled: from the committee to another city's ward (workplace side only), from outside to ward 2 (residence
    # side only), from the sub-committee to ward 2 (the committee's row: it stands under it).
    refer(make_member(tree.cell), other.ward1, tree.committee, introduced_on=D(2018, 6, 1))
    refer(make_member(tree.outside), tree.ward2, tree.outside, introduced_on=D(2018, 6, 1))
    refer(make_member(tree.sub_cell), tree.ward2, tree.sub_committee, introduced_on=D(2018, 5, 1))
    # Placed and commented: a committee member in ward 1's cell (sent late), a school member in ward 2's cell (written,
    # not sent), an outsider in ward 1's other cell (received by the workplace), another city's member in ward 2.
    hoa = make_member(tree.cell)
    placed(hoa, tree.ward1_cell1, tree.committee)
    comment(hoa, tree.ward1_cell1, written_on=D(2018, 11, 20), sent_on=D(2018, 12, 5))
    school = make_member(tree.grassroots_cell)
    placed(school, tree.ward2_cell1, tree.grassroots_cell)
    comment(school, tree.ward2_cell1, written_on=D(2018, 11, 25))
    outsider = make_member(tree.outside)
    placed(outsider, tree.ward1_cell2, tree.outside)
    comment(outsider, tree.ward1_cell2, written_on=D(2018, 10, 1), sent_on=D(2018, 10, 2), received_on=D(2018, 10, 9))
    placed(make_member(other.cell), tree.ward2_cell2, other.committee)
    # A committee member placed in another city's cell: a comment due on the workplace side only.
    placed(make_member(tree.cell), other.ward1_cell1, tree.committee)
    # Members without a referral: not introduced, retired at home in a residential cell, moved from the committee to
    # the school in June (under the school's row from then on).
    make_member(tree.cell)
    make_member(tree.ward2_cell2, retired_on=D(2015, 1, 1))
    move_home(make_member(tree.cell), tree.grassroots_cell, D(2018, 6, 1))
    # Meetings: ward 1's first cell in both half-years, the merged ward's cell in the first.
    for cell, held_on, half in [
        (tree.ward1_cell1, D(2018, 4, 20), 1),
        (tree.ward1_cell1, D(2018, 9, 20), 2),
        (tree.gone_cell, D(2018, 5, 5), 1),
    ]:
        meeting = Meeting.objects.create(
            residential_cell=cell, held_on=held_on, kind=Meeting.Kind.PERIODIC, year=YEAR, half=half
        )
        if cell == tree.ward1_cell1:
            Attendance.objects.create(meeting=meeting, member=hoa, status=Attendance.Status.PRESENT)
    return tree


@pytest.mark.django_db
@pytest.mark.parametrize("as_of", [DAY, END], ids=["30/09", "31/12"])
def test_every_column_of_the_root_adds_up_to_the_citys_figures(city, as_of):
    groups, rows, total = check_workbook(city.root, YEAR, as_of)
    by_code = {row["Mã"]: row for row in rows}
    # The rows: the grassroots organisations (the sub-committee counts in the committee's), the merged ward too.
    assert set(by_code) == {
        city.committee.code,
        city.grassroots_cell.code,
        city.ward1.code,
        city.ward2.code,
        city.gone_ward.code,
    }
    assert by_code[city.gone_ward.code]["Tổ chức cơ sở đảng"].endswith("(đến 30/06/2018)")
    # Written out by hand: the stalled referral from the committee to ward 1 is in the committee's row on the
    # workplace side and ward 1's on the residence side, once in each total.
    issued, addressed = "Giới thiệu đi, chờ tiếp nhận quá 30 ngày", "Gửi đến, chờ tiếp nhận quá 30 ngày"
    assert [by_code[code][issued] for code in (city.committee.code, city.ward1.code)] == [3, 0]
    assert [by_code[code][addressed] for code in (city.committee.code, city.ward1.code, city.ward2.code)] == [0, 1, 2]
    assert (total[issued], total[addressed]) == (3, 3)
    assert figures.headline(city.root, as_of).stalled == 4  # either side, each referral once
    # Received by the wards: all of them, wherever the member works; from outside: the outsider and the other city's.
    assert (by_code[city.ward1.code]["Đã tiếp nhận"], by_code[city.ward2.code]["Đã tiếp nhận"]) == (2, 2)
    assert (total["Đã tiếp nhận"], total["Tiếp nhận từ ngoài Đảng bộ"]) == (4, 2)
    # Members under their home of the day: the one who moved in June is the school's.
    assert (by_code[city.committee.code]["Đảng viên"], by_code[city.grassroots_cell.code]["Đảng viên"]) == (6, 2)
    # The merged ward's cell met in the first half-year: its row holds it, the total too.
    assert by_code[city.gone_ward.code]["Chi bộ đã sinh hoạt 6 tháng đầu năm"] == 1
    assert total["Chi bộ phải sinh hoạt 6 tháng đầu năm"] == 5
    # Row 2 names the two sides over their first column.
    assert groups[SUMMARY_HEADERS.index(issued)] == ISSUED_GROUP
    assert groups[SUMMARY_HEADERS.index("Đã tiếp nhận")] == RECEIVED_GROUP


@pytest.mark.django_db
def test_comments_count_once_on_each_side(city):
    _, rows, total = check_workbook(city.root, YEAR, END)
    by_code = {row["Mã"]: row for row in rows}
    due_issued, due_received = f"{ISSUED_COMMENTS} phải có", f"{RECEIVED_COMMENTS} phải có"
    # Workplace side: the committee's two placed members (one in another city's cell), the school's one.
    assert [by_code[code][due_issued] for code in (city.committee.code, city.grassroots_cell.code)] == [2, 1]
    assert total[due_issued] == 3
    # Residence side: everyone placed in the city's cells, wherever they work.
    assert [by_code[code][due_received] for code in (city.ward1.code, city.ward2.code)] == [2, 2]
    assert total[due_received] == 4
    assert (total[f"{ISSUED_COMMENTS} gửi trễ hạn"], total[f"{RECEIVED_COMMENTS} gửi trễ hạn"]) == (1, 1)
    assert total[f"{RECEIVED_COMMENTS} nơi công tác đã nhận"] == 1  # the outsider's
    assert total[f"{ISSUED_COMMENTS} nơi công tác đã nhận"] == 0
    sides = figures.comment_sides(city.root, YEAR, END)
    # Not written by the deadline: the committee's member in another city's cell (workplace side), the other city's
    # member in ward 2's cell (residence side).
    assert (sides.workplace.missing, sides.residence.missing) == (1, 1)


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["committee", "ward1", "ward2", "grassroots_cell", "cell", "ward1_cell1"])
def test_every_subtree_adds_up_too(city, name):
    """A subtree's workbook: its own grassroots organisations, or itself below that level; "from outside" is from
    outside that subtree."""
    organisation = getattr(city, name)
    _, rows, total = check_workbook(organisation, YEAR, END)
    assert len(rows) == 1 and rows[0]["Mã"] == organisation.code
    if name == "ward1":
        # The committee's member and the outsider: both from outside the ward.
        assert (total["Đã tiếp nhận"], total["Tiếp nhận từ ngoài Đảng bộ"]) == (2, 2)


@pytest.mark.django_db
def test_the_rows_are_the_breakdowns_rows(city):
    """The dashboard's breakdown (``by_grassroots_organisation``) gives the same numbers as the workbook's rows for
    the organisations existing on the day (it lists the committee under the committee too), and they add up to the
    headline on each side."""
    rows = figures.summary_rows(city.root, YEAR, DAY)
    breakdown = {row.code: row for row in figures.by_grassroots_organisation(city.root, DAY)}
    assert set(breakdown) == {row.figures.code for row in rows if row.valid_to is None} | {city.sub_committee.code}
    for row in rows:
        if row.valid_to is None:
            assert row.figures == breakdown[row.figures.code]
    headline = figures.headline(city.root, DAY)
    for field in ("members", "eligible", "introduced", *SIDE_FIELDS):
        assert sum(getattr(row.figures, field) for row in rows) == getattr(headline, field), field
    wards = [row for row in figures.by_ward_and_cell(city.root, DAY) if row.kind == Kind.WARD]
    assert sum(row.received for row in wards) == headline.received
    assert sum(row.received_from_outside for row in wards) == headline.received_from_outside


@pytest.mark.django_db
def test_the_old_way_would_have_counted_the_stalled_referral_twice(city):
    """The failure of issue 11 on this tree: a row's stalled referrals of either side add up to more than the city's
    (the referral from the committee to ward 1 is in both rows); each side alone adds up."""
    rows = [row.figures for row in figures.summary_rows(city.root, YEAR, DAY)]
    headline = figures.headline(city.root, DAY)
    assert sum(row.stalled for row in rows) == 6 > headline.stalled == 4
    assert sum(row.stalled_issued for row in rows) == headline.stalled_issued == 3
    assert sum(row.stalled_addressed for row in rows) == headline.stalled_addressed == 3


@pytest.mark.django_db
def test_the_rows_and_the_title_bear_the_names_of_the_day(city):
    """A rename keeps the row and its code: the workbook of a day before it shows the former name."""
    former = {city.root.code: city.root.name, city.committee.code: city.committee.name}
    renamed = {city.root.code: "Đảng bộ tỉnh Quảng Trị", city.committee.code: "Đảng bộ Sở Y tế tỉnh"}
    for code, name in renamed.items():
        organisation_rename(
            organisation=Organisation.objects.get(code=code), name=name, effective_on=D(2018, 10, 15), by=None
        )
    city.root.refresh_from_db()
    for as_of, names in [(DAY, former), (END, renamed)]:
        buffer = io.BytesIO()
        write_workbook(city.root, YEAR, as_of, buffer)
        sheet = load_workbook(io.BytesIO(buffer.getvalue()))[SUMMARY]
        assert names[city.root.code] in sheet["A1"].value
        rows = {row[0]: row[1] for row in sheet.iter_rows(min_row=FIRST, max_col=2, values_only=True)}
        assert rows[city.committee.code] == names[city.committee.code]
