"""Import trust (issue 12) in a real browser: city staff upload a workbook that changes a recorded member and has one
problem, read the changes before → after, upload the fixed workbook from the same page, confirm it, then undo it from
the import's page; and the same change uploaded without the tick "update existing rows" is a problem.

At 390x844 (a phone: the page never scrolls sideways) and 1366x900. Selectors are the templates' ids and data
attributes; texts are the workbook's own values or the app's messages read through their msgids, so that the test
holds once they are translated.
"""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from playwright.sync_api import Page, expect

from members import services
from members.models import Member
from tests.e2e.conftest import PASSWORD, no_horizontal_scroll
from tests.factories import make_officer, make_tree, member_fields
from tests.workbooks.test_views import build_workbook, good_rows
from workbooks.importing.context import UPDATE_NOT_TICKED
from workbooks.models import WorkbookImport

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
WIDE = {"width": 1366, "height": 900}
Status = WorkbookImport.Status

OLD_NAME, NEW_NAME = "Lê Văn Cũ", "Lê Văn Mới"
OLD_BIRTH, NEW_BIRTH = datetime.date(1979, 4, 15), datetime.date(1979, 4, 16)


def vi(message, **values) -> str:
    """A message of the app as the Vietnamese page shows it (the English msgid until it is translated)."""
    with translation.override("vi"):
        text = gettext(str(message))
    return text % values if values else text


def member_row(member: Member, **changes) -> dict:
    """The recorded member's row of `Đảng viên`, as the export would write it, with ``changes``."""
    row = {
        "card_number": member.card_number,
        "full_name": member.full_name,
        "date_of_birth": member.date_of_birth.strftime("%d/%m/%Y"),
        "gender": "Nam",
        "admitted_on": member.admitted_on.strftime("%d/%m/%Y"),
        "home_organisation": member.home_organisation.code,
        "working": "x",
    }
    row.update(changes)
    return row


@pytest.fixture
def scenario(transactional_db, tmp_path):
    """A recorded member (written by the service, so it has history) in the committee's cell; a workbook that renames
    it and corrects its birthday, adds a new member, and (in the faulty one) puts that new member in no such cell."""
    tree = make_tree()
    staff = make_officer(tree.root, role="staff", username="vanphongthanhuy", password=PASSWORD)
    member = services.member_create(
        by=staff, **member_fields(tree.cell, card_number="46000001", full_name=OLD_NAME, date_of_birth=OLD_BIRTH)
    )
    assert member.history.count() == 1
    changed = member_row(member, full_name=NEW_NAME, date_of_birth=NEW_BIRTH.strftime("%d/%m/%Y"))
    new = good_rows(tree)["members"][1]  # Trần Thị Nhập, 45000002, of the committee's cell

    fixed = tmp_path / "cap-nhat.xlsx"
    fixed.write_bytes(build_workbook({"members": [changed, new]}))
    faulty = tmp_path / "cap-nhat-loi.xlsx"
    faulty.write_bytes(build_workbook({"members": [changed, {**new, "home_organisation": "KHONG-CO"}]}))
    return {"tree": tree, "staff": staff, "member": member, "new": new, "fixed": fixed, "faulty": faulty}


def upload(page: Page, path, *, tick: bool) -> None:
    form = page.locator("#upload-form")
    form.locator("input[type=file]").set_input_files(path)
    form.locator("#id_update_existing").set_checked(tick)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()


def detail_url(record: WorkbookImport):
    return re.compile(re.escape(reverse("workbooks:import-detail", args=[record.pk])) + "$")


def expect_diff(row, header: str, before: str, after: str) -> None:
    field = row.locator(".change-field").filter(has_text=header)
    expect(field).to_have_count(1)
    expect(field.locator("del")).to_have_text(before)
    expect(field.locator("ins")).to_have_text(after)


