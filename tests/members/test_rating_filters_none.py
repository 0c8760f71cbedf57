"""The ratings page's "not rated yet" and "no comment" filters (``not_rated_in``, ``not_commented_in``: NOT EXISTS of
the year's rating or comment) keep the rows whose ``rating_pk`` / ``comment_pk`` of the year is NULL, as the LEFT JOIN
they replace did (issue 15: as IS NULL on the join, the city's page ran over 60 s at the province's size)."""

import datetime

import pytest

from members.filters import RatingFilter
from members.models import Member, ResidenceComment, YearEndRating
from members.selectors import comment_year, rating_organisations, rating_rows
from tests.members import test_list_paging
from tests.members.test_list_paging import DAY

pytestmark = pytest.mark.django_db

tree, users = test_list_paging.tree, test_list_paging.users  # the same data and users
YEAR = DAY.year


@pytest.fixture
def rated(tree):
    """Ratings and comments of the year for some members, of the year before for others."""
    members = list(Member.objects.order_by("pk"))
    for number, member in enumerate(members):
        year = YEAR if number % 3 == 0 else YEAR - 1
        if number % 2 == 0:
            YearEndRating.objects.create(member=member, year=year, level="good", decided_on=datetime.date(year, 12, 20))
        if number % 4 != 1:
            ResidenceComment.objects.create(
                member=member,
                year=YEAR if number % 5 < 2 else YEAR - 1,
                residential_cell=tree.ward1_cell1,
                verdict="good",
                written_on=datetime.date(year, 11, 10),
            )
    return members


@pytest.mark.parametrize("role", [0, 2])  # the city's staff, a workplace committee
@pytest.mark.parametrize("name, annotation", [("rating", "rating_pk"), ("verdict", "comment_pk")])
def test_none_keeps_the_rows_without_the_years_rating_or_comment(users, rated, role, name, annotation):
    user = users[role]
    round_ = comment_year(user, YEAR, today=DAY)
    rows = rating_rows(user, round_)
    expected = [member.pk for member in rows.order_by("pk") if getattr(member, annotation) is None]
    assert 0 < len(expected) < rows.count()
    filtered = RatingFilter(
        {name: "none"}, queryset=rows, organisations=rating_organisations(user, day=DAY), year=YEAR
    ).qs
    assert [member.pk for member in filtered.order_by("pk")] == expected
    assert all(getattr(member, annotation) is None for member in filtered[:50])
