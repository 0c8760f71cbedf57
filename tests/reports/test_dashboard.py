"""The dashboard (``reports:dashboard``, ``reports:dashboard-org``): scope, numbers equal to ``build_report``, the
as-of picker, drill-down, links to the lists behind the numbers, bad input, the charts and the query count."""

import dataclasses
import datetime
import html
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from branches.models import Organisation
from dongha76.dates import IMPOSSIBLE_MESSAGE
from reports import charts
from reports.report import build_report
from tests.factories import make_member, make_officer, make_organisation, make_referral, make_tree, make_user

pytestmark = pytest.mark.django_db

Kind = Organisation.Kind
DASHBOARD = reverse("reports:dashboard")


def org_url(organisation: Organisation, **params) -> str:
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return reverse("reports:dashboard-org", args=[organisation.code]) + (f"?{query}" if query else "")


def shown(value) -> str:
    """A number as the Vietnamese page writes it."""
    if value is None:
        return "–"
    return str(value).replace(".", ",")


def figure_on(page: str, key: str) -> str:
    match = re.search(rf'data-figure="{key}">\s*<div class="app-figure-value">([^<]*)</div>', page)
    assert match, f"no figure {key} on the page"
    return match.group(1).strip()


def count_on(page: str, key: str) -> str:
    match = re.search(rf'data-count="{key}">([^<]*)<', page)
    assert match, f"no count {key} on the page"
    return match.group(1).strip()


def cell_on(page: str, code: str, column: str) -> str:
    row = re.search(rf'<tr data-code="{re.escape(code)}">(.*?)</tr>', page, re.S)
    assert row, f"no row for {code}"
    cell = re.search(rf'data-col="{column}">(.*?)</td>', row.group(1), re.S)
    return re.sub(r"<[^>]+>", "", cell.group(1)).strip()


@pytest.fixture
def tree():
    return make_tree()


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def data(tree, today):
    """Four working members of the committee's cell: one placed, one stalled (introduced 40 days ago), one received
    and awaiting placement, one not introduced; a retired member; a member of the grassroots cell introduced
    today."""
    placed = make_member(tree.cell)
    make_referral(
        placed,
        receiving_ward=tree.ward1,
        introduced_on=today - datetime.timedelta(days=90),
        received_on=today - datetime.timedelta(days=80),
        placed_on=today - datetime.timedelta(days=70),
        residential_cell=tree.ward1_cell1,
    )
    stalled = make_member(tree.cell)
    make_referral(stalled, receiving_ward=tree.ward2, introduced_on=today - datetime.timedelta(days=40))
    waiting = make_member(tree.cell)
    make_referral(
        waiting,
        receiving_ward=tree.ward1,
        introduced_on=today - datetime.timedelta(days=20),
        received_on=today - datetime.timedelta(days=10),
    )
    make_member(tree.cell)
    make_member(tree.ward1_cell1, retired_on=datetime.date(2015, 1, 1))
    small = make_member(tree.grassroots_cell)
    make_referral(small, receiving_ward=tree.ward2, issuing_organisation=tree.grassroots_cell, introduced_on=today)
    return tree


def get(client, user, url):
    client.force_login(user)
    return client.get(url)


# -- scope -------------------------------------------------------------------------------------------------------------


def test_anonymous_users_are_sent_to_the_login_page(client, tree):
    for url in (DASHBOARD, org_url(tree.root)):
        response = client.get(url)
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]


@pytest.mark.parametrize(
    ("post", "allowed", "denied"),
    [
        ("root", ["root", "committee", "ward1", "ward2_cell1", "outside"], []),
        ("committee", ["committee", "cell"], ["root", "ward1", "grassroots_cell"]),
        ("ward1", ["ward1", "ward1_cell1"], ["root", "ward2", "committee", "ward2_cell1"]),
        ("ward1_cell1", ["ward1_cell1"], ["ward1", "ward1_cell2", "root"]),
        ("cell", ["cell"], ["committee", "root"]),
    ],
)
def test_scope_by_post(client, tree, post, allowed, denied):
    user = make_officer(getattr(tree, post))
    client.force_login(user)
    home = client.get(DASHBOARD)
    assert home.status_code == 200
    assert home.context["organisation"] == getattr(tree, post)
    for name in allowed:
        assert client.get(org_url(getattr(tree, name))).status_code == 200, name
    for name in denied:
        assert client.get(org_url(getattr(tree, name))).status_code == 404, name


