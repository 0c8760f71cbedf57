"""The API's description page (/api/v1/docs/) in a real browser: Swagger UI, served from the package, renders the
schema's endpoints under the site's Content-Security-Policy without a single violation (no inline script or style,
nothing from another origin)."""

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import DESKTOP, TIMEOUT_MS

pytestmark = pytest.mark.e2e

WATCH = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolation(`${event.effectiveDirective} blocked ${event.blockedURI || "inline"} `
                        + `at ${event.sourceFile}:${event.lineNumber}`);
});
"""


def test_the_description_page_renders_the_endpoints_without_csp_violations(browser: Browser, live_server, db):
    context = browser.new_context(base_url=live_server.url, viewport=DESKTOP)
    context.set_default_timeout(TIMEOUT_MS)
    violations, requests = [], []
    context.expose_binding("__cspViolation", lambda source, message: violations.append(message))
    context.add_init_script(WATCH)
    page = context.new_page()
    page.on("console", lambda message: "Content Security Policy" in message.text and violations.append(message.text))
    page.on("request", lambda request: requests.append(request.url))
    try:
        page.goto("/api/v1/docs/")
        expect(page.locator(".swagger-ui .info .title")).to_contain_text("dongha76 API")
        expect(page.locator(".opblock-summary-path", has_text="/api/v1/members/").first).to_be_visible()
        expect(page.locator(".opblock-summary-path", has_text="/api/v1/figures/").first).to_be_visible()
        page.locator(".opblock-summary-path", has_text="/api/v1/members/").first.click()
        expect(page.locator(".parameters-col_name", has_text="changed_since").first).to_be_visible()
        assert violations == []
        assert all(url.startswith(live_server.url) or url.startswith("data:") for url in requests), requests
    finally:
        context.close()
