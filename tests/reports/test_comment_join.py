"""The figures join a due referral to its member's comment of the year on the referral's ``member_id``
(``Referral.member_comments``), not through the member (issue 15: PostgreSQL cannot drop that inner join, and read
every member of the province for the root's comment counts). The same figures as through the member, for every
shape, organisation and day of the district tree."""

import pytest
from django.db import connection
from django.db.models import FilteredRelation, Q
from django.test.utils import CaptureQueriesContext

from reports import figures
from tests.reports.test_figures_shapes import DAYS, district_tree  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def _through_the_member(referrals, year, as_of):
    """``figures._with_comment`` as it was: the comment reached through the member."""
    return referrals.annotate(
        comment=FilteredRelation(
            "member__residence_comments",
            condition=Q(member__residence_comments__year=year, member__residence_comments__written_on__lte=as_of),
        )
    )


@pytest.mark.parametrize("shape", [figures.Shape.SUBTREE, figures.Shape.HASHED])
def test_the_comment_figures_are_those_through_the_member(district_tree, shape, monkeypatch):  # noqa: F811
    root, districts, wards = district_tree
    monkeypatch.setattr(figures, "_shape_of", lambda organisation: shape)
    for organisation in (root, *districts, *wards):
        for day in DAYS:
            with CaptureQueriesContext(connection) as queries:
                found = (
                    figures.comments(organisation, day.year, day),
                    figures.comment_sides(organisation, day.year, day),
                )
            joined = [q["sql"] for q in queries if 'comment."member_id"' in q["sql"]]
            assert joined and all('"members_referral"."member_id" = comment."member_id"' in sql for sql in joined)
            with monkeypatch.context() as old:
                old.setattr(figures, "_with_comment", _through_the_member)
                expected = (
                    figures.comments(organisation, day.year, day),
                    figures.comment_sides(organisation, day.year, day),
                )
            assert found == expected, (organisation.code, day)
    assert figures.comments(root, 2018, DAYS[-1]).written > 0
