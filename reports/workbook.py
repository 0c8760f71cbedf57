"""The yearly workbook of an organisation: the figures of ``reports.figures`` per grassroots organisation, and the
referrals, meetings and comments of the year behind them, as an Excel file.

Four sheets, each with a title row naming the organisation and the as-of day and bold frozen headers:
``Tổng hợp`` (one row per grassroots organisation, a total row that is the figures of the whole organisation, and a
native bar chart of the referral rate; its columns come in groups that each add up to the total row: the members, the
workplace side and the residence side of the referrals and comments, see ``figures.summary_rows``), ``Giới thiệu``
(every referral active at some time in the year), ``Sinh hoạt`` (each residential cell by half-year) and ``Nhận xét``
(each comment of the year).

The workbook is written in openpyxl's write-only mode and the referrals and comments are streamed from the database,
so memory does not grow with the number of rows. Numbers are written as numbers (a rate of 99.3% is 0.993 with a %
format), dates as Excel dates shown dd/mm/yyyy. What is shown is what was known on the as-of day: a date after it is
left blank. The labels are fixed Vietnamese, like the sheet names: the workbook is a document for Vietnamese offices.
"""

import contextvars
import dataclasses
import datetime
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import BinaryIO

from django.db import connections
from django.db.models import Case, CharField, Count, F, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import translation
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.data_source import AxDataSource, StrRef

from branches.models import Organisation
from branches.selectors import name_on_expression
from dongha76.excel import StreamedSheet, new_write_only_workbook
from dongha76.periods import PeriodError, parse_iso_day, parse_year
from members.models import (
    Meeting,
    MemberHome,
    Placement,
    Referral,
    ResidenceComment,
    YearEndRating,
)
from members.models.history import in_force_q
from members.periods import HalfYear
from members.selectors import Sight
from reports import figures, snapshots, steps

SUMMARY, REFERRALS, MEETINGS, COMMENTS = "Tổng hợp", "Giới thiệu", "Sinh hoạt", "Nhận xét"
SHEET_NAMES = (SUMMARY, REFERRALS, MEETINGS, COMMENTS)
PERCENT = "0.0%"
TOTAL_LABEL = "Tổng cộng"
YES, NO = "Có", "Không"
CHUNK = 2000
FIRST_YEAR = 2000


PROGRESS_ROWS = 500  # rows between two reports of the progress
Progress = Callable[[str, int, int], None]  # (sheet name, rows written, rows in all or 0: unknown)
MAX_SHEET_ROWS = 1_048_576  # Excel's rows per sheet
CONTINUED = "tiếp theo"


class ContinuedSheet:
    """A ``StreamedSheet`` that goes on in a new sheet once one holds ``MAX_SHEET_ROWS`` rows (its title, headings
    and headers included): "Giới thiệu", "Giới thiệu (2)", "Giới thiệu (3)"..., each with the title row (marked
    "tiếp theo") and the same headers, the rows in the same order. A whole-nation workbook holds more referrals than
    Excel shows in one sheet; continuing keeps the one order (by issuing organisation) and works for any subtree,
    where a split by province would leave a province that is itself too large, and would tie the workbook to a level
    of the tree."""

    def __init__(self, workbook, *, title: str, heading: str, progress: "Progress | None" = None, total=0, **layout):
        self.workbook, self.title, self.heading, self.layout = workbook, title, heading, layout
        self.sheets = [StreamedSheet(workbook, title=title, heading=heading, **layout)]
        self.rows_written = 0
        self.progress, self.total = progress, total
        if progress is not None:
            progress(title, 0, total)

    def append(self, values) -> None:
        if self.sheets[-1].next_row > MAX_SHEET_ROWS:
            number = len(self.sheets) + 1
            self.sheets.append(
                StreamedSheet(
                    self.workbook,
                    title=f"{self.title} ({number})",
                    heading=f"{self.heading} ({CONTINUED} {number})",
                    **self.layout,
                )
            )
        self.sheets[-1].append(values)
        self.rows_written += 1
        if self.progress is not None and self.rows_written % PROGRESS_ROWS == 0:
            self.progress(self.title, self.rows_written, self.total)


class BadRequest(ValueError):
    """The year or the as-of day of a workbook request is not usable (the message is for the user)."""


def default_as_of(year: int, today: datetime.date) -> datetime.date:
    """31/12 of the year, or today in the current year."""
    return today if year == today.year else datetime.date(year, 12, 31)


def check_period(year: int, as_of: datetime.date, today: datetime.date) -> None:
    if not FIRST_YEAR <= year <= today.year:
        raise BadRequest(f"year must be between {FIRST_YEAR} and {today.year}")
    if as_of.year != year:
        raise BadRequest("as_of must be a day of the year")


