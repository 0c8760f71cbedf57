"""A restructure in a real browser, on the demo data (issue 11's browser acceptance test).

City staff merge two residential cells of one ward into the first of them, the day after the demo's last recorded
day: they fill the form, read the preview (which cell ends, how many members and placed referrals move), confirm.
Then the dashboards of the day before still show the two cells as they were, those of the day after the merged
cell; the cell pages (which show today, after the merge) list the moved members in the merged cell; the ward's
tracking book keeps, for a referral placed in the ended cell, the cell it was placed in.

Only the setup reads the database (to choose the cells and a member to look for); every step goes through the pages.
Selectors are the templates' ids and data attributes, not texts.
"""

import datetime
import re

import pytest
from django.contrib.auth import get_user_model
from django.db.models import Count, Q
from django.urls import reverse
from playwright.sync_api import Page, expect

from branches.models import Organisation, Restructure
from members.models import Placement
from tests.conftest import DEMO_TODAY
from tests.e2e.conftest import DESKTOP, PASSWORD, PHONE, no_horizontal_scroll

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

EFFECTIVE = DEMO_TODAY + datetime.timedelta(days=1)  # after every event of the demo, not in the future
BEFORE = EFFECTIVE - datetime.timedelta(days=1)
Kind = Organisation.Kind


def _day(day: datetime.date) -> str:
    return day.strftime("%d/%m/%Y")


def _open_placements(cell: Organisation):
    return Placement.objects.filter(residential_cell=cell, ended_on__isnull=True, referral__ended_on__isnull=True)


def choose_cells() -> tuple[Organisation, Organisation, Organisation]:
    """A ward of the demo and two of its residential cells in force, each with members living in it and referred
    members placed in it (khu phố of the wards merged in the demo's 2025 reform: DHA-KP1 and DHA-KP2)."""
    cells = (
        Organisation.objects.valid_on(EFFECTIVE)
        .filter(kind=Kind.RESIDENTIAL_CELL, parent__valid_to__isnull=True)
        .annotate(
            homes=Count(
                "member_homes",
                filter=Q(member_homes__ended_on__isnull=True)
                & (Q(member_homes__member__left_on__isnull=True) | Q(member_homes__member__left_on__gt=EFFECTIVE)),
                distinct=True,
            ),
            placed=Count(
                "placements",
                filter=Q(placements__ended_on__isnull=True, placements__referral__ended_on__isnull=True),
                distinct=True,
            ),
        )
        .filter(homes__gt=0, placed__gt=0)
        .select_related("parent")
        .order_by("parent__path", "path")
    )
    by_ward: dict[int, list[Organisation]] = {}
    for cell in cells:
        by_ward.setdefault(cell.parent_id, []).append(cell)
        if len(by_ward[cell.parent_id]) == 2:
            first, second = by_ward[cell.parent_id]
            return first.parent, first, second
    pytest.fail("The demo data has no ward with two residential cells holding members and placed referrals")


def figure(page: Page, key: str) -> int:
    return int(page.locator(f'[data-figure="{key}"] .app-figure-value').inner_text().replace(".", "").replace(",", ""))


def dashboard(page: Page, code: str, day: datetime.date) -> dict[str, int]:
    page.goto(reverse("reports:dashboard-org", args=[code]) + f"?as_of={_day(day)}")
    expect(page.locator("#dashboard-as-of")).to_have_text(_day(day))
    return {key: figure(page, key) for key in ("members", "residential_cells")}


