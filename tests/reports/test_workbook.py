"""The yearly Excel workbook (issue 5): its sheets and layout on small hand-built data, the total row equal to the
organisation's figures, the export command, the download view (the 2018 workbook of the demo data:
test_workbook_demo.py)."""

import datetime
import io
import zipfile

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from dongha76.excel import DATE_FORMAT, XLSX_CONTENT_TYPE
from members.models import Attendance, Meeting, Referral, ResidenceComment, YearEndRating
from reports.report import build_report
from reports.workbook import COMMENTS, MEETINGS, REFERRALS, SHEET_NAMES, SUMMARY, TOTAL_LABEL, write_workbook
from tests.factories import make_member, make_officer, make_referral, make_tree, move_home

D = datetime.date
DAY = D(2018, 9, 30)
YEAR = 2018
FORMULA_NAME = '=HYPERLINK("http://x","bấm")'
SUMMARY_HEADERS = 3  # the header row of every sheet
FIRST = 4  # the first data row


@pytest.fixture
def tree():
    return make_tree()


@pytest.fixture
def data(tree):
    """Members of the committee's cell and of the grassroots cell, introduced to the two wards; one placed and met;
    referrals that ended before the year, in it, and one introduced after the as-of day; one comment."""
    formula = make_member(tree.cell, full_name=FORMULA_NAME)
    placed = make_member(tree.cell, full_name="Lê Thị Hoa")
    make_member(tree.cell, full_name="Chưa Giới Thiệu")  # eligible, not introduced
    school = make_member(tree.grassroots_cell, full_name="Trần Văn Trường")
    gone = make_member(tree.grassroots_cell, full_name="Đã Chuyển Đi")
    late = make_member(tree.cell, full_name="Giới Thiệu Sau")
    outsider = make_member(tree.outside, full_name="Ngoài Đảng Bộ")
    refer = {}
    refer["formula"] = make_referral(
        formula, receiving_ward=tree.ward1, issuing_organisation=tree.committee, introduced_on=D(2018, 3, 1)
    )
    refer["placed"] = make_referral(
        placed,
        receiving_ward=tree.ward1,
        issuing_organisation=tree.committee,
        introduced_on=D(2017, 5, 2),
        received_on=D(2017, 5, 10),
        residential_cell=tree.ward1_cell1,
        placed_on=D(2017, 5, 20),
    )
    refer["school"] = make_referral(
        school,
        receiving_ward=tree.ward2,
        issuing_organisation=tree.grassroots_cell,
        introduced_on=D(2018, 1, 15),
        received_on=D(2018, 11, 2),  # after the as-of day: not known yet
    )
    refer["ended_before"] = make_referral(
        gone,
        receiving_ward=tree.ward2,
        issuing_organisation=tree.grassroots_cell,
        introduced_on=D(2016, 1, 4),
        ended_on=D(2018, 1, 1),  # ended on the first day of the year: never active in it
        end_reason=Referral.EndReason.MOVED_RESIDENCE,
    )
    refer["ended_in_year"] = make_referral(
        gone,
        receiving_ward=tree.ward1,
        issuing_organisation=tree.grassroots_cell,
        introduced_on=D(2018, 1, 2),
        ended_on=D(2018, 6, 1),
        end_reason=Referral.EndReason.RETIRED,
    )
    refer["after"] = make_referral(
        late, receiving_ward=tree.ward1, issuing_organisation=tree.committee, introduced_on=D(2018, 10, 1)
    )
    refer["outsider"] = make_referral(
        outsider,
        receiving_ward=tree.ward1,
        issuing_organisation=tree.outside,
        introduced_on=D(2015, 2, 1),
        received_on=D(2015, 2, 3),
    )
    meeting = Meeting.objects.create(
        residential_cell=tree.ward1_cell1, held_on=D(2018, 4, 20), kind=Meeting.Kind.PERIODIC, year=YEAR, half=1
    )
    Attendance.objects.create(meeting=meeting, member=placed, status=Attendance.Status.PRESENT)
    ResidenceComment.objects.create(
        member=placed,
        year=YEAR,
        residential_cell=tree.ward1_cell1,
        verdict=ResidenceComment.Verdict.GOOD,
        text="+ Gương mẫu",
        written_on=D(2018, 9, 1),
        sent_on=D(2018, 9, 5),
        received_on=D(2018, 10, 3),  # after the as-of day
    )
    return refer


