"""The comment rows reach each referral's comment of the year through ``Referral.member_comments`` (a join on the
member's column, ``dongha76.db.SameValueRows``), not through the member (issue 15: at the province's size the
city's home counted its 51,402 due referrals with an index lookup of each member first, 54 of its ~360 ms of database
time). The same comment on every row, so the same counts, for the five demo users and a year with comments; the
count query no longer joins the members."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from members.models import Referral, ResidenceComment
from members.selectors import comment_counts, comment_rows, comment_year
from tests.conftest import DEMO_TODAY

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

USERS = ("thanhuy", "phuong1", "phuong2", "khupho1", "coquan1")


@pytest.mark.parametrize("username", USERS)
@pytest.mark.parametrize("year", [DEMO_TODAY.year - 1, DEMO_TODAY.year])
def test_each_row_has_its_members_comment_of_the_year(demo, username, year):
    user = get_user_model().objects.get(username=username)
    rows = comment_rows(user, comment_year(user, year, today=DEMO_TODAY))
    comments = dict(ResidenceComment.objects.filter(year=year).values_list("member", "pk"))
    found = list(rows.order_by().values_list("member", "comment_pk"))
    assert found, "the demo has due members in every scope"
    assert found == [(member, comments.get(member)) for member, _ in found]
    if year < DEMO_TODAY.year:
        assert any(pk for _, pk in found), "the year before has comments"

    sent = dict(ResidenceComment.objects.filter(year=year).values_list("pk", "sent_on"))
    written = [pk for _, pk in found if pk]
    assert comment_counts(rows)["not_written"] == len(found) - len(written)
    assert comment_counts(rows)["written"] == sum(1 for pk in written if sent[pk] is None)
    with CaptureQueriesContext(connection) as queries:
        comment_counts(rows)
    sql = queries[-1]["sql"]
    assert 'yc."member_id"' in sql
    assert '"members_referral"."member_id" = yc."member_id"' in sql  # not "members_member"."id" = yc."member_id"


def test_a_referrals_member_comments_are_its_members(demo):
    referral = Referral.objects.filter(member__residence_comments__isnull=False).first()
    through = ResidenceComment.objects.filter(pk__in=Referral.objects.filter(pk=referral.pk).values("member_comments"))
    assert set(through) == set(ResidenceComment.objects.filter(member=referral.member_id))
