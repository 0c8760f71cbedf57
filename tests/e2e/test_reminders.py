"""The reminders in a browser (issue 14's acceptance): a ward secretary sees the count on the bell, opens the reminder,
receives the referral it is about, and the reminder closes (the reminders page lists it as closed, saying why). The
bell is on a phone's screen without opening the folded menu.

The reminders are made by the rules from the setup's rows (``update_reminders`` on today); every step after it goes
through the pages. Selectors are ids and data attributes rather than texts.
"""

import datetime
import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from members import services as member_services
from members.models import Referral
from reminders.models import Reminder, Rule
from reminders.services import update_reminders
from tests.e2e.conftest import DESKTOP, PASSWORD, PHONE, no_horizontal_scroll
from tests.factories import make_member, make_officer, make_referral, make_tree

pytestmark = pytest.mark.e2e

LAPTOP = {"width": 1366, "height": 900}


@pytest.fixture
def scenario(transactional_db):
    today = timezone.localdate()
    tree = make_tree()
    secretary = make_officer(tree.ward1, username="bithu-nhacviec", password=PASSWORD)
    awaiting = [
        make_referral(
            make_member(tree.cell, full_name=f"Nguyễn Văn Chờ {i}"),
            receiving_ward=tree.ward1,
            issuing_organisation=tree.committee,
            introduced_on=today - datetime.timedelta(days=10 + i),
        )
        for i in range(2)
    ]
    update_reminders(day=today)
    reminders = {
        referral.pk: Reminder.objects.get(user=secretary, rule=Rule.AWAITING_RECEPTION, object_id=referral.pk)
        for referral in awaiting
    }
    return {"today": today, "secretary": secretary, "awaiting": awaiting, "reminders": reminders}


def _url(path: str) -> re.Pattern:
    return re.compile(re.escape(path) + r"(\?.*)?$")


def check_bell(page: Page, count: int | None) -> None:
    bell = page.locator("#nav-bell")
    expect(bell).to_be_visible()
    if count:
        expect(page.locator("#nav-bell-count")).to_have_text(str(count))
        expect(bell).to_have_attribute("aria-label", re.compile(rf"\b{count}\b"))
    else:
        expect(page.locator("#nav-bell-count")).to_have_count(0)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_ward_secretary_opens_a_reminder_receives_the_referral_and_it_closes(page_for, scenario, viewport):
    referral = scenario["awaiting"][0]
    reminder = scenario["reminders"][referral.pk]
    page = page_for(scenario["secretary"], viewport)
    page.goto(reverse("home"))
    check_bell(page, 2)

    with page.expect_navigation():
        page.locator("#nav-bell").click()
    expect(page).to_have_url(_url(reverse("reminders:list")))
    item = page.locator(f"#reminder-{reminder.pk}")
    expect(item).to_have_attribute("data-state", "open")
    expect(item).to_have_attribute("data-read", "no")
    expect(item.locator("[data-unread]")).to_be_visible()
    expect(item).to_contain_text(referral.member.full_name)
    assert no_horizontal_scroll(page)

    # Opening the reminder leads to the referral and marks it read: the bell counts one fewer.
    with page.expect_navigation():
        item.locator("a[data-open]").click()
    expect(page).to_have_url(_url(reverse("members:referral-detail", args=[referral.pk])))
    check_bell(page, 1)

    # The work itself: receive the referral.
    receive = reverse("members:referral-receive", args=[referral.pk])
    with page.expect_navigation():
        page.locator(f"#referral-actions a[href='{receive}']").click()
    with page.expect_navigation():
        page.locator("#referral-step-submit").click()
    expect(page.locator("#content .alert-success")).to_be_visible()
    assert Referral.objects.get(pk=referral.pk).received_on == scenario["today"]

    # Back on the reminders page, the reminder has closed itself, and says why.
    with page.expect_navigation():
        page.locator("#nav-bell").click()
    expect(page.locator(f"#reminder-{reminder.pk}")).to_have_count(0)
    expect(page.locator(f"#reminder-{scenario['reminders'][scenario['awaiting'][1].pk].pk}")).to_be_visible()
    with page.expect_navigation():
        page.locator("#reminders-filter a[href='?show=closed']").click()
    closed = page.locator(f"#reminder-{reminder.pk}")
    expect(closed).to_have_attribute("data-state", "closed")
    expect(closed.locator("[data-closed]")).to_be_visible()
    expect(closed.locator("[data-closed-because]")).not_to_be_empty()
    reminder.refresh_from_db()
    assert reminder.closed_because == Reminder.Closed.RESOLVED


