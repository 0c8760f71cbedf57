"""The progress of a large check or import (issue 12, "Progress"): the import reports it, a thread checks or imports a
large upload after the request while its page polls a progress bar, a record left behind by a dead worker shows as
interrupted, and the command draws a bar on a terminal only."""

import datetime
import io
import itertools
import threading
import time

import pytest
from django.contrib.messages import get_messages
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

import workbooks.services
from members.models import Member
from tests.factories import make_officer, make_tree
from tests.workbooks.books import (
    MEMBERS,
    NOT_XLSX,
    ORGS,
    REFERRALS,
    member_row,
    member_sheet,
    org_row,
    org_sheet,
    referral_row,
    referral_sheet,
    workbook,
)
from tests.workbooks.test_views import build_workbook, client_for, good_rows, upload
from workbooks import jobs
from workbooks.importing import import_workbook
from workbooks.models import WorkbookImport

Status = WorkbookImport.Status
HX = {"HX-Request": "true"}


def progress_url(record) -> str:
    return reverse("workbooks:import-progress", args=[record.pk])


def detail_url(record) -> str:
    return reverse("workbooks:import-detail", args=[record.pk])


def label(step: str, *, importing: bool = False) -> str:
    with translation.override("vi"):  # what the pages show (tests/conftest.py)
        return jobs.step_label(step, importing=importing)


def interrupted(status) -> str:
    with translation.override("vi"):
        return str(jobs.INTERRUPTED[status])