def export(organisation, year=YEAR, as_of=DAY):
    buffer = io.BytesIO()
    write_workbook(organisation, year, as_of, buffer)
    return buffer.getvalue()


def load(content: bytes):
    return load_workbook(io.BytesIO(content))


def rows_of(sheet, first=FIRST):
    return [list(row) for row in sheet.iter_rows(min_row=first, values_only=True)]


def column(sheet, header: str) -> int:
    """The 1-based column of ``header`` on the header row."""
    headers = [cell.value for cell in sheet[SUMMARY_HEADERS]]
    return headers.index(header) + 1


def total_row(sheet) -> int:
    for row in sheet.iter_rows(min_row=FIRST, max_col=2):
        if row[1].value == TOTAL_LABEL:
            return row[1].row
    raise AssertionError("no total row")


def summary_value(sheet, header: str):
    return sheet.cell(row=total_row(sheet), column=column(sheet, header)).value


# -- layout ----------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_workbook_has_the_four_sheets_with_title_row_and_bold_frozen_headers(tree, data):
    workbook = load(export(tree.root))
    assert workbook.sheetnames == ["Tổng hợp", "Giới thiệu", "Sinh hoạt", "Nhận xét"] == list(SHEET_NAMES)
    for sheet in workbook.worksheets:
        title = sheet["A1"].value
        assert tree.root.name in title and "30/09/2018" in title, title
        assert sheet["A1"].font.bold
        assert sheet.freeze_panes == "A4"
        headers = [cell for cell in sheet[SUMMARY_HEADERS] if cell.value]
        assert len(headers) >= 8
        assert all(cell.font.bold for cell in headers)
        # Widths are set for every header column, wider for names than for numbers.
        widths = [sheet.column_dimensions[cell.column_letter].width for cell in headers]
        assert all(width and width >= 9 for width in widths), widths


@pytest.mark.django_db
def test_dates_are_excel_dates_shown_dd_mm_yyyy(tree, data):
    sheet = load(export(tree.root))[REFERRALS]
    introduced = column(sheet, "Ngày giới thiệu")
    dates = [sheet.cell(row=row, column=introduced) for row in range(FIRST, sheet.max_row + 1)]
    assert dates and all(isinstance(cell.value, datetime.datetime) for cell in dates)
    assert all(cell.number_format == DATE_FORMAT for cell in dates)
    assert D(2018, 3, 1) in {cell.value.date() for cell in dates}


@pytest.mark.django_db
def test_rates_are_numbers_with_a_percent_format(tree, data):
    sheet = load(export(tree.root))[SUMMARY]
    cell = sheet.cell(row=total_row(sheet), column=column(sheet, "Tỷ lệ giới thiệu"))
    # Eligible on 30/9/2018: the four members of the committee's cell and the two of the school; introduced: 3 of 6
    # (not the one whose referral ended, nor the one introduced after the day).
    assert isinstance(cell.value, float)
    assert cell.value == pytest.approx(0.5)
    assert cell.number_format == "0.0%"
    attendance = sheet.cell(row=total_row(sheet), column=column(sheet, "Tỷ lệ dự sinh hoạt"))
    assert attendance.value == 1.0 and attendance.number_format == "0.0%"


