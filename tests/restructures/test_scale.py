"""A merger moves a thousand homes and hundreds of placements in bulk: a bounded number of queries, whatever the
number of members (each row is still checked by the history triggers)."""

import datetime

import pytest

from branches.models import Organisation
from members.models import Member, MemberHome, Placement, Referral
from restructures.plans import Flow, plan_merge
from restructures.services import apply_plan
from tests.factories import make_tree, member_fields
from tests.restructures.helpers import BEFORE, DAY

MEMBERS = 1000
PLACED = 400


def bulk_members(home: Organisation, n: int, **fields) -> list[Member]:
    members = Member.objects.bulk_create([Member(**member_fields(home, **fields)) for _ in range(n)])
    MemberHome.objects.bulk_create(
        [MemberHome(member=member, organisation=home, started_on=member.admitted_on) for member in members]
    )
    return members


@pytest.mark.django_db
def test_a_merger_of_a_thousand_members_runs_in_bulk(django_assert_max_num_queries):
    tree = make_tree()
    merged, kept = tree.ward1_cell2, tree.ward1_cell1
    bulk_members(merged, MEMBERS, retired_on=datetime.date(2015, 1, 1))
    workers = bulk_members(tree.cell, PLACED)
    placed_on = datetime.date(2024, 3, 20)
    referrals = Referral.objects.bulk_create(
        [
            Referral(
                member=member,
                issuing_organisation=tree.committee,
                receiving_ward=tree.ward1,
                introduced_on=datetime.date(2024, 3, 1),
                received_on=datetime.date(2024, 3, 10),
                residential_cell=merged,
                placed_on=placed_on,
            )
            for member in workers
        ]
    )
    Placement.objects.bulk_create(
        [Placement(referral=referral, residential_cell=merged, started_on=placed_on) for referral in referrals]
    )
    plan = plan_merge(codes=[kept.code, merged.code], effective_on=DAY, into=kept.code)
    assert plan.homes == [Flow(merged.code, kept.code, MEMBERS)]
    assert plan.placements == [Flow(merged.code, kept.code, PLACED)]

    # The query bound is what keeps it in bulk (its time is the seed benchmark's, `make bench`, never a test's).
    with django_assert_max_num_queries(120):
        apply_plan(plan, by=None)

    assert Member.objects.filter(home_organisation=kept).count() == MEMBERS
    assert MemberHome.objects.in_force_on(BEFORE).filter(organisation=merged).count() == MEMBERS
    assert MemberHome.objects.in_force_on(DAY).filter(organisation=kept).count() == MEMBERS
    assert Placement.objects.in_force_on(DAY).filter(residential_cell=kept).count() == PLACED
    assert Member.history.filter(history_change_reason="restructure").count() == MEMBERS