def test_viewers_see_the_dashboard_too(client, tree):
    assert get(client, make_officer(tree.ward1, role="viewer"), DASHBOARD).status_code == 200


def test_unknown_organisation_is_404(client, tree):
    assert get(client, make_officer(tree.root), "/reports/NO-SUCH-CODE/").status_code == 404


def test_user_without_a_post_gets_404(client, tree):
    assert get(client, make_user(), DASHBOARD).status_code == 404


def test_superuser_without_a_post_sees_the_root(client, tree):
    response = get(client, make_user(is_superuser=True), DASHBOARD)
    assert response.status_code == 200
    assert response.context["organisation"] == tree.root


def test_only_get(client, tree):
    assert get(client, make_officer(tree.root), DASHBOARD).status_code == 200
    assert client.post(DASHBOARD).status_code == 405


# -- numbers -----------------------------------------------------------------------------------------------------------


HEADLINE_KEYS = [
    "members",
    "grassroots_organisations",
    "subordinate_cells",
    "residential_cells",
    "eligible",
    "introduced",
    "received",
    "received_from_outside",
    "awaiting_reception",
    "awaiting_placement",
    "stalled",
]


@pytest.mark.parametrize("post", ["root", "committee", "ward1"])
def test_numbers_on_the_page_equal_build_report(client, data, today, post):
    organisation = getattr(data, post)
    page = get(client, make_officer(organisation), DASHBOARD).content.decode()
    report = build_report(organisation, today)
    headline = report.headline
    for key in HEADLINE_KEYS:
        assert figure_on(page, key) == str(getattr(headline, key)), key
    rate = figure_on(page, "referral_rate")
    assert rate == ("–" if headline.referral_rate is None else f"{shown(headline.referral_rate)}%")
    assert figure_on(page, "not_introduced") == str(headline.eligible - headline.introduced)
    assert count_on(page, "stalled") == str(headline.stalled)
    assert count_on(page, "awaiting_placement") == str(headline.awaiting_placement)
    assert count_on(page, "stuck") == str(headline.stalled + headline.awaiting_placement)
    assert count_on(page, "irregular_attendees") == str(report.meetings.irregular_attendees)
    assert count_on(page, "late") == str(report.comments.late)
    assert count_on(page, "missing") == str(report.comments.missing)
    assert count_on(page, "committees") == str(len(report.tracking_book.committees_without_introductions))
    assert count_on(page, "wards") == str(len(report.tracking_book.wards_without_receptions))
    for row in report.by_grassroots_organisation:
        for column in ("members", "eligible", "introduced", "received", "stalled"):
            assert cell_on(page, row.code, column) == str(getattr(row, column)), (row.code, column)
        rate = "–" if row.referral_rate is None else f"{shown(row.referral_rate)}%"
        assert cell_on(page, row.code, "referral_rate") == rate


def test_the_city_figures_of_the_hand_built_data(client, data):
    page = get(client, make_officer(data.root), DASHBOARD).content.decode()
    assert figure_on(page, "members") == "6"
    assert figure_on(page, "eligible") == "5"
    assert figure_on(page, "introduced") == "4"
    assert figure_on(page, "referral_rate") == "80,0%"
    assert figure_on(page, "stalled") == "1"
    assert figure_on(page, "awaiting_placement") == "1"


def test_grassroots_table_is_worst_first(client, data):
    page = get(client, make_officer(data.root), DASHBOARD).content.decode()
    codes = re.findall(r'<tr data-code="([^"]+)">', page)
    # committee 75 % < grassroots cell 100 % < the wards (nobody to introduce: last).
    assert codes[:2] == [data.committee.code, data.grassroots_cell.code]
    assert set(codes[2:]) == {data.ward1.code, data.ward2.code}


def test_ties_on_the_rate_put_the_most_stalled_first(client, tree, today):
    """Two committees at 50 %: the one with a stalled referral comes first, whatever the names; one at 0 % before
    both."""

    def committee(name: str, *, introduced_days_ago: int | None) -> Organisation:
        organisation = make_organisation(kind=Kind.COMMITTEE, parent=tree.root, name=name)
        cell = make_organisation(kind=Kind.CELL, parent=organisation)
        make_member(cell)
        introduced = make_member(cell)
        if introduced_days_ago is not None:
            make_referral(
                introduced,
                receiving_ward=tree.ward1,
                issuing_organisation=organisation,
                introduced_on=today - datetime.timedelta(days=introduced_days_ago),
            )
        return organisation

    recent = committee("A: introduced 5 days ago", introduced_days_ago=5)
    stalled = committee("Z: introduced 60 days ago", introduced_days_ago=60)
    nobody = committee("M: nobody introduced", introduced_days_ago=None)
    page = get(client, make_officer(tree.root), DASHBOARD).content.decode()
    codes = [
        code
        for code in re.findall(r'<tr data-code="([^"]+)">', page)
        if code in {o.code for o in (recent, stalled, nobody)}
    ]
    assert codes == [nobody.code, stalled.code, recent.code]
    assert cell_on(page, stalled.code, "stalled") == "1"
    assert cell_on(page, recent.code, "referral_rate") == "50,0%"


