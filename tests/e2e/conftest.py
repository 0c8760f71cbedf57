"""Browser tests: Python Playwright (sync API) driving Debian's Chromium against pytest-django's live server.

The browser is Debian's ``chromium`` package (``apt-get install -y chromium``); Playwright never downloads one. Set
``E2E_CHROMIUM`` to use another binary. Without a browser these tests FAIL: CI must not pass because they were
silently skipped.

Playwright's sync API keeps an asyncio event loop running in the main thread for as long as it is started, and
Django refuses ORM calls from a thread with a running loop (SynchronousOnlyOperation). So Playwright is started once
for this package (not for the whole session: the tests after it would inherit the running loop), and
``DJANGO_ALLOW_ASYNC_UNSAFE`` is set only while it runs. The test bodies are plain synchronous code; the live server
answers from its own thread. While that loop runs, Django keeps this thread's database connections apart from the
ones it had before (``running_playwright`` says why and closes them when Playwright stops).
"""

import contextlib
import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.db import connections
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

E2E_DIR = Path(__file__).resolve().parent
RESULTS_DIR = E2E_DIR.parent.parent / "test-results"

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 10_000
PASSWORD = "e2e-pass-Đông-Hà-76"  # give it to make_officer(..., password=PASSWORD); page_for logs in with it


def chromium_path() -> str:
    """Debian's Chromium, or the binary ``E2E_CHROMIUM`` names; fails the test run when there is none."""
    configured = os.environ.get("E2E_CHROMIUM", "").strip()
    path = shutil.which(configured) if configured else shutil.which("chromium")
    if not path:
        wanted = f"E2E_CHROMIUM={configured!r} is not an executable" if configured else "chromium is not on PATH"
        pytest.fail(
            f"Browser tests need Chromium: {wanted}. Install Debian's package: `apt-get install -y chromium` "
            "(or set E2E_CHROMIUM to a Chromium binary). These tests fail rather than skip without it.",
            pytrace=False,
        )
    return path


def pytest_collection_modifyitems(config, items):
    """Every test under tests/e2e is marked ``e2e`` (``-m "not e2e"`` leaves them out of a quick run)."""
    for item in items:
        if E2E_DIR in item.path.parents:
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Users log in through the real form; a cheap hasher keeps that from costing a second per user."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@contextlib.contextmanager
def running_playwright() -> Iterator[Playwright]:
    """Playwright's sync API, started for the ``with`` block, with Django allowed beside its event loop; at the end,
    the database connections this thread opened meanwhile are closed.

    While an event loop runs in this thread, Django's connections (asgiref's thread-critical ``Local``) are kept in
    a context variable, not in the thread's own storage: those opened meanwhile are out of Django's reach once the
    loop stops. A test's teardown closes its own, but one opened after it - the demo data that tests/conftest.py's
    ``demo`` deletes at the end of a browser test module - stayed open until the test process ended, and the
    session's end could not drop the test database ("being accessed by other users"). So they are closed here,
    while the loop still runs and they can still be reached."""
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            try:
                yield playwright
            finally:
                connections.close_all()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """One headless Chromium for all the browser tests (they are all in this package)."""
    executable = chromium_path()
    with running_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _screenshot_name(nodeid: str, index: int) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid.split("/")[-1]) + f"-{index}.png"


@pytest.fixture
def page_for(request, browser: Browser, live_server) -> Iterator[Callable[..., Page]]:
    """``page_for(user, viewport=PHONE)``: a page in a fresh browser context, logged in through the login form.

    The user needs a real password: create it with ``make_officer(..., password=PASSWORD)`` (or pass another one
    as ``password=``). On failure every open page is saved as a screenshot
    in test-results/.
    """
    contexts: list[BrowserContext] = []

    def open_page(user, viewport: dict[str, int] = DESKTOP, *, password: str = PASSWORD) -> Page:
        context = browser.new_context(
            base_url=live_server.url,
            viewport=viewport,
            locale="vi-VN",
            timezone_id="Asia/Ho_Chi_Minh",
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.goto("/accounts/login/")
        page.locator("#id_username").fill(user.get_username())
        page.locator("#id_password").fill(password)
        with page.expect_navigation():
            page.locator("main form[action$='/accounts/login/'] button[type=submit]").click()
        if "/accounts/login/" in page.url:
            pytest.fail(f"{user.get_username()} could not log in through the login form", pytrace=False)
        return page

    yield open_page

    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        RESULTS_DIR.mkdir(exist_ok=True)
        index = 0
        for context in contexts:
            for page in context.pages:
                index += 1
                page.screenshot(path=RESULTS_DIR / _screenshot_name(request.node.nodeid, index), full_page=True)
    for context in contexts:
        context.close()


def no_horizontal_scroll(page: Page) -> bool:
    """True when the page does not scroll sideways. The phone viewport is a plain 390 px wide window (no mobile
    emulation): a mobile browser would zoom out to fit wide content and hide the overflow from this check."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
