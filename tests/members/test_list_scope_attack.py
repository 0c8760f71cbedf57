"""Review of issue 15's lists (``members.selectors.paging``): a page's rows are read by their keys without testing
the scope again, and a small scope is pinned as its keys. Through the pages themselves, as each demo role, on every
sort a table offers and every page, pinned or not: each row shown is one of the role's scope (the member and referral
pages' own functions), each step offered on a row is one the role may take, and the paginator's count is the
scope's (filtered) count, so neither a row nor a number leaks from outside it."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from members.selectors import comment_rows, comment_year, paging, visible_members, visible_referrals
from members.selectors.comments import visible_rated_members
from members.selectors.scope import referrals_endable_by, referrals_receivable_by, referrals_reportable_by
from tests.conftest import DEMO_TODAY

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

ROLES = ("thanhuy", "phuong1", "phuong2", "khupho1", "coquan1")
MEMBER_SORTS = ("", "card_number", "-full_name", "date_of_birth", "-home_organisation", "working", "-referral_state")
REFERRAL_SORTS = ("", "member", "-issuing_organisation", "receiving_ward", "-letter_number", "received_on")
COMMENT_SORTS = ("", "-member", "residential_cell", "workplace", "-comment_state", "comment_verdict")
RATING_SORTS = ("", "-full_name", "home_organisation", "-rating_level", "comment_verdict")


def _user(username):
    return get_user_model().objects.get(username=username)


def _pages(client, url, sort, extra=None, *, first=3):
    """The rows of the list sorted by ``sort`` on its first pages and its last (past the last: the last again), and
    the paginator's count."""
    rows, number, last = [], 1, None
    while True:
        page = client.get(url, {"sort": sort, "page": number, **(extra or {})})
        assert page.status_code == 200, (url, sort, number)
        table = page.context["table"]
        rows.extend(row.record for row in table.page.object_list)
        last = table.paginator.num_pages
        if number >= last:
            return rows, table.paginator.count
        number = number + 1 if number < first else last


@pytest.fixture
def today(monkeypatch):
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: DEMO_TODAY)


@pytest.mark.parametrize("pinned_at_most", [1_000, 3])
@pytest.mark.parametrize("role", ROLES)
def test_member_and_referral_lists_stay_in_scope(client, demo, today, role, pinned_at_most, monkeypatch):
    monkeypatch.setattr(paging, "PINNED_AT_MOST", pinned_at_most)
    who = _user(role)
    client.force_login(who)
    members = set(visible_members(who).values_list("pk", flat=True))
    counts = {}
    for sort in MEMBER_SORTS:
        for extra in ({}, {"referral_state": "not_introduced"}):
            rows, count = _pages(client, reverse("members:member-list"), sort, extra)
            shown = [row.pk for row in rows]
            assert set(shown) <= members, (role, sort, extra)
            assert len(shown) == len(set(shown)) and counts.setdefault(str(extra), count) == count, (role, sort)
    referrals = set(visible_referrals(who).values_list("pk", flat=True))
    steps = {
        "can_receive": set(referrals_receivable_by(who).values_list("pk", flat=True)),
        "can_end": set(referrals_endable_by(who).values_list("pk", flat=True)),
        "can_report": set(referrals_reportable_by(who).values_list("pk", flat=True)),
    }
    for sort in REFERRAL_SORTS:
        rows, count = _pages(client, reverse("members:referral-list"), sort)
        assert {row.pk for row in rows} <= referrals and len(rows) == len({row.pk for row in rows}), (role, sort)
        assert count == len(referrals), (role, sort)
        for step, allowed in steps.items():
            assert {row.pk for row in rows if getattr(row, step)} == {row.pk for row in rows} & allowed, (role, step)


@pytest.mark.parametrize("role", ROLES)
def test_comment_and_rating_lists_stay_in_scope(client, demo, today, role):
    who = _user(role)
    client.force_login(who)
    year = DEMO_TODAY.year - 1
    members = set(visible_members(who).values_list("pk", flat=True))
    expected = set(comment_rows(who, comment_year(who, year, today=DEMO_TODAY)).values_list("pk", flat=True))
    for sort in COMMENT_SORTS:
        rows, count = _pages(client, reverse("members:comment-list", args=[year]), sort)
        assert {row.member_id for row in rows} <= members, (role, sort)
        assert {row.pk for row in rows} <= expected and count == len(expected), (role, sort)
    rated = set(visible_rated_members(who).values_list("pk", flat=True))
    for sort in RATING_SORTS:
        rows, count = _pages(client, reverse("members:rating-list", args=[year]), sort)
        assert {row.pk for row in rows} <= rated and len(rows) == len({row.pk for row in rows}), (role, sort)
