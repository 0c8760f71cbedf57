"""Issue 15 on the Đông Hà demo: city staff's new-member form lists no cell as an <option> once the cells outnumber
the select's threshold, and stays small; the search answers from the same cells."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from branches.access import access_for
from branches.selectors import member_home_cells

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

CREATE = reverse("members:member-create")


@pytest.fixture
def thanhuy(demo, client):
    user = get_user_model().objects.get(username="thanhuy")
    client.force_login(user)
    return user


def home_options(page: str) -> int:
    select = re.search(r'<select name="home_organisation".*?</select>', page, re.S).group(0)
    return select.count("<option")


def test_city_staff_new_member_form_is_small_on_the_demo(client, thanhuy, settings):
    cells = member_home_cells(access_for(thanhuy)).count()
    settings.ORGANISATION_OPTIONS_SHOWN = cells  # all of them fit: a plain select
    full = client.get(CREATE).content
    assert home_options(full.decode()) == cells + 1

    settings.ORGANISATION_OPTIONS_SHOWN = 10
    page = client.get(CREATE).content
    assert home_options(page.decode()) == 1  # the empty choice only
    print(f"\nnew-member form, city staff, demo: {len(full):,} bytes with {cells} cells listed, {len(page):,} searched")
    assert len(page) < len(full) and len(page) < 60_000

    answer = client.get(CREATE, {"options": "home_organisation", "home_organisation_term": "khu phố"})
    assert 1 < answer.content.decode().count("<option") <= 11
