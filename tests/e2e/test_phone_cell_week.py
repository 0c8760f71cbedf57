"""Issue 13's acceptance test for the residential cell's secretary, on the two phone sizes: the cell page of a cell of
forty members, a meeting recorded, "all present" in one tap, then two exceptions (one excused, one absent), and the
running count right after each. On every page: no sideways scrolling, and the page's main action within the first
screen.

Selectors are the templates' ids and data attributes, not the (translated) texts.
"""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Locator, Page, expect

from members import services
from members.models import Attendance, Exemption, Meeting, Referral
from tests.e2e.conftest import PASSWORD, no_horizontal_scroll
from tests.factories import make_member, make_officer, make_referral, make_tree

pytestmark = pytest.mark.e2e

D = datetime.date
MEMBERS = 40
PHONES = [{"width": 360, "height": 740}, {"width": 390, "height": 844}]


@pytest.fixture
def cell_week(transactional_db):
    """Ward 1's first cell with forty referred members placed (one exempt, three not reported yet), a past meeting
    with absences (irregular attendees), a member who left, and its secretary."""
    tree = make_tree()
    cell = tree.ward1_cell1
    referrals = []
    for i in range(MEMBERS):
        member = make_member(tree.cell, full_name=f"Nguyễn Văn Thành Viên Số {i + 1:02d}")
        referrals.append(
            make_referral(
                member,
                receiving_ward=tree.ward1,
                introduced_on=D(2024, 2, 1),
                received_on=D(2024, 2, 10),
                residential_cell=cell,
                placed_on=D(2024, 2, 15),
                reported_on=None if i < 3 else D(2024, 3, 1),
            )
        )
    left = make_member(tree.cell, full_name="Trần Thị Đã Chuyển Đi")
    make_referral(
        left,
        receiving_ward=tree.ward1,
        introduced_on=D(2024, 2, 1),
        received_on=D(2024, 2, 10),
        residential_cell=cell,
        placed_on=D(2024, 2, 15),
        ended_on=timezone.localdate() - datetime.timedelta(days=30),
        end_reason=Referral.EndReason.MOVED_RESIDENCE,
    )
    exempt = referrals[-1].member
    Exemption.objects.create(
        member=exempt, kind=Exemption.Kind.ACTIVITIES, reason="Ốm dài ngày", started_on=D(2025, 1, 1)
    )
    past = services.meeting_create(residential_cell=cell, held_on=D(timezone.localdate().year, 1, 20), by=None)
    for i, referral in enumerate(referrals[:-1]):
        status = Attendance.Status.ABSENT if i % 10 == 0 else Attendance.Status.PRESENT
        services.attendance_record(meeting=past, member=referral.member, status=status, by=None)
    return {
        "tree": tree,
        "cell": cell,
        "members": [r.member for r in referrals[:-1]],
        "exempt": exempt,
        "secretary": make_officer(cell, username="bithukp1", password=PASSWORD),
    }


def within_first_screen(page: Page, locator: Locator) -> bool:
    """The element is visible without scrolling: its box lies inside the window as the page opens."""
    box = locator.bounding_box()
    height = page.evaluate("window.innerHeight")
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= height


def check_phone_page(page: Page, main_action: Locator) -> None:
    expect(main_action).to_be_visible()
    assert no_horizontal_scroll(page), page.url
    assert within_first_screen(page, main_action), f"{page.url}: the main action is below the first screen"


def row(page: Page, member) -> Locator:
    return page.locator(f"#attendance-row-{member.pk}")


