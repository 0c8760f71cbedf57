"""Issue 15 on a 360 px phone: a form's choice among many organisations is a search box (typed, picked, saved), and
the newest pages (API tokens, the yearly workbook's background export, the list filters' organisation search) fit
the screen with their controls in reach and no serious accessibility violation (axe-core).

Selectors are ids, names and URLs, not texts (the Vietnamese catalogue is filled after the screens).
"""

import datetime

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from branches.models import Organisation
from members.models import Member
from tests.e2e.conftest import PASSWORD, no_horizontal_scroll
from tests.factories import make_officer, make_organisation, make_tree
from workbooks.models import ReportExport

pytestmark = pytest.mark.e2e

SMALL_PHONE = {"width": 360, "height": 740}
Kind = Organisation.Kind
SHOWN = 5


@pytest.fixture
def scenario(transactional_db, settings):
    settings.ORGANISATION_OPTIONS_SHOWN = SHOWN  # the live server runs in this process: it sees the setting
    tree = make_tree()
    cells = [
        make_organisation(
            kind=Kind.RESIDENTIAL_CELL, parent=tree.ward1, name=f"Chi bộ Tổ dân phố {n:02d}", code=f"P1T{n:02d}"
        )
        for n in range(SHOWN + 3)
    ]
    for n in range(55):  # more than a list filter shows (members.filters.OPTIONS_SHOWN)
        make_organisation(kind=Kind.COMMITTEE, parent=tree.root, name=f"Đảng bộ Xã {n:03d}", code=f"XA{n:03d}")
    return {"tree": tree, "cells": cells, "city": make_officer(tree.root, role="staff", password=PASSWORD)}


def in_reach(page: Page, selector: str) -> None:
    """The control is on the page, inside the width of the screen (no sideways scroll needed to reach it)."""
    box = page.locator(selector).first.bounding_box()
    assert box is not None, f"{selector} is not shown"
    assert box["x"] >= 0 and box["x"] + box["width"] <= SMALL_PHONE["width"], f"{selector} is off the screen: {box}"


def assert_accessible(page: Page) -> None:
    violations = Axe().run(page).response["violations"]
    blocking = [
        f"{v['id']} ({v['impact']}): {[(n['target'], n.get('failureSummary', '')) for n in v['nodes'][:5]]}"
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]
    assert not blocking, f"{page.url}: " + "; ".join(blocking)


def test_city_staff_searches_picks_and_saves_a_home_cell_on_a_phone(page_for, scenario):
    page = page_for(scenario["city"], viewport=SMALL_PHONE)
    page.goto(reverse("members:member-create"))
    expect(page.locator("#id_home_organisation option")).to_have_count(1)  # no cell listed before a search
    assert no_horizontal_scroll(page), "the member form scrolls sideways on a 360 px phone"
    in_reach(page, "#id_home_organisation_term")
    assert_accessible(page)

    page.locator("#id_card_number").fill("80001234")
    page.locator("#id_full_name").fill("Nguyễn Thị Lan")
    page.locator("#id_date_of_birth").fill("15/04/1985")
    page.locator("#id_gender").select_option("female")
    page.locator("#id_admitted_on").fill("19/05/2010")

    search = page.locator("#id_home_organisation_term")
    search.press_sequentially("dân phố 0", delay=30)
    expect(page.locator("#id_home_organisation option")).to_have_count(SHOWN + 1)  # the empty choice and matches
    search.fill("")
    search.press_sequentially("P1T04", delay=30)
    chosen = scenario["cells"][4]
    expect(page.locator("#id_home_organisation option")).to_have_count(2)
    expect(page.locator("#id_home_organisation")).to_have_value(str(chosen.pk))  # a single match comes chosen
    expect(page.locator("#id_home_organisation_found")).to_contain_text("1")
    assert no_horizontal_scroll(page)

    with page.expect_navigation():
        page.locator("#member-form button[type=submit]").click()
    member = Member.objects.get(card_number="80001234")
    assert member.home_organisation == chosen
    assert page.url.endswith(reverse("members:member-detail", args=[member.pk]))