@pytest.mark.parametrize("viewport", [PHONE, WIDE], ids=["phone", "wide"])
def test_upload_read_the_diff_fix_confirm_undo(page_for, scenario, viewport):
    member = scenario["member"]
    page = page_for(scenario["staff"], viewport)
    page.goto(reverse("workbooks:import"))
    assert not page.locator("#id_update_existing").is_checked()  # off by default

    # a change and a problem: both listed, the change before → after, no way to confirm
    upload(page, scenario["faulty"], tick=True)
    record = WorkbookImport.objects.get()
    assert record.status == Status.REFUSED and record.update_existing
    expect(page).to_have_url(detail_url(record))
    expect(page.locator("#update-existing")).to_have_attribute("data-ticked", "yes")
    expect(page.locator("#refused-note")).to_be_visible()
    problems = page.locator('#changes-list [data-change="problem"]')
    expect(problems).to_have_count(1)
    expect(problems).to_have_attribute("data-row", "3")
    expect(problems.locator(".change-key")).to_have_text("45000002")  # a refused new row is still named by its key
    expect(problems.locator(".problem-message")).to_contain_text("KHONG-CO")
    expect(problems).to_contain_text("Mã chi bộ")
    update = page.locator('#changes-list [data-change="update"]')
    expect(update).to_have_count(1)
    expect(update).to_have_attribute("data-row", "2")
    expect(update.locator(".change-key")).to_have_text(member.card_number)
    expect_diff(update, "Họ và tên", OLD_NAME, NEW_NAME)
    expect_diff(update, "Ngày sinh", "15/04/1979", "16/04/1979")
    expect(page.locator("#confirm-form")).to_have_count(0)
    expect(page.locator("#confirm-button")).to_have_count(0)
    expect(page.locator("#errors-download")).to_be_visible()
    assert no_horizontal_scroll(page)
    member.refresh_from_db()
    assert (member.full_name, member.date_of_birth) == (OLD_NAME, OLD_BIRTH)

    # the fixed workbook, from the same page (the form keeps the tick): the diff again, the counts on the button
    expect(page.locator("#upload-again #id_update_existing")).to_be_checked()
    upload(page, scenario["fixed"], tick=True)
    record = WorkbookImport.objects.latest("pk")
    assert record.status == Status.CHECKED, record.problems
    expect(page).to_have_url(detail_url(record))
    expect(page.locator('#changes-list [data-change="problem"]')).to_have_count(0)
    expect(page.locator('#changes-list [data-change="create"]')).to_have_count(1)
    update = page.locator('#changes-list [data-change="update"]')
    expect(update).to_have_count(1)
    expect_diff(update, "Họ và tên", OLD_NAME, NEW_NAME)
    expect_diff(update, "Ngày sinh", "15/04/1979", "16/04/1979")
    confirm = page.locator("#confirm-button")
    expect(confirm).to_be_visible()
    expect(confirm).to_have_text(vi("Confirm: create %(created)s, update %(updated)s", created=1, updated=1))
    expect(page.locator('#import-counts tr[data-sheet="Đảng viên"] [data-count=update]')).to_have_text("1")
    assert no_horizontal_scroll(page)

    with page.expect_navigation():
        confirm.click()
    expect(page.locator(".alert-success").first).to_contain_text("cap-nhat.xlsx")
    expect(page.locator("#imported-at")).to_be_visible()
    expect(page.locator("#confirm-form")).to_have_count(0)
    assert no_horizontal_scroll(page)
    member.refresh_from_db()
    assert (member.full_name, member.date_of_birth) == (NEW_NAME, NEW_BIRTH)
    assert Member.objects.filter(card_number=scenario["new"]["card_number"]).exists()

    # undo from the import's page: the button opens the confirmation, a second click undoes
    undo_form = page.locator("#undo-form")
    expect(undo_form).to_be_hidden()
    page.locator("#undo-confirm > summary").click()
    expect(undo_form).to_be_visible()
    assert no_horizontal_scroll(page)
    with page.expect_navigation():
        undo_form.locator("button[type=submit]").click()
    expect(page).to_have_url(detail_url(record))
    expect(page.locator(".alert-success").first).to_have_text(
        vi("The import of “%(name)s” was undone.", name="cap-nhat.xlsx")
    )
    expect(page.locator("#undone-note")).to_be_visible()
    expect(page.locator("#undo")).to_have_count(0)
    assert no_horizontal_scroll(page)

    record.refresh_from_db()
    assert record.status == Status.UNDONE
    member.refresh_from_db()
    assert (member.full_name, member.date_of_birth) == (OLD_NAME, OLD_BIRTH)
    assert not Member.objects.filter(card_number=scenario["new"]["card_number"]).exists()
    # created, updated by the import, put back by the undo: the latest record holds the former values
    assert [(h.history_type, h.full_name) for h in member.history.order_by("history_id")] == [
        ("+", OLD_NAME),
        ("~", NEW_NAME),
        ("~", OLD_NAME),
    ]


def test_the_same_change_without_the_tick_is_a_problem(page_for, scenario):
    member = scenario["member"]
    page = page_for(scenario["staff"], PHONE)
    page.goto(reverse("workbooks:import"))

    upload(page, scenario["fixed"], tick=False)
    record = WorkbookImport.objects.get()
    assert record.status == Status.REFUSED and not record.update_existing
    expect(page).to_have_url(detail_url(record))
    expect(page.locator("#update-existing")).to_have_attribute("data-ticked", "no")
    # the recorded member's row is the problem, still with the change it would make; the new member is no problem
    problem = page.locator('#changes-list [data-change="problem"]')
    expect(problem).to_have_count(1)
    expect(problem).to_have_attribute("data-row", "2")
    expect(problem.locator(".problem-message")).to_have_text(vi(UPDATE_NOT_TICKED))
    expect_diff(problem, "Họ và tên", OLD_NAME, NEW_NAME)
    expect(page.locator('#changes-list [data-change="update"]')).to_have_count(0)
    expect(page.locator("#confirm-form")).to_have_count(0)
    expect(page.locator("#upload-again #id_update_existing")).not_to_be_checked()
    assert no_horizontal_scroll(page)
    member.refresh_from_db()
    assert member.full_name == OLD_NAME