def parse_period(year: str | None, as_of: str | None, today: datetime.date) -> tuple[int, datetime.date]:
    """The year and the as-of day of a request, read by ``dongha76.periods`` (one bound on years for every reader of
    a period); raises ``BadRequest``."""
    try:
        day = parse_iso_day(as_of)
        year_number = parse_year(year) or (day.year if day else today.year)
    except PeriodError as error:
        raise BadRequest("year must be a number YYYY and as_of a date YYYY-MM-DD") from error
    day = day or default_as_of(year_number, today)
    check_period(year_number, day, today)
    return year_number, day


def write_workbook(
    organisation: Organisation,
    year: int,
    as_of: datetime.date,
    target: str | BinaryIO,
    *,
    sight: Sight | None = None,
    progress: Progress | None = None,
) -> "YearlyWorkbook":
    """Write the workbook of ``organisation``'s subtree for ``year`` as of ``as_of`` to ``target`` (a path or a
    binary file); returns the figures the total row holds (``TotalFigures``), and the number of rows of each sheet.

    ``sight`` is what the reader sees on the pages (``members.selectors.sight_of``): the sheets of referrals,
    meetings and comments hold only those rows, and the year-end ratings only where the reader sees them (the
    column not at all for a reader who sees none). None, for the command line: everything.

    ``progress(sheet, done, total)`` is told which sheet is being written and, every few hundred rows, how many of
    its rows are written (a background job shows it); with it, the referrals and comments are counted first (one
    query each) for the total."""
    with translation.override("vi"):
        if progress is not None:
            progress(SUMMARY, 0, 0)
        workbook = new_write_only_workbook()
        referrals = _referral_rows(organisation, year, as_of, sight)
        comments = _comment_rows(organisation, year, as_of, sight)
        # The database computes the rows of the two long sheets while the figures are computed and the sheets before
        # them are written (``ReadAhead``).
        with ReadAhead(referrals.rows) as referral_rows, ReadAhead(comments.rows) as comment_rows:
            report = TotalFigures.of(organisation, year, as_of)
            heading = f"{organisation.name_on(as_of)} — năm {year} — tính đến ngày {as_of:%d/%m/%Y}"
            cell_meetings = CellMeetings.read(organisation, year, as_of)
            rows = {
                SUMMARY: _summary_sheet(workbook, report, heading, cell_meetings),
                REFERRALS: _referrals_sheet(workbook, referrals, referral_rows, as_of, heading, progress),
                MEETINGS: _meetings_sheet(workbook, cell_meetings, heading, sight, progress),
                COMMENTS: _comments_sheet(
                    workbook, comments, comment_rows, year, as_of, report.comment_deadline, heading, progress
                ),
            }
        workbook.save(target)
    return YearlyWorkbook(report=report, rows=rows)


@dataclasses.dataclass(frozen=True)
class TotalFigures:
    """The organisation's own figures the workbook shows (its total row and the figures below it), from the same
    functions as ``reports.report.build_report``. Only these: the report's breakdowns by grassroots organisation, by
    sector, by ward and cell, the tracking book and the endings are not in the workbook (the summary's rows are
    ``figures.summary_rows``), and the comment figures only for their deadline; at the province's root they were
    two thirds of the time the report took."""

    organisation: Organisation
    as_of: datetime.date
    year: int
    headline: figures.Headline
    meetings: figures.MeetingFigures
    comments_by_side: figures.CommentSides
    comment_deadline: datetime.date
    large: bool  # its parts carried from stored days (``steps.pays``)

    @classmethod
    def of(cls, organisation: Organisation, year: int, as_of: datetime.date) -> "TotalFigures":
        large = steps.pays(organisation)
        return cls(
            organisation=organisation,
            as_of=as_of,
            year=year,
            headline=figures.headline(organisation, as_of),
            meetings=snapshots.meetings_on(organisation, as_of, large=large),
            comments_by_side=snapshots.comment_sides_on(organisation, year, as_of, large=large),
            comment_deadline=figures.comment_deadline(organisation, year),
            large=large,
        )


@dataclasses.dataclass(frozen=True)
class YearlyWorkbook:
    report: TotalFigures
    rows: dict[str, int]  # sheet name -> rows written (titles and headers aside)

    @property
    def data_rows(self) -> int:
        """The rows about people: referrals and comments (the summary and the meetings are counts)."""
        return self.rows[REFERRALS] + self.rows[COMMENTS]


READ_AHEAD_CHUNKS = 2  # chunks of CHUNK rows a reading thread keeps ready: memory does not grow with the rows
_END = object()