@pytest.mark.django_db
def test_a_formula_like_text_is_kept_as_text(tree, data):
    content = export(tree.root)
    sheet = load(content)[REFERRALS]
    names = {
        sheet.cell(row=row, column=2).value: sheet.cell(row=row, column=2) for row in range(FIRST, sheet.max_row + 1)
    }
    cell = names[FORMULA_NAME]
    assert cell.data_type == "s"
    assert cell.quotePrefix
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        xml = "".join(archive.read(name).decode() for name in archive.namelist() if name.startswith("xl/worksheets/"))
    assert "<f>" not in xml  # no cell anywhere is a formula


@pytest.mark.django_db
def test_the_summary_has_a_native_bar_chart_of_the_rate(tree, data):
    content = export(tree.root)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        names = archive.namelist()
        assert "xl/charts/chart1.xml" in names
        chart = archive.read("xl/charts/chart1.xml").decode()
    assert "<barChart>" in chart and '<barDir val="bar" />' in chart
    assert "<f>'Tổng hợp'!$F$4:$F$7</f>" in chart  # the rate of the four grassroots organisations, not the total
    assert "<strRef><f>'Tổng hợp'!$B$4:$B$7</f>" in chart  # labelled with their names


# -- the summary ---------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_total_row_is_the_figures_of_the_whole_organisation(tree, data):
    sheet = load(export(tree.root))[SUMMARY]
    report = build_report(tree.root, DAY, year=YEAR)
    headline = report.headline
    expected = {
        "Đảng viên": headline.members,
        "Thuộc diện giới thiệu": headline.eligible,
        "Đã giới thiệu": headline.introduced,
        "Tỷ lệ giới thiệu": float(headline.referral_rate) / 100,
        "Đã tiếp nhận": headline.received,
        "Tiếp nhận từ ngoài Đảng bộ": headline.received_from_outside,
        "Giới thiệu đi, chờ tiếp nhận quá 30 ngày": headline.stalled_issued,
        "Gửi đến, chờ tiếp nhận quá 30 ngày": headline.stalled_addressed,
        "Chi bộ đã sinh hoạt 6 tháng đầu năm": report.meetings.half_years[0].cells_held,
        "Chi bộ phải sinh hoạt 6 tháng đầu năm": report.meetings.half_years[0].cells_due,
        "Chi bộ đã sinh hoạt 6 tháng cuối năm": report.meetings.half_years[1].cells_held,
        "Chi bộ phải sinh hoạt 6 tháng cuối năm": report.meetings.half_years[1].cells_due,
        "Nhận xét về đảng viên của đơn vị phải có": report.comments_by_side.workplace.due,
        "Nhận xét của chi bộ khu phố/thôn phải có": report.comments_by_side.residence.due,
        "Nhận xét của chi bộ khu phố/thôn nơi công tác đã nhận": report.comments_by_side.residence.received,
        "Nhận xét của chi bộ khu phố/thôn gửi trễ hạn": report.comments_by_side.residence.late,
    }
    assert {header: summary_value(sheet, header) for header in expected} == pytest.approx(expected)
    # Written out by hand: 6 members (the outsider is not one), all eligible, 3 introduced; the placed member and
    # the outsider received by ward 1, the outsider from outside (the school's reception comes after the day); 4
    # cells, 1 met in the first half; the placed member's comment is due on both sides.
    assert [summary_value(sheet, h) for h in ("Đảng viên", "Thuộc diện giới thiệu", "Đã giới thiệu")] == [6, 6, 3]
    assert summary_value(sheet, "Đã tiếp nhận") == 2
    assert summary_value(sheet, "Tiếp nhận từ ngoài Đảng bộ") == 1
    assert summary_value(sheet, "Nhận xét về đảng viên của đơn vị phải có") == 1
    assert summary_value(sheet, "Nhận xét của chi bộ khu phố/thôn phải có") == 1
    assert summary_value(sheet, "Chi bộ đã sinh hoạt 6 tháng đầu năm") == 1
    assert summary_value(sheet, "Chi bộ phải sinh hoạt 6 tháng đầu năm") == 4


