"""The yearly workbook's long sheets read ahead (issue 15): outside a transaction on PostgreSQL, a thread of its own
reads the rows of the referrals and the comments on its own connection while the figures are computed; the workbook
is the same as one read in place, its queries are counted by the caller's execute wrappers, and the thread stops
when the writing fails. Also the streamed sheet's reused cells: every kind of value, row after row, keeps its type and
style."""

import datetime
import io
import threading

import pytest
from django.db import connection
from django.db.models.expressions import RawSQL
from openpyxl import load_workbook

import reports.workbook
from dongha76.excel import DATE_FORMAT, StreamedSheet, new_write_only_workbook
from members.models import Referral, ResidenceComment
from reports.workbook import ReadAhead, write_workbook
from tests.factories import make_member, make_referral, make_tree

D = datetime.date
DAY = D(2018, 9, 30)
POSTGRESQL = connection.vendor == "postgresql"


def referred(tree, count: int) -> None:
    for n in range(count):
        member = make_member(tree.cell)
        make_referral(
            member,
            receiving_ward=tree.ward1,
            issuing_organisation=tree.committee,
            introduced_on=D(2018, 2, 1 + n),
            received_on=D(2018, 3, 1),
            residential_cell=tree.ward1_cell1,
            placed_on=D(2018, 3, 5),
        )
        ResidenceComment.objects.create(
            member=member,
            residential_cell=tree.ward1_cell1,
            year=2018,
            verdict=ResidenceComment.Verdict.GOOD,
            written_on=D(2018, 9, 1),
        )


def cells_of(content: bytes) -> dict[str, list[tuple]]:
    workbook = load_workbook(io.BytesIO(content))
    return {
        sheet.title: [tuple((cell.value, cell.number_format, cell.font.b) for cell in row) for row in sheet.iter_rows()]
        for sheet in workbook.worksheets
    }


def export(organisation) -> tuple[bytes, int]:
    """The workbook and the queries it ran, counted by an execute wrapper (on whichever connection)."""
    queries = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    buffer = io.BytesIO()
    with connection.execute_wrapper(count):
        write_workbook(organisation, 2018, DAY, buffer)
    return buffer.getvalue(), len(queries)


@pytest.mark.django_db(transaction=True)
def test_the_rows_read_ahead_make_the_same_workbook_as_those_read_in_place(monkeypatch):
    tree = make_tree()
    referred(tree, 5)
    threads = []
    started = threading.Thread.start

    def start(thread):
        threads.append(thread.name)
        started(thread)

    monkeypatch.setattr(threading.Thread, "start", start)
    export(tree.root)  # the figures of the summary counted and stored: both exports below read them back
    threads.clear()
    ahead, ahead_queries = export(tree.root)
    # Outside a transaction on PostgreSQL, one thread for each long sheet; on SQLite, read in place.
    assert threads == (["workbook-rows"] * 2 if POSTGRESQL else [])

    monkeypatch.setattr(ReadAhead, "__enter__", lambda self: self.queryset.iterator(chunk_size=reports.workbook.CHUNK))
    monkeypatch.setattr(ReadAhead, "__exit__", lambda self, *exc: None)
    in_place, in_place_queries = export(tree.root)
    assert cells_of(ahead) == cells_of(in_place)
    rows = cells_of(ahead)
    assert len(rows[reports.workbook.REFERRALS]) == 3 + 5 and len(rows[reports.workbook.COMMENTS]) == 3 + 5
    # The reading threads' queries are counted like the others.
    assert ahead_queries == in_place_queries


@pytest.mark.django_db
def test_inside_a_transaction_the_rows_are_read_in_place():
    make_tree()
    reader = ReadAhead(Referral.objects.values_list("pk"))
    assert not reader.threaded and reader.thread is None


