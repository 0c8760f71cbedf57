"""The comment and rating lists' paginators take the total of the counts at the top when no state (no "only
warnings") is chosen, the same rows, and count the list itself otherwise: a page says as many rows as its list holds,
for every side."""

import pytest
from django.urls import reverse

from tests.members.test_views_comments import YEAR, list_url, people, round2025  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db


def test_the_list_says_as_many_rows_as_it_holds(client, people, round2025):  # noqa: F811
    for role in ("city", "workplace", "ward1", "school", "cell1"):
        client.force_login(people[role])
        for query in ({}, {"state": "sent"}, {"state": "not_written"}, {"sort": "-member"}):
            response = client.get(list_url(**query))
            table = response.context["table"]
            assert table.paginator.count == len(list(table.data.data)), (role, query)
            if not query.get("state"):
                assert table.paginator.count == response.context["counts"]["total"], (role, query)


def test_the_ratings_say_as_many_rows_as_they_hold(client, people, round2025):  # noqa: F811
    for role in ("city", "workplace", "school"):
        client.force_login(people[role])
        for query in ({}, {"warnings": "on"}, {"sort": "-full_name"}):
            response = client.get(reverse("members:rating-list", args=[YEAR]), query)
            table = response.context["table"]
            assert table.paginator.count == len(list(table.data.data)), (role, query)
            if not query.get("warnings"):
                assert table.paginator.count == response.context["counts"]["total"], (role, query)
