"""The server errors ``tests/test_fuzz.py`` found (issue 10), each kept as a plain test of its own."""

import datetime

import pytest
from django.urls import reverse

from members.models import ResidenceComment
from tests.factories import make_member, make_officer, make_referral

pytestmark = pytest.mark.django_db

D = datetime.date


@pytest.mark.parametrize("next_value", ["0", "home", "members:member-list", "javascript:alert(1)", "//evil.example/"])
def test_a_next_that_is_not_a_path_of_the_site_is_ignored(client, tree, next_value):
    """``next=0`` made ``redirect()`` look for a URL named "0": a 500 after the step was recorded."""
    referral = make_referral(
        make_member(tree.cell),
        receiving_ward=tree.ward1,
        introduced_on=D(2024, 3, 1),
        received_on=D(2024, 3, 5),
        residential_cell=tree.ward1_cell1,
        placed_on=D(2024, 3, 6),
    )
    client.force_login(make_officer(tree.ward1))

    response = client.post(
        reverse("members:referral-report", args=[referral.pk]), {"reported_on": "07/03/2024", "next": next_value}
    )

    assert response.status_code == 302
    assert response.url == reverse("members:referral-detail", args=[referral.pk])


def test_a_next_path_of_the_site_is_followed(client, tree):
    member = make_member(tree.cell)
    referral = make_referral(
        member,
        receiving_ward=tree.ward1,
        introduced_on=D(2024, 3, 1),
        received_on=D(2024, 3, 5),
        residential_cell=tree.ward1_cell1,
        placed_on=D(2024, 3, 6),
    )
    comment = ResidenceComment.objects.create(
        member=member, year=2024, residential_cell=referral.residential_cell, verdict="good", written_on=D(2024, 11, 1)
    )
    client.force_login(make_officer(tree.ward1))
    back = reverse("members:comment-list", args=[2024]) + "?state=written"

    response = client.post(reverse("members:comment-send", args=[comment.pk]), {"sent_on": "05/11/2024", "next": back})

    assert response.status_code == 302 and response.url == back


@pytest.mark.parametrize(
    "url_name", ["members:member-list", "members:referral-list", "members:cell-list", "audit:access-log"]
)
@pytest.mark.parametrize("per_page", ["-1", "-99999999999999999999", "0"])
def test_a_negative_page_size_shows_the_list(client, tree, url_name, per_page):
    """``?per_page=-1`` left django-tables2 with a paginator of no pages, whose fallback failed too."""
    make_member(tree.cell)
    client.force_login(make_officer(tree.root, role="staff"))

    response = client.get(reverse(url_name), {"per_page": per_page, "page": "-3"})

    assert response.status_code == 200


def test_a_negative_page_size_shows_the_comment_list(client, tree):
    client.force_login(make_officer(tree.root, role="staff"))
    assert client.get(reverse("members:comment-list", args=[2024]), {"per_page": "-1"}).status_code == 200
    assert client.get(reverse("members:rating-list", args=[2024]), {"per_page": "-1"}).status_code == 200
