"""The home page's referral counts and its list of referrals to receive read a ward's scope by its keys first
(``members.selectors.paging.keys_first``, issue 15): the same rows as the scope itself, for every role, and on
PostgreSQL the scope's union as one array (``= ANY(ARRAY(...))``) rather than ``IN (...)``, which the planner
answered by hashing every referral of the city against the union."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from members.models import Referral
from members.selectors.paging import keys_first
from members.selectors.scope import referrals_receivable_by, visible_referrals
from tests.factories import make_member, make_officer, make_referral
from tests.members.test_todo import days_ago, items, number, placed, world  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db

POSTS = ("ward1", "ward1_cell1", "committee", "cell", "root")


@pytest.mark.parametrize("post", POSTS)
@pytest.mark.parametrize("scope", [visible_referrals, referrals_receivable_by])
def test_the_keys_first_are_the_scopes_rows(tree, world, post, scope):  # noqa: F811 - the fixture
    user = make_officer(getattr(tree, post))
    rows = set(scope(user).values_list("pk", flat=True))
    assert set(keys_first(scope(user)).values_list("pk", flat=True)) == rows
    assert keys_first(scope(user)).count() == len(rows)


def test_city_staff_keep_every_referral_unnarrowed(tree):
    scope = visible_referrals(make_officer(tree.root))
    assert keys_first(scope) is scope


def test_a_ward_with_no_referral_counts_none(tree):
    user = make_officer(tree.ward2)
    make_referral(make_member(tree.cell), receiving_ward=tree.ward1, introduced_on=days_ago(3))
    assert not keys_first(visible_referrals(user)).exists()
    assert Referral.objects.exists()


def test_the_wards_home_reads_its_scope_by_keys_first(client, tree, world):  # noqa: F811 - the fixture
    user = make_officer(tree.ward1)
    client.force_login(user)
    # The first view counts (and stores the counts: ``reports.snapshots.list_counts_on``); the next ones read them.
    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse("home"))
    assert page.status_code == 200
    counts = [q["sql"] for q in queries if 'AS "not_reported"' in q["sql"]]
    receivable = [q["sql"] for q in queries if 'ORDER BY "members_referral"."introduced_on" ASC' in q["sql"]]
    assert len(counts) == 1 and len(receivable) == 1
    if connection.vendor == "postgresql":
        assert '"members_referral"."id" = ANY(ARRAY(' in counts[0]
        assert '"members_referral"."id" = ANY(ARRAY(' in receivable[0]
    # The counts are the scope's: ward 1's stalled and fresh letters wait, not ward 2's.
    assert number(items(client)["awaiting_reception"]) == 2
