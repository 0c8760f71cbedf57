"""Issue 4's acceptance test in a real browser: on a phone, the residential cell's secretary records a meeting and
marks the attendance of every member, one tap each, without a page reload; reloading shows what was saved.

Selectors are the templates' ids and data attributes rather than button texts, except for messages the Vietnamese
catalogue already has.
"""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from members.models import Attendance, Exemption, Meeting
from tests.e2e.conftest import PASSWORD, PHONE, no_horizontal_scroll
from tests.factories import make_member, make_officer, make_referral, make_tree

pytestmark = pytest.mark.e2e

D = datetime.date


@pytest.fixture
def scenario(transactional_db):
    tree = make_tree()

    def placed(name, cell=None):
        member = make_member(tree.cell, full_name=name)
        make_referral(
            member,
            receiving_ward=tree.ward1,
            introduced_on=D(2024, 2, 1),
            received_on=D(2024, 2, 10),
            residential_cell=cell or tree.ward1_cell1,
            placed_on=D(2024, 2, 15),
        )
        return member

    members = {
        "present": placed("Nguyễn Thị Lan"),
        "excused": placed("Trần Văn Minh"),
        "absent": placed("Lê Văn Hùng"),
        "exempt": placed("Phạm Thị Xa"),
    }
    placed("Võ Văn Khác", cell=tree.ward1_cell2)  # another cell: not on the sheet
    Exemption.objects.create(
        member=members["exempt"], kind=Exemption.Kind.ACTIVITIES, reason="Đi học dài hạn", started_on=D(2025, 1, 1)
    )
    return {
        "tree": tree,
        "members": members,
        "secretary": make_officer(tree.ward1_cell1, username="bithukp1", password=PASSWORD),
    }


def row(page: Page, member):
    return page.locator(f"#attendance-row-{member.pk}")


def tap(page: Page, member, status: str) -> None:
    line = row(page, member)
    line.locator(f"form.attendance-tap button[data-status={status}]").click()


def test_the_cell_secretary_marks_attendance_on_a_phone_without_reloading(page_for, scenario):
    tree, members = scenario["tree"], scenario["members"]
    page = page_for(scenario["secretary"], PHONE)

    # the cell page: record a meeting
    page.goto(reverse("members:cell-detail", args=[tree.ward1_cell1.pk]))
    expect(page.locator("#cell-half-years li").first).to_have_attribute("data-status", "not_yet_held")
    page.locator("#meeting-create-link").click()
    expect(page).to_have_url(re.compile(re.escape(reverse("members:meeting-create", args=[tree.ward1_cell1.pk]))))
    form = page.locator("#meeting-form")
    expect(form.locator("#id_held_on")).to_have_value(timezone.localdate().strftime("%d/%m/%Y"))
    form.locator("#id_summary").fill("Quán triệt nghị quyết, bàn công tác vệ sinh môi trường khu phố")
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    meeting = Meeting.objects.get(residential_cell=tree.ward1_cell1)
    expect(page).to_have_url(re.compile(re.escape(reverse("members:meeting-detail", args=[meeting.pk])) + "$"))
    assert no_horizontal_scroll(page)

    # the sheet: exactly the members placed in the cell, the exempt one apart
    expect(page.locator("#attendance-expected .attendance-row")).to_have_count(3)
    expect(page.locator("#attendance-not-expected .attendance-row")).to_have_count(1)
    expect(page.locator("#attendance-sheet")).not_to_contain_text("Võ Văn Khác")
    summary = page.locator("#attendance-summary")
    expect(summary).to_have_attribute("data-not-marked", "3")

    # from here on, no navigation: a marker set now must survive every tap
    page.evaluate("window.__marker = 'still the same page'")
    navigations = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url) if frame == page.main_frame else None)

    tap(page, members["present"], "present")
    expect(row(page, members["present"])).to_have_attribute("data-status", "present")
    expect(summary).to_have_attribute("data-present", "1")

    tap(page, members["absent"], "absent")
    expect(row(page, members["absent"])).to_have_attribute("data-status", "absent")

    # excused: the line asks for the reason; saving it empty is refused in the line
    tap(page, members["excused"], "excused")
    reason = row(page, members["excused"]).locator(f"#reason-{members['excused'].pk}")
    expect(reason).to_be_visible()
    row(page, members["excused"]).locator("form.attendance-reason-form button[type=submit]").click()
    expect(row(page, members["excused"])).to_contain_text("Ghi lý do vắng mặt.")
    expect(row(page, members["excused"])).to_have_attribute("data-status", "")
    reason = row(page, members["excused"]).locator(f"#reason-{members['excused'].pk}")
    reason.fill("Đi công tác")
    row(page, members["excused"]).locator("form.attendance-reason-form button[type=submit]").click()
    expect(row(page, members["excused"])).to_have_attribute("data-status", "excused")
    expect(row(page, members["excused"])).to_contain_text("Đi công tác")

    # the exempt member came after all
    tap(page, members["exempt"], "present")
    expect(row(page, members["exempt"])).to_have_attribute("data-status", "present")

    expect(summary).to_have_attribute("data-present", "1")  # the exempt member is not counted
    expect(summary).to_have_attribute("data-excused", "1")
    expect(summary).to_have_attribute("data-absent", "1")
    expect(summary).to_have_attribute("data-not-marked", "0")
    assert page.evaluate("window.__marker") == "still the same page"
    assert navigations == []
    assert no_horizontal_scroll(page)
    buttons = row(page, members["present"]).locator("button").all()
    assert all(button.bounding_box()["height"] >= 44 for button in buttons), "big enough to tap"

    # saved: the database and a reload agree
    saved = dict(Attendance.objects.filter(meeting=meeting).values_list("member__full_name", "status"))
    assert saved == {
        "Nguyễn Thị Lan": "present",
        "Trần Văn Minh": "excused",
        "Lê Văn Hùng": "absent",
        "Phạm Thị Xa": "present",
    }
    page.reload()
    assert page.evaluate("window.__marker") is None
    for key, status in [("present", "present"), ("excused", "excused"), ("absent", "absent"), ("exempt", "present")]:
        expect(row(page, members[key])).to_have_attribute("data-status", status)
    expect(row(page, members["excused"])).to_contain_text("Đi công tác")
    expect(page.locator("#attendance-summary")).to_have_attribute("data-present", "1")