# -- as of a day -------------------------------------------------------------------------------------------------------


def test_the_as_of_picker_changes_the_numbers(client, tree):
    member = make_member(tree.cell)
    make_referral(member, receiving_ward=tree.ward1, introduced_on=datetime.date(2024, 3, 10))
    client.force_login(make_officer(tree.root))
    before = client.get(DASHBOARD, {"as_of": "09/03/2024"}).content.decode()
    on_the_day = client.get(DASHBOARD, {"as_of": "10/03/2024"}).content.decode()
    assert figure_on(before, "introduced") == "0"
    assert figure_on(before, "referral_rate") == "0,0%"
    assert figure_on(on_the_day, "introduced") == "1"
    assert figure_on(on_the_day, "referral_rate") == "100,0%"
    assert 'id="dashboard-as-of">10/03/2024<' in on_the_day
    assert 'value="10/03/2024"' in on_the_day
    # Not today: the note says the lists show today's state.
    assert 'id="dashboard-today-note"' in on_the_day


def test_today_has_no_note_and_today_in_the_box(client, tree, today):
    page = get(client, make_officer(tree.root), DASHBOARD).content.decode()
    assert 'id="dashboard-today-note"' not in page
    assert f'value="{today:%d/%m/%Y}"' in page


def test_the_year_selector_chooses_the_comment_round(client, tree):
    client.force_login(make_officer(tree.root))
    response = client.get(DASHBOARD, {"as_of": "30/09/2024", "year": "2023"})
    assert response.context["report"].year == 2023
    assert response.context["report"].comments.year == 2023
    page = response.content.decode()
    assert '<option value="2023" selected>' in page
    # another day's figures link to no list (the lists show today)
    assert reverse("members:comment-list", args=[2023]) + "?state=late" not in html.unescape(page)
    # Without a year: the year of the as-of day.
    assert client.get(DASHBOARD, {"as_of": "30/09/2024"}).context["report"].year == 2024


def test_drill_down_keeps_the_day(client, data):
    page = get(client, make_officer(data.root), f"{DASHBOARD}?as_of=01/02/2025").content.decode()
    assert f'href="/reports/{data.committee.code}/?as_of=01%2F02%2F2025"' in page
    committee = client.get(org_url(data.committee, as_of="01/02/2025"))
    assert committee.status_code == 200
    assert committee.context["as_of"] == datetime.date(2025, 2, 1)
    committee_page = committee.content.decode()
    # The breadcrumb leads back up to the city.
    assert f'href="/reports/{data.root.code}/?as_of=01%2F02%2F2025"' in committee_page


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("31/02/2020", IMPOSSIBLE_MESSAGE),  # a date that does not exist has its own message (issue 13)
        ("hôm qua", "Nhập ngày theo dạng dd/mm/yyyy."),
        ("2020-13-01", IMPOSSIBLE_MESSAGE),
    ],
)
def test_a_bad_date_shows_an_error_and_todays_figures(client, data, today, value, message):
    response = get(client, make_officer(data.root), f"{DASHBOARD}?as_of={value}")
    assert response.status_code == 200
    page = response.content.decode()
    assert str(message) in page
    assert 'id="dashboard-fallback"' in page
    assert response.context["as_of"] == today
    assert figure_on(page, "introduced") == str(build_report(data.root, today).headline.introduced)


@pytest.mark.parametrize("query", ["as_of=01/01/1800", "as_of=01/01/2999", "year=1999", "year=abc", "as_of=&year="])
def test_out_of_range_input_is_never_a_500(client, tree, query):
    response = get(client, make_officer(tree.root), f"{DASHBOARD}?{query}")
    assert response.status_code == 200


def test_a_day_after_today_is_refused(client, tree, today):
    tomorrow = today + datetime.timedelta(days=1)
    response = get(client, make_officer(tree.root), f"{DASHBOARD}?as_of={tomorrow:%d/%m/%Y}")
    assert response.context["as_of"] == today
    assert response.context["form"].errors["as_of"]


