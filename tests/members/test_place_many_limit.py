"""Finding 9 of issue 10: ticking over 1,000 boxes in bulk placement gave a bare 400 (Django's limit of 1,000 fields
per request). The form now takes at most ``PLACE_AT_ONCE`` members and says so; a request beyond what the server
reads at all gets the site's own 400 page, in the user's language."""

import datetime
import re

import pytest
from django.urls import reverse

from members.forms.referrals import PLACE_AT_ONCE
from members.models import Member, Referral
from members.views.referrals import PLACE_MANY_PER_PAGE
from tests.factories import make_officer, member_fields

pytestmark = pytest.mark.django_db

D = datetime.date


def waiting(tree, count: int) -> list[int]:
    """``count`` members of the committee received by ward 1 and not placed, written in bulk."""
    members = Member.objects.bulk_create(
        [Member(**member_fields(tree.cell, search_name=f"thu {i}")) for i in range(count)]
    )
    referrals = Referral.objects.bulk_create(
        [
            Referral(
                member=member,
                issuing_organisation=tree.committee,
                receiving_ward=tree.ward1,
                letter_number=f"{i}-GT/ĐU",
                introduced_on=D(2024, 3, 1),
                received_on=D(2024, 3, 5),
            )
            for i, member in enumerate(members)
        ]
    )
    return [referral.pk for referral in referrals]


def test_ticking_1100_boxes_gets_the_form_with_a_message(client, tree):
    pks = waiting(tree, 1100)
    client.force_login(make_officer(tree.ward1))

    response = client.post(
        reverse("members:referral-place-many"),
        {"referrals": pks, "residential_cell": tree.ward1_cell1.pk, "placed_on": "10/03/2024"},
    )

    assert response.status_code == 200
    errors = response.context["form"].errors["referrals"]
    assert str(PLACE_AT_ONCE) in str(errors) and "1100" in str(errors)
    assert not Referral.objects.filter(placed_on__isnull=False).exists()


def test_as_many_as_the_limit_are_placed_at_once(client, tree):
    pks = waiting(tree, PLACE_AT_ONCE)
    client.force_login(make_officer(tree.ward1))

    response = client.post(
        reverse("members:referral-place-many"),
        {"referrals": pks, "residential_cell": tree.ward1_cell1.pk, "placed_on": "10/03/2024"},
    )

    assert response.status_code == 302
    assert Referral.objects.filter(residential_cell=tree.ward1_cell1).count() == PLACE_AT_ONCE


def test_a_request_beyond_what_the_server_reads_gets_the_site_400_page(client, tree):
    client.force_login(make_officer(tree.ward1))

    response = client.post(reverse("members:referral-place-many"), {"referrals": list(range(1, 20_001))})

    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="bad-request"' in page
    assert 'lang="vi"' in page
    assert "navbar" in page  # the site's layout, not Django's bare "Bad Request (400)"


def test_the_members_awaiting_placement_are_listed_a_page_at_a_time(client, tree, django_assert_max_num_queries):
    """Issue 15: the page listed every member awaiting placement, 743 kB for city staff at the province's size. It
    shows ``PLACE_MANY_PER_PAGE`` of them with the total and a pager, in a bounded number of queries, and a member of
    the second page is placed from it."""
    pks = waiting(tree, PLACE_MANY_PER_PAGE + 5)
    client.force_login(make_officer(tree.ward1))
    url = reverse("members:referral-place-many")

    with django_assert_max_num_queries(12):
        first = client.get(url)
    listed = re.findall(r'data-referral="(\d+)"', first.content.decode())
    assert len(listed) == PLACE_MANY_PER_PAGE
    assert 'data-row-count="105"' in first.content.decode()
    assert 'href="?page=2"' in first.content.decode()

    second = client.get(url, {"page": 2})
    on_second = [int(pk) for pk in re.findall(r'data-referral="(\d+)"', second.content.decode())]
    assert len(on_second) == 5 and set(on_second).isdisjoint(int(pk) for pk in listed)
    assert set(on_second) | {int(pk) for pk in listed} == set(pks)
    assert client.get(url, {"page": "x"}).status_code == 200  # the first page, as any list
    assert client.get(url, {"page": 999}).status_code == 200  # the last page

    response = client.post(
        f"{url}?page=2",
        {"referrals": on_second[:2], "residential_cell": tree.ward1_cell1.pk, "placed_on": "10/03/2024"},
    )
    assert response.status_code == 302
    assert set(Referral.objects.filter(residential_cell=tree.ward1_cell1).values_list("pk", flat=True)) == set(
        on_second[:2]
    )