class ReadAhead:
    """The rows of a queryset, in order, read by a thread of its own on a connection of its own from the moment the
    ``with`` block starts: the database computes a long sheet's rows (seconds at a province's root) while this
    thread computes the figures and writes the sheets before it, on the machine's other core. At most
    ``READ_AHEAD_CHUNKS`` chunks of rows wait: the reading thread waits for the writing, so memory stays flat.

    The reading thread sees what this thread sees: the same database alias (and replica routing: it runs in a copy
    of this thread's context) and the same execute wrappers (a query counter counts its queries). Inside a
    transaction (a test, a caller's ``atomic`` block), whose rows another connection would not see, and on SQLite,
    the rows are read here, when iterated, as ``iterator()`` reads them."""

    def __init__(self, queryset: QuerySet):
        self.queryset = queryset
        database = connections[queryset.db]
        self.threaded = database.vendor == "postgresql" and not database.in_atomic_block
        self.thread: threading.Thread | None = None
        if self.threaded:
            self.chunks: queue.Queue = queue.Queue(maxsize=READ_AHEAD_CHUNKS)
            self.stopped = threading.Event()
            self.wrappers = list(database.execute_wrappers)
            self.thread = threading.Thread(
                target=contextvars.copy_context().run, args=(self._read,), name="workbook-rows", daemon=True
            )

    def __enter__(self) -> Iterator[tuple]:
        if not self.threaded:
            return self.queryset.iterator(chunk_size=CHUNK)
        self.thread.start()
        return self._rows()

    def __exit__(self, *exc) -> None:
        if self.thread is not None:
            self.stopped.set()
            if exc[0] is None:  # read to the end: the thread is closing its connection
                self.thread.join()

    def _read(self) -> None:
        database = connections[self.queryset.db]
        database.execute_wrappers.extend(self.wrappers)
        try:
            chunk = []
            for row in self.queryset.iterator(chunk_size=CHUNK):
                chunk.append(row)
                if len(chunk) == CHUNK:
                    if not self._put(chunk):
                        return
                    chunk = []
            if self._put(chunk):
                self._put(_END)
        except Exception as error:  # raised where the rows are read
            self._put(error)
        finally:
            connections.close_all()  # this thread's connections only

    def _put(self, item) -> bool:
        """Hand ``item`` over, waiting for room; False once the reader has stopped reading."""
        while not self.stopped.is_set():
            try:
                self.chunks.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    def _rows(self) -> Iterator[tuple]:
        while True:
            item = self.chunks.get()
            if item is _END:
                return
            if isinstance(item, Exception):
                raise item
            yield from item


def _share(rate: Decimal | None) -> float | None:
    """A rate in percent (99.3) as the share Excel formats with % (0.993)."""
    return None if rate is None else float(rate / 100)


def _known(day: datetime.date | None, as_of: datetime.date) -> datetime.date | None:
    """A date as known on the as-of day: a later one is not known yet."""
    return day if day is not None and day <= as_of else None


def _under(field: str, organisation: Organisation) -> Q:
    return Q(**{f"{field}__path__startswith": organisation.path})


# -- Tổng hợp ------------------------------------------------------------------------------------------------------

# Three groups of columns, each adding up to the total row: the members (under the row of their home), the workplace
# side (referrals the row issued, comments on its members) and the residence side (referrals its wards received,
# its residential cells' meetings and comments). A referral from a committee to a ward of the same organisation is
# in the committee's row on one side and the ward's on the other, never twice in one column.
MEMBERS_GROUP = "Đảng viên của đơn vị (theo nơi sinh hoạt ngày tính)"
ISSUED_GROUP = "Bên giới thiệu: giấy giới thiệu do đơn vị gửi đi, nhận xét về đảng viên của đơn vị"
RECEIVED_GROUP = "Bên tiếp nhận: đảng ủy phường/xã và chi bộ khu phố/thôn của đơn vị"
ISSUED_COMMENTS = "Nhận xét về đảng viên của đơn vị"
RECEIVED_COMMENTS = "Nhận xét của chi bộ khu phố/thôn"
COMMENT_COUNTS = [
    # field of figures.CommentCounts, header after the side's name
    ("due", "phải có"),
    ("written", "đã viết"),
    ("sent", "đã gửi"),
    ("late", "gửi trễ hạn"),
    ("received", "nơi công tác đã nhận"),
]

SUMMARY_COLUMNS = [
    # group (on row 2, over its first column), header, width
    (None, "Mã", 10),
    (None, "Tổ chức cơ sở đảng", 42),
    (MEMBERS_GROUP, "Đảng viên", 11),
    (None, "Thuộc diện giới thiệu", 13),
    (None, "Đã giới thiệu", 12),
    (None, "Tỷ lệ giới thiệu", 12),
    (ISSUED_GROUP, "Giới thiệu đi, chờ tiếp nhận quá 30 ngày", 15),
    *[(None, f"{ISSUED_COMMENTS} {label}", 14) for _, label in COMMENT_COUNTS],
    (RECEIVED_GROUP, "Đã tiếp nhận", 12),
    (None, "Tiếp nhận từ ngoài Đảng bộ", 14),
    (None, "Gửi đến, chờ tiếp nhận quá 30 ngày", 15),
    (None, "Chi bộ đã sinh hoạt 6 tháng đầu năm", 16),
    (None, "Chi bộ phải sinh hoạt 6 tháng đầu năm", 16),
    (None, "Chi bộ đã sinh hoạt 6 tháng cuối năm", 16),
    (None, "Chi bộ phải sinh hoạt 6 tháng cuối năm", 16),
    (None, "Lượt phải dự sinh hoạt định kỳ", 13),
    (None, "Lượt có mặt", 11),
    (None, "Tỷ lệ dự sinh hoạt", 12),
    *[(None, f"{RECEIVED_COMMENTS} {label}", 14) for _, label in COMMENT_COUNTS],
]
SUMMARY_HEADERS = [header for _, header, _ in SUMMARY_COLUMNS]
RATE_COLUMN = SUMMARY_HEADERS.index("Tỷ lệ giới thiệu") + 1
ATTENDANCE_RATE_COLUMN = SUMMARY_HEADERS.index("Tỷ lệ dự sinh hoạt") + 1
SUMMARY_FORMATS = {RATE_COLUMN: PERCENT, ATTENDANCE_RATE_COLUMN: PERCENT}
# The columns that are not sums: rates, recomputed on the total row from its own sums.
RATE_HEADERS = ("Tỷ lệ giới thiệu", "Tỷ lệ dự sinh hoạt")