@pytest.mark.parametrize("viewport", PHONES, ids=["360x740", "390x844"])
def test_the_cell_secretary_records_a_meeting_all_present_and_two_exceptions(page_for, cell_week, viewport):
    cell, members = cell_week["cell"], cell_week["members"]
    expected = len(members)  # the exempt member is on the sheet, not expected
    page = page_for(cell_week["secretary"], viewport)

    # the cell page: the action first, the members as cards, nothing wider than the screen
    page.goto(reverse("members:cell-detail", args=[cell.pk]))
    check_phone_page(page, page.locator("#meeting-create-link"))
    first = page.locator(f"#cell-placed tr[data-member='{members[0].card_number}']")
    expect(first).to_be_attached()
    assert page.evaluate("document.querySelector('#cell-placed .app-cards') !== null"), "the members are cards"
    # every date of a member's card is whole (not cut off) once the section is opened
    page.locator("#cell-placed summary").click()
    expect(first).to_be_visible()
    assert no_horizontal_scroll(page)
    for cell_box in first.locator("td").all():
        assert cell_box.evaluate("td => td.scrollWidth <= td.clientWidth + 1"), cell_box.inner_text()

    # record a meeting
    page.locator("#meeting-create-link").click()
    expect(page).to_have_url(re.compile(re.escape(reverse("members:meeting-create", args=[cell.pk]))))
    form = page.locator("#meeting-form")
    check_phone_page(page, form.locator("button[type=submit]"))
    form.locator("#id_summary").fill("Quán triệt nghị quyết, bàn công tác vệ sinh môi trường khu phố")
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    meeting = Meeting.objects.filter(residential_cell=cell).latest("pk")
    expect(page).to_have_url(re.compile(re.escape(reverse("members:meeting-detail", args=[meeting.pk])) + "$"))

    # the sheet: "all present" in the first screen, one request for the forty
    summary = page.locator("#attendance-summary")
    expect(summary).to_have_attribute("data-not-marked", str(expected))
    all_present = page.locator("#attendance-all-present button[type=submit]")
    check_phone_page(page, all_present)
    with page.expect_navigation():
        all_present.click()
    summary = page.locator("#attendance-summary")
    expect(summary).to_have_attribute("data-present", str(expected))
    expect(summary).to_have_attribute("data-not-marked", "0")
    expect(page.locator("#attendance-all-present")).to_have_count(0)
    assert no_horizontal_scroll(page)
    assert Attendance.objects.filter(meeting=meeting).count() == expected
    assert not Attendance.objects.filter(meeting=meeting, member=cell_week["exempt"]).exists()

    # the exceptions, without leaving the page
    page.evaluate("window.__marker = 'still the same page'")
    absent, excused = members[5], members[12]
    row(page, absent).locator("form.attendance-tap button[data-status=absent]").click()  # one tap
    expect(row(page, absent)).to_have_attribute("data-status", "absent")
    expect(summary).to_have_attribute("data-absent", "1")
    row(page, excused).locator("form.attendance-tap button[data-status=excused]").click()
    choice = row(page, excused).locator("form.attendance-reason-choices button.attendance-reason-choice").first
    assert choice.bounding_box()["height"] >= 44, "a reason is big enough to tap"
    choice.click()  # the usual reason: one tap
    expect(row(page, excused)).to_have_attribute("data-status", "excused")

    expect(summary).to_have_attribute("data-present", str(expected - 2))
    expect(summary).to_have_attribute("data-excused", "1")
    expect(summary).to_have_attribute("data-absent", "1")
    expect(summary).to_have_attribute("data-not-marked", "0")
    assert page.evaluate("window.__marker") == "still the same page"
    assert no_horizontal_scroll(page)
    buttons = row(page, members[0]).locator("form.attendance-tap button").all()
    assert all(button.bounding_box()["height"] >= 44 for button in buttons), "big enough to tap"
    assert all(button.bounding_box()["width"] >= 44 for button in buttons), "big enough to tap"

    saved = dict(Attendance.objects.filter(meeting=meeting).values_list("member", "status"))
    assert saved[absent.pk] == "absent" and saved[excused.pk] == "excused"
    assert sum(status == "present" for status in saved.values()) == expected - 2
    assert Attendance.history.filter(meeting_id=meeting.pk).count() == expected + 2