def test_city_staff_merge_two_residential_cells_and_the_past_stays(page_for, demo, transactional_db):
    ward, kept, merged = choose_cells()
    # a referred member placed in the cell that ends, the latest placed before the merger's year (the ward's book of
    # that year lists them, in the cell of the book's last day: before the merger)
    placement = (
        _open_placements(merged)
        .filter(referral__placed_on__lt=datetime.date(EFFECTIVE.year, 1, 1))
        .select_related("referral__member")
        .order_by("-referral__placed_on", "referral__member__card_number")
        .first()
    )
    moved, placed_year = placement.referral.member, placement.referral.placed_on.year
    # the demo's 2025 reform started the cell (a merger of khu phố): its dashboard lists that one already
    earlier_restructures = Restructure.objects.filter(Q(predecessors=merged) | Q(successors=merged)).distinct().count()
    city = get_user_model().objects.get(username="thanhuy")
    city.set_password(PASSWORD)
    city.save()
    page = page_for(city, DESKTOP)

    # Before: the dashboards of the day before, of each cell and of the ward.
    kept_before = dashboard(page, kept.code, BEFORE)
    merged_before = dashboard(page, merged.code, BEFORE)
    ward_before = dashboard(page, ward.code, BEFORE)
    assert merged_before["members"] > 0

    # The menu leads to the restructures; the merge form.
    page.goto(reverse("home"))
    page.locator("#nav-more").click()  # the city staff's pages are under "More"
    with page.expect_navigation():
        page.locator("#nav-restructures").click()
    with page.expect_navigation():
        page.locator('#restructure-operations [data-operation="merge"]').click()
    # the organisations are many: each is searched by its code and ticked, the target searched and chosen
    for cell in (kept, merged):
        page.locator("#id_codes_term").fill(cell.code)
        page.locator(f'#id_codes_list input[value="{cell.code}"]').check()
    expect(page.locator("#id_codes_list input:checked")).to_have_count(2)
    page.locator("#id_into_term").fill(kept.code)
    page.locator("#id_into").select_option(kept.code)  # waits for the search's answer to hold it
    page.locator("#id_effective_on").fill(_day(EFFECTIVE))
    page.locator("#id_note").fill("Nghị quyết sáp nhập khu phố (kiểm thử)")
    with page.expect_navigation():
        page.locator("#restructure-preview-button").click()

    # The preview: the merged cell ends into the kept one; its members and placed referrals move; no problem.
    expect(page.locator("#preview-day")).to_have_text(_day(EFFECTIVE))
    expect(page.locator("#preview-problems")).to_have_count(0)
    ending = page.locator("#preview-ending")
    expect(ending.locator(f'[data-code="{merged.code}"]')).to_contain_text(merged.name)
    expect(ending.locator(f'[data-code="{kept.code}"]')).to_have_count(0)
    flow = page.locator(f'#preview-flows tr[data-from="{merged.code}"][data-to="{kept.code}"]')
    expect(flow.locator('[data-count="homes"]')).to_have_text(str(merged.homes))
    expect(flow.locator('[data-count="placements"]')).to_have_text(str(merged.placed))
    assert Organisation.objects.get(pk=merged.pk).valid_to is None  # nothing written by the preview

    with page.expect_navigation():
        page.locator("#confirm-button").click()
    assert re.search(r"/restructures/\d+/$", page.url), page.url
    expect(page.locator("#restructure-predecessors")).to_contain_text(merged.name)
    expect(page.locator("#restructure-successors")).to_contain_text(kept.name)
    expect(page.locator("#restructure-note")).to_contain_text("kiểm thử")

    # The day before: exactly as before. The day after: one cell, holding the members of both.
    assert dashboard(page, kept.code, BEFORE) == kept_before
    assert dashboard(page, merged.code, BEFORE) == merged_before
    assert dashboard(page, ward.code, BEFORE) == ward_before
    kept_after = dashboard(page, kept.code, EFFECTIVE)
    assert kept_after["members"] == kept_before["members"] + merged_before["members"]
    assert dashboard(page, merged.code, EFFECTIVE)["members"] == 0
    ward_after = dashboard(page, ward.code, EFFECTIVE)
    assert ward_after["members"] == ward_before["members"]
    assert ward_after["residential_cells"] == ward_before["residential_cells"] - 1
    # each cell's dashboard lists the restructure
    page.goto(reverse("reports:dashboard-org", args=[merged.code]))
    expect(page.locator("#restructures")).to_be_visible()
    expect(page.locator("#restructure-list li")).to_have_count(earlier_restructures + 1)

    # The cell pages show today, after the merge: the member placed in the ended cell is in the kept one.
    page.goto(reverse("members:cell-detail", args=[kept.pk]))
    expect(page.locator("main")).to_contain_text(moved.full_name)
    page.goto(reverse("members:cell-detail", args=[merged.pk]))
    expect(page.locator("main")).not_to_contain_text(moved.full_name)

    # The ward's tracking book of the year the member was placed keeps the cell they were placed in then.
    page.goto(reverse("members:tracking-book", args=[ward.pk, placed_year]))
    row = page.locator('[data-part="received"] tr', has_text=moved.full_name).first
    expect(row).to_contain_text(merged.name)
    expect(row).not_to_contain_text(kept.name)

    # The list of restructures, on a phone.
    phone = page_for(city, PHONE)
    phone.goto(reverse("restructures:restructure-list"))
    this_one = phone.locator("#restructure-table tbody tr", has_text=_day(EFFECTIVE))  # the reform's are of 2025
    expect(this_one).to_have_count(1)
    expect(this_one).to_contain_text(merged.code)
    assert no_horizontal_scroll(phone)
