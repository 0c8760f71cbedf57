"""``manage.py purge_uploads``: the uploaded workbooks (they hold national IDs) are deleted after 7 days by the
command, and only by it; the record of who imported what stays, and a purged record's errors workbook or
confirmation is refused cleanly."""

import datetime
import io

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from members.models import Member
from tests.factories import make_officer, make_tree
from tests.workbooks.books import MEMBERS, member_row, member_sheet, workbook
from workbooks.models import WorkbookImport

pytestmark = pytest.mark.django_db

Status = WorkbookImport.Status
PROBLEMS = [{"sheet": "Đảng viên", "row": 2, "column": "Ngày sinh", "message": "sai"}]


@pytest.fixture
def tree():
    return make_tree()


@pytest.fixture
def city(tree):
    return make_officer(tree.root, role="staff")


@pytest.fixture
def city_client(city):
    client = Client()
    client.force_login(city)
    return client


def uploaded(by, *, days_ago: float, content: bytes = b"PK file with national IDs", **fields) -> WorkbookImport:
    fields.setdefault("status", Status.REFUSED)
    fields.setdefault("problems", PROBLEMS)
    record = WorkbookImport.objects.create(
        uploaded_by=by, file_name=f"{days_ago}-ngay.xlsx", size=len(content), content=content, **fields
    )
    WorkbookImport.objects.filter(pk=record.pk).update(uploaded_at=timezone.now() - datetime.timedelta(days=days_ago))
    record.refresh_from_db()
    return record


def purge(*args) -> str:
    out = io.StringIO()
    call_command("purge_uploads", *args, stdout=out)
    return out.getvalue()


def test_a_file_of_8_days_is_emptied_one_of_6_days_is_kept_and_the_records_stay(city):
    old = uploaded(city, days_ago=8, counts={"members": {"rows": 3}})
    recent = uploaded(city, days_ago=6)
    already = uploaded(city, days_ago=30, content=b"")

    output = purge()

    assert output.startswith("Purged 1 uploaded file(s) older than 7 day(s)")
    old.refresh_from_db()
    recent.refresh_from_db()
    assert bytes(old.content) == b""
    assert bytes(recent.content) == b"PK file with national IDs"
    # the record of who imported what, when and with what result stays
    assert WorkbookImport.objects.count() == 3
    assert (old.uploaded_by, old.file_name, old.status, old.problems, old.counts) == (
        city,
        "8-ngay.xlsx",
        Status.REFUSED,
        PROBLEMS,
        {"members": {"rows": 3}},
    )
    assert old.size == len(b"PK file with national IDs")
    already.refresh_from_db()
    assert bytes(already.content) == b""

    assert purge().startswith("Purged 0 uploaded file(s)")


def test_days_changes_the_age_and_dry_run_changes_nothing(city):
    records = [uploaded(city, days_ago=days) for days in (2, 4, 6)]

    assert purge("--days", "3", "--dry-run").startswith("Would purge 2 uploaded file(s) older than 3 day(s)")
    assert all(bytes(WorkbookImport.objects.get(pk=r.pk).content) for r in records)

    assert purge("--days", "3").startswith("Purged 2 uploaded file(s) older than 3 day(s)")
    assert [bool(WorkbookImport.objects.get(pk=r.pk).content) for r in records] == [True, False, False]


def test_days_must_not_be_negative(city):
    uploaded(city, days_ago=1)
    with pytest.raises(CommandError, match="--days must be 0 or more"):
        purge("--days", "-1")
    assert WorkbookImport.objects.exclude(content=b"").count() == 1


def test_the_errors_workbook_of_a_purged_record_is_404_and_its_page_still_opens(city, city_client):
    record = uploaded(city, days_ago=8)
    errors_url = reverse("workbooks:import-errors", args=[record.pk])
    assert errors_url in city_client.get(reverse("workbooks:import-detail", args=[record.pk])).content.decode()

    purge()

    assert city_client.get(errors_url).status_code == 404
    response = city_client.get(reverse("workbooks:import-detail", args=[record.pk]))
    assert response.status_code == 200
    text = response.content.decode()
    assert errors_url not in text
    assert "sai" in text  # the problems are still listed


def test_a_checked_workbook_purged_before_its_confirmation_is_refused_cleanly(tree, city, city_client):
    content = workbook({MEMBERS: member_sheet(member_row("45012345", tree.cell.code))}).getvalue()
    response = city_client.post(reverse("workbooks:import"), {"file": SimpleUploadedFile("so.xlsx", content)})
    record = WorkbookImport.objects.get()
    assert record.status == Status.CHECKED
    WorkbookImport.objects.filter(pk=record.pk).update(uploaded_at=timezone.now() - datetime.timedelta(days=8))

    purge()

    assert reverse("workbooks:import-confirm", args=[record.pk]) not in city_client.get(response.url).content.decode()
    response = city_client.post(reverse("workbooks:import-confirm", args=[record.pk]))
    assert response.status_code == 302
    assert [str(message) for message in get_messages(response.wsgi_request)] == [
        gettext("This workbook is not ready to import: upload it again.")
    ]
    assert not Member.objects.filter(card_number="45012345").exists()


def test_an_upload_no_longer_purges_the_old_files(tree, city, city_client):
    """Purging is the command's job only: uploading leaves another record's file alone, whatever its age."""
    old = uploaded(city, days_ago=30)
    content = workbook({MEMBERS: member_sheet(member_row("45012345", tree.cell.code))}).getvalue()

    city_client.post(reverse("workbooks:import"), {"file": SimpleUploadedFile("so.xlsx", content)})

    old.refresh_from_db()
    assert bytes(old.content) == b"PK file with national IDs"
