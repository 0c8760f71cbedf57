"""The yearly residence comment in a real browser, as the three people who share it see it (issue 4's acceptance
test): the cell secretary writes the comment on a phone, the ward secretary sends it to the workplace in one click,
the workplace cadre records that it arrived and sees its verdict next to the year-end rating, which the cadre records
inline (no page reload); the page warns when a member rated well has no comment.

Only the setup writes to the database; every step after it goes through the pages. Selectors are ids, data attributes
and URLs rather than button texts (the Vietnamese catalogue is filled after the screens).
"""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from members.models import Attendance, Meeting
from members.periods import HalfYear
from tests.e2e.conftest import DESKTOP, PASSWORD, PHONE, no_horizontal_scroll
from tests.factories import make_member, make_officer, make_referral, make_tree

pytestmark = pytest.mark.e2e


@pytest.fixture
def scenario(transactional_db):
    today = timezone.localdate()
    placed_on = max(datetime.date(today.year, 1, 1), today - datetime.timedelta(days=60))
    tree = make_tree()
    member = make_member(tree.cell, full_name="Lê Thị Hồng Nhung", residential_address="12 Lê Lợi, Phường 1")
    other = make_member(tree.cell, full_name="Trần Văn Bình")
    for person in (member, other):
        make_referral(
            person,
            receiving_ward=tree.ward1,
            issuing_organisation=tree.committee,
            introduced_on=placed_on,
            received_on=placed_on,
            residential_cell=tree.ward1_cell1,
            placed_on=placed_on,
        )
    half_year = HalfYear.of(today)
    meeting = Meeting.objects.create(
        residential_cell=tree.ward1_cell1, held_on=today, year=half_year.year, half=half_year.half
    )
    Attendance.objects.create(meeting=meeting, member=member, status=Attendance.Status.PRESENT)
    return {
        "tree": tree,
        "member": member,
        "other": other,
        "year": today.year,
        "cadre": make_officer(tree.committee, role="staff", username="canbo", password=PASSWORD),
        "ward_secretary": make_officer(tree.ward1, role="secretary", username="bithuphuong", password=PASSWORD),
        "cell_secretary": make_officer(tree.ward1_cell1, role="secretary", username="bithukhupho", password=PASSWORD),
    }


def _url(page: Page, path: str) -> re.Pattern:
    return re.compile(re.escape(path) + r"(\?.*)?$")


def write_comment(page: Page, scenario) -> None:
    """The cell secretary, on a phone, writes the comment from the year's list."""
    member, year = scenario["member"], scenario["year"]
    page.goto(reverse("members:comment-list", args=[year]))
    row = page.locator(f"#comment-table tr[data-member='{member.card_number}']")
    expect(row).to_have_attribute("data-state", re.compile(r"^(not_written|missing)$"))
    assert no_horizontal_scroll(page), "the comment list scrolls sideways on a 390 px wide phone"
    row.locator("[data-action=write]").click()
    expect(page).to_have_url(_url(page, reverse("members:comment-write", args=[year, member.pk])))
    expect(page.locator("#comment-member")).to_contain_text(member.full_name)
    form = page.locator("#comment-form")
    # prefilled from the attendance sheet: present at the one periodic meeting of the year
    expect(form.locator("#id_attends_meetings")).to_be_checked()
    expect(form.locator("#id_attends_meetings_helptext")).to_contain_text(str(scenario["year"]))
    expect(form.locator("#id_written_on")).to_have_value(timezone.localdate().strftime("%d/%m/%Y"))
    form.locator("input[name=verdict][value=good]").check()
    form.locator("#id_text").fill("Gương mẫu, tích cực tham gia phong trào của khu phố.")
    assert no_horizontal_scroll(page), "the comment form scrolls sideways on a 390 px wide phone"
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    expect(page).to_have_url(_url(page, reverse("members:comment-list", args=[year])))
    expect(page.locator("#content .alert-success")).to_contain_text(member.full_name)
    row = page.locator(f"#comment-table tr[data-member='{member.card_number}']")
    expect(row).to_have_attribute("data-state", "written")
    expect(row.locator("[data-action=send]")).to_have_count(0)  # the ward sends, not the cell