def wait_until(condition, what: str, timeout: float = 30) -> None:
    """Wait for another thread to get somewhere (not a measure of time: the timeout only stops a stuck test)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.02)


def good_book(tree) -> io.BytesIO:
    return workbook(
        {
            ORGS: org_sheet(org_row("KP9", "Chi bộ Khu phố 9", "residential_cell", tree.ward1.code)),
            MEMBERS: member_sheet(member_row("45012345", tree.cell.code), member_row("45012346", "KP9", working=None)),
            REFERRALS: referral_sheet(
                referral_row("45012345", tree.ward1.code, introduced="01/03/2018", received="05/03/2018", cell="KP9")
            ),
        }
    )


# -- the import reports its progress -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_import_reports_each_sheet_then_finishing_out_of_every_row():
    tree = make_tree()
    calls = []
    result = import_workbook(good_book(tree), by=None, dry_run=True, progress=lambda *call: calls.append(call))
    assert result.ok
    steps = [step for step, _group in itertools.groupby(step for step, _done, _total in calls)]
    assert steps == ["organisations", "members", "referrals", "finishing"]
    assert all(total == 4 for _step, _done, total in calls)  # 1 organisation, 2 members, 1 referral
    done = [done for _step, done, _total in calls]
    assert done == sorted(done) and done[-2:] == [4, 4]  # each sheet counts once read, checked and written
    assert ("members", 3, 4) in calls  # the members written: 1 organisation and 2 members of 4 rows


@pytest.mark.django_db
def test_a_long_workbook_reports_its_reading_against_the_rows_it_claims():
    tree = make_tree()
    rows = [member_row(f"4601{n:04d}", tree.cell.code) for n in range(1200)]
    calls = []
    book = workbook({MEMBERS: member_sheet(*rows)})
    import_workbook(book, by=None, dry_run=True, progress=lambda *call: calls.append(call))
    reading = [(done, total) for step, done, total in calls if step == "reading"]
    assert reading == [(500, 1201), (1000, 1201)]  # the sheet's <dimension> claims 1,201 rows with the headers
    checking = [(done, total) for step, done, total in calls if step == "members"]
    assert checking[0] == (0, 1200) and checking[-1] == (1200, 1200)
    assert (400, 1200) in checking  # the values of every row read: a third of the work on them
    assert all(b[0] > a[0] for a, b in itertools.pairwise(checking))
    assert len(checking) < 20  # now and then, not a call a row


# -- the progress page -----------------------------------------------------------------------------------------------


@pytest.fixture
def tree():
    return make_tree()


def running(by, *, status=Status.CHECKING, progress=None, **fields) -> WorkbookImport:
    progress = progress if progress is not None else jobs.progress_value("members", 400, 1000)
    return WorkbookImport.objects.create(
        uploaded_by=by, file_name="lon.xlsx", status=status, content=b"PK", progress=progress, **fields
    )


@pytest.mark.django_db
def test_the_page_of_a_workbook_being_checked_polls_an_accessible_progress_bar(tree):
    ward = make_officer(tree.ward1)
    record = running(ward)
    client = client_for(ward)
    page = client.get(detail_url(record)).content.decode()
    assert 'id="import-progress"' in page
    assert f'hx-get="{progress_url(record)}"' in page and 'hx-trigger="every 1s"' in page
    assert '<meta http-equiv="refresh"' in page  # without JavaScript, the page reloads itself
    response = client.get(progress_url(record), headers=HX)
    assert response.status_code == 200
    part = response.content.decode()
    assert 'role="progressbar"' in part and 'aria-valuenow="40"' in part
    assert "import-progress-40" in part  # the bar's width: a class, the CSP allows no inline style
    assert label("members") in part
    assert 'hx-trigger="every 1s"' in part  # the answer keeps polling
    assert "HX-Refresh" not in response


@pytest.mark.django_db
def test_an_import_shows_its_own_step_and_an_unknown_total_a_moving_bar(tree):
    ward = make_officer(tree.ward1)
    importing = running(ward, status=Status.IMPORTING, progress=jobs.progress_value("referrals", 10, 20))
    part = client_for(ward).get(progress_url(importing), headers=HX).content.decode()
    assert label("referrals", importing=True) in part and label("referrals") not in part
    reading = running(ward, progress=jobs.progress_value("reading", 1500, 0))
    part = client_for(ward).get(progress_url(reading), headers=HX).content.decode()
    assert label("reading") in part
    assert "progress-bar-animated" in part and "aria-valuenow" not in part


@pytest.mark.django_db
def test_a_finished_workbook_tells_the_page_to_reload(tree):
    ward = make_officer(tree.ward1)
    record = running(ward)
    client = client_for(ward)
    assert client.get(progress_url(record), headers=HX).headers.get("HX-Refresh") is None
    WorkbookImport.objects.filter(pk=record.pk).update(status=Status.CHECKED, progress={})
    response = client.get(progress_url(record), headers=HX)
    assert response.status_code == 200 and response["HX-Refresh"] == "true"
    assert 'id="import-progress"' not in client.get(detail_url(record)).content.decode()


@pytest.mark.django_db
def test_the_progress_is_seen_by_those_who_see_the_record_only(tree):
    ward = make_officer(tree.ward1)
    record = running(ward)
    assert client_for(make_officer(tree.root, role="staff")).get(progress_url(record), headers=HX).status_code == 200
    for outsider in (
        make_officer(tree.ward2),  # another importer
        make_officer(tree.committee, role="staff"),
        make_officer(tree.root, role="viewer"),  # city staff who do not write
        make_officer(tree.ward1_cell1),  # may not import at all
    ):
        client = client_for(outsider)
        assert client.get(progress_url(record), headers=HX).status_code == 404
        assert client.get(progress_url(record)).status_code == 404
    assert client_for(ward).post(progress_url(record), headers=HX).status_code == 405


# -- a record left behind by a worker that died ----------------------------------------------------------------------


def moved_ago(record, minutes: int) -> None:
    at = timezone.now() - datetime.timedelta(minutes=minutes)
    WorkbookImport.objects.filter(pk=record.pk).update(progress={**record.progress, "at": at.isoformat()})


@pytest.mark.django_db
def test_a_check_without_progress_for_fifteen_minutes_shows_as_interrupted(tree):
    ward = make_officer(tree.ward1)
    stuck, slow = running(ward), running(ward)
    moved_ago(stuck, 16)
    moved_ago(slow, 14)
    client = client_for(ward)
    page = client.get(detail_url(stuck)).content.decode()
    assert interrupted(Status.CHECKING) in page
    assert 'id="import-progress"' not in page and 'id="errors-download"' not in page
    stuck.refresh_from_db()
    assert stuck.status == Status.REFUSED and stuck.content == b"" and stuck.progress == {}
    assert stuck.problems == [{"sheet": "", "row": None, "column": "", "message": interrupted(Status.CHECKING)}]
    assert 'id="import-progress"' in client.get(detail_url(slow)).content.decode()
    slow.refresh_from_db()
    assert slow.status == Status.CHECKING


@pytest.mark.django_db
def test_an_import_never_started_shows_as_interrupted_when_polled(tree):
    ward = make_officer(tree.ward1)
    record = running(ward, status=Status.IMPORTING, progress={})  # no progress at all: since its upload
    WorkbookImport.objects.filter(pk=record.pk).update(uploaded_at=timezone.now() - datetime.timedelta(minutes=20))
    response = client_for(ward).get(progress_url(record), headers=HX)
    assert response["HX-Refresh"] == "true"
    record.refresh_from_db()
    assert record.status == Status.REFUSED
    assert record.problems[0]["message"] == interrupted(Status.IMPORTING)


# -- the background path, for real: a thread against the database ---------------------------------------------------


class Spy:
    """``import_workbook`` as the service calls it, run for real, noting the thread it runs in; ``hold`` keeps it
    waiting (after a first report of progress) until ``release``; ``fail`` makes it raise."""

    def __init__(self, monkeypatch, *, hold: bool = False, fail: bool = False):
        self.real = workbooks.services.import_workbook
        self.threads: list[str] = []
        self.held = threading.Event()
        self.released = threading.Event()
        self.hold, self.fail = hold, fail
        monkeypatch.setattr(workbooks.services, "import_workbook", self)

    def __call__(self, *args, progress=None, **kwargs):
        self.threads.append(threading.current_thread().name)
        if self.fail:
            raise RuntimeError("a bug")
        if self.hold:
            progress("members", 1, 4)
            self.held.set()
            assert self.released.wait(30)
        return self.real(*args, progress=progress, **kwargs)

    def release(self):
        self.released.set()


@pytest.fixture
def background(settings):
    settings.WORKBOOK_BACKGROUND_BYTES = 0
    yield
    jobs.join_all(timeout=60)


@pytest.mark.django_db(transaction=True)
def test_a_large_upload_is_checked_in_a_thread_while_its_page_shows_the_progress(background, monkeypatch):
    tree = make_tree()
    city = make_officer(tree.root, role="staff")
    client = client_for(city)
    spy = Spy(monkeypatch, hold=True)
    response = upload(client, build_workbook(good_rows(tree)))
    record = WorkbookImport.objects.get()
    assert response.status_code == 302 and response.url == detail_url(record)
    assert spy.held.wait(30)
    try:
        assert spy.threads == [f"workbook-checking-{record.pk}"]  # not the request's
        record.refresh_from_db()
        assert record.status == Status.CHECKING and bytes(record.content)  # the file is kept for the job
        wait_until(lambda: WorkbookImport.objects.get().progress.get("step") == "members", "the progress written")
        assert 'id="import-progress"' in client.get(detail_url(record)).content.decode()
        part = client.get(progress_url(record), headers=HX).content.decode()
        assert label("members") in part and 'aria-valuenow="25"' in part
    finally:
        spy.release()
    jobs.join_all(timeout=60)
    record.refresh_from_db()
    assert record.status == Status.CHECKED and record.progress == {}
    assert record.counts["members"]["create"] == 2
    assert not Member.objects.filter(card_number__in=["45000001", "45000002"]).exists()  # a check writes nothing
    assert client.get(progress_url(record), headers=HX)["HX-Refresh"] == "true"
    page = client.get(detail_url(record)).content.decode()
    assert 'id="confirm-form"' in page and 'id="import-progress"' not in page


@pytest.mark.django_db(transaction=True)
def test_a_small_upload_is_checked_within_the_request_and_a_large_one_imported_in_a_thread(settings, monkeypatch):
    tree = make_tree()
    city = make_officer(tree.root, role="staff")
    client = client_for(city)
    spy = Spy(monkeypatch)
    upload(client, build_workbook(good_rows(tree)))
    record = WorkbookImport.objects.get()
    assert record.status == Status.CHECKED  # at once: smaller than WORKBOOK_BACKGROUND_BYTES
    assert spy.threads == [threading.current_thread().name]
    settings.WORKBOOK_BACKGROUND_BYTES = 0
    try:
        response = client.post(reverse("workbooks:import-confirm", args=[record.pk]))
        assert response.status_code == 302 and response.url == detail_url(record)
        again = client.post(reverse("workbooks:import-confirm", args=[record.pk]))  # a second click: not twice
    finally:
        jobs.join_all(timeout=60)
    assert spy.threads[1:] == [f"workbook-importing-{record.pk}"]  # once, in a thread
    messages = [str(message) for message in get_messages(again.wsgi_request)]
    record.refresh_from_db()
    assert record.status == Status.IMPORTED and record.imported_at is not None and record.progress == {}
    members = Member.objects.filter(card_number__in=["45000001", "45000002"])
    assert members.count() == 2
    assert {row.history_user_id for row in Member.history.filter(card_number__in=["45000001", "45000002"])} == {city.pk}
    with translation.override("vi"):  # the second click came while the import ran or after it: refused either way
        assert messages == [gettext("This workbook is not ready to import: upload it again.")]


@pytest.mark.django_db(transaction=True)
def test_a_large_file_that_is_no_workbook_is_refused_at_once_without_a_thread(background, monkeypatch):
    tree = make_tree()
    client = client_for(make_officer(tree.root, role="staff"))
    spy = Spy(monkeypatch)
    upload(client, b"not a zip " * 10_000, name="so-lon.xlsx")
    record = WorkbookImport.objects.get()
    assert record.status == Status.REFUSED and record.content == b""
    with translation.override("vi"):
        assert record.problems[0]["message"] == gettext(NOT_XLSX)
    jobs.join_all(timeout=60)
    assert spy.threads == []


@pytest.mark.django_db(transaction=True)
def test_a_job_that_breaks_leaves_the_record_interrupted_not_hanging(background, monkeypatch, caplog):
    tree = make_tree()
    client = client_for(make_officer(tree.root, role="staff"))
    Spy(monkeypatch, fail=True)
    upload(client, build_workbook(good_rows(tree)))
    jobs.join_all(timeout=60)
    record = WorkbookImport.objects.get()
    assert record.status == Status.REFUSED and record.content == b""
    assert record.problems[0]["message"] == interrupted(Status.CHECKING)
    assert "A workbook checking failed" in caplog.text
    assert client.get(progress_url(record), headers=HX)["HX-Refresh"] == "true"


@pytest.mark.django_db(transaction=True)
def test_a_job_that_breaks_stops_writing_its_progress_before_it_is_marked_interrupted(background, monkeypatch):
    """On SQLite the progress writer's last write and the interruption's met once under load ("database table is
    locked"), and the record stayed "checking": the writer is stopped before the record is marked."""
    tree = make_tree()
    client = client_for(make_officer(tree.root, role="staff"))
    Spy(monkeypatch, fail=True)
    writers_alive: list[list[str]] = []
    real_interrupt = jobs._interrupt

    def interrupt(pk, status, **kwargs):
        writers_alive.append([t.name for t in threading.enumerate() if t.name.startswith("workbook-progress-")])
        return real_interrupt(pk, status, **kwargs)

    monkeypatch.setattr(jobs, "_interrupt", interrupt)
    upload(client, build_workbook(good_rows(tree)))
    jobs.join_all(timeout=60)
    assert writers_alive == [[]]
    assert WorkbookImport.objects.get().status == Status.REFUSED


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_the_progress_of_an_import_is_seen_while_its_transaction_is_open(background, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite holds the whole database while the import writes")
    tree = make_tree()
    city = make_officer(tree.root, role="staff")
    client = client_for(city)
    reached, released = threading.Event(), threading.Event()
    real = workbooks.services.import_workbook

    def held_in_the_referrals(*args, progress, **kwargs):
        def report(step, done, total):
            progress(step, done, total)
            if step == "referrals" and not reached.is_set():  # organisations and members already written
                reached.set()
                assert released.wait(30)

        return real(*args, progress=report, **kwargs)

    monkeypatch.setattr(workbooks.services, "import_workbook", held_in_the_referrals)
    upload(client, build_workbook(good_rows(tree)))
    record = WorkbookImport.objects.get()
    try:
        assert reached.wait(30)
        wait_until(lambda: WorkbookImport.objects.get().progress.get("step") == "referrals", "the progress written")
        part = client.get(progress_url(record), headers=HX).content.decode()
        assert label("referrals") in part
    finally:
        released.set()
    jobs.join_all(timeout=60)
    record.refresh_from_db()
    assert record.status == Status.CHECKED


# -- the command's bar -----------------------------------------------------------------------------------------------


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def run_command(tmp_path, book: io.BytesIO, out: io.StringIO) -> str:
    path = tmp_path / "so-lieu.xlsx"
    path.write_bytes(book.getvalue())
    call_command("import_workbook", str(path), "--dry-run", stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.mark.django_db
def test_the_command_draws_a_bar_on_a_terminal(tmp_path, tree):
    text = run_command(tmp_path, good_book(tree), Terminal())
    assert "\r" in text
    assert f"\r{label('members')} [" in text
    assert "100% 4/4" in text and "#" * 30 in text
    assert text.index("\r\x1b[K") < text.index("Đảng viên: 2 rows")  # the bar is erased before the counts


@pytest.mark.django_db
def test_the_command_prints_plain_lines_to_a_file_or_a_pipe(tmp_path, tree):
    text = run_command(tmp_path, good_book(tree), io.StringIO())
    assert "\r" not in text and "\x1b" not in text and "[" not in text
    assert "Đảng viên: 2 rows" in text
