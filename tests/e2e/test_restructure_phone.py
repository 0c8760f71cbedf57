"""Issue 15 on a 360 px phone: city staff pick the organisations of a merge among many, by searching.

The merge form lists no organisation: a search box fills tick boxes with the matches, a second search keeps the
boxes already ticked, the target is picked with the single search picker; the preview follows. Without JavaScript a
typed term comes back with its matches to tick. Factory data with ``ORGANISATION_OPTIONS_SHOWN`` small, so that the
search is what the province's city staff get; selectors are ids, names and data attributes, not texts.
"""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from branches.models import Organisation
from tests.e2e.conftest import PASSWORD, no_horizontal_scroll
from tests.e2e.test_phone_forms import SMALL_PHONE, assert_accessible, in_reach
from tests.factories import make_officer, make_organisation, make_tree

pytestmark = pytest.mark.e2e

Kind = Organisation.Kind
SHOWN = 5
MERGE = reverse("restructures:restructure-new", args=["merge"])


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
    return {"tree": tree, "cells": cells, "city": make_officer(tree.root, role="staff", password=PASSWORD)}


def test_city_staff_search_and_tick_the_organisations_of_a_merge_on_a_phone(page_for, scenario):
    cells = scenario["cells"]
    kept, merged = cells[1], cells[6]
    page = page_for(scenario["city"], viewport=SMALL_PHONE)
    page.goto(MERGE)
    boxes = page.locator("#id_codes_list input[type=checkbox]")
    expect(boxes).to_have_count(0)  # no organisation listed before a search
    assert no_horizontal_scroll(page), "the merge form scrolls sideways on a 360 px phone"
    in_reach(page, "#id_codes_term")
    assert_accessible(page)

    search = page.locator("#id_codes_term")
    search.press_sequentially("dân phố 0", delay=30)
    expect(boxes).to_have_count(SHOWN)  # the matches, capped
    expect(page.locator("#id_codes_found")).to_contain_text(str(SHOWN))
    page.locator(f"#id_codes_list input[value={kept.code}]").check()
    assert no_horizontal_scroll(page)
    in_reach(page, f"#id_codes_list input[value={kept.code}]")

    # a second search: the ticked box stays, first, with the new match
    search.fill("")
    search.press_sequentially(merged.code, delay=30)
    expect(boxes).to_have_count(2)
    expect(page.locator(f"#id_codes_list input[value={kept.code}]")).to_be_checked()
    page.locator(f"#id_codes_list input[value={merged.code}]").check()

    # the target, with the single picker: its code typed, the one match comes chosen
    page.locator("#id_into_term").press_sequentially(kept.code, delay=30)
    expect(page.locator("#id_into")).to_have_value(kept.code)
    assert_accessible(page)
    with page.expect_navigation():
        page.locator("#restructure-preview-button").click()

    expect(page.locator("#preview-problems")).to_have_count(0)
    expect(page.locator(f'#preview-ending [data-code="{merged.code}"]')).to_be_visible()
    expect(page.locator(f'#preview-ending [data-code="{kept.code}"]')).to_have_count(0)
    assert no_horizontal_scroll(page)
    assert Organisation.objects.get(pk=merged.pk).valid_to is None  # the preview writes nothing


def test_without_javascript_a_typed_term_comes_back_with_its_matches_to_tick(browser, live_server, scenario):
    cells = scenario["cells"]
    context = browser.new_context(base_url=live_server.url, viewport=SMALL_PHONE, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto("/accounts/login/")
        page.locator("#id_username").fill(scenario["city"].get_username())
        page.locator("#id_password").fill(PASSWORD)
        with page.expect_navigation():
            page.locator("main form[action$='/accounts/login/'] button[type=submit]").click()
        page.goto(MERGE)
        page.locator("#id_codes_term").fill("dân phố 0")
        page.locator("#id_new_code").fill("P1-MOI")
        page.locator("#id_new_name").fill("Chi bộ Tổ dân phố Mới")
        with page.expect_navigation():
            page.locator("#restructure-preview-button").click()
        boxes = page.locator("#id_codes_list input[type=checkbox]")
        expect(boxes).to_have_count(SHOWN)
        expect(page.locator("#id_new_name")).to_have_value("Chi bộ Tổ dân phố Mới")
        assert no_horizontal_scroll(page)
        for cell in cells[2:4]:
            page.locator(f"#id_codes_list input[value={cell.code}]").check()
        with page.expect_navigation():
            page.locator("#restructure-preview-button").click()
        expect(page.locator("#preview-problems")).to_have_count(0)
        for cell in cells[2:4]:
            expect(page.locator(f'#preview-ending [data-code="{cell.code}"]')).to_have_count(1)
    finally:
        context.close()