def _meeting_cells(meetings: figures.MeetingFigures) -> list:
    halves = {half.half_year[-2:]: half for half in meetings.half_years}
    values = []
    for key in ("H1", "H2"):
        half = halves.get(key)
        values += [half.cells_held, half.cells_due] if half else [None, None]
    return values


def _no_meetings(as_of: datetime.date) -> figures.MeetingFigures:
    """The meeting figures of a subtree without residential cells."""
    return figures.MeetingFigures(
        year=as_of.year,
        half_years=[
            figures.HalfYearMeetings(half_year=f"{half.year}-H{half.half}", cells_due=0, cells_held=0)
            for half in _half_years(as_of.year, as_of)
        ],
        attendance_expected=0,
        attendance_present=0,
        attendance_rate=None,
        irregular_attendees=0,
    )


def _summary_row(
    code: str,
    name: str,
    numbers: figures.GrassrootsRow | figures.Headline,
    meetings: figures.MeetingFigures,
    comments: figures.CommentSides,
) -> list:
    """One row of the summary; ``numbers`` is a grassroots organisation's row or, for the total, the headline (the
    same names, the same definitions)."""
    return [
        code,
        name,
        numbers.members,
        numbers.eligible,
        numbers.introduced,
        _share(numbers.referral_rate),
        numbers.stalled_issued,
        *[getattr(comments.workplace, field) for field, _ in COMMENT_COUNTS],
        numbers.received,
        numbers.received_from_outside,
        numbers.stalled_addressed,
        *_meeting_cells(meetings),
        meetings.attendance_expected,
        meetings.attendance_present,
        _share(meetings.attendance_rate),
        *[getattr(comments.residence, field) for field, _ in COMMENT_COUNTS],
    ]


def _row_name(row: figures.SummaryRow) -> str:
    if row.valid_to is None:
        return row.figures.name
    return f"{row.figures.name} (đến {row.valid_to - datetime.timedelta(days=1):%d/%m/%Y})"


def _summary_sheet(workbook, report: TotalFigures, heading: str, cell_meetings: "CellMeetings") -> int:
    """One row per grassroots organisation of the subtree (those that ended during the year too: they keep their
    meetings and comments), a total row that is the organisation's own figures (``TotalFigures``), the figures with
    no breakdown below it, and a bar chart of the referral rate."""
    organisation, as_of, year = report.organisation, report.as_of, report.year
    sheet = StreamedSheet(
        workbook,
        title=SUMMARY,
        heading=f"Tổng hợp — {heading}",
        headers=SUMMARY_HEADERS,
        widths=[width for _, _, width in SUMMARY_COLUMNS],
        number_formats=SUMMARY_FORMATS,
        groups=[group for group, _, _ in SUMMARY_COLUMNS],
    )
    rows = snapshots.summary_rows_on(organisation, year, as_of, large=report.large)
    # The meeting figures of each row from the residential cells of the subtree and their periodic meetings, read
    # once (``CellMeetings``) and added up under the row whose path is a prefix of the cell's: a fixed number of
    # queries, whatever the number of rows.
    paths = dict(
        Organisation.objects.subtree(organisation)
        .filter(code__in=[row.figures.code for row in rows])
        .values_list("code", "path")
    )
    by_row = cell_meetings.by_row(paths.values(), as_of)
    for row in rows:
        meetings = by_row.get(paths[row.figures.code]) or _no_meetings(as_of)
        sheet.append(_summary_row(row.figures.code, _row_name(row), row.figures, meetings, row.comments))
    first, last = StreamedSheet.FIRST_ROW, sheet.next_row - 1
    headline, meetings, sides = report.headline, report.meetings, report.comments_by_side
    sheet.append(_summary_row(organisation.code, TOTAL_LABEL, headline, meetings, sides), bold=True)
    sheet.append_blank()
    due_day, name = min(report.comment_deadline, as_of), organisation.name_on(as_of)
    for label, value in [
        ("Tổ chức cơ sở đảng", headline.grassroots_organisations),
        ("Chi bộ trực thuộc", headline.subordinate_cells),
        ("Trong đó chi bộ khu phố/thôn", headline.residential_cells),
        ("Miễn giới thiệu", headline.exempt_from_introduction),
        ("Chờ tiếp nhận (giấy gửi đi hoặc gửi đến, mỗi giấy tính một lần)", headline.awaiting_reception),
        ("Chờ tiếp nhận quá 30 ngày (giấy gửi đi hoặc gửi đến, mỗi giấy tính một lần)", headline.stalled),
        ("Đã tiếp nhận, chờ phân công về chi bộ (giấy gửi đi hoặc gửi đến)", headline.awaiting_placement),
        ("Đảng viên dự sinh hoạt không đều (bên tiếp nhận)", meetings.irregular_attendees),
        (f"Hạn gửi nhận xét năm {year}", report.comment_deadline),
        (f"{ISSUED_COMMENTS} còn thiếu (quá hạn)", sides.workplace.missing),
        (f"{RECEIVED_COMMENTS} còn thiếu (quá hạn)", sides.residence.missing),
    ]:
        sheet.append([None, label, value])
    sheet.append_blank()
    for note in [
        "Cách tính: mỗi nhóm cột cộng theo các dòng bằng dòng Tổng cộng (tỷ lệ tính lại từ các tổng). Một giấy giới "
        "thiệu được tính ở bên giới thiệu theo tổ chức cơ sở đảng đã giới thiệu, và ở bên tiếp nhận theo đảng ủy "
        "phường/xã tiếp nhận: không tính hai lần trong một cột.",
        f"Đảng viên tính theo nơi sinh hoạt ngày {as_of:%d/%m/%Y}; nhận xét tính theo nơi sinh hoạt và chi bộ khu "
        f"phố/thôn được phân công ngày {due_day:%d/%m/%Y}.",
        f"Tiếp nhận từ ngoài Đảng bộ: đảng viên không sinh hoạt trong {name} (tổ chức ngoài Đảng bộ hoặc nơi khác).",
    ]:
        sheet.append([None, note])
    if last >= first:
        _rate_chart(sheet, first, last)
    return sheet.rows_written