def test_the_member_lists_organisation_search_fits_a_phone(page_for, scenario):
    page = page_for(scenario["city"], viewport=SMALL_PHONE)
    page.goto(reverse("members:member-list"))
    box = page.locator("#div_id_organisation input[name=term][form=organisation-search-box]")
    if not box.is_visible():  # the filters may sit in a collapsed panel on a phone
        page.locator("[data-bs-toggle=collapse][aria-controls], [data-bs-toggle=offcanvas]").first.click()
    expect(box).to_be_visible()
    in_reach(page, "#div_id_organisation input[name=term]")
    box.press_sequentially("Xã 01", delay=30)
    expect(page.locator("#id_organisation option")).to_have_count(11)  # the empty choice and Xã 010 to 019
    assert no_horizontal_scroll(page), "the member list's filters scroll sideways on a 360 px phone"
    in_reach(page, "#id_organisation")
    assert_accessible(page)


def test_api_tokens_fit_a_phone(page_for, scenario):
    page = page_for(scenario["city"], viewport=SMALL_PHONE)
    page.goto("/accounts/api-tokens/")
    assert no_horizontal_scroll(page), "the API tokens page scrolls sideways on a 360 px phone"
    page.locator("#api-token-form input[name=name]").fill("Hệ thống cơ sở dữ liệu đảng viên quốc gia")
    with page.expect_navigation():
        page.locator("#api-token-issue").click()
    expect(page.locator("#api-token-key")).to_be_visible()
    assert no_horizontal_scroll(page), "the issued key makes the page scroll sideways on a 360 px phone"
    for control in ("#api-token-key", "#api-token-issue", "#api-token-list button[type=submit]"):
        in_reach(page, control)
    assert_accessible(page)


def test_the_workbook_export_pages_fit_a_phone(page_for, scenario):
    city, root = scenario["city"], scenario["tree"].root
    export = ReportExport.objects.create(
        requested_by=city,
        organisation=root,
        year=2024,
        as_of=datetime.date(2024, 12, 31),
        expires_at=timezone.now() + datetime.timedelta(days=1),
        progress={"step": "Biểu 01", "done": 1234, "total": 56789},
    )
    page = page_for(city, viewport=SMALL_PHONE)
    page.goto(reverse("workbooks:report-export", args=[export.pk]))
    expect(page.locator("#workbook-progress")).to_be_visible()
    assert no_horizontal_scroll(page), "the export's progress scrolls sideways on a 360 px phone"
    assert_accessible(page)

    ReportExport.objects.filter(pk=export.pk).update(
        status=ReportExport.Status.READY, size=1_234_567, finished_at=timezone.now()
    )
    page.reload()
    expect(page.locator("#workbook-download")).to_be_visible()
    assert no_horizontal_scroll(page), "the ready workbook's page scrolls sideways on a 360 px phone"
    in_reach(page, "#workbook-download")
    assert_accessible(page)


def test_without_javascript_the_typed_term_lists_the_matches_then_saves(browser, live_server, scenario):
    """No JavaScript: the search box is sent with the form; several matches come back as the select's options (the
    other fields kept), one chosen saves."""
    context = browser.new_context(base_url=live_server.url, viewport=SMALL_PHONE, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto("/accounts/login/")
        page.locator("#id_username").fill(scenario["city"].get_username())
        page.locator("#id_password").fill(PASSWORD)
        with page.expect_navigation():
            page.locator("main form[action$='/accounts/login/'] button[type=submit]").click()
        page.goto(reverse("members:member-create"))
        page.locator("#id_card_number").fill("80001235")
        page.locator("#id_full_name").fill("Trần Văn Hải")
        page.locator("#id_date_of_birth").fill("01/02/1980")
        page.locator("#id_gender").select_option("male")
        page.locator("#id_admitted_on").fill("03/02/2005")
        page.locator("#id_home_organisation_term").fill("dân phố 0")
        with page.expect_navigation():
            page.locator("#member-form button[type=submit]").click()
        expect(page.locator("#id_home_organisation option")).to_have_count(SHOWN + 1)
        expect(page.locator("#id_full_name")).to_have_value("Trần Văn Hải")
        assert no_horizontal_scroll(page)
        chosen = scenario["cells"][2]
        page.locator("#id_home_organisation").select_option(str(chosen.pk))
        with page.expect_navigation():
            page.locator("#member-form button[type=submit]").click()
        assert Member.objects.get(card_number="80001235").home_organisation == chosen
    finally:
        context.close()