def send_comment(page: Page, scenario) -> None:
    """The ward secretary, on a phone, sends it to the workplace in one click."""
    member, year = scenario["member"], scenario["year"]
    page.goto(reverse("members:comment-list", args=[year]) + "?state=written")
    row = page.locator(f"#comment-table tr[data-member='{member.card_number}']")
    expect(row).to_have_attribute("data-state", "written")
    with page.expect_navigation():
        row.locator("[data-action=send]").click()
    expect(page.locator("#content .alert-success")).to_contain_text(member.full_name)
    page.goto(reverse("members:comment-list", args=[year]))
    row = page.locator(f"#comment-table tr[data-member='{member.card_number}']")
    expect(row).to_have_attribute("data-state", "sent")
    assert no_horizontal_scroll(page), "the comment list scrolls sideways on a 390 px wide phone"


def receive_and_rate(page: Page, scenario) -> None:
    """The workplace cadre records the arrival, then rates both members on the ratings page without a reload."""
    member, other, year = scenario["member"], scenario["other"], scenario["year"]
    page.goto(reverse("members:comment-list", args=[year]))
    row = page.locator(f"#comment-table tr[data-member='{member.card_number}']")
    expect(row.locator("[data-action=write]")).to_have_count(0)
    expect(row.locator("[data-action=send]")).to_have_count(0)
    with page.expect_navigation():
        row.locator("[data-action=receive]").click()
    expect(page.locator(f"#comment-table tr[data-member='{member.card_number}']")).to_have_attribute(
        "data-state", "received"
    )

    page.goto(reverse("members:rating-list", args=[year]))
    row = page.locator(f"#rating-table tr[data-member='{member.card_number}']")
    expect(row.locator("[data-verdict=good]")).to_be_visible()
    expect(row).to_contain_text(timezone.localdate().strftime("%d/%m/%Y"))  # received on
    expect(page.locator("#rating-warning-count")).to_have_text("0")
    page.evaluate("window.__notReloaded = true")

    row.locator("select[name=level]").select_option("excellent")
    row.locator(".rating-form button[type=submit]").click()
    expect(page.locator(f"#rating-{member.pk} [data-level=excellent]")).to_be_visible()
    expect(page.locator(f"#rating-{member.pk} [data-saved]")).to_be_visible()
    expect(page.locator(f"#rating-{member.pk} [data-warning]")).to_have_count(0)

    # rated well without a residence comment: the row and the count at the top warn at once
    other_row = page.locator(f"#rating-table tr[data-member='{other.card_number}']")
    expect(other_row.locator("[data-verdict=missing]")).to_be_visible()
    other_row.locator("select[name=level]").select_option("good")
    other_row.locator(".rating-form button[type=submit]").click()
    expect(page.locator(f"#rating-{other.pk} [data-warning]")).to_be_visible()
    expect(page.locator("#rating-warning-count")).to_have_text("1")
    assert page.evaluate("window.__notReloaded === true"), "the rating was recorded with a page reload"

    page.reload()
    expect(page.locator(f"#rating-{member.pk} [data-level=excellent]")).to_be_visible()
    expect(page.locator(f"#rating-{other.pk} [data-level=good]")).to_be_visible()
    expect(page.locator("#rating-warning-count")).to_have_text("1")

    # the comment form prints from the page
    row = page.locator(f"#rating-table tr[data-member='{member.card_number}']")
    row.locator(f"a[href='{reverse('members:comment-print', args=[_comment_pk(row)])}']").click()
    expect(page.locator("article.sheet")).to_contain_text(member.full_name)
    expect(page.locator("article.sheet")).to_contain_text(scenario["tree"].ward1_cell1.name.upper())


def _comment_pk(row) -> int:
    href = row.locator("a[href*='/comments/c/']").get_attribute("href")
    return int(re.search(r"/comments/c/(\d+)/", href).group(1))


def test_the_cell_writes_the_ward_sends_the_workplace_rates(page_for, scenario):
    write_comment(page_for(scenario["cell_secretary"], PHONE), scenario)
    send_comment(page_for(scenario["ward_secretary"], PHONE), scenario)
    receive_and_rate(page_for(scenario["cadre"], DESKTOP), scenario)
