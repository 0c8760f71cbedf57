"""The to-do of the home page (Việc cần làm) for each role: the items each role has, each count equal to the row count
of the list it links to, the action each role may take, who acts where the role may not, and a user with two posts.

Dates are taken from today (the to-do is of today): the current year's round of comments and the current half-year.
"""

import datetime
import html.parser
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from members.models import Meeting, Referral, ResidenceComment
from members.periods import HalfYear
from tests.factories import make_member, make_officer, make_referral

pytestmark = pytest.mark.django_db


def today() -> datetime.date:
    return timezone.localdate()


def days_ago(n: int) -> datetime.date:
    return today() - datetime.timedelta(days=n)


class _Links(html.parser.HTMLParser):
    """Every <a> of a page with its attributes and text, and every form action."""

    def __init__(self):
        super().__init__()
        self.links: list[dict] = []
        self.forms: list[str] = []
        self._open: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a":
            self._open = {**attrs, "text": ""}
            self.links.append(self._open)
        elif tag == "form":
            self.forms.append(attrs.get("action", ""))

    def handle_endtag(self, tag):
        if tag == "a":
            self._open = None

    def handle_data(self, data):
        if self._open is not None:
            self._open["text"] += data


def parse(html_text: str) -> _Links:
    links = _Links()
    links.feed(html_text)
    return links


def todo_html(client) -> str:
    page = client.get(reverse("home")).content.decode()
    start = page.find('id="todo"')
    if start < 0:
        return ""
    return page[start : page.index("</section>", start)]


def items(client) -> dict[str, dict]:
    """The to-do's item links by their key (the last one of a key wins: keys are unique per role)."""
    return {link["data-item"]: link for link in parse(todo_html(client)).links if "data-item" in link}


def number(link: dict) -> int:
    return int(re.sub(r"\D", "", link["text"]))


def row_count(client, url: str) -> int:
    page = client.get(url)
    assert page.status_code == 200, url
    match = re.search(r'data-row-count="(\d+)"', page.content.decode())
    assert match, f"no data-row-count on {url}"
    return int(match.group(1))


def assert_counts_match_lists(client) -> dict[str, int]:
    """Every count link of the to-do leads to a list of exactly that many rows; returns the counts by key."""
    counts, wrong = {}, []
    for link in parse(todo_html(client)).links:
        if "data-number" not in link:
            continue
        shown, listed = number(link), row_count(client, link["href"])
        counts[link.get("data-item", link["href"])] = shown
        if shown != listed:
            wrong.append(f"{link.get('data-item')}: {shown} on the to-do, {listed} on {link['href']}")
    assert not wrong, "\n".join(wrong)
    return counts


def placed(cell, home, *, reported_on=None, **fields):
    return make_referral(
        make_member(home),
        receiving_ward=cell.parent,
        introduced_on=days_ago(60),
        received_on=days_ago(50),
        placed_on=days_ago(40),
        residential_cell=cell,
        reported_on=reported_on,
        **fields,
    )


def comment(referral, *, sent_on=None, received_on=None):
    return ResidenceComment.objects.create(
        member=referral.member,
        year=today().year,
        residential_cell=referral.residential_cell,
        verdict="good",
        written_on=days_ago(5),
        sent_on=sent_on,
        received_on=received_on,
    )


def meeting(cell, half_year: HalfYear | None = None):
    half_year = half_year or HalfYear.of(today())
    return Meeting.objects.create(
        residential_cell=cell, held_on=today(), kind=Meeting.Kind.PERIODIC, year=half_year.year, half=half_year.half
    )


@pytest.fixture
def world(tree):
    """Ward 1's book and the health committee's members in every situation the to-do counts."""
    home = tree.cell
    make_member(home)  # eligible, never introduced
    make_member(home)  # eligible, never introduced
    stalled = make_referral(make_member(home), receiving_ward=tree.ward1, introduced_on=days_ago(40))
    fresh = make_referral(make_member(home), receiving_ward=tree.ward1, introduced_on=days_ago(3))
    received = make_referral(
        make_member(home), receiving_ward=tree.ward1, introduced_on=days_ago(20), received_on=days_ago(10)
    )
    not_reported = [placed(tree.ward1_cell1, home), placed(tree.ward1_cell1, home)]
    reported = placed(tree.ward1_cell1, home, reported_on=days_ago(30))
    sent = placed(tree.ward1_cell2, home, reported_on=days_ago(30))
    comment(not_reported[0])  # written, not sent
    comment(reported, sent_on=today())  # sent, not acknowledged by the workplace
    comment(sent, sent_on=days_ago(2), received_on=today())  # acknowledged
    # Ward 2 is another ward's book: none of it is ward 1's to-do.
    make_referral(make_member(tree.grassroots_cell), receiving_ward=tree.ward2, introduced_on=days_ago(50))
    placed(tree.ward2_cell1, tree.grassroots_cell)
    meeting(tree.ward1_cell2)  # cell 2 met this half-year; cell 1 did not
    return {"stalled": stalled, "fresh": fresh, "received": received, "not_reported": not_reported}