def _rate_chart(sheet: StreamedSheet, first: int, last: int) -> None:
    """A native bar chart of the referral rate of each grassroots organisation, below the table."""
    chart = BarChart()
    chart.type = "bar"
    chart.style = 10
    chart.title = "Tỷ lệ giới thiệu theo tổ chức cơ sở đảng"
    chart.legend = None
    data = Reference(sheet.sheet, min_col=RATE_COLUMN, min_row=first - 1, max_row=last)
    names = Reference(sheet.sheet, min_col=2, min_row=first, max_row=last)
    chart.add_data(data, titles_from_data=True)
    # The names are text: a string reference, so that Excel labels the bars with them (set_categories would make a
    # number reference).
    chart.series[0].cat = AxDataSource(strRef=StrRef(f=str(names)))
    chart.y_axis.number_format = "0%"
    chart.y_axis.scaling.min = 0
    chart.y_axis.scaling.max = 1
    chart.x_axis.scaling.orientation = "maxMin"  # the first organisation at the top, as in the table
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.width = 24
    chart.height = max(7.5, 0.55 * (last - first + 1) + 3)
    sheet.sheet.add_chart(chart, f"B{sheet.next_row + 1}")


# -- Giới thiệu ----------------------------------------------------------------------------------------------------

REFERRAL_COLUMNS = [
    ("Số thẻ đảng viên", 14),
    ("Họ và tên", 28),
    ("Nơi sinh hoạt", 34),
    ("Tổ chức giới thiệu", 34),
    ("Số giấy giới thiệu", 14),
    ("Ngày giới thiệu", 12),
    ("Đảng ủy phường/xã tiếp nhận", 26),
    ("Ngày tiếp nhận", 12),
    ("Chi bộ khu phố/thôn", 26),
    ("Ngày phân công về chi bộ", 13),
    ("Ngày báo cáo với chi ủy", 13),
    ("Ngày kết thúc", 12),
    ("Lý do kết thúc", 18),
    ("Tình trạng", 26),
]


def referrals_of_year(organisation: Organisation, year: int, as_of: datetime.date):
    """Referrals of the subtree (issued by it, addressed to it, or of its members) active on some day of the year up
    to the as-of day: introduced on or before 31/12 (and the as-of day), not ended on or before 1/1 (a referral
    counts on a day when it had not ended on or before it)."""
    last = min(datetime.date(year, 12, 31), as_of)
    return (
        Referral.objects.filter(
            _under("issuing_organisation", organisation)
            | _under("receiving_ward", organisation)
            | _under("member__home_organisation", organisation)
        )
        .filter(introduced_on__lte=last)
        .filter(Q(ended_on__isnull=True) | Q(ended_on__gt=datetime.date(year, 1, 1)))
    )


def _seen(queryset, seen):
    """``queryset`` limited to the rows of ``seen`` (a queryset of the same model; None: no limit)."""
    return queryset if seen is None else queryset & seen


