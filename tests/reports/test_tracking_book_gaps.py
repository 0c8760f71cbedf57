"""The dashboard's weak spot 1 (the tracking book not kept up) at any size: the dashboard names the first few
committees and wards, its numbers open ``reports:tracking-book-gaps``, which lists all of them a page at a time, as of
the dashboard's day and year, within the user's scope (a nation has thousands: the names alone made its dashboard a
megabyte)."""

import datetime
import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from branches.models import Organisation
from reports import figures, views
from tests.factories import make_member, make_officer, make_organisation, make_referral, make_tree

pytestmark = pytest.mark.django_db

Kind = Organisation.Kind


def gaps_url(organisation: Organisation, which: str, **params) -> str:
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return reverse("reports:tracking-book-gaps", args=[organisation.code, which]) + (f"?{query}" if query else "")


def listed(page: str) -> list[str]:
    """The codes of the list's rows, in order."""
    return re.findall(r'<li class="py-1" data-code="([^"]+)">', page)


def row_count(page: str) -> int:
    return int(re.search(r'id="gaps" data-row-count="(\d+)"', page).group(1))


def committees_with_a_member(root: Organisation, n: int) -> list[Organisation]:
    """``n`` committees, each with a cell and an eligible member never introduced: each one a gap."""
    committees = []
    for i in range(n):
        committee = make_organisation(kind=Kind.COMMITTEE, parent=root, name=f"Đảng bộ {i:03d}", code=f"C{i:03d}")
        make_member(make_organisation(kind=Kind.CELL, parent=committee))
        committees.append(committee)
    return committees


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def city(today):
    """Seven committees with a member to introduce and none introduced; two wards, one with a referral waiting and
    no reception."""
    tree = make_tree()
    tree.committees = committees_with_a_member(tree.root, 7)
    make_referral(make_member(tree.cell), receiving_ward=tree.ward1, introduced_on=today - datetime.timedelta(days=3))
    return tree


@pytest.fixture
def few(monkeypatch):
    """Three names on the dashboard, four per page of the list."""
    monkeypatch.setattr(views, "GAPS_SHOWN", 3)
    monkeypatch.setattr(views, "GAPS_PER_PAGE", 4)


def test_the_dashboard_names_the_first_few_and_links_its_number_to_all_of_them(client, city, few, today):
    client.force_login(make_officer(city.root))
    page = html.unescape(client.get(reverse("reports:dashboard")).content.decode())
    expected = figures.tracking_book_activity(city.root, today.year, today).committees_without_introductions
    assert len(expected) == 7  # the seven committees; the committee of the tree introduced its member
    href = gaps_url(city.root, "committees")
    number = rf'<a data-number class="app-weak-number" href="{re.escape(href)}" data-count="committees">7<'
    assert re.search(number, page)
    names = re.search(r'<details id="weak-committees">(.*?)</details>', page, re.S).group(1)
    assert re.findall(r"<li>.*?</li>", names, re.S) == [
        f'<li><a href="{reverse("members:tracking-book", args=[ref_pk, today.year])}">{ref.name}</a></li>'
        for ref, ref_pk in ((ref, Organisation.objects.get(code=ref.code).pk) for ref in expected[:3])
    ]
    assert f'<a class="small" href="{href}">' in names  # the way to all seven


def test_the_list_pages_through_all_of_them_with_their_books(client, city, few, today):
    client.force_login(make_officer(city.root))
    expected = [
        ref.code
        for ref in figures.tracking_book_activity(city.root, today.year, today).committees_without_introductions
    ]
    pages = [client.get(gaps_url(city.root, "committees", page=n)) for n in (1, 2)]
    assert [response.status_code for response in pages] == [200, 200]
    first, second = (html.unescape(response.content.decode()) for response in pages)
    assert row_count(first) == row_count(second) == 7
    assert listed(first) + listed(second) == expected
    assert 'start="5"' in second  # the numbering goes on
    book = reverse("members:tracking-book", args=[city.committees[0].pk, today.year])
    assert f'<a href="{book}">Đảng bộ 000</a>' in first
    assert "page=2" in first and "page=1" in second


