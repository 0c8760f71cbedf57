"""The workbook import in a real browser: city staff upload a workbook with two mistakes, see them in the preview,
upload the fixed file from the same page, see what the import will do, confirm it, and the members are there.

On a desktop and on a phone (390 px: every table scrolls inside its box, never the page). Selectors are the
templates' ids and data attributes; texts are the file's own values, which no translation changes.
"""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from members.models import Member, Referral
from tests.e2e.conftest import DESKTOP, PASSWORD, PHONE, no_horizontal_scroll
from tests.factories import make_officer, make_tree
from tests.workbooks.test_views import build_workbook, good_rows
from workbooks.models import WorkbookImport

pytestmark = pytest.mark.e2e


@pytest.fixture
def scenario(transactional_db, tmp_path):
    tree = make_tree()
    rows = good_rows(tree)
    fixed = tmp_path / "so-dang-vien.xlsx"
    fixed.write_bytes(build_workbook(rows))
    rows["members"][0]["date_of_birth"] = "31/02/1980"  # no such day
    rows["members"][1]["home_organisation"] = "KHONG-CO"  # no such cell
    faulty = tmp_path / "so-dang-vien-loi.xlsx"
    faulty.write_bytes(build_workbook(rows))
    return {
        "tree": tree,
        "city": make_officer(tree.root, role="staff", username="vanphongthanhuy", password=PASSWORD),
        "faulty": faulty,
        "fixed": fixed,
    }


def upload(page: Page, path) -> None:
    form = page.locator("#upload-form")
    form.locator("input[type=file]").set_input_files(path)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_city_staff_fix_a_workbook_and_import_it(page_for, scenario, viewport):
    page = page_for(scenario["city"], viewport)
    if viewport is PHONE:
        page.locator(".navbar-toggler").click()
        # Bootstrap slides the menu open ("collapsing", then "show"): a click on "More" during the slide can be lost.
        expect(page.locator(".navbar-collapse")).to_have_class(re.compile(r"\bshow\b"))
    page.locator("#nav-more").click()  # the city staff's pages are under "More"
    expect(page.locator("#nav-import")).to_be_visible()
    page.locator("#nav-import").click()
    expect(page).to_have_url(re.compile(re.escape(reverse("workbooks:import")) + "$"))
    expect(page.locator("#template-link")).to_be_visible()
    expect(page.locator("#columns-link")).to_be_visible()

    # the workbook with two mistakes: both listed, nothing written
    upload(page, scenario["faulty"])
    record = WorkbookImport.objects.get()
    expect(page).to_have_url(re.compile(re.escape(reverse("workbooks:import-detail", args=[record.pk])) + "$"))
    problems = page.locator('#changes-list [data-change="problem"]')
    expect(problems).to_have_count(3)
    expect(problems.nth(0)).to_contain_text("31/02/1980")
    expect(problems.nth(0)).to_contain_text("Ngày sinh")
    expect(problems.nth(1)).to_contain_text("KHONG-CO")
    expect(problems.nth(1)).to_contain_text("Mã chi bộ")
    # the referral of the refused member is not silently skipped
    expect(problems.nth(2)).to_have_attribute("data-sheet", "referrals")
    expect(page.locator("#errors-download")).to_be_visible()
    expect(page.locator("#confirm-form")).to_have_count(0)
    assert no_horizontal_scroll(page)
    assert not Member.objects.filter(card_number__startswith="45").exists()

    # the fixed workbook, from the same page: the counts, then the import
    upload(page, scenario["fixed"])
    record = WorkbookImport.objects.latest("pk")
    assert record.status == WorkbookImport.Status.CHECKED
    expect(page).to_have_url(re.compile(re.escape(reverse("workbooks:import-detail", args=[record.pk])) + "$"))
    expect(page.locator('#changes-list [data-change="problem"]')).to_have_count(0)
    expect(page.locator('#changes-list [data-change="create"]')).to_have_count(4)
    expect(page.locator("#confirm-button")).to_contain_text("4")
    counts = page.locator("#import-counts")
    expect(counts.locator('tr[data-sheet="Tổ chức"] [data-count=create]')).to_have_text("1")
    expect(counts.locator('tr[data-sheet="Đảng viên"] [data-count=create]')).to_have_text("2")
    expect(counts.locator('tr[data-sheet="Giới thiệu"] [data-count=create]')).to_have_text("1")
    assert no_horizontal_scroll(page)
    assert not Member.objects.filter(card_number__startswith="45").exists()

    with page.expect_navigation():
        page.locator("#confirm-form button[type=submit]").click()
    expect(page.locator(".alert-success").first).to_contain_text("so-dang-vien.xlsx")
    expect(page.locator("#imported-at")).to_be_visible()
    expect(page.locator("#confirm-form")).to_have_count(0)
    assert no_horizontal_scroll(page)

    assert set(Member.objects.filter(card_number__startswith="45").values_list("full_name", flat=True)) == {
        "Nguyễn Văn Nhập",
        "Trần Thị Nhập",
    }
    referral = Referral.objects.get(member__card_number="45000001")
    assert referral.residential_cell.code == "P1-KP9"
    assert referral.receiving_ward == scenario["tree"].ward1