def _home_in_sight(sight: Sight | None, as_of: datetime.date):
    """The member's cell on the as-of day, named as it was then, for a reader who may open the member; blank for one
    the member has left (a member who moved to another workplace is no longer their old committee's to follow)."""
    then = (
        MemberHome.objects.filter(in_force_q(as_of), member=OuterRef("member"))
        # The member's homes never overlap; ordered by day alone: the model's ordering (by member) would join the
        # member and sort for every row.
        .order_by("started_on")
        .annotate(name_then=name_on_expression(as_of, "organisation__"))
        .values("name_then")[:1]
    )
    home = Coalesce(Subquery(then), F("member__home_organisation__name"))
    if sight is None:
        return home
    return Case(When(member__in=sight.members.values("pk"), then=home), default=Value(""), output_field=CharField())


def _cell_then(as_of: datetime.date) -> Coalesce:
    """The residential cell a referral was placed in on the as-of day (else the last one before it), named as then."""
    cell = (
        Placement.objects.filter(referral=OuterRef("pk"), started_on__lte=as_of)
        .order_by("-started_on")
        .annotate(name_then=name_on_expression(as_of, "residential_cell__"))
        .values("name_then")[:1]
    )
    return Coalesce(Subquery(cell), F("residential_cell__name"))


@dataclasses.dataclass(frozen=True)
class SheetRows:
    selected: QuerySet  # the sheet's rows as model rows (to count them for the progress)
    rows: QuerySet  # the values of each row, in the sheet's order
    with_ratings: bool = False


def _referral_rows(organisation: Organisation, year: int, as_of: datetime.date, sight: Sight | None) -> SheetRows:
    referrals = _seen(referrals_of_year(organisation, year, as_of), sight and sight.referrals)
    rows = (
        referrals.annotate(
            home=_home_in_sight(sight, as_of),
            issuer_then=name_on_expression(as_of, "issuing_organisation__"),
            ward_then=name_on_expression(as_of, "receiving_ward__"),
            cell_then=_cell_then(as_of),
        )
        .order_by("issuing_organisation__path", "member__search_name", "introduced_on", "pk")
        .values_list(
            "member__card_number",
            "member__full_name",
            "home",
            "issuer_then",
            "letter_number",
            "introduced_on",
            "ward_then",
            "received_on",
            "cell_then",
            "placed_on",
            "reported_on",
            "ended_on",
            "end_reason",
        )
    )
    return SheetRows(selected=referrals, rows=rows)


def _referrals_sheet(
    workbook,
    referrals: SheetRows,
    rows: Iterable[tuple],
    as_of: datetime.date,
    heading: str,
    progress: Progress | None = None,
) -> int:
    sheet = ContinuedSheet(
        workbook,
        title=REFERRALS,
        progress=progress,
        total=referrals.selected.count() if progress is not None else 0,
        heading=f"Giới thiệu sinh hoạt nơi cư trú — {heading}",
        headers=[header for header, _ in REFERRAL_COLUMNS],
        widths=[width for _, width in REFERRAL_COLUMNS],
    )
    # The labels translated once, not once per row.
    reasons = {value: str(label) for value, label in Referral.EndReason.choices}
    states = {value: str(label) for value, label in Referral.State.choices}
    for (
        card,
        name,
        home,
        issuer,
        letter,
        introduced,
        ward,
        received,
        cell,
        placed,
        reported,
        ended,
        reason,
    ) in rows:
        received, placed = _known(received, as_of), _known(placed, as_of)
        reported, ended = _known(reported, as_of), _known(ended, as_of)
        sheet.append(
            [
                card,
                name,
                home,
                issuer,
                letter,
                introduced,
                ward,
                received,
                cell if placed else None,
                placed,
                reported,
                ended,
                reasons.get(reason) if ended else None,
                states[_state(received, placed, reported, ended)],
            ]
        )
    return sheet.rows_written


def _state(received, placed, reported, ended) -> str:
    """``Referral.state_on`` from the dates known on the as-of day."""
    for day, state in [
        (ended, Referral.State.ENDED),
        (reported, Referral.State.REPORTED),
        (placed, Referral.State.PLACED),
        (received, Referral.State.RECEIVED),
    ]:
        if day is not None:
            return state
    return Referral.State.INTRODUCED


# -- Sinh hoạt -----------------------------------------------------------------------------------------------------

MEETING_COLUMNS = [
    ("Đảng ủy phường/xã", 26),
    ("Mã", 10),
    ("Chi bộ khu phố/thôn", 30),
    ("Kỳ sinh hoạt", 22),
    ("Đã sinh hoạt định kỳ", 12),
    ("Ngày sinh hoạt", 12),
    ("Số buổi sinh hoạt định kỳ", 12),
    ("Lượt phải dự", 11),
    ("Lượt có mặt", 11),
    ("Tỷ lệ dự sinh hoạt", 12),
]


def _half_years(year: int, as_of: datetime.date) -> list[HalfYear]:
    """The half-years of the year up to the as-of day (those ``figures.meetings`` counts)."""
    second = HalfYear(year, 2)
    return [HalfYear(year, 1)] + ([second] if as_of >= second.first_day else [])