def test_the_wards_list(client, city, today):
    client.force_login(make_officer(city.root))
    page = html.unescape(client.get(gaps_url(city.root, "wards")).content.decode())
    assert listed(page) == [city.ward1.code]
    assert row_count(page) == 1


def test_the_list_is_as_of_the_dashboards_day_and_year(client, city, few, today):
    """A day and a year carried from the dashboard: the list is that day's, its back link keeps them."""
    last_year = today.year - 1
    day = datetime.date(last_year, 12, 31)
    client.force_login(make_officer(city.root))
    dashboard = html.unescape(
        client.get(
            reverse("reports:dashboard-org", args=[city.root.code]), {"as_of": f"{day:%d/%m/%Y}", "year": last_year}
        ).content.decode()
    )
    href = re.search(r'href="([^"]+)" data-count="committees"', dashboard).group(1)
    assert href == gaps_url(city.root, "committees", as_of=f"{day:%d/%m/%Y}".replace("/", "%2F"), year=last_year)
    response = client.get(href)
    page = html.unescape(response.content.decode())
    expected = figures.tracking_book_activity(city.root, last_year, day).committees_without_introductions
    assert row_count(page) == len(expected)
    assert response.context["as_of"] == day and response.context["year"] == last_year
    assert f"as_of={day:%d/%m/%Y}".replace("/", "%2F") in response.context["dashboard_href"]


def test_a_wrong_day_falls_back_to_today_with_a_message(client, city, today):
    client.force_login(make_officer(city.root))
    response = client.get(gaps_url(city.root, "committees", as_of="31/02/2020", year="abc"))
    assert response.status_code == 200
    assert response.context["as_of"] == today and response.context["year"] == today.year
    assert 'id="gaps-fallback"' in response.content.decode()


def test_a_ward_sees_its_own_list_and_nothing_outside(client, city):
    client.force_login(make_officer(city.ward1))
    assert client.get(gaps_url(city.ward1, "wards")).status_code == 200
    assert client.get(gaps_url(city.root, "committees")).status_code == 404
    assert client.get(gaps_url(city.ward2, "wards")).status_code == 404
    assert client.get(gaps_url(city.committees[0], "committees")).status_code == 404


@pytest.mark.parametrize("which", ["books", "committee", "", "wards%00"])
def test_an_unknown_list_is_404(client, city, which):
    client.force_login(make_officer(city.root))
    assert client.get(f"/reports/{city.root.code}/tracking-book-gaps/{which}/").status_code == 404


def test_a_committee_sees_its_own_gap(client, today):
    tree = make_tree()
    make_member(tree.cell)
    client.force_login(make_officer(tree.committee))
    page = client.get(gaps_url(tree.committee, "committees")).content.decode()
    assert listed(page) == [tree.committee.code]


def test_the_queries_do_not_grow_with_the_list(client, few, today):
    def queries(n):
        root = make_organisation(kind=Kind.ROOT)
        for _ in range(n):
            committee = make_organisation(kind=Kind.COMMITTEE, parent=root)
            make_member(make_organisation(kind=Kind.CELL, parent=committee))
        client.force_login(make_officer(root))
        url = gaps_url(root, "committees")
        client.get(url)  # the session and the caches warm
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    assert queries(3) == queries(30)


@pytest.mark.parametrize("url", ["/reports/T%00/", "/reports/T%00/tracking-book-gaps/committees/"])
def test_a_code_no_organisation_can_have_is_404(client, city, url):
    """A NUL character in the code: PostgreSQL refuses it in a query (it was a 500 there)."""
    client.force_login(make_officer(city.root))
    assert client.get(url).status_code == 404