@pytest.mark.django_db
def test_the_summary_has_one_row_per_grassroots_organisation_with_its_own_figures(tree, data):
    sheet = load(export(tree.root))[SUMMARY]
    rows = {row[0]: row for row in rows_of(sheet) if row[1] and row[1] != TOTAL_LABEL and row[0]}
    assert set(rows) == {tree.committee.code, tree.grassroots_cell.code, tree.ward1.code, tree.ward2.code}
    committee = rows[tree.committee.code]
    assert committee[2:5] == [4, 4, 2]  # members, eligible, introduced (the one introduced after the day is not)
    assert committee[5] == pytest.approx(0.5)
    ward1 = rows[tree.ward1.code]
    members_col = column(sheet, "Chi bộ đã sinh hoạt 6 tháng đầu năm") - 1
    assert ward1[members_col : members_col + 2] == [1, 2]  # one of its two cells met in the first half
    # The committee has no residential cell: nothing to meet.
    assert committee[members_col : members_col + 2] == [0, 0]
    # The headline block under the total.
    labels = {row[1]: row[2] for row in rows_of(sheet) if row[1]}
    assert labels["Tổ chức cơ sở đảng"] == 4
    assert labels["Trong đó chi bộ khu phố/thôn"] == 4


@pytest.mark.django_db
def test_a_subtree_workbook_counts_only_the_subtree(tree, data):
    sheet = load(export(tree.ward1))[SUMMARY]
    assert tree.ward1.name in sheet["A1"].value
    assert summary_value(sheet, "Đã tiếp nhận") == 2  # the placed member and the outsider
    assert summary_value(sheet, "Tiếp nhận từ ngoài Đảng bộ") == 2  # neither works in the ward
    assert summary_value(sheet, "Đảng viên") == 0
    referrals = load(export(tree.ward1))[REFERRALS]
    assert {row[1] for row in rows_of(referrals)} == {FORMULA_NAME, "Lê Thị Hoa", "Đã Chuyển Đi", "Ngoài Đảng Bộ"}


# -- the lists -----------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_referrals_are_those_active_in_the_year_as_known_on_the_day(tree, data):
    sheet = load(export(tree.root))[REFERRALS]
    rows = {(row[1], row[5].date()): row for row in rows_of(sheet)}
    assert set(rows) == {
        (FORMULA_NAME, D(2018, 3, 1)),
        ("Lê Thị Hoa", D(2017, 5, 2)),
        ("Trần Văn Trường", D(2018, 1, 15)),
        ("Đã Chuyển Đi", D(2018, 1, 2)),  # ended in the year; the one ended on 1/1/2018 is not listed
        ("Ngoài Đảng Bộ", D(2015, 2, 1)),
    }
    school = rows[("Trần Văn Trường", D(2018, 1, 15))]
    assert school[7] is None  # received on 2/11/2018, after the as-of day
    assert school[13] == "Chờ tiếp nhận"
    ended = rows[("Đã Chuyển Đi", D(2018, 1, 2))]
    assert ended[11].date() == D(2018, 6, 1)
    assert ended[12] == "Nghỉ hưu"  # the reason, as the UI names it
    placed = rows[("Lê Thị Hoa", D(2017, 5, 2))]
    assert placed[8] == tree.ward1_cell1.name and placed[9].date() == D(2017, 5, 20)
    # As of the end of the year the referral introduced on 1/10 is listed, and the reception is known.
    later = {(row[1], row[7]) for row in rows_of(load(export(tree.root, as_of=D(2018, 12, 31)))[REFERRALS])}
    assert ("Giới Thiệu Sau", None) in later
    assert ("Trần Văn Trường", datetime.datetime(2018, 11, 2)) in later