def _attendance_by_meeting(meetings) -> dict[int, tuple[int, int]]:
    """Of ``meetings`` (periodic), each one's members expected and, of them, those marked present, as the sheets
    count them (``figures.with_expected_attendees``), in one grouped pass, as ``figures.meetings`` counts the whole
    organisation's; the counts per meeting in subqueries read the cell's placements twice for each meeting (4 s of
    the province root's workbook). A meeting where nobody was expected is left out."""
    expected, one_expected, is_present = figures.with_expected_attendees(meetings)
    counts = (
        expected.values("pk")
        .annotate(expected=Count(one_expected), present=Count(one_expected, filter=is_present))
        .values_list("pk", "expected", "present")
        .order_by()
    )
    return {pk: (expected, present) for pk, expected, present in counts}


@dataclasses.dataclass(frozen=True)
class CellMeetings:
    """The residential cells of the subtree that should have met in each half-year of the year up to the as-of day
    (existing at the half-year's end, or on the as-of day, as ``figures.meetings`` counts them), and their periodic
    meetings of the year held by the as-of day with the attendance the sheets count (of the members expected, those
    present). Two queries for the meetings (the meetings, and their attendance in one grouped pass) and one for the
    cells of each half-year: bounded by the number of cells, read once for the summary and the meetings sheet."""

    cells: dict[HalfYear, list[tuple]]  # half-year -> [(pk, path, ward_then, code, name_then)]
    held: dict[tuple[int, int], dict]  # (cell pk, half) -> {"first", "meetings", "expected", "present", "path"}

    @classmethod
    def read(cls, organisation: Organisation, year: int, as_of: datetime.date) -> "CellMeetings":
        held: dict[tuple[int, int], dict] = {}
        meetings = Meeting.objects.filter(
            _under("residential_cell", organisation), kind=Meeting.Kind.PERIODIC, year=year, held_on__lte=as_of
        )
        attendance = _attendance_by_meeting(meetings)
        periodic = meetings.values_list(
            "pk", "residential_cell_id", "residential_cell__path", "half", "held_on"
        ).order_by()
        for pk, cell_id, path, half, held_on in periodic:
            expected, present = attendance.get(pk, (0, 0))
            counts = held.setdefault(
                (cell_id, half), {"first": held_on, "meetings": 0, "expected": 0, "present": 0, "path": path}
            )
            counts["first"] = min(counts["first"], held_on)
            counts["meetings"] += 1
            counts["expected"] += expected
            counts["present"] += present
        cells = {
            half: list(
                Organisation.objects.subtree(organisation)
                .filter(kind=Organisation.Kind.RESIDENTIAL_CELL)
                .valid_on(min(half.last_day, as_of))
                .annotate(ward_then=name_on_expression(as_of, "parent__"), name_then=name_on_expression(as_of))
                .values_list("pk", "path", "ward_then", "code", "name_then")
            )
            for half in _half_years(year, as_of)
        }
        return cls(cells=cells, held=held)

    def by_row(self, paths, as_of: datetime.date) -> dict[str, figures.MeetingFigures]:
        """``figures.meetings`` of each organisation (by path) of a set none of which is under another (the rows of
        the summary), for the figures the summary shows: each cell and meeting counts under the row whose path is a
        prefix of its cell's. A row with no residential cell under it is left out."""
        rows = set(paths)

        def row_of(path: str) -> str | None:
            # Paths are steps of a fixed width ending in "/": the prefixes of a path are its first steps.
            for end in range(len(path)):
                if path[end] == "/" and path[: end + 1] in rows:
                    return path[: end + 1]
            return None

        due: dict[tuple[str, int], list[int]] = {}
        for half, cells in self.cells.items():
            for pk, path, *_ in cells:
                row = row_of(path)
                if row is not None:
                    counts = due.setdefault((row, half.half), [0, 0])
                    counts[0] += 1
                    counts[1] += (pk, half.half) in self.held
        attendance: dict[str, list[int]] = {}
        for counts in self.held.values():
            row = row_of(counts["path"])
            if row is not None:
                sums = attendance.setdefault(row, [0, 0])
                sums[0] += counts["expected"]
                sums[1] += counts["present"]
        result = {}
        for row in {row for row, _ in due} | set(attendance):
            expected, present = attendance.get(row, (0, 0))
            rate = None
            if expected:
                rate = (Decimal(100) * present / expected).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
            result[row] = figures.MeetingFigures(
                year=as_of.year,
                half_years=[
                    figures.HalfYearMeetings(
                        half_year=f"{half.year}-H{half.half}",
                        cells_due=due.get((row, half.half), (0, 0))[0],
                        cells_held=due.get((row, half.half), (0, 0))[1],
                    )
                    for half in self.cells
                ],
                attendance_expected=expected,
                attendance_present=present,
                attendance_rate=rate,
                irregular_attendees=0,  # not in the summary's rows (the total row's comes from the report)
            )
        return result