# -- links -------------------------------------------------------------------------------------------------------------


def test_numbers_link_to_the_lists_behind_them(client, data, today):
    page = html.unescape(get(client, make_officer(data.root), DASHBOARD).content.decode())
    members = reverse("members:member-list")
    referrals = reverse("members:referral-list")
    assert f'href="{members}?referral_state=not_introduced" data-figure="not_introduced"' in page
    assert f'href="{members}?organisation={data.committee.pk}"' in page
    assert f'href="{members}?referral_state=not_introduced&organisation={data.committee.pk}"' in page
    assert f'href="{referrals}?state=stalled" data-count="stalled"' in page
    assert f'href="{referrals}?state=awaiting_placement" data-count="awaiting_placement"' in page
    assert f'href="{referrals}?state=awaiting_reception" data-figure="awaiting_reception"' in page
    assert f'href="{referrals}?state=stalled&concerning={data.committee.pk}"' in page
    comments = reverse("members:comment-list", args=[today.year])
    side = f"due_under={data.root.pk}"
    assert f'href="{comments}?state=late&{side}" data-count="late"' in page or count_on(page, "late") == "0"
    assert f'href="{comments}?state=not_written&{side}" data-count="missing"' in page
    assert f'href="{members}?introduction=eligible" data-figure="eligible"' in page
    assert f'href="{members}?introduction=introduced" data-figure="introduced"' in page
    assert f'href="{referrals}?state=received" data-figure="received"' in page
    assert f'href="{reverse("members:cell-list")}" data-figure="residential_cells"' in page
    assert 'href="/reports/api/figures/?org=' in page
    assert (
        f'href="{reverse("reports:workbook")}?org={data.root.code}&year={today.year}&as_of={today.isoformat()}"' in page
    )


def test_links_of_a_ward_and_a_committee_carry_their_filter(client, data, today):
    client.force_login(make_officer(data.root))
    ward = html.unescape(client.get(org_url(data.ward1)).content.decode())
    assert f"?state=stalled&concerning={data.ward1.pk}" in ward
    assert f"?state=received&receiving_ward={data.ward1.pk}" in ward
    assert f"{reverse('members:cell-list')}?ward={data.ward1.pk}" in ward
    committee = html.unescape(client.get(org_url(data.committee)).content.decode())
    assert f"?state=stalled&concerning={data.committee.pk}" in committee
    assert f"?referral_state=not_introduced&organisation={data.committee.pk}" in committee


def test_the_linked_lists_answer_and_hold_the_same_people(client, data):
    """Today the lists agree with the dashboard's numbers."""
    client.force_login(make_officer(data.root))
    page = html.unescape(client.get(DASHBOARD).content.decode())
    stalled_href = re.search(r'href="([^"]+)" data-count="stalled"', page).group(1)
    stalled_list = client.get(stalled_href)
    assert stalled_list.status_code == 200
    assert stalled_list.context["table"].paginator.count == 1
    not_introduced_href = re.search(r'href="([^"]+)" data-figure="not_introduced"', page).group(1)
    not_introduced = client.get(not_introduced_href)
    assert not_introduced.status_code == 200
    assert not_introduced.context["table"].paginator.count == 1


def test_committees_without_book_activity_link_to_their_book(client, tree, today):
    make_member(tree.cell)  # eligible, never introduced this year
    page = html.unescape(get(client, make_officer(tree.root), DASHBOARD).content.decode())
    assert count_on(page, "committees") == "1"
    assert reverse("members:tracking-book", args=[tree.committee.pk, today.year]) in page


# -- charts ------------------------------------------------------------------------------------------------------------


def test_the_page_has_its_three_charts(client, data):
    page = get(client, make_officer(data.root), DASHBOARD).content.decode()
    for chart_id in ("chart-rate", "chart-meetings", "chart-trend"):
        assert re.search(rf'id="{chart_id}" role="(img|group)"', page)  # group: its bars are links
        assert f'<title id="{chart_id}-title">' in page
        assert f'<desc id="{chart_id}-desc">' in page
    assert not re.search(r'<script[^>]+src="(https?:)?//', page)  # no charting library from elsewhere
    assert page.count("<svg") - page.count("app-bell-icon") == 3  # the three charts; the menu's bell is an icon