@pytest.mark.skipif(not POSTGRESQL, reason="the rows are read ahead on PostgreSQL only")
@pytest.mark.django_db(transaction=True)
def test_the_reading_thread_stops_and_closes_its_connection_when_the_writing_fails(monkeypatch):
    tree = make_tree()
    referred(tree, 6)
    monkeypatch.setattr(reports.workbook, "CHUNK", 1)
    monkeypatch.setattr(reports.workbook, "READ_AHEAD_CHUNKS", 1)  # the thread waits with rows still to hand over
    reader = ReadAhead(Referral.objects.order_by("pk").values_list("pk", flat=True))
    with pytest.raises(RuntimeError), reader as rows:
        assert next(rows) == Referral.objects.order_by("pk").first().pk
        raise RuntimeError("the writing failed")
    reader.thread.join(timeout=10)
    assert not reader.thread.is_alive()


@pytest.mark.skipif(not POSTGRESQL, reason="the rows are read ahead on PostgreSQL only")
@pytest.mark.django_db(transaction=True)
def test_an_error_of_the_reading_thread_is_raised_where_the_rows_are_read():
    tree = make_tree()
    make_referral(make_member(tree.cell), receiving_ward=tree.ward1, introduced_on=D(2018, 2, 1))
    broken = Referral.objects.annotate(broken=RawSQL("1 / 0", [])).values_list("broken", flat=True)
    # Django's closing of the failed server-side cursor raises in place of the division's error (as when read in
    # place): either way, the database's error where the rows are read.
    with pytest.raises(Exception, match=r"division by zero|cursor .* does not exist"), ReadAhead(broken) as rows:
        list(rows)


# -- the streamed sheet's cells, reused row after row -----------------------------------------------------------------


def test_each_kind_of_value_keeps_its_type_and_style_row_after_row():
    workbook = new_write_only_workbook()
    sheet = StreamedSheet(
        workbook, title="T", heading="H", headers=["a", "b", "c"], widths=[10] * 3, number_formats={3: "0.0%"}
    )
    rows = [
        [D(2018, 1, 2), "=1+1", 0.5],
        ["text", "@x", 1],
        [3, None, True],
        [None, "plain", "not a number"],
        [D(2018, 3, 4), 7, 0.25],
    ]
    for row in rows:
        sheet.append(row)
    sheet.append(["total", D(2018, 5, 6), 0.75], bold=True)
    sheet.sheet.append(["openpyxl's own way", 2])  # the write-only sheet itself, values not bound by ``append``
    buffer = io.BytesIO()
    workbook.save(buffer)
    read = load_workbook(io.BytesIO(buffer.getvalue()))["T"]
    cells = [[read.cell(row=4 + r, column=c) for c in (1, 2, 3)] for r in range(7)]
    values = [[cell.value for cell in row] for row in cells]
    assert values == [
        [datetime.datetime(2018, 1, 2), "=1+1", 0.5],
        ["text", "@x", 1],
        [3, None, True],
        [None, "plain", "not a number"],
        [datetime.datetime(2018, 3, 4), 7, 0.25],
        ["total", datetime.datetime(2018, 5, 6), 0.75],
        ["openpyxl's own way", 2, None],
    ]
    formats = [[cell.number_format for cell in row] for row in cells]
    assert formats[0] == [DATE_FORMAT, "General", "0.0%"]
    assert formats[1] == ["General", "General", "0.0%"]
    assert formats[2] == ["General", "General", "General"]  # a boolean is not a share
    assert formats[3] == ["General", "General", "General"]
    assert formats[4] == [DATE_FORMAT, "General", "0.0%"]
    assert formats[5] == ["General", DATE_FORMAT, "0.0%"]
    # Formula-like texts stay texts, quoted; no other cell is.
    assert [cells[0][1].data_type, cells[1][1].data_type] == ["s", "s"]
    assert [[cell.quotePrefix for cell in row] for row in cells[:2]] == [[False, True, False], [False, True, False]]
    assert not any(cell.quotePrefix for row in cells[2:] for cell in row)
    assert [[bool(cell.font.b) for cell in row] for row in cells] == [[False] * 3] * 5 + [[True] * 3, [False] * 3]
