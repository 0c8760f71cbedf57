"""The Python a list page spends on its scope (issue 15): the parts of a ward's scope are built once a request (kept
on the request's ``Access``), and a pinned scope's keys reach PostgreSQL as one array parameter (``KeysIn``), the
same rows as ``pk IN (...)``."""

import datetime

import pytest
from django.db import connection

from branches.access import access_for
from branches.models import Officer
from members.selectors import paging, referral_list, scope, visible_members, visible_referrals
from tests.factories import make_member, make_officer, make_referral, make_tree

pytestmark = pytest.mark.django_db


@pytest.fixture
def tree():
    tree = make_tree()
    for number in range(6):
        member = make_member((tree.cell, tree.ward1_cell1)[number % 2])
        make_referral(member, receiving_ward=tree.ward1, introduced_on=datetime.date(2024, 1, 1 + number))
    return tree


def test_a_wards_referral_list_builds_its_scope_parts_once_a_request(tree, client, monkeypatch):
    ward = make_officer(tree.ward1, username="ward")
    built = []
    build = scope._ward_referrals
    monkeypatch.setattr(
        scope, "_ward_referrals", lambda paths, access=None: built.append(paths) or build(paths, access)
    )
    client.force_login(ward)
    response = client.get("/referrals/")
    assert response.status_code == 200
    assert len(response.context["table"].page.object_list) == 6
    # The list's scope and the three steps of each row (receive, end, report) were four builds.
    assert built == [(tree.ward1.path,)]
    client.get("/referrals/")
    assert len(built) == 2  # a new request, a new Access: built again, never kept across requests


def test_the_parts_are_kept_per_access_and_per_subtrees(tree):
    ward = make_officer(tree.ward1, username="ward")
    viewer = make_officer(tree.ward2, username="viewer", role=Officer.Role.VIEWER)
    access = access_for(ward)
    assert scope._ward_referrals_of(access, write=True)[0] is scope._ward_referrals_of(access, write=False)[0]
    assert access_for(ward) is access  # the same request's user: the same Access
    assert (
        scope._ward_referrals_of(access_for(viewer), write=False)[0]
        is not (scope._ward_referrals_of(access, write=False)[0])
    )
    assert scope._ward_referrals_of(access_for(viewer), write=True) == []  # a viewer writes nowhere
    rows = [(r.pk, r.can_receive, r.can_end, r.can_report) for r in referral_list(ward)]
    assert len(rows) == 6 and all(step for row in rows for step in row[1:])
    assert [r.pk for r in referral_list(viewer)] == []


def test_a_pinned_scope_holds_its_keys_as_one_parameter_on_postgresql(tree):
    ward = make_officer(tree.ward1, username="ward")
    for scoped in (visible_members(ward), visible_referrals(ward)):
        keys, small = paging.pinned(scoped)
        assert small
        assert sorted(keys.values_list("pk", flat=True)) == sorted(scoped.values_list("pk", flat=True))
        sql, params = keys.query.sql_with_params()
        if connection.vendor == "postgresql":
            assert "= ANY(" in sql and len(params) == 1
        else:
            assert len(params) == scoped.count()


def test_no_keys_ask_the_database_nothing(tree, django_assert_num_queries):
    ward = make_officer(tree.ward1, username="ward")
    members = visible_members(ward)  # the user's posts read here
    with django_assert_num_queries(0):
        assert list(paging.with_keys(members, [])) == []
