"""The yearly workbook of a large subtree (issue 15): written by a background job with its progress on a page, stored
for the user who asked, downloaded by that user alone while the organisation is in their scope, expiring; a sheet
longer than Excel's rows goes on in a second sheet; the summary's queries do not grow with its rows."""

import datetime
import io
import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

import reports.workbook
from audit.models import AccessLog
from branches.models import Organisation
from members.models import Meeting, ResidenceComment
from reports.workbook import COMMENTS, MEETINGS, REFERRALS, SUMMARY, TOTAL_LABEL, write_workbook
from tests.factories import make_member, make_officer, make_organisation, make_referral, make_tree
from workbooks import exports, jobs
from workbooks.models import ReportExport, ReportExportChunk

D = datetime.date
DAY = D(2018, 9, 30)
HX = {"HX-Request": "true"}
Status = ReportExport.Status


def export_rows(organisation, **kwargs):
    buffer = io.BytesIO()
    written = write_workbook(organisation, 2018, DAY, buffer, **kwargs)
    return load_workbook(io.BytesIO(buffer.getvalue())), written


def referred(tree, count: int, ward=None):
    for _ in range(count):
        member = make_member(tree.cell)
        make_referral(member, receiving_ward=ward or tree.ward1, introduced_on=D(2018, 2, 1))


# -- a sheet longer than Excel's --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_sheet_longer_than_the_limit_goes_on_in_a_second_sheet_with_the_same_headers(monkeypatch):
    tree = make_tree()
    referred(tree, 7)
    monkeypatch.setattr(reports.workbook, "MAX_SHEET_ROWS", 3 + 4)  # title, groups, headers and 4 rows a sheet
    workbook, written = export_rows(tree.root)
    # the meetings (four cells by two half-years) go on too
    assert workbook.sheetnames == [SUMMARY, REFERRALS, f"{REFERRALS} (2)", MEETINGS, f"{MEETINGS} (2)", COMMENTS]
    first, second = workbook[REFERRALS], workbook[f"{REFERRALS} (2)"]
    assert first.max_row == 7 and second.max_row == 3 + 3
    assert [c.value for c in second[3]] == [c.value for c in first[3]]
    assert "tiếp theo 2" in second["A1"].value
    assert written.rows[REFERRALS] == 7  # the rows of the referrals, across their sheets
    cards = [row[0] for sheet in (first, second) for row in sheet.iter_rows(min_row=4, values_only=True)]
    assert len(cards) == len(set(cards)) == 7


# -- the summary: a fixed number of queries -----------------------------------------------------------------------


@pytest.mark.django_db
def test_the_summary_asks_the_same_number_of_queries_whatever_its_rows():
    tree = make_tree()

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            write_workbook(tree.root, 2018, DAY, io.BytesIO())
        return len(captured.captured_queries)

    few = queries()
    for _ in range(4):  # more wards, each with a residential cell that met: more rows with meetings
        ward = make_organisation(kind=Organisation.Kind.WARD, parent=tree.root)
        cell = make_organisation(kind=Organisation.Kind.RESIDENTIAL_CELL, parent=ward)
        Meeting.objects.create(
            residential_cell=cell, kind=Meeting.Kind.PERIODIC, year=2018, half=1, held_on=D(2018, 3, 1)
        )
    assert queries() == few


@pytest.mark.django_db
def test_the_summary_rows_meetings_are_those_of_figures_meetings_for_each_row():
    """The meetings of each row, added up from the cells read once, equal ``figures.meetings`` of the row."""
    from reports import figures

    tree = make_tree()
    Meeting.objects.create(
        residential_cell=tree.ward1_cell1, kind=Meeting.Kind.PERIODIC, year=2018, half=1, held_on=D(2018, 3, 1)
    )
    cell_meetings = reports.workbook.CellMeetings.read(tree.root, 2018, DAY)
    rows = figures.summary_rows(tree.root, 2018, DAY)
    grassroots = {o.code: o for o in Organisation.objects.filter(code__in=[row.figures.code for row in rows])}
    by_row = cell_meetings.by_row([o.path for o in grassroots.values()], DAY)
    assert by_row  # the wards have residential cells
    for code, organisation in grassroots.items():
        expected = figures.meetings(organisation, DAY)
        got = by_row.get(organisation.path) or reports.workbook._no_meetings(DAY)
        assert [(h.cells_due, h.cells_held) for h in got.half_years] == [
            (h.cells_due, h.cells_held) for h in expected.half_years
        ], code
        assert (got.attendance_expected, got.attendance_present, got.attendance_rate) == (
            expected.attendance_expected,
            expected.attendance_present,
            expected.attendance_rate,
        ), code


