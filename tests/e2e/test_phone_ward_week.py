"""The ward secretary's week on a phone (issue 13's acceptance test), at 360x740 and 390x844: receive several
referrals in one step, place one seeing the member's address next to the choice of the cell, write a comment, then
send the written comments in one step. On every page: no sideways scrolling, and the page's main action within the
first screen (or in the bar stuck to its bottom) without scrolling.

Only the setup writes to the database; every step after it goes through the pages. Selectors are ids, data
attributes and URLs rather than button texts (the Vietnamese catalogue is filled after the screens).
"""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from members.models import Referral, ResidenceComment
from tests.e2e.conftest import PASSWORD, no_horizontal_scroll
from tests.factories import make_member, make_officer, make_referral, make_tree

pytestmark = pytest.mark.e2e

VIEWPORTS = [{"width": 360, "height": 740}, {"width": 390, "height": 844}]
ADDRESS = "27 Hàm Nghi, Khu phố 2, Phường 1"


@pytest.fixture
def scenario(transactional_db):
    today = timezone.localdate()
    tree = make_tree()
    awaiting = [
        make_referral(
            make_member(
                tree.cell,
                full_name=f"Nguyễn Thị Chờ Tiếp Nhận {i}",
                residential_address=ADDRESS if i == 0 else f"{i} Lê Lợi, Phường 1",
            ),
            receiving_ward=tree.ward1,
            issuing_organisation=tree.committee,
            introduced_on=today - datetime.timedelta(days=10),
        )
        for i in range(3)
    ]
    placed_on = max(datetime.date(today.year, 1, 1), today - datetime.timedelta(days=90))
    placed = [
        make_referral(
            make_member(tree.cell, full_name=name),
            receiving_ward=tree.ward1,
            issuing_organisation=tree.committee,
            introduced_on=placed_on,
            received_on=placed_on,
            residential_cell=tree.ward1_cell2,
            placed_on=placed_on,
        )
        for name in ("Trần Văn Viết Rồi", "Lê Thị Chưa Viết")
    ]
    ResidenceComment.objects.create(
        member=placed[0].member,
        year=today.year,
        residential_cell=tree.ward1_cell2,
        verdict="good",
        written_on=today,
    )
    return {
        "tree": tree,
        "today": today,
        "awaiting": awaiting,
        "to_write": placed[1],
        "ward_secretary": make_officer(tree.ward1, role="secretary", username="bithuphuong", password=PASSWORD),
    }


def _url(path: str) -> re.Pattern:
    return re.compile(re.escape(path) + r"(\?.*)?$")


# The elements wider than the screen, for the message of a failure.
WIDER = """Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right > innerWidth)
  .slice(0, 8).map(e => e.tagName + '#' + e.id + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))
  .join(' | ')"""


def check_phone_page(page: Page, main_action: str) -> None:
    """No sideways scrolling, and the main action drawn within the first screen, before any scrolling."""
    page.evaluate("window.scrollTo(0, 0)")
    assert no_horizontal_scroll(page), f"{page.url} scrolls sideways: " + page.evaluate(WIDER)
    box = page.locator(main_action).bounding_box()
    height = page.evaluate("window.innerHeight")
    assert box is not None, f"{main_action} is not shown on {page.url}"
    assert box["y"] >= 0 and box["y"] + box["height"] <= height, (
        f"{main_action} of {page.url} is at {box['y']:.0f}-{box['y'] + box['height']:.0f}, outside the first "
        f"{height} px"
    )


def receive_in_bulk(page: Page, scenario) -> None:
    awaiting = scenario["awaiting"]
    page.goto(reverse("members:referral-list") + "?state=awaiting_reception")
    check_phone_page(page, "#bulk-receive-form-submit")
    page.locator("#bulk-receive-form-all").check()
    expect(page.locator("#bulk-receive-form [data-picked-count]")).to_have_text("3")
    page.locator("#bulk-receive-form-submit").click()
    expect(page.locator("#bulk-question")).to_have_attribute("data-confirm-count", "3")
    check_phone_page(page, "#bulk-confirm")
    with page.expect_navigation():
        page.locator("#bulk-confirm").click()
    expect(page).to_have_url(_url(reverse("members:referral-list")))
    expect(page.locator("#content .alert-success")).to_be_visible()
    assert Referral.objects.filter(pk__in=[r.pk for r in awaiting], received_on=scenario["today"]).count() == 3


def place_seeing_the_address(page: Page, scenario) -> None:
    tree, referral = scenario["tree"], scenario["awaiting"][0]
    page.goto(reverse("members:referral-detail", args=[referral.pk]))
    place_link = f"#referral-actions a[href='{reverse('members:referral-place', args=[referral.pk])}']"
    check_phone_page(page, place_link)
    page.locator(place_link).click()
    expect(page).to_have_url(_url(reverse("members:referral-place", args=[referral.pk])))
    expect(page.locator("#id_residential_cell_helptext")).to_contain_text(ADDRESS)
    check_phone_page(page, "#id_residential_cell")
    check_phone_page(page, "#referral-step-submit")
    page.locator("#id_residential_cell").select_option(str(tree.ward1_cell2.pk))
    with page.expect_navigation():
        page.locator("#referral-step-submit").click()
    expect(page.locator("#content .alert-success")).to_be_visible()
    referral.refresh_from_db()
    assert referral.residential_cell == tree.ward1_cell2

    # the page that places many shows each member's address too
    page.goto(reverse("members:referral-place-many"))
    expect(page.locator(f"[data-referral='{scenario['awaiting'][1].pk}'] [data-address]")).to_contain_text("1 Lê Lợi")
    check_phone_page(page, "#place-many-submit")


