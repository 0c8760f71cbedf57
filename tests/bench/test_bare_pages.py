"""The two floors bench/pages.py measures every page against (bench/bare_urls.py): the bare page, and the bare list
of 50 referrals, whose queries do not grow with its rows."""

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from bench.bare_urls import BARE_LIST_URL, BARE_URL
from tests.factories import make_member, make_officer, make_referral, make_tree

pytestmark = pytest.mark.django_db


def queries_of(client, url: str) -> tuple[int, str]:
    client.get(url)  # the session and the user's posts, read on a first request, are not what is counted
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured), response.content.decode()


@override_settings(ROOT_URLCONF="bench.bare_urls")
def test_the_bare_list_draws_up_to_50_referrals_in_one_query(client):
    tree = make_tree()
    client.force_login(make_officer(tree.root, role="staff"))
    bare, _ = queries_of(client, BARE_URL)

    def referrals(count: int, start: int) -> None:
        for n in range(start, start + count):
            member = make_member(tree.cell, card_number=f"9100{n:04d}", full_name=f"Người Thứ {n}")
            make_referral(member, receiving_ward=tree.ward1)

    referrals(2, 0)
    few, html = queries_of(client, BARE_LIST_URL)
    assert few == bare + 1 and html.count("<tr>") == 2
    referrals(60, 2)
    many, html = queries_of(client, BARE_LIST_URL)
    assert many == few and html.count("<tr>") == 50
    assert "Người Thứ 0" in html


def test_the_floors_need_a_signed_in_user(client):
    with override_settings(ROOT_URLCONF="bench.bare_urls"):
        assert client.get(BARE_LIST_URL).status_code == 302