def _meetings_sheet(
    workbook, cell_meetings: CellMeetings, heading: str, sight: Sight | None, progress: Progress | None = None
) -> int:
    """Each residential cell that should have met in a half-year, whether it held a periodic meeting counting for the
    half-year, and the attendance at those meetings; only the cells the reader sees (one more query, bounded by the
    number of cells)."""
    sheet = ContinuedSheet(
        workbook,
        title=MEETINGS,
        progress=progress,
        heading=f"Sinh hoạt của chi bộ khu phố/thôn — {heading}",
        headers=[header for header, _ in MEETING_COLUMNS],
        widths=[width for _, width in MEETING_COLUMNS],
        number_formats={10: PERCENT},
    )
    seen = None if sight is None else set(sight.residential_cells.values_list("pk", flat=True))
    rows = []
    for half, cells in cell_meetings.cells.items():
        label = str(half)
        for pk, path, ward, code, name in cells:
            if seen is not None and pk not in seen:
                continue
            counts = cell_meetings.held.get((pk, half.half))
            if counts is None:
                values = [ward, code, name, label, NO, None, 0, 0, 0, None]
            else:
                expected, present = counts["expected"], counts["present"]
                rate = present / expected if expected else None
                values = [ward, code, name, label, YES, counts["first"], counts["meetings"], expected, present, rate]
            rows.append((path, half.half, values))
    # Bounded by the number of residential cells: sorted in memory, each cell with its half-years.
    for _, _, values in sorted(rows, key=lambda row: row[:2]):
        sheet.append(values)
    return sheet.rows_written


# -- Nhận xét ------------------------------------------------------------------------------------------------------

COMMENT_COLUMNS = [
    ("Số thẻ đảng viên", 14),
    ("Họ và tên", 28),
    ("Nơi sinh hoạt", 34),
    ("Chi bộ khu phố/thôn", 26),
    ("Đảng ủy phường/xã", 24),
    ("Nhận xét", 40),
    ("Ngày viết", 12),
    ("Ngày gửi", 12),
    ("Ngày nhận", 12),
    ("Gửi trễ hạn", 10),
    ("Xếp loại chất lượng", 24),
]


def _comment_rows(organisation: Organisation, year: int, as_of: datetime.date, sight: Sight | None) -> SheetRows:
    """Each comment of the year written by the as-of day, on a member of the subtree or by one of its cells, with
    the member's year-end rating where the reader sees it."""
    with_ratings = sight is None or sight.sees_ratings
    # One rating per member and year: no ordering (the model's joins the member for every row).
    ratings = YearEndRating.objects.filter(member=OuterRef("member"), year=year, decided_on__lte=as_of).order_by()
    if sight is not None:
        ratings = ratings.filter(member__in=sight.rated_members.values("pk")) if with_ratings else ratings.none()
    comments = _seen(
        ResidenceComment.objects.filter(
            _under("residential_cell", organisation) | _under("member__home_organisation", organisation),
            year=year,
            written_on__lte=as_of,
        ),
        sight and sight.comments,
    )
    rows = (
        comments.annotate(
            level=Subquery(ratings.values("level")[:1]),
            home=_home_in_sight(sight, as_of),
            cell_then=name_on_expression(as_of, "residential_cell__"),
            ward_then=name_on_expression(as_of, "residential_cell__parent__"),
        )
        .order_by("residential_cell__path", "member__search_name", "pk")
        .values_list(
            "member__card_number",
            "member__full_name",
            "home",
            "cell_then",
            "ward_then",
            "verdict",
            "written_on",
            "sent_on",
            "received_on",
            "level",
        )
    )
    return SheetRows(selected=comments, rows=rows, with_ratings=with_ratings)


def _comments_sheet(
    workbook,
    comments: SheetRows,
    rows: Iterable[tuple],
    year: int,
    as_of: datetime.date,
    deadline: datetime.date,
    heading: str,
    progress: Progress | None = None,
) -> int:
    columns = COMMENT_COLUMNS if comments.with_ratings else COMMENT_COLUMNS[:-1]
    verdicts = {value: str(label) for value, label in ResidenceComment.Verdict.choices}
    levels = {value: str(label) for value, label in YearEndRating.Level.choices}
    sheet = ContinuedSheet(
        workbook,
        title=COMMENTS,
        progress=progress,
        total=comments.selected.count() if progress is not None else 0,
        heading=f"Nhận xét năm {year} (hạn gửi {deadline:%d/%m/%Y}) — {heading}",
        headers=[header for header, _ in columns],
        widths=[width for _, width in columns],
    )
    for card, name, home, cell, ward, verdict, written, sent, received, rating in rows:
        sent, received = _known(sent, as_of), _known(received, as_of)
        late = YES if sent and sent > deadline else NO
        sheet.append(
            [
                card,
                name,
                home,
                cell,
                ward,
                verdicts.get(verdict, verdict),
                written,
                sent,
                received,
                late,
                levels.get(rating) if rating else None,
            ][: len(columns)]
        )
    return sheet.rows_written
