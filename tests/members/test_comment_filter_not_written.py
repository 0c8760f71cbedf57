"""The comment list's "not written" state (``not_commented_in``: NOT EXISTS of the member's comment of the year) keeps
the rows whose ``comment_pk`` of the year is NULL, as the IS NULL on the LEFT JOIN it replaces did (issue 15: so, the
city's list filtered by "not written" was planned for one row and sorted every due member, 0.6-1.2 s at the
province's size), on the page as in the filter, with as many queries as another state's page."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from members.filters import CommentFilter
from members.selectors import comment_filter_choices, comment_rows, comment_year
from tests.members.test_views_comments import (  # noqa: F401 (fixtures)
    YEAR,
    comment,
    list_url,
    people,
    placed,
    round2025,
)

pytestmark = pytest.mark.django_db

ROLES = ("city", "workplace", "ward1", "school", "cell1")


@pytest.fixture
def commented_the_year_before(tree, round2025):  # noqa: F811
    """Due members with a comment of the year before only (not written this year), and the missing one's of then."""
    comment(round2025["rows"]["missing"], year=YEAR - 1)
    comment(placed(tree.ward1_cell2, home=tree.cell), year=YEAR - 1)
    comment(placed(tree.ward1_cell1, home=tree.grassroots_cell), year=YEAR - 1)


@pytest.mark.parametrize("role", ROLES)
def test_not_written_keeps_the_rows_without_the_years_comment(client, people, commented_the_year_before, role):  # noqa: F811
    user = people[role]
    today = timezone.localdate()
    rows = comment_rows(user, comment_year(user, YEAR, today=today))
    expected = [row.pk for row in rows.order_by("pk") if row.comment_pk is None]  # the old definition
    assert 0 < len(expected) < rows.count()
    assert list(rows.filter(comment_pk__isnull=True).order_by("pk").values_list("pk", flat=True)) == expected

    choices = comment_filter_choices(user, day=today)
    filtered = CommentFilter({"state": "not_written"}, queryset=rows, **choices, year=YEAR).qs
    assert [row.pk for row in filtered.order_by("pk")] == expected
    assert all(row.comment_pk is None for row in filtered)

    client.force_login(user)
    with CaptureQueriesContext(connection) as sent:
        client.get(list_url(state="sent"))
    with CaptureQueriesContext(connection) as not_written:
        response = client.get(list_url(state="not_written"))
    assert sorted(row.record.pk for row in response.context["table"].paginated_rows) == expected
    assert len(not_written) == len(sent)
