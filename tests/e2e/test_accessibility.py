"""Accessibility of each role's main pages on the demo data, checked by axe-core in the browser (issue 13).

axe-playwright-python bundles axe.min.js (no network). Each demo user signs in and axe runs on the home page, and
on the page each role works from most (the city's dashboard, the cell secretary's cell page, the ward's referral
list, the workplace's comment list), on a phone (390x844) and a desktop (1366x900). A violation of impact "serious"
or "critical" fails the test; the assertion message lists them all, with the elements concerned.

One test walks every role: the demo data is built once for the module, and a live-server test (transactional)
empties the database when it ends.
"""

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.contrib.auth import get_user_model
from django.urls import reverse

from branches.models import Officer, Organisation
from tests.conftest import DEMO_TODAY
from tests.e2e.conftest import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}
BLOCKING = ("serious", "critical")


def main_pages(username: str) -> list[str]:
    pages = [reverse("home")]
    if username == "thanhuy":
        root = Organisation.objects.filter(kind=Organisation.Kind.ROOT).values_list("code", flat=True)[0]
        pages += [reverse("reports:dashboard"), reverse("reports:tracking-book-gaps", args=[root, "committees"])]
    elif username == "khupho1":
        cell = Officer.objects.filter(
            user__username=username, organisation__kind=Organisation.Kind.RESIDENTIAL_CELL
        ).values_list("organisation_id", flat=True)[0]
        pages.append(reverse("members:cell-detail", args=[cell]))
    elif username == "phuong1":
        pages.append(reverse("members:referral-list"))
    elif username == "coquan1":
        pages.append(reverse("members:comment-list", args=[DEMO_TODAY.year]))
    return pages


def describe(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"  {violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"][:8]:
            lines.append(f"    {', '.join(map(str, node['target']))}: {node.get('failureSummary', '')!r}"[:400])
    return "\n".join(lines)


def test_no_serious_violation_on_each_roles_main_pages(page_for, demo, transactional_db):
    axe = Axe()
    users = get_user_model().objects.filter(username__in=["thanhuy", "phuong1", "phuong2", "khupho1", "coquan1"])
    found = []
    for user in users.order_by("username"):
        user.set_password(PASSWORD)
        user.save()
        urls = main_pages(user.username)
        for viewport in (PHONE, DESKTOP):
            page = page_for(user, viewport)
            for url in urls:
                page.goto(url, timeout=90_000)  # the demo dashboard reads six years of figures
                results = axe.run(page)
                blocking = [v for v in results.response["violations"] if v["impact"] in BLOCKING]
                if blocking:
                    found.append(f"{user.username} {url} at {viewport['width']}px:\n{describe(blocking)}")
    assert not found, "Serious or critical accessibility violations:\n" + "\n".join(found)