def login(client, user):
    client.force_login(user)
    return client


# -- workplace -------------------------------------------------------------------------------------------------------


def test_workplace_introduces_follows_up_and_acknowledges(client, tree, world):
    login(client, make_officer(tree.committee, role="staff"))
    todo = items(client)
    assert {"eligible_not_introduced", "stalled", "comments_to_acknowledge"} <= set(todo)
    assert not {"awaiting_reception", "awaiting_placement", "comments_to_send"} & set(todo)
    counts = assert_counts_match_lists(client)
    assert counts["eligible_not_introduced"] == 2
    assert counts["stalled"] == 1
    assert counts["comments_to_acknowledge"] == 1
    assert "state=sent" in todo["comments_to_acknowledge"]["href"]
    # The stalled letters wait for the ward: the workplace follows up, the ward records the reception.
    page = todo_html(client)
    assert 'data-who-acts="ward"' in page
    assert reverse("members:referral-receive", args=[world["stalled"].pk]) not in page


# -- ward ------------------------------------------------------------------------------------------------------------


def test_ward_receives_places_sends_chases_and_sees_cells_without_a_meeting(client, tree, world):
    login(client, make_officer(tree.ward1))
    todo = items(client)
    assert {
        "awaiting_reception",
        "awaiting_placement",
        "comments_to_send",
        "comments_missing",
        "cells_without_meeting",
    } <= set(todo)
    counts = assert_counts_match_lists(client)
    assert counts["awaiting_reception"] == 2  # the stalled and the fresh letter
    assert counts["awaiting_placement"] == 1
    assert counts["comments_to_send"] == 1
    assert counts["comments_missing"] == 1  # due in ward 1: 4 placed, 3 with a comment
    assert counts["cells_without_meeting"] == 1
    page = todo_html(client)
    # One click receives a letter from the to-do; the received are placed from the place page.
    assert reverse("members:referral-receive", args=[world["fresh"].pk]) in page
    assert reverse("members:referral-place-many") in page


def test_ward_viewer_sees_the_items_and_who_acts_but_no_buttons(client, tree, world):
    login(client, make_officer(tree.ward1, role="viewer"))
    todo = items(client)
    assert "awaiting_reception" in todo
    page = todo_html(client)
    assert "<form" not in page
    assert "data-who-acts" in page


# -- cell ------------------------------------------------------------------------------------------------------------


def test_cell_records_its_meeting_writes_comments_and_records_reports(client, tree, world):
    secretary = make_officer(tree.ward1_cell1)
    login(client, secretary)
    todo = items(client)
    assert {"meeting_due", "comments_to_write", "not_reported"} <= set(todo)
    assert todo["meeting_due"]["href"] == reverse("members:meeting-create", args=[tree.ward1_cell1.pk])
    counts = assert_counts_match_lists(client)
    assert counts["not_reported"] == 2
    assert counts["comments_to_write"] == 1  # 3 due in cell 1, 2 with a comment
    # The member reports to the cell: its secretary records it, from the to-do in one click.
    referral = world["not_reported"][0]
    url = reverse("members:referral-report", args=[referral.pk])
    assert url in todo_html(client)
    assert client.get(url).status_code == 200
    response = client.post(url, {"reported_on": today().strftime("%d/%m/%Y"), "next": reverse("home")})
    assert response.status_code == 302
    referral.refresh_from_db()
    assert (referral.reported_on, referral.reported_by) == (today(), secretary)
    assert items(client)["not_reported"]["text"].strip().endswith("1")


def test_the_referral_page_offers_the_cell_secretary_the_report(client, tree, world):
    referral = world["not_reported"][0]
    url = reverse("members:referral-report", args=[referral.pk])
    login(client, make_officer(tree.ward1_cell1))
    assert url in client.get(reverse("members:referral-detail", args=[referral.pk])).content.decode()
    login(client, make_officer(tree.ward1_cell1, role="viewer"))
    assert url not in client.get(reverse("members:referral-detail", args=[referral.pk])).content.decode()
    assert client.get(url).status_code == 404


def test_a_cell_secretary_records_no_report_for_another_cell(client, tree, world):
    login(client, make_officer(tree.ward1_cell2))
    other = world["not_reported"][0]
    url = reverse("members:referral-report", args=[other.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"reported_on": today().strftime("%d/%m/%Y")}).status_code == 404
    assert Referral.objects.get(pk=other.pk).reported_on is None


def test_a_cell_that_met_this_half_year_has_no_meeting_due(client, tree, world):
    login(client, make_officer(tree.ward1_cell2))
    assert "meeting_due" not in items(client)