@pytest.mark.django_db
def test_meetings_list_each_residential_cell_by_half_year(tree, data):
    sheet = load(export(tree.root))[MEETINGS]
    rows = rows_of(sheet)
    assert len(rows) == 8  # 4 cells × 2 half-years up to 30/9
    cell1 = [row for row in rows if row[2] == tree.ward1_cell1.name]
    assert [row[3] for row in cell1] == ["6 tháng đầu năm 2018", "6 tháng cuối năm 2018"]
    first = cell1[0]
    assert first[0] == tree.ward1.name
    assert first[4] == "Có" and first[5].date() == D(2018, 4, 20)
    assert first[6:9] == [1, 1, 1] and first[9] == 1.0
    assert sheet.cell(row=FIRST, column=10).number_format == "0.0%"
    assert cell1[1][4] == "Không" and cell1[1][5] is None
    # Up to 30/6 only the first half-year is listed.
    assert len(rows_of(load(export(tree.root, as_of=D(2018, 6, 30)))[MEETINGS])) == 4


@pytest.mark.django_db
def test_comments_list_each_comment_of_the_year(tree, data):
    sheet = load(export(tree.root))[COMMENTS]
    rows = rows_of(sheet)
    assert len(rows) == 1
    row = rows[0]
    assert row[1] == "Lê Thị Hoa" and row[3] == tree.ward1_cell1.name and row[4] == tree.ward1.name
    assert row[6].date() == D(2018, 9, 1) and row[7].date() == D(2018, 9, 5)
    assert row[8] is None  # received after the as-of day
    assert row[9] == "Không"
    assert sheet.cell(row=FIRST, column=7).number_format == DATE_FORMAT


@pytest.mark.django_db
def test_the_number_of_queries_does_not_grow_with_the_referrals(tree):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            export(tree.root)
        return len(captured.captured_queries)

    for _ in range(3):
        member = make_member(tree.cell)
        make_referral(member, receiving_ward=tree.ward1, introduced_on=D(2018, 2, 1))
    few = queries()
    for _ in range(30):
        member = make_member(tree.cell)
        make_referral(member, receiving_ward=tree.ward2, introduced_on=D(2018, 2, 1))
    assert queries() == few


# -- the command -----------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_export_report_writes_the_file(tree, data, tmp_path):
    target = tmp_path / "dh.xlsx"
    out = io.StringIO()
    arguments = ["--org", tree.root.code, "--year", "2018", "--as-of", "2018-09-30", "-o", str(target)]
    call_command("export_report", *arguments, stdout=out)
    workbook = load_workbook(target, read_only=True)
    assert workbook.sheetnames == list(SHEET_NAMES)
    assert "30/09/2018" in out.getvalue()


@pytest.mark.django_db
def test_export_report_as_of_defaults_to_the_end_of_the_year(tree, data, tmp_path):
    target = tmp_path / "dh.xlsx"
    call_command("export_report", "--org", tree.root.code, "--year", "2018", "-o", str(target), stdout=io.StringIO())
    assert "31/12/2018" in load_workbook(target)[SUMMARY]["A1"].value


@pytest.mark.django_db
@pytest.mark.parametrize(
    "arguments",
    [
        ["--year", "20x8"],
        ["--year", "2018", "--as-of", "30/09/2018"],
        ["--year", "2018", "--as-of", "2019-01-01"],
        ["--year", "1999"],
    ],
)
def test_export_report_refuses_bad_input(tree, tmp_path, arguments):
    with pytest.raises(CommandError):
        call_command("export_report", "--org", tree.root.code, *arguments, "-o", str(tmp_path / "x.xlsx"))


@pytest.mark.django_db
def test_export_report_refuses_an_unknown_organisation(tmp_path):
    with pytest.raises(CommandError, match="NOPE"):
        call_command("export_report", "--org", "NOPE", "--year", "2018", "-o", str(tmp_path / "x.xlsx"))


# -- the download ----------------------------------------------------------------------------------------------------


def download(client, **params):
    return client.get(reverse("reports:workbook"), params)


@pytest.mark.django_db
def test_city_staff_download_the_workbook(client, tree, data):
    client.force_login(make_officer(tree.root, role="staff"))
    response = download(client, org=tree.root.code, year="2018", as_of="2018-09-30")
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX_CONTENT_TYPE
    assert "attachment" in response["Content-Disposition"] and ".xlsx" in response["Content-Disposition"]
    content = b"".join(response.streaming_content)
    workbook = load(content)
    assert workbook.sheetnames == list(SHEET_NAMES)
    assert summary_value(workbook[SUMMARY], "Đảng viên") == 6