def test_trend_has_five_points_and_the_as_of_day_last(client, tree):
    response = get(client, make_officer(tree.root), f"{DASHBOARD}?as_of=30/09/2018")
    trend = str(response.context["trend_chart"])
    for label in ("2014", "2015", "2016", "2017", "30/09/2018"):
        assert f">{label}</text>" in trend


def test_bar_chart_escapes_names_and_links_bars():
    svg = str(
        charts.percent_bars(
            [charts.Bar("<script>x</script>", Decimal("50.0"), href="/reports/A/?x=1&y=2"), charts.Bar("Nobody", None)],
            title="T",
            desc="D",
            empty="none",
        )
    )
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    assert 'href="/reports/A/?x=1&amp;y=2"' in svg
    assert "50,0%" in svg or "50.0%" in svg


def test_empty_charts_say_so():
    assert "nothing here" in str(charts.percent_bars([], title="T", desc="D", empty="nothing here"))
    pairs = charts.paired_columns([], first_label="a", second_label="b", title="T", desc="D", empty="no cells")
    assert "no cells" in str(pairs)
    assert "<svg" in str(charts.percent_line([charts.Point("2020", None)], title="T", desc="D"))


# -- query count -------------------------------------------------------------------------------------------------------


def build_city(size: int, today: datetime.date) -> Organisation:
    """A city with ``size`` organisations: committees with a cell and two members (one introduced, one stalled),
    and wards with a residential cell."""
    root = make_organisation(kind=Kind.ROOT)
    ward = make_organisation(kind=Kind.WARD, parent=root)
    make_organisation(kind=Kind.RESIDENTIAL_CELL, parent=ward)
    count = 3
    while count < size:
        committee = make_organisation(kind=Kind.COMMITTEE, parent=root)
        cell = make_organisation(kind=Kind.CELL, parent=committee)
        count += 2
        make_referral(make_member(cell), receiving_ward=ward, introduced_on=today - datetime.timedelta(days=5))
        make_referral(make_member(cell), receiving_ward=ward, introduced_on=today - datetime.timedelta(days=50))
    return root


def queries_of(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_same_number_of_queries_for_10_and_200_organisations(client, today):
    small = build_city(10, today)
    large = build_city(200, today)
    client.force_login(make_user(is_superuser=True))
    small_url = org_url(small, as_of=f"{today:%d/%m/%Y}", year=today.year)
    large_url = org_url(large, as_of=f"{today:%d/%m/%Y}", year=today.year)
    client.get(small_url)  # warm the session, the caches and the stored trend
    client.get(large_url)
    assert queries_of(client, small_url) == queries_of(client, large_url)


# -- drill-downs (issue 13) --------------------------------------------------------------------------------------------


def test_every_number_link_carries_data_number_and_the_numbers_one_format(client, tree, today):
    for _ in range(3):
        make_member(tree.cell)
    page = get(client, make_officer(tree.root), DASHBOARD).content.decode()
    links = re.findall(r"<a [^>]*data-number[^>]*>", page)
    assert len(links) >= 8
    assert all('href="' in link for link in links)
    assert figure_on(page, "members") == "3"


def test_numbers_over_a_thousand_are_written_with_a_dot_and_the_json_stays_raw(client, tree, today, monkeypatch):
    from reports import figures

    real = figures.headline

    def big(organisation, as_of):
        return dataclasses.replace(real(organisation, as_of), members=6126)

    monkeypatch.setattr(figures, "headline", big)
    officer = make_officer(tree.root)
    page = get(client, officer, DASHBOARD).content.decode()
    assert figure_on(page, "members") == "6.126"
    client.force_login(officer)
    answer = client.get(reverse("reports:figures-api"), {"org": tree.root.code}).json()
    assert answer["members"] == 6126


def test_the_figures_of_another_day_link_to_no_list(client, data, today):
    officer = make_officer(data.root)
    past = today - datetime.timedelta(days=3)
    page = get(client, officer, f"{DASHBOARD}?as_of={past:%d/%m/%Y}").content.decode()
    hrefs = re.findall(r'<a [^>]*data-number[^>]*href="([^"]*)"', page)
    # in the page, or the list of the tracking-book gaps, which is a figure of that day too
    day = f"as_of={past:%d/%m/%Y}".replace("/", "%2F")
    gaps = [
        f"{reverse('reports:tracking-book-gaps', args=[data.root.code, which])}?{day}"
        for which in ("committees", "wards")
    ]
    assert all(href.startswith("#") or href in gaps for href in hrefs), hrefs
    assert gaps[0] in hrefs
    assert 'id="dashboard-today-note"' in page