# -- city ------------------------------------------------------------------------------------------------------------


def test_city_sees_the_weak_spots_as_links_not_other_roles_buttons(client, tree, world):
    login(client, make_officer(tree.root, role="staff"))
    todo = items(client)
    assert {"stalled", "cells_without_meeting", "cells_missed", "irregular_attendees", "comments_missing"} <= set(todo)
    counts = assert_counts_match_lists(client)
    assert counts["stalled"] == 2  # ward 1's and ward 2's
    page = todo_html(client)
    assert "<form" not in page
    assert "referral-receive" not in page and "/receive/" not in page
    assert reverse("members:referral-place-many") not in page
    assert "data-who-acts" in page


# -- several posts ---------------------------------------------------------------------------------------------------


def test_a_user_with_two_posts_sees_each_roles_items(client, tree, world):
    user = make_officer(tree.ward1_cell1)
    from branches.models import Officer

    Officer.objects.create(user=user, organisation=tree.committee, role="staff", started_on=datetime.date(2000, 1, 1))
    login(client, user)
    page = todo_html(client)
    assert 'data-role="cell"' in page and 'data-role="workplace"' in page
    todo = items(client)
    assert {"meeting_due", "not_reported", "eligible_not_introduced", "comments_to_acknowledge"} <= set(todo)


# -- speed -----------------------------------------------------------------------------------------------------------


def test_the_todo_counts_take_few_queries(client, tree, world, django_assert_max_num_queries):
    user = make_officer(tree.ward1)
    login(client, user)
    client.get(reverse("home"))
    from members.selectors.todo import todo_for

    with django_assert_max_num_queries(10):
        todo_for(user, day=today())


# -- a large city: the figures its dashboard shows too -----------------------------------------------------------------


@pytest.fixture
def irregular(tree, world):
    """Two members who missed this half-year's periodic meeting of ward 1's first cell: one of the committee, one of
    an outside organisation (counted by the dashboard's figure, and by the member list on every status)."""
    from members.models import Attendance

    held = Meeting.objects.create(
        residential_cell=tree.ward1_cell1,
        held_on=days_ago(10),
        kind=Meeting.Kind.PERIODIC,
        year=HalfYear.of(days_ago(10)).year,
        half=HalfYear.of(days_ago(10)).half,
    )
    outsider = placed(tree.ward1_cell1, tree.outside, reported_on=days_ago(30))
    for referral in (world["not_reported"][1], outsider):
        Attendance.objects.create(meeting=held, member=referral.member, status=Attendance.Status.ABSENT)
    return held


def dashboard_figures(client) -> dict[str, str]:
    page = client.get(reverse("reports:dashboard")).content.decode()
    figures = dict(re.findall(r'data-figure="(\w+)">\s*<div class="app-figure-value">([^<]*)</div>', page))
    figures |= dict(re.findall(r'data-count="(\w+)">([^<]*)<', page))
    return figures


def test_the_citys_irregular_attendees_are_its_dashboards(client, tree, world, irregular):
    login(client, make_officer(tree.root, role="staff"))
    counts = assert_counts_match_lists(client)
    shown = dashboard_figures(client)
    assert counts["irregular_attendees"] == int(shown["irregular_attendees"]) == 2  # the outsider too
    assert counts["eligible_not_introduced"] == int(shown["not_introduced"])


def test_a_large_citys_dashboard_figures_are_read_carried_not_counted(client, tree, world, irregular, monkeypatch):
    """A city large enough to carry its figures (``reports.steps.pays``) reads the two counts its dashboard shows from
    them: the same numbers, each the size of its list, without counting the lists."""
    from members.selectors import todo as todo_selectors
    from reports import steps

    login(client, make_officer(tree.root, role="staff"))
    counted = assert_counts_match_lists(client)
    monkeypatch.setattr(steps, "STEPPED_FROM", 0)

    def not_counted(*args, **kwargs):
        raise AssertionError("counted, not carried")

    monkeypatch.setattr(todo_selectors, "irregular_attendees_under", not_counted)
    monkeypatch.setattr(todo_selectors, "eligible_not_introduced", not_counted)
    carried = assert_counts_match_lists(client)
    assert carried == counted
    assert (carried["irregular_attendees"], carried["eligible_not_introduced"]) == (2, 2)


def test_a_user_beyond_one_city_counts_the_lists(client, tree, world, irregular, monkeypatch):
    """A superuser sees every tree: the city's figures are not the counts of their lists."""
    from reports import steps
    from tests.factories import make_tree, make_user

    other = make_tree()
    make_member(other.cell)  # another city's member to introduce: in the superuser's list, not in the city's figure
    monkeypatch.setattr(steps, "STEPPED_FROM", 0)
    login(client, make_user(is_superuser=True))
    counts = assert_counts_match_lists(client)
    assert counts["eligible_not_introduced"] == 3
