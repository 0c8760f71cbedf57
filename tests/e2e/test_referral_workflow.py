"""The referral workflow in a real browser, as the three people who share it see it (issue 3's acceptance test).

A workplace cadre introduces a member and prints the letter; the ward secretary, on a phone, receives the referral
from the to-do list and places the member in a residential cell; the cell's secretary sees the member in the cell.
Only the setup writes to the database; every step after it goes through the pages.

Selectors are the templates' ids and URLs rather than button texts: the Vietnamese catalogue is filled after the
screens, and the test must not depend on when.
"""

import re

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.e2e.conftest import DESKTOP, PASSWORD, PHONE, no_horizontal_scroll
from tests.factories import make_member, make_officer, make_tree

pytestmark = pytest.mark.e2e


@pytest.fixture
def scenario(transactional_db):
    tree = make_tree()
    member = make_member(tree.cell, full_name="Lê Thị Hồng Nhung", residential_address="12 Lê Lợi, Phường 1")
    make_member(tree.cell, full_name="Trần Văn Bình")  # so that the search has something to leave out
    return {
        "tree": tree,
        "member": member,
        "cadre": make_officer(tree.committee, role="staff", username="canbo", password=PASSWORD),
        "ward_secretary": make_officer(tree.ward1, role="secretary", username="bithuphuong", password=PASSWORD),
        "cell_secretary": make_officer(tree.ward1_cell1, role="secretary", username="bithukhupho", password=PASSWORD),
    }


def _path(page: Page) -> str:
    return re.sub(r"^https?://[^/]+", "", page.url)


def _referral_pk(page: Page) -> int:
    match = re.fullmatch(r"/referrals/(\d+)/", _path(page))
    assert match, f"expected a referral's detail page, got {page.url}"
    return int(match.group(1))


def introduce_and_print(page: Page, scenario) -> int:
    """The workplace cadre finds the member, introduces them to ward 1, and prints the letter."""
    tree, member = scenario["tree"], scenario["member"]
    today = timezone.localdate().strftime("%d/%m/%Y")

    page.goto(reverse("members:member-list"))
    page.locator("#member-filter #id_q").fill("le thi hong")  # without accents, as people type on a phone
    with page.expect_navigation():
        page.locator("#member-filter button[type=submit]").click()
    table = page.locator("main table")
    expect(table.get_by_role("link", name=member.full_name)).to_be_visible()
    expect(table).not_to_contain_text("Trần Văn Bình")
    table.get_by_role("link", name=member.full_name).click()
    expect(page).to_have_url(re.compile(re.escape(reverse("members:member-detail", args=[member.pk])) + "$"))
    expect(page.locator("#member-name")).to_have_text(member.full_name)

    page.locator("#member-introduce-link").click()
    expect(page).to_have_url(re.compile(re.escape(reverse("members:referral-introduce", args=[member.pk])) + "$"))
    form = page.locator("#introduce-form")
    form.locator("#id_receiving_ward").select_option(str(tree.ward1.pk))
    letter_number = form.locator("#id_letter_number").input_value()
    assert letter_number, "the letter number is suggested from the organisation's yearly sequence"
    expect(form.locator("#id_introduced_on")).to_have_value(today)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()

    referral_pk = _referral_pk(page)
    expect(page.locator("#referral-steps")).to_contain_text(tree.ward1.name)
    expect(page.locator("#referral-steps")).to_contain_text(letter_number)

    page.locator(f"#referral-actions a[href='{reverse('members:referral-letter', args=[referral_pk])}']").click()
    letter = page.locator("#letter")
    expect(letter).to_contain_text(member.full_name)
    expect(letter).to_contain_text(tree.ward1.name)
    expect(letter).to_contain_text(letter_number)
    expect(letter).to_contain_text(member.card_number)
    slip = page.locator("#return-slip")
    expect(slip).to_be_visible()
    expect(slip).to_contain_text(member.full_name)
    expect(slip).to_contain_text(tree.ward1.name)

    page.emulate_media(media="print")
    expect(page.locator("nav.navbar")).to_be_hidden()
    expect(page.locator("#print-letter")).to_be_hidden()
    expect(slip).to_be_visible()
    page.emulate_media(media="screen")
    expect(page.locator("nav.navbar")).to_be_visible()
    return referral_pk