@pytest.mark.django_db
def test_the_progress_is_told_each_sheet_and_its_rows_out_of_its_total(monkeypatch):
    tree = make_tree()
    referred(tree, 5)
    monkeypatch.setattr(reports.workbook, "PROGRESS_ROWS", 2)
    steps = []
    write_workbook(tree.root, 2018, DAY, io.BytesIO(), progress=lambda *step: steps.append(step))
    assert steps[0] == (SUMMARY, 0, 0)
    assert (REFERRALS, 0, 5) in steps and (REFERRALS, 4, 5) in steps
    assert (COMMENTS, 0, ResidenceComment.objects.count()) in steps
    assert [step[0] for step in steps][-1] in (MEETINGS, COMMENTS)


# -- the job ------------------------------------------------------------------------------------------------------


def workbook_url(organisation, **params):
    query = "&".join(f"{k}={v}" for k, v in {"org": organisation.code, "year": "2018", **params}.items())
    return f"{reverse('reports:workbook')}?{query}"


def page_url(export):
    return reverse("workbooks:report-export", args=[export.pk])


def progress_url(export):
    return reverse("workbooks:report-export-progress", args=[export.pk])


def download_url(export):
    return reverse("workbooks:report-export-download", args=[export.pk])


@pytest.fixture
def background(settings):
    settings.YEARLY_WORKBOOK_BACKGROUND_ORGANISATIONS = 3
    yield
    jobs.join_all(timeout=60)


@pytest.mark.django_db
def test_a_small_subtree_still_downloads_at_once(client, settings):
    settings.YEARLY_WORKBOOK_BACKGROUND_ORGANISATIONS = 1000
    tree = make_tree()
    client.force_login(make_officer(tree.root, role="staff"))
    response = client.get(workbook_url(tree.root, as_of="2018-09-30"))
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    assert not ReportExport.objects.exists()


@pytest.mark.django_db
def test_a_large_subtree_shows_a_page_that_prepares_it_and_a_get_starts_nothing(client, background):
    tree = make_tree()
    client.force_login(make_officer(tree.root, role="staff"))
    page = client.get(workbook_url(tree.root, as_of="2018-09-30"))
    assert page.status_code == 200 and 'id="workbook-prepare"' in page.content.decode()
    assert not ReportExport.objects.exists()


class Hold:
    """``write_workbook`` as the job calls it, run for real after a first report of progress, held until released."""

    def __init__(self, monkeypatch):
        self.real = reports.workbook.write_workbook
        self.held, self.released, self.threads = threading.Event(), threading.Event(), []
        monkeypatch.setattr(reports.workbook, "write_workbook", self)

    def __call__(self, *args, progress=None, **kwargs):
        self.threads.append(threading.current_thread().name)
        progress(REFERRALS, 1, 4)
        self.held.set()
        assert self.released.wait(30)
        return self.real(*args, progress=progress, **kwargs)


