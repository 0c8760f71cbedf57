"""The to-do on a phone (issue 13): the cell secretary records, from the home page, that a member reported to the
cell and opens the meeting due; the ward secretary's to-do fits the screen; the whole row of an item opens its list.

Selectors are ids, data attributes and URLs, not texts (the Vietnamese catalogue is filled after the screens).
"""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from tests.e2e.conftest import PASSWORD, no_horizontal_scroll
from tests.factories import make_member, make_officer, make_referral, make_tree

pytestmark = pytest.mark.e2e

SMALL_PHONE = {"width": 360, "height": 740}


@pytest.fixture
def scenario(transactional_db):
    tree = make_tree()
    day = timezone.localdate() - datetime.timedelta(days=20)
    placed = [
        make_referral(
            make_member(tree.cell, full_name=f"Nguyễn Thị Báo {n}"),
            receiving_ward=tree.ward1,
            introduced_on=day,
            received_on=day,
            placed_on=day,
            residential_cell=tree.ward1_cell1,
        )
        for n in range(3)
    ]
    make_referral(make_member(tree.cell), receiving_ward=tree.ward1, introduced_on=day)  # awaiting reception
    return {
        "tree": tree,
        "placed": placed,
        "ward": make_officer(tree.ward1, username="bithuphuong", password=PASSWORD),
        "cell": make_officer(tree.ward1_cell1, username="bithukhupho", password=PASSWORD),
    }


def test_cell_secretary_records_a_report_from_the_todo_on_a_phone(page_for, scenario):
    page = page_for(scenario["cell"], viewport=SMALL_PHONE)
    page.goto(reverse("home"))
    assert no_horizontal_scroll(page), "the to-do scrolls sideways on a 360 px wide phone"
    expect(page.locator("[data-todo='not_reported'] a[data-number]")).to_have_text("3")
    meeting = page.locator("a[data-item='meeting_due']")
    expect(meeting).to_have_attribute("href", reverse("members:meeting-create", args=[scenario["tree"].ward1_cell1.pk]))
    box = meeting.bounding_box()
    assert box and box["y"] + box["height"] <= SMALL_PHONE["height"], "the meeting due is below the first screen"

    referral = scenario["placed"][0]
    with page.expect_navigation():
        page.locator(f"#reportable [data-referral='{referral.pk}'] button[type=submit]").click()
    expect(page.locator(f"#reportable [data-referral='{referral.pk}']")).to_have_count(0)
    expect(page.locator("[data-todo='not_reported'] a[data-number]")).to_have_text("2")
    expect(page.locator("#content .alert-success")).to_contain_text(referral.member.full_name)

    # The whole row opens the list of exactly those members.
    with page.expect_navigation():
        page.locator("[data-todo='not_reported']").click(position={"x": 20, "y": 10})
    expect(page).to_have_url(re.compile(r"\?state=not_reported$"))
    expect(page.locator("[data-row-count]").first).to_have_attribute("data-row-count", "2")


def test_ward_secretary_todo_fits_a_phone(page_for, scenario):
    page = page_for(scenario["ward"], viewport=SMALL_PHONE)
    page.goto(reverse("home"))
    assert no_horizontal_scroll(page), "the ward's to-do scrolls sideways on a 360 px wide phone"
    first = page.locator("[data-todo='awaiting_reception'] a[data-number]")
    expect(first).to_have_text("1")
    box = first.bounding_box()
    assert box and box["y"] + box["height"] <= SMALL_PHONE["height"]
    expect(page.locator("#receivable form")).to_have_count(1)
