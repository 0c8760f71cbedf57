"""Finding 9 of issue 10, with the demo data: coquan1's comment list showed former members of its committee (retired
since into a residential cell of some ward; the committee had issued their referral) while their pages are 404 to it;
the same for a ward's agency cell (phuong1, phuong2). Every member on a role's comment list is one the role may open,
by the member page's own scope (``visible_members``)."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from members.selectors import comment_rows, comment_year, visible_members
from tests.conftest import DEMO_TODAY

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

ROLES = ("thanhuy", "phuong1", "phuong2", "khupho1", "coquan1")
YEARS = range(2017, DEMO_TODAY.year + 1)
MEMBER_LINK = re.compile(r'href="/members/(\d+)/"')


def user(username):
    return get_user_model().objects.get(username=username)


@pytest.mark.parametrize("role", ROLES)
def test_every_member_of_every_round_is_one_the_role_may_open(demo, role):
    who = user(role)
    visible = set(visible_members(who).values_list("pk", flat=True))
    strays = {}
    for year in YEARS:
        listed = set(comment_rows(who, comment_year(who, year, today=DEMO_TODAY)).values_list("member", flat=True))
        if listed - visible:
            strays[year] = sorted(listed - visible)
    assert strays == {}


def test_coquan1_may_open_every_member_its_comment_list_links_to(client, demo, monkeypatch):
    """Every member the page links to is one of the member page's own rows (``member_detail`` is 404 outside
    ``visible_members``); the first and the last links open. Opening each of them took 65-75 s for the same answer."""
    from django.utils import timezone

    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: DEMO_TODAY)
    who = user("coquan1")
    client.force_login(who)

    page = client.get(reverse("members:comment-list", args=[2018]), {"per_page": 100000})

    linked = sorted({int(pk) for pk in MEMBER_LINK.findall(page.content.decode())})
    assert len(linked) > 2
    assert set(linked) - set(visible_members(who).values_list("pk", flat=True)) == set()
    for pk in (linked[0], linked[-1]):
        assert client.get(reverse("members:member-detail", args=[pk])).status_code == 200
