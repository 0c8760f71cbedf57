"""A large workbook in a real browser: while a thread checks it, the import page shows a progress bar (drawn under the
Content-Security-Policy, polled by htmx), then reloads to the result by itself.

The check is held at a known point (a quarter of the rows) until the bar has been read, so that the test sees the
bar at that value whatever the machine's speed; everything else is the real path: the upload form, the thread of
``workbooks.jobs``, the progress written on its own connection, the page's polling.
"""

import re
import threading

import pytest
from django.urls import reverse
from playwright.sync_api import expect

import workbooks.services
from tests.e2e.conftest import PASSWORD, PHONE, no_horizontal_scroll
from tests.factories import make_officer, make_tree
from tests.workbooks.test_views import build_workbook, good_rows
from workbooks import jobs
from workbooks.models import WorkbookImport

pytestmark = pytest.mark.e2e

WATCH_CSP = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolation(`${event.effectiveDirective} blocked ${event.blockedURI || "inline"}`);
});
"""


def test_a_background_check_shows_its_progress_then_its_result(
    page_for, transactional_db, tmp_path, settings, monkeypatch
):
    settings.WORKBOOK_BACKGROUND_BYTES = 0  # every file is checked in a thread
    tree = make_tree()
    city = make_officer(tree.root, role="staff", username="thanhuy-progress", password=PASSWORD)
    path = tmp_path / "so-lon.xlsx"
    path.write_bytes(build_workbook(good_rows(tree)))
    released = threading.Event()
    real = workbooks.services.import_workbook

    def held(*args, progress=None, **kwargs):
        progress("members", 1, 4)
        assert released.wait(60)
        return real(*args, progress=progress, **kwargs)

    monkeypatch.setattr(workbooks.services, "import_workbook", held)
    page = page_for(city, PHONE)
    violations: list[str] = []
    page.context.expose_binding("__cspViolation", lambda _source, text: violations.append(text))
    page.add_init_script(WATCH_CSP)
    try:
        page.goto(reverse("workbooks:import"))
        form = page.locator("#upload-form")
        form.locator("input[type=file]").set_input_files(path)
        with page.expect_navigation():
            form.locator("button[type=submit]").click()
        record = WorkbookImport.objects.get()
        bar = page.locator("#import-progress [role=progressbar]")
        expect(bar).to_have_attribute("aria-valuenow", "25", timeout=15_000)
        inner = page.locator("#import-progress .progress-bar").bounding_box()
        outer = bar.bounding_box()
        assert 0.2 < inner["width"] / outer["width"] < 0.3  # drawn by the stylesheet's classes, no inline style
        assert no_horizontal_scroll(page)
    finally:
        released.set()
    expect(page.locator("#confirm-form")).to_be_visible(timeout=20_000)
    expect(page.locator("#import-progress")).to_have_count(0)
    expect(page).to_have_url(re.compile(re.escape(reverse("workbooks:import-detail", args=[record.pk])) + "$"))
    jobs.join_all(30)
    assert violations == []
