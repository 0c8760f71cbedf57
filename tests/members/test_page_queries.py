"""Issue 15: a page costs what the user's scope holds, not what the database holds.

- Every list page and the home page run the same number of queries with three times the rows, for each kind of
  user (city staff, a ward, a residential cell, a workplace).
- A filter by organisation renders at most ``OPTIONS_SHOWN`` organisations; beyond, the chosen one and a search box
  that asks the list page itself for the organisations of the same filter that match (scoped as the list is).
"""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from branches.models import Organisation
from members.filters import OPTIONS_SHOWN
from tests.factories import make_member, make_officer, make_organisation, make_referral, make_tree

pytestmark = pytest.mark.django_db

Kind = Organisation.Kind
YEAR = datetime.date.today().year


@pytest.fixture
def tree():
    return make_tree()


@pytest.fixture
def users(tree):
    return {
        "city": make_officer(tree.root),
        "ward": make_officer(tree.ward1),
        "cell": make_officer(tree.ward1_cell1),
        "workplace": make_officer(tree.committee),
    }


def add_rows(tree, count: int) -> None:
    """Members of every side, each with a referral: some placed in the ward's cell, some only addressed to it."""
    for n in range(count):
        member = make_member(tree.cell)
        referral = make_referral(member, receiving_ward=tree.ward1, issuing_organisation=tree.committee)
        if n % 2:
            referral.received_on = referral.introduced_on
            referral.placed_on = referral.introduced_on
            referral.residential_cell = tree.ward1_cell1
            referral.save()
        make_member(tree.ward1_cell1)
        outsider = make_member(tree.outside)
        make_referral(outsider, receiving_ward=tree.ward1, issuing_organisation=tree.outside)


PAGES = [
    reverse("home"),
    reverse("members:member-list"),
    reverse("members:referral-list"),
    reverse("members:cell-list"),
    reverse("members:comment-list", args=[YEAR]),
    reverse("members:rating-list", args=[YEAR]),
]


@pytest.mark.parametrize("role", ["city", "ward", "cell", "workplace"])
def test_the_pages_cost_the_same_queries_with_more_rows(client, tree, users, role, django_assert_num_queries):
    client.force_login(users[role])
    add_rows(tree, 3)
    counts = {}
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 200, url
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        counts[url] = len(queries)
    add_rows(tree, 9)
    for url in PAGES:
        client.get(url)  # the same warm-up as above (a session touched, a bell counted)
        with django_assert_num_queries(counts[url]):
            assert client.get(url).status_code == 200


@pytest.fixture
def many_organisations(tree):
    """More grassroots organisations than a filter shows (the committees of a province)."""
    return [
        make_organisation(kind=Kind.COMMITTEE, parent=tree.root, name=f"Đảng bộ Xã {n:03d}", code=f"XA{n:03d}")
        for n in range(OPTIONS_SHOWN + 5)
    ]


def test_city_staff_get_a_search_box_rather_than_every_organisation(client, tree, users, many_organisations):
    client.force_login(users["city"])
    page = client.get(reverse("members:member-list")).content.decode()
    assert "Đảng bộ Xã 001" not in page  # not an option
    assert 'hx-get="/members/?options=organisation"' in page
    assert page.count('<option value="') < 3 * OPTIONS_SHOWN  # the other filters' few choices, no organisation

    chosen = many_organisations[7]
    page = client.get(reverse("members:member-list"), {"organisation": chosen.pk}).content.decode()
    assert f'<option value="{chosen.pk}" selected>' in page  # the chosen one stays, with its name
    assert "Đảng bộ Xã 007" in page


def test_the_search_answers_the_filters_own_organisations_that_match(client, tree, users, many_organisations):
    client.force_login(users["city"])
    answer = client.get(reverse("members:member-list"), {"options": "organisation", "term": "xã 01"})
    assert answer.status_code == 200
    options = answer.content.decode()
    assert "Đảng bộ Xã 010" in options and "Đảng bộ Xã 019" in options
    assert "Đảng bộ Xã 020" not in options
    by_code = client.get(reverse("members:member-list"), {"options": "organisation", "term": "XA05"}).content
    assert "Đảng bộ Xã 050".encode() in by_code and "Đảng bộ Xã 001".encode() not in by_code
    everything = client.get(reverse("members:member-list"), {"options": "organisation", "term": ""}).content
    assert everything.decode().count("<option") == OPTIONS_SHOWN + 1  # the empty choice and the first ones

    assert client.get(reverse("members:member-list"), {"options": "q", "term": "x"}).status_code == 404


def test_a_ward_searches_only_its_own_organisations(client, tree, users, many_organisations):
    for n in range(OPTIONS_SHOWN + 1):  # enough cells in the ward for the search box
        make_organisation(kind=Kind.RESIDENTIAL_CELL, parent=tree.ward1, name=f"Chi bộ Tổ {n:03d}")
    client.force_login(users["ward"])
    page = client.get(reverse("members:member-list")).content.decode()
    assert 'hx-get="/members/?options=organisation"' in page
    options = client.get(reverse("members:member-list"), {"options": "organisation", "term": "Đảng"}).content
    assert "Đảng bộ Xã".encode() not in options  # outside the ward: never offered
    assert tree.ward1.name.encode() in options
    cells = client.get(reverse("members:cell-list"), {"options": "ward", "term": ""}).content.decode()
    assert tree.ward2.name not in cells


def test_a_few_organisations_stay_a_plain_select(client, tree, users):
    client.force_login(users["ward"])
    page = client.get(reverse("members:member-list")).content.decode()
    assert "?options=organisation" not in page
    assert f'<option value="{tree.ward1_cell2.pk}">' in page


@pytest.mark.parametrize(
    ("url", "name"),
    [
        (reverse("members:referral-list"), "issuing_organisation"),
        (reverse("members:comment-list", args=[YEAR]), "workplace"),
        (reverse("members:rating-list", args=[YEAR]), "organisation"),
    ],
)
def test_every_list_searches_its_organisation_filters(client, tree, users, many_organisations, url, name):
    client.force_login(users["city"])
    page = client.get(url).content.decode()
    assert f'hx-get="{url}?options={name}"' in page
    assert "Đảng bộ Xã 001" not in page
    options = client.get(url, {"options": name, "term": "Xã 001"}).content.decode()
    assert "Đảng bộ Xã 001" in options
