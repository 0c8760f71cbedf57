"""The menu and the charts in a real browser (issue 13): the desktop menu fits one line at 1366 px with every entry
still reachable, every menu link reads at AA contrast (4.5:1) on the red bar, normal, active and hovered, and shows
where the keyboard focus is; the dashboard's charts do not make a 360 px phone scroll sideways.

Contrast is computed from the computed styles (the colour of the text over the bar's background).
"""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.e2e.conftest import PASSWORD, no_horizontal_scroll
from tests.factories import make_member, make_officer, make_referral, make_tree

pytestmark = pytest.mark.e2e

LAPTOP = {"width": 1366, "height": 900}
SMALL_PHONE = {"width": 360, "height": 740}

# The WCAG contrast of the text colour of an element over the nearest opaque background behind it.
CONTRAST_JS = """
(element) => {
  const parse = (value) => {
    const m = value.match(/rgba?\\(([^)]+)\\)/);
    const parts = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
    return {r: parts[0], g: parts[1], b: parts[2], a: parts.length > 3 ? parts[3] : 1};
  };
  const background = (node) => {
    for (; node; node = node.parentElement) {
      const colour = parse(getComputedStyle(node).backgroundColor);
      if (colour.a === 1) return colour;
    }
    return {r: 255, g: 255, b: 255, a: 1};
  };
  const behind = background(element);
  const over = (c) => ({
    r: c.r * c.a + behind.r * (1 - c.a), g: c.g * c.a + behind.g * (1 - c.a), b: c.b * c.a + behind.b * (1 - c.a)
  });
  const own = parse(getComputedStyle(element).backgroundColor);
  const ground = own.a > 0 ? over(own) : behind;
  const text = parse(getComputedStyle(element).color);
  const blended = {
    r: text.r * text.a + ground.r * (1 - text.a),
    g: text.g * text.a + ground.g * (1 - text.a),
    b: text.b * text.a + ground.b * (1 - text.a),
  };
  const channel = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  const luminance = (c) => 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b);
  const [hi, lo] = [luminance(blended), luminance(ground)].sort((a, b) => b - a);
  return (hi + 0.05) / (lo + 0.05);
}
"""


@pytest.fixture
def city(transactional_db):
    """City staff: the longest menu (every entry, import, access log, restructures, administration)."""
    tree = make_tree()
    member = make_member(tree.cell, full_name="Lê Thị Hồng Nhung")
    make_referral(member, receiving_ward=tree.ward1)
    make_member(tree.cell)
    return make_officer(tree.root, role="staff", username="thanhuy-menu", password=PASSWORD, is_staff=True)


def test_desktop_menu_is_one_line_at_1366_and_every_entry_is_reachable(page_for, city):
    page = page_for(city, LAPTOP)
    page.goto(reverse("members:member-list"))
    nav = page.locator("nav.app-navbar")
    links = page.locator("#main-nav .navbar-nav > .nav-item > .nav-link, #main-nav .navbar-nav > .nav-item > button")
    tops = {round(box["y"]) for box in (link.bounding_box() for link in links.all()) if box}
    assert len(tops) == 1, f"menu entries on {len(tops)} lines: {sorted(tops)}"
    height = nav.bounding_box()["height"]
    assert height < 70, f"the menu bar is {height}px high: more than one line"
    # Every page of the menu is still there: in the bar or in the "More" menu.
    for name in ("member-list", "referral-list", "cell-list", "tracking-book-index"):
        assert page.locator(f'#main-nav a[href="{reverse("members:" + name)}"]').count() == 1
    for url in (reverse("reports:dashboard"), reverse("workbooks:import"), reverse("audit:access-log")):
        assert page.locator(f'#main-nav a[href="{url}"]').count() == 1
    assert page.locator(f'#main-nav a[href="{reverse("restructures:restructure-list")}"]').count() == 1
    assert page.locator(f'#main-nav a[href="{reverse("admin:index")}"]').count() == 1
    # An entry in the "More" menu opens with the keyboard.
    more = page.locator("#nav-more")
    if more.count():
        more.focus()
        page.keyboard.press("Enter")
        expect(page.locator("#nav-more + .dropdown-menu")).to_be_visible()


def test_menu_links_have_aa_contrast_and_a_visible_focus(page_for, city):
    page = page_for(city, LAPTOP)
    page.goto(reverse("members:member-list"))  # "Party members" is the active entry
    links = page.locator("#main-nav .navbar-nav > .nav-item > .nav-link")
    assert page.locator("#main-nav .nav-link.active").count() == 1
    low = []
    for link in links.all():
        ratio = link.evaluate(CONTRAST_JS)
        if ratio < 4.5:
            low.append(f"{link.inner_text()!r}: {ratio:.2f}")
    brand = page.locator(".navbar-brand")
    if brand.evaluate(CONTRAST_JS) < 4.5:
        low.append("brand")
    assert not low, f"menu links below 4.5:1: {low}"

    first = links.first
    first.hover()
    assert first.evaluate(CONTRAST_JS) >= 4.5, "hovered link below 4.5:1"
    page.mouse.move(0, 500)

    # The keyboard focus: an outline or a box shadow that is not the bar's own colour.
    page.locator("body").focus()
    page.keyboard.press("Tab")  # the brand
    page.keyboard.press("Tab")  # the first link
    focused = page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return {outline: s.outlineStyle + ' ' + s.outlineWidth, shadow: s.boxShadow,"
        " cls: document.activeElement.className}; }"
    )
    assert "nav-link" in focused["cls"], focused
    assert focused["outline"].split()[0] != "none" or focused["shadow"] != "none", focused


def test_dashboard_charts_fit_a_360_px_phone(page_for, city):
    page = page_for(city, SMALL_PHONE)
    page.goto(reverse("reports:dashboard"))
    for chart in ("chart-rate", "chart-meetings", "chart-trend"):
        expect(page.locator(f"svg#{chart}")).to_be_visible()
    assert no_horizontal_scroll(page), page.evaluate("document.documentElement.scrollWidth")
    # A chart too wide to shrink scrolls inside its own box, which the keyboard can reach (it takes the focus).
    for box in page.locator(".app-chart-box").all():
        inner = box.evaluate("(b) => b.getBoundingClientRect().right")
        assert inner <= SMALL_PHONE["width"], inner
        if box.evaluate("(b) => b.scrollWidth > b.clientWidth"):
            assert box.get_attribute("tabindex") == "0"
