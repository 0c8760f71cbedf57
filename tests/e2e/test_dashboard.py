"""The dashboard in a real browser: it renders with its charts, the as-of picker changes the numbers, a click on a
number lands on the list behind it, a click on an organisation drills down (issue 5's browser acceptance test).

Selectors are the template's ids and data attributes, not texts: the Vietnamese catalogue is filled later.
"""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, PASSWORD, PHONE, no_horizontal_scroll
from tests.factories import make_member, make_officer, make_referral, make_tree

pytestmark = pytest.mark.e2e


@pytest.fixture
def scenario(transactional_db):
    """The committee's cell: one member introduced on 10/03/2024 (stalled today), one never introduced."""
    tree = make_tree()
    introduced = make_member(tree.cell, full_name="Lê Thị Hồng Nhung")
    make_referral(introduced, receiving_ward=tree.ward1, introduced_on=datetime.date(2024, 3, 10))
    make_member(tree.cell, full_name="Trần Văn Bình")
    return {"tree": tree, "city": make_officer(tree.root, role="staff", username="thanhuy-e2e", password=PASSWORD)}


def figure(page, key: str):
    return page.locator(f'[data-figure="{key}"] .app-figure-value')


def test_dashboard_charts_as_of_and_click_through(page_for, scenario):
    tree = scenario["tree"]
    page = page_for(scenario["city"], DESKTOP)
    page.goto(reverse("reports:dashboard"))
    expect(page.locator("#dashboard-title")).to_have_text(tree.root.name)

    # The three charts, drawn as SVG on the server.
    for chart in ("chart-rate", "chart-meetings", "chart-trend"):
        expect(page.locator(f"svg#{chart}")).to_be_visible()
        expect(page.locator(f"svg#{chart} title").first).to_be_attached()
    expect(page.locator("svg#chart-rate rect")).to_have_count(1)  # the committee; nobody to introduce elsewhere: "–"

    # Today: one of two introduced.
    expect(figure(page, "introduced")).to_have_text("1")
    expect(figure(page, "not_introduced")).to_have_text("1")

    # The day before the introduction: nobody introduced.
    page.locator("#id_as_of").fill("09/03/2024")
    with page.expect_navigation():
        page.locator("#dashboard-form button[type=submit]").click()
    expect(page.locator("#dashboard-as-of")).to_have_text("09/03/2024")
    expect(figure(page, "introduced")).to_have_text("0")
    expect(figure(page, "not_introduced")).to_have_text("2")
    expect(page.locator("#dashboard-today-note")).to_be_visible()

    # A wrong date: an error next to the box, today's figures.
    page.locator("#id_as_of").fill("31/02/2024")
    with page.expect_navigation():
        page.locator("#dashboard-form button[type=submit]").click()
    expect(page.locator("#as-of-error")).to_be_visible()
    expect(figure(page, "introduced")).to_have_text("1")

    # Drill down into the committee, then click its "not introduced" number: the member list behind it.
    page.goto(reverse("reports:dashboard"))
    with page.expect_navigation():
        page.locator("#grassroots-table").get_by_role("link", name=tree.committee.name).click()
    assert page.url.endswith(reverse("reports:dashboard-org", args=[tree.committee.code]))
    expect(page.locator("#dashboard-title")).to_have_text(tree.committee.name)
    with page.expect_navigation():
        page.locator('[data-figure="not_introduced"]').click()
    assert re.search(r"/members/\?referral_state=not_introduced&organisation=\d+$", page.url), page.url
    expect(page.locator("main table")).to_contain_text("Trần Văn Bình")
    expect(page.locator("main table")).not_to_contain_text("Lê Thị Hồng Nhung")

    # Back on the dashboard, the stalled number opens the referral list with the stalled referral.
    page.go_back()
    with page.expect_navigation():
        page.locator('a[data-count="stalled"]').click()
    assert "/referrals/?state=stalled" in page.url
    expect(page.locator("main table")).to_contain_text("Lê Thị Hồng Nhung")


def test_dashboard_on_a_phone(page_for, scenario):
    page = page_for(scenario["city"], PHONE)
    page.goto(reverse("reports:dashboard"))
    expect(page.locator("svg#chart-trend")).to_be_visible()
    assert no_horizontal_scroll(page)
    assert timezone.localdate().strftime("%d/%m/%Y") == page.locator("#id_as_of").input_value()


def test_tracking_book_gaps_from_a_phone(page_for, scenario):
    """Weak spot 1's number opens the list of the committees behind it; a name opens its tracking book."""
    tree = scenario["tree"]
    page = page_for(scenario["city"], PHONE)
    page.goto(reverse("reports:dashboard"))
    expect(page.locator('a[data-count="committees"]')).to_have_text("1")
    with page.expect_navigation():
        page.locator('a[data-count="committees"]').click()
    expect(page.locator("#gaps")).to_have_attribute("data-row-count", "1")
    expect(page.locator("#gaps li")).to_have_count(1)
    assert no_horizontal_scroll(page)
    with page.expect_navigation():
        page.locator("#gaps").get_by_role("link", name=tree.committee.name).click()
    assert page.url.endswith(reverse("members:tracking-book", args=[tree.committee.pk, timezone.localdate().year])), (
        page.url
    )