def write_a_comment(page: Page, scenario) -> None:
    year, member = scenario["today"].year, scenario["to_write"].member
    page.goto(reverse("members:comment-list", args=[year]) + "?state=not_written")
    row = page.locator(f"#comment-table tr[data-member='{member.card_number}']")
    assert no_horizontal_scroll(page)
    row.locator("[data-action=write]").click()
    expect(page).to_have_url(_url(reverse("members:comment-write", args=[year, member.pk])))
    check_phone_page(page, "#comment-form-submit")
    page.locator("#comment-form input[name=verdict][value=good]").check()
    with page.expect_navigation():
        page.locator("#comment-form-submit").click()
    expect(page.locator("#content .alert-success")).to_contain_text(member.full_name)


def send_in_bulk(page: Page, scenario) -> None:
    year = scenario["today"].year
    page.goto(reverse("members:comment-list", args=[year]) + "?state=written")
    expect(page.locator("#comment-table tr[data-state=written]")).to_have_count(2)
    check_phone_page(page, "#bulk-send-form-submit")
    page.locator("#bulk-send-form-all").check()
    page.locator("#bulk-send-form-submit").click()
    expect(page.locator("#bulk-question")).to_have_attribute("data-confirm-count", "2")
    check_phone_page(page, "#bulk-confirm")
    with page.expect_navigation():
        page.locator("#bulk-confirm").click()
    expect(page.locator("#content .alert-success")).to_be_visible()
    assert ResidenceComment.objects.filter(year=year, sent_on=scenario["today"]).count() == 2
    page.goto(reverse("members:comment-list", args=[year]))
    expect(page.locator("#comment-table tr[data-state=sent]")).to_have_count(2)
    assert no_horizontal_scroll(page)


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=lambda v: f"{v['width']}x{v['height']}")
def test_the_ward_secretary_receives_places_writes_and_sends_on_a_phone(page_for, scenario, viewport):
    page = page_for(scenario["ward_secretary"], viewport)
    receive_in_bulk(page, scenario)
    place_seeing_the_address(page, scenario)
    write_a_comment(page, scenario)
    send_in_bulk(page, scenario)


@pytest.fixture
def workplace(transactional_db):
    """Two comments of the workplace's members sent by the ward this year, waiting to be recorded as received."""
    today = timezone.localdate()
    tree = make_tree()
    placed_on = max(datetime.date(today.year, 1, 1), today - datetime.timedelta(days=90))
    members = []
    for name in ("Phạm Văn Đã Gửi", "Võ Thị Đã Gửi"):
        referral = make_referral(
            make_member(tree.cell, full_name=name),
            receiving_ward=tree.ward1,
            issuing_organisation=tree.committee,
            introduced_on=placed_on,
            received_on=placed_on,
            residential_cell=tree.ward1_cell1,
            placed_on=placed_on,
        )
        ResidenceComment.objects.create(
            member=referral.member,
            year=today.year,
            residential_cell=tree.ward1_cell1,
            verdict="good",
            written_on=today,
            sent_on=today,
        )
        members.append(referral.member)
    return {
        "today": today,
        "members": members,
        "cadre": make_officer(tree.committee, role="staff", username="canbo", password=PASSWORD),
    }


def test_the_workplace_records_the_sent_comments_and_rates_on_a_phone(page_for, workplace):
    year = workplace["today"].year
    page = page_for(workplace["cadre"], VIEWPORTS[0])
    page.goto(reverse("members:comment-list", args=[year]) + "?state=sent")
    check_phone_page(page, "#bulk-receive-form-submit")
    page.locator("#bulk-receive-form-all").check()
    page.locator("#bulk-receive-form-submit").click()
    expect(page.locator("#bulk-question")).to_have_attribute("data-confirm-count", "2")
    check_phone_page(page, "#bulk-confirm")
    with page.expect_navigation():
        page.locator("#bulk-confirm").click()
    expect(page.locator("#content .alert-success")).to_be_visible()
    assert ResidenceComment.objects.filter(year=year, received_on=workplace["today"]).count() == 2

    page.goto(reverse("members:rating-list", args=[year]))
    expect(page.locator("#rating-table tr[data-member]")).to_have_count(2)
    assert no_horizontal_scroll(page), "the rating list scrolls sideways: " + page.evaluate(WIDER)
    page.goto(reverse("members:rating-record", args=[year, workplace["members"][0].pk]))
    check_phone_page(page, "#rating-form-submit")