def test_the_bell_is_on_a_phones_screen_without_opening_the_menu(page_for, scenario):
    page = page_for(scenario["secretary"], PHONE)
    page.goto(reverse("home"))
    expect(page.locator("#main-nav")).not_to_be_visible()  # the menu is folded
    check_bell(page, 2)
    box = page.locator("#nav-bell").bounding_box()
    assert box is not None and box["y"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
    assert no_horizontal_scroll(page)
    # a finger can hit it
    assert box["width"] >= 24 and box["height"] >= 24, box


def test_mark_all_read_empties_the_bell(page_for, scenario):
    page = page_for(scenario["secretary"], PHONE)
    page.goto(reverse("reminders:list"))
    check_bell(page, 2)
    with page.expect_navigation():
        page.locator("#reminders-read-all").click()
    check_bell(page, None)
    expect(page.locator("#reminder-list [data-unread]")).to_have_count(0)
    # the page of the e-mail preference opens from the list
    with page.expect_navigation():
        page.locator("#reminders-preferences").click()
    expect(page).to_have_url(_url(reverse("reminders:preferences")))


def test_the_desktop_menu_with_the_bell_stays_one_line_at_1366(page_for, scenario):
    staff = make_officer(scenario["awaiting"][0].receiving_ward.parent, role="staff", password=PASSWORD, is_staff=True)
    page = page_for(staff, LAPTOP)
    page.goto(reverse("home"))
    expect(page.locator("#nav-bell")).to_be_visible()
    height = page.locator("nav.app-navbar").bounding_box()["height"]
    assert height < 70, f"the menu bar is {height}px high: more than one line"


def test_the_reminders_pages_have_no_serious_accessibility_violation(page_for, scenario):
    """axe-core, as tests/e2e/test_accessibility.py runs it on the demo, on the bell and the reminders pages: an open,
    unread reminder, a closed one, the weekly digest, the preference form, the thresholds with an error."""
    referral = scenario["awaiting"][0]
    member_services.referral_receive(referral=referral, received_on=scenario["today"], by=None)
    staff = make_officer(referral.receiving_ward.parent, role="staff", password=PASSWORD)
    update_reminders(day=scenario["today"])
    axe = Axe()
    found = []
    for user, urls in (
        (scenario["secretary"], [reverse("home"), reverse("reminders:list") + "?show=all", "preferences"]),
        (staff, [reverse("reminders:list"), "settings"]),
    ):
        for viewport in (PHONE, LAPTOP):
            page = page_for(user, viewport)
            for url in urls:
                if url == "preferences":
                    page.goto(reverse("reminders:preferences"))
                    page.locator("#id_email").fill("not an address")
                    with page.expect_navigation():
                        page.locator("#reminder-preferences-submit").click()
                elif url == "settings":
                    page.goto(reverse("reminders:settings"))
                    page.locator("#id_comments_last_notice_days").fill("45")
                    with page.expect_navigation():
                        page.locator("#reminder-settings-submit").click()
                    expect(page.locator("#id_comments_last_notice_days")).to_have_class(re.compile("is-invalid"))
                else:
                    page.goto(url)
                results = axe.run(page)
                blocking = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
                found += [f"{url} at {viewport['width']}px: {v['id']} {v['nodes'][0]['target']}" for v in blocking]
    assert not found, "Serious or critical accessibility violations:\n" + "\n".join(found)