def wait_until(condition, what: str, seconds: float = 20):
    deadline = timezone.now() + datetime.timedelta(seconds=seconds)
    while timezone.now() < deadline:
        if condition():
            return
        threading.Event().wait(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.django_db(transaction=True)
def test_the_job_writes_the_workbook_in_a_thread_shows_its_progress_and_serves_it_to_the_user(
    client, background, monkeypatch
):
    tree = make_tree()
    referred(tree, 3)
    staff = make_officer(tree.root, role="staff")
    client.force_login(staff)
    hold = Hold(monkeypatch)
    response = client.post(workbook_url(tree.root, as_of="2018-09-30"))
    export = ReportExport.objects.get()
    assert response.status_code == 302 and response.url == page_url(export)
    assert hold.held.wait(30)
    try:
        assert hold.threads == [f"report-export-{export.pk}"]  # not the request's
        wait_until(lambda: ReportExport.objects.get().progress.get("done") == 1, "the progress written")
        page = client.get(page_url(export)).content.decode()
        assert 'id="workbook-progress"' in page and 'aria-valuenow="25"' in page and REFERRALS in page
        assert client.get(download_url(export)).status_code == 404  # not ready yet
        # a second submit while it runs starts nothing more
        assert client.post(workbook_url(tree.root, as_of="2018-09-30")).url == page_url(export)
        assert ReportExport.objects.count() == 1
    finally:
        hold.released.set()
    jobs.join_all(timeout=60)
    export.refresh_from_db()
    assert export.status == Status.READY and export.progress == {} and export.rows == 3
    assert client.get(progress_url(export), headers=HX)["HX-Refresh"] == "true"
    assert 'id="workbook-download"' in client.get(page_url(export)).content.decode()
    response = client.get(download_url(export))
    content = b"".join(response.streaming_content)
    assert response.status_code == 200 and len(content) == export.size == int(response["Content-Length"])
    assert "attachment" in response["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(content))
    assert workbook[REFERRALS].max_row == 3 + 3
    assert TOTAL_LABEL in [row[1] for row in workbook[SUMMARY].iter_rows(min_row=4, values_only=True)]
    assert AccessLog.objects.filter(kind=AccessLog.Kind.YEARLY_WORKBOOK, user=staff, rows=3).count() == 1


@pytest.mark.django_db
def test_the_stored_workbook_is_the_requesting_users_within_their_scope_until_it_expires(client):
    tree = make_tree()
    staff = make_officer(tree.root, role="staff")
    other_staff = make_officer(tree.root, role="staff")
    export = ReportExport.objects.create(
        requested_by=staff,
        organisation=tree.ward1,
        year=2018,
        as_of=DAY,
        status=Status.READY,
        size=3,
        expires_at=timezone.now() + datetime.timedelta(hours=1),
    )
    ReportExportChunk.objects.create(export=export, index=0, data=b"ab")
    ReportExportChunk.objects.create(export=export, index=1, data=b"c")
    client.force_login(staff)
    assert b"".join(client.get(download_url(export)).streaming_content) == b"abc"
    client.force_login(other_staff)  # the same scope, not the one who asked
    for url in (page_url(export), progress_url(export), download_url(export)):
        assert client.get(url).status_code == 404
    # the one who asked, once the organisation is out of their scope (now a ward officer elsewhere)
    ward_officer = make_officer(tree.ward2, role="secretary")
    export.requested_by = ward_officer
    export.save()
    client.force_login(ward_officer)
    assert client.get(download_url(export)).status_code == 404
    export.requested_by = staff
    export.expires_at = timezone.now() - datetime.timedelta(seconds=1)
    export.save()
    client.force_login(staff)
    assert client.get(download_url(export)).status_code == 404
    assert exports.purge_expired() == (1, 3)
    assert not ReportExport.objects.exists() and not ReportExportChunk.objects.exists()


@pytest.mark.django_db
def test_a_job_whose_worker_died_shows_as_failed(client):
    tree = make_tree()
    staff = make_officer(tree.root, role="staff")
    stale = (timezone.now() - jobs.STALE_AFTER - datetime.timedelta(seconds=1)).isoformat()
    export = ReportExport.objects.create(
        requested_by=staff,
        organisation=tree.root,
        year=2018,
        as_of=DAY,
        progress={"step": REFERRALS, "done": 1, "total": 2, "at": stale},
        expires_at=timezone.now() + datetime.timedelta(hours=1),
    )
    client.force_login(staff)
    assert 'id="workbook-failed"' in client.get(page_url(export)).content.decode()
    assert ReportExport.objects.get().status == Status.FAILED


@pytest.mark.django_db(transaction=True)
def test_a_job_that_breaks_is_failed_not_hanging(client, background, monkeypatch, caplog):
    tree = make_tree()
    client.force_login(make_officer(tree.root, role="staff"))

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(reports.workbook, "write_workbook", broken)
    client.post(workbook_url(tree.root))
    jobs.join_all(timeout=60)
    export = ReportExport.objects.get()
    assert export.status == Status.FAILED and not export.chunks.exists()
    assert "report workbook failed" in caplog.text


@pytest.mark.django_db
def test_purge_uploads_deletes_the_expired_report_workbooks_only():
    from django.core.management import call_command

    tree = make_tree()
    staff = make_officer(tree.root, role="staff")
    now = timezone.now()
    for expires_at in (now - datetime.timedelta(minutes=1), now + datetime.timedelta(hours=1)):
        export = ReportExport.objects.create(
            requested_by=staff,
            organisation=tree.root,
            year=2018,
            as_of=DAY,
            status=Status.READY,
            size=2,
            expires_at=expires_at,
        )
        ReportExportChunk.objects.create(export=export, index=0, data=b"ab")
    out = io.StringIO()
    call_command("purge_uploads", "--dry-run", stdout=out)
    assert "1 expired report workbook(s)" in out.getvalue() and ReportExport.objects.count() == 2
    call_command("purge_uploads", stdout=out)
    assert list(ReportExport.objects.values_list("expires_at", flat=True)) == [now + datetime.timedelta(hours=1)]
    assert ReportExportChunk.objects.count() == 1