@pytest.mark.django_db
def test_a_ward_officer_gets_404_for_an_organisation_outside_their_scope(client, tree, data):
    client.force_login(make_officer(tree.ward1, role="secretary"))
    assert download(client, org=tree.ward1.code, year="2018").status_code == 200
    assert download(client, org=tree.root.code, year="2018").status_code == 404
    assert download(client, org=tree.ward2.code, year="2018").status_code == 404
    assert download(client, org="NOPE", year="2018").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    "params",
    [
        {"year": "abc"},
        {"year": "2018", "as_of": "30/09/2018"},
        {"year": "2018", "as_of": "2018-02-30"},
        {"year": "2018", "as_of": "2017-12-31"},
        {"year": "1800"},
        {"year": "9999"},
    ],
)
def test_a_bad_year_or_day_is_400(client, tree, params):
    client.force_login(make_officer(tree.root, role="staff"))
    response = download(client, org=tree.root.code, **params)
    assert response.status_code == 400
    assert response.content


@pytest.mark.django_db
def test_3_the_yearly_workbook_shows_a_rating_only_to_those_who_see_it_on_screen(client, tree, data):
    """Issue 10, finding 3: a residential cell's secretary downloaded the workbook of its cell and found the members'
    year-end ratings in the comments sheet, while the ratings page of those members was 404 to them. The workbook
    now holds the rows and columns the reader sees on the pages."""
    placed = data["placed"].member
    YearEndRating.objects.create(
        member=placed, year=YEAR, level=YearEndRating.Level.EXCELLENT, decided_on=D(2018, 9, 20)
    )
    rating_page = reverse("members:rating-record", args=[YEAR, placed.pk])
    expected = {
        # the cell's secretary sees the comment, not the rating: no ratings column at all
        (tree.ward1_cell1, tree.ward1_cell1.code): None,
        # the ward sees ratings of its own members only: the column, empty for a workplace's member
        (tree.ward1, tree.ward1.code): "",
        # the member's workplace rates them
        (tree.committee, tree.committee.code): str(YearEndRating.Level.EXCELLENT.label),
    }
    for (post, code), shown in expected.items():
        user = make_officer(post)
        client.force_login(user)
        can_rate = client.get(rating_page).status_code == 200
        sheet = load(b"".join(download(client, org=code, year=str(YEAR), as_of=DAY.isoformat()).streaming_content))[
            COMMENTS
        ]
        headers = [cell.value for cell in sheet[SUMMARY_HEADERS]]
        rows = rows_of(sheet)
        assert [row[0] for row in rows] == [placed.card_number], post
        if shown is None:
            assert "Xếp loại chất lượng" not in headers and not can_rate
        else:
            rating = rows[0][headers.index("Xếp loại chất lượng")] or ""
            assert rating == shown
            assert can_rate == bool(shown)


@pytest.mark.django_db
def test_the_workbook_shows_no_cell_of_today_for_a_member_who_left_the_reader(client, tree, data):
    """Second audit: a committee's workbook named the new cell of a member who had moved to another workplace."""
    placed = move_home(data["placed"].member, tree.grassroots_cell, D(2020, 1, 1))
    client.force_login(make_officer(tree.committee))

    sheet = load(b"".join(download(client, org=tree.committee.code, year=str(YEAR)).streaming_content))[REFERRALS]

    row = next(row for row in rows_of(sheet) if row[0] == placed.card_number)
    assert row[2] in ("", None)
    assert tree.grassroots_cell.name not in [cell for row in rows_of(sheet) for cell in row]


@pytest.mark.django_db
def test_the_download_needs_a_login(client, tree):
    response = download(client, org=tree.root.code, year="2018")
    assert response.status_code == 302
