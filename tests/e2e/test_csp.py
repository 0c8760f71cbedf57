"""The Content-Security-Policy in a real browser (issue 10, finding 10): the main pages of the app, as city staff and
as a residential cell's secretary, raise no violation of the policy, and what needs JavaScript still works under it:
the print buttons (static/js/print.js, not an inline handler) and an htmx tap on the attendance sheet.

Violations are caught twice: the page's ``securitypolicyviolation`` events, reported to the test through a binding
(Playwright's bindings and init scripts are not subject to the page's policy), and the console messages in which
Chromium says it refused something.
"""

import datetime

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from members.models import Attendance, Meeting, ResidenceComment
from tests.e2e.conftest import DESKTOP, PASSWORD, PHONE
from tests.factories import make_member, make_officer, make_referral, make_tree

pytestmark = pytest.mark.e2e

D = datetime.date

WATCH = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolation(`${event.effectiveDirective} blocked ${event.blockedURI || "inline"} `
                        + `at ${event.sourceFile}:${event.lineNumber}`);
});
window.print = () => { window.__printed = (window.__printed || 0) + 1; };
"""


@pytest.fixture
def scenario(transactional_db):
    tree = make_tree()
    member = make_member(tree.cell, full_name="Nguyễn Thị Lan")
    referral = make_referral(
        member,
        receiving_ward=tree.ward1,
        introduced_on=D(2024, 2, 1),
        received_on=D(2024, 2, 10),
        residential_cell=tree.ward1_cell1,
        placed_on=D(2024, 2, 15),
    )
    meeting = Meeting.objects.create(residential_cell=tree.ward1_cell1, held_on=D(2025, 3, 15), year=2025, half=1)
    comment = ResidenceComment.objects.create(
        member=member,
        year=2025,
        residential_cell=tree.ward1_cell1,
        verdict=ResidenceComment.Verdict.GOOD,
        written_on=D(2025, 11, 1),
    )
    return {
        "tree": tree,
        "member": member,
        "referral": referral,
        "meeting": meeting,
        "comment": comment,
        "city": make_officer(tree.root, role="staff", username="thanhuy-csp", password=PASSWORD),
        "secretary": make_officer(tree.ward1_cell1, username="bithukp1-csp", password=PASSWORD),
    }


def watched(page: Page) -> list[str]:
    """The violations the page reports from now on, across navigations."""
    violations: list[str] = []

    def reported(text: str) -> None:
        violations.append(text)

    def logged(message) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            violations.append(f"console: {message.text}")

    page.expose_function("__cspViolation", reported)
    page.on("console", logged)
    page.add_init_script(WATCH)
    return violations


def visit(page: Page, url: str) -> None:
    response = page.goto(url)
    assert response is not None and response.status == 200, f"{url}: {response and response.status}"
    assert "Content-Security-Policy" in {name.title() for name in response.headers}, url
    page.wait_for_load_state("load")


def test_the_main_pages_raise_no_policy_violation_and_print_buttons_work(page_for, scenario):
    tree, referral, meeting, comment = scenario["tree"], scenario["referral"], scenario["meeting"], scenario["comment"]
    page = page_for(scenario["city"], DESKTOP)
    violations = watched(page)

    pages = [
        reverse("home"),
        reverse("members:member-list") + "?q=lan",
        reverse("members:member-detail", args=[scenario["member"].pk]),
        reverse("members:referral-list"),
        reverse("members:referral-detail", args=[referral.pk]),
        reverse("members:cell-detail", args=[tree.ward1_cell1.pk]),
        reverse("members:meeting-detail", args=[meeting.pk]),
        reverse("members:comment-list", args=[2025]),
        reverse("members:rating-list", args=[2025]),
        reverse("reports:dashboard"),
        reverse("reports:dashboard-org", args=[tree.committee.code]),
        reverse("workbooks:import"),
        reverse("audit:access-log"),
    ]
    for url in pages:
        visit(page, url)
    assert violations == []

    # The print buttons: a file's listener calls window.print() (replaced by a counter here).
    for url, button in [
        (reverse("members:referral-letter", args=[referral.pk]), "#print-letter"),
        (reverse("members:tracking-book", args=[tree.committee.pk, 2024]), "#print-book"),
        (reverse("members:comment-print", args=[comment.pk]), "#print-comments"),
    ]:
        visit(page, url)
        page.locator(button).click()
        page.wait_for_function("window.__printed === 1")
    assert violations == []


def test_an_htmx_tap_on_the_attendance_sheet_works_under_the_policy(page_for, scenario):
    page = page_for(scenario["secretary"], PHONE)
    violations = watched(page)
    member, meeting = scenario["member"], scenario["meeting"]

    visit(page, reverse("members:meeting-detail", args=[meeting.pk]))
    page.evaluate("window.__marker = 'no reload'")
    row = page.locator(f"#attendance-row-{member.pk}")
    row.locator("form.attendance-tap button[data-status=present]").click()
    expect(row).to_have_attribute("data-status", "present")
    assert page.evaluate("window.__marker") == "no reload", "the tap went through htmx, not a form post"
    assert Attendance.objects.get(meeting=meeting, member=member).status == Attendance.Status.PRESENT
    assert violations == []