def receive_and_place(page: Page, scenario, referral_pk: int) -> None:
    """The ward secretary, on a phone: receive from the to-do list, then place the member in a residential cell."""
    tree, member = scenario["tree"], scenario["member"]
    today = timezone.localdate().strftime("%d/%m/%Y")

    page.goto(reverse("home"))
    row = page.locator(f"#receivable [data-referral='{referral_pk}']")
    expect(row).to_contain_text(member.full_name)
    expect(row).to_contain_text(tree.committee.name)
    assert no_horizontal_scroll(page), "the home page scrolls sideways on a 390 px wide phone"
    with page.expect_navigation():
        row.locator(f"form[action='{reverse('members:referral-receive', args=[referral_pk])}'] button").click()
    expect(page).to_have_url(re.compile(re.escape(reverse("home")) + "$"))
    expect(page.locator(f"#receivable [data-referral='{referral_pk}']")).to_have_count(0)
    expect(page.locator("#content .alert-success")).to_contain_text(member.full_name)

    # The to-do count "received, not yet placed" leads to the list, and the list to the referral.
    awaiting = page.locator("[data-todo='awaiting_placement']")
    expect(awaiting.locator(".badge")).to_have_text("1")
    awaiting.click()
    expect(page).to_have_url(re.compile(re.escape(reverse("members:referral-list")) + r"\?state=awaiting_placement$"))
    page.locator("main table").get_by_role("link", name=member.full_name).click()
    expect(page).to_have_url(re.compile(re.escape(reverse("members:referral-detail", args=[referral_pk])) + "$"))
    expect(page.locator("#referral-steps")).to_contain_text(today)

    page.locator(f"#referral-actions a[href='{reverse('members:referral-place', args=[referral_pk])}']").click()
    page.locator("#id_residential_cell").select_option(str(tree.ward1_cell1.pk))
    expect(page.locator("#id_placed_on")).to_have_value(today)
    assert no_horizontal_scroll(page), "the placement form scrolls sideways on a 390 px wide phone"
    with page.expect_navigation():
        page.locator("main form[method=post] button[type=submit]").click()
    expect(page).to_have_url(re.compile(re.escape(reverse("members:referral-detail", args=[referral_pk])) + "$"))
    expect(page.locator("#referral-steps")).to_contain_text(tree.ward1_cell1.name)
    expect(page.locator("#content .alert-success")).to_contain_text(tree.ward1_cell1.name)
    assert no_horizontal_scroll(page), "the referral's page scrolls sideways on a 390 px wide phone"


def see_member_in_cell(page: Page, scenario) -> None:
    """The residential cell's secretary finds the member in the cell's list."""
    tree, member = scenario["tree"], scenario["member"]
    page.goto(reverse("members:cell-list"))
    page.locator("main table").get_by_role("link", name=tree.ward1_cell1.name).click()
    expect(page).to_have_url(re.compile(re.escape(reverse("members:cell-detail", args=[tree.ward1_cell1.pk])) + "$"))
    placed = page.locator(f"#cell-placed tr[data-member='{member.card_number}']")
    expect(placed).to_contain_text(member.full_name)
    expect(placed).to_contain_text(tree.committee.name)
    assert no_horizontal_scroll(page), "the cell's page scrolls sideways on a 390 px wide phone"


def test_introduce_receive_place_and_see_in_cell(page_for, scenario):
    cadre_page = page_for(scenario["cadre"], DESKTOP)
    referral_pk = introduce_and_print(cadre_page, scenario)

    secretary_page = page_for(scenario["ward_secretary"], PHONE)
    receive_and_place(secretary_page, scenario, referral_pk)

    cell_page = page_for(scenario["cell_secretary"], PHONE)
    see_member_in_cell(cell_page, scenario)
