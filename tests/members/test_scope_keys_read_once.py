"""A ward's scope with its organisations' keys read once per request (issue 15): the subtree and the wards merged
into it are read by one query each and written out in the scope's queries (``Access.keys``), the same rows as the
subqueries; an organisation written afterwards (by the same request, or a test holding the user) is seen by the
next query; a subtree of more than ``KEYS_READ_UP_TO`` organisations stays a subquery."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from branches import access as access_module
from branches.access import Committee, access_for
from branches.models import Organisation
from branches.services import organisation_update
from members.selectors import visible_members, visible_referrals
from members.selectors.scope import referrals_receivable_by, visible_comments
from tests.factories import make_member, make_officer, make_organisation, make_referral, make_tree

pytestmark = pytest.mark.django_db
Kind = Organisation.Kind


@pytest.fixture
def tree():
    tree = make_tree()
    for number in range(4):
        member = make_member((tree.cell, tree.ward1_cell1)[number % 2])
        make_referral(
            member,
            receiving_ward=tree.ward1,
            introduced_on=datetime.date(2024, 1, 1 + number),
            received_on=datetime.date(2024, 2, 1),
            residential_cell=tree.ward1_cell2,
            placed_on=datetime.date(2024, 2, 1),
        )
    return tree


def _organisation_reads(queries) -> list[str]:
    return [query["sql"] for query in queries if 'FROM "branches_organisation"' in query["sql"].split(" WHERE ")[0]]


def test_a_wards_referral_list_reads_its_organisations_once_and_writes_them_out(tree, client):
    client.force_login(make_officer(tree.ward1, username="ward"))
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/referrals/")
    assert response.status_code == 200
    assert len(response.context["table"].page.object_list) == 4
    scoped = [query["sql"] for query in queries if 'FROM "members_referral"' in query["sql"]]
    assert scoped
    # The referral queries name the ward's organisations by key; only the two reads of the keys read their paths.
    assert not any("LIKE" in sql.upper() for sql in scoped)
    key_reads = [
        sql for sql in _organisation_reads(queries) if sql.startswith('SELECT "branches_organisation"."id" AS')
    ]
    key_reads += [sql for sql in _organisation_reads(queries) if sql.startswith('(SELECT "branches_organisation"')]
    assert len(key_reads) == 2  # the subtree, and the wards merged into it (a union)


def test_the_keys_give_the_rows_of_the_subqueries(tree, monkeypatch):
    ward, cell = make_officer(tree.ward1), make_officer(tree.committee)
    read = {
        user: (
            sorted(visible_referrals(user).values_list("pk", flat=True)),
            sorted(visible_members(user).values_list("pk", flat=True)),
            sorted(visible_comments(user).values_list("pk", flat=True)),
        )
        for user in (ward, cell)
    }
    assert read[ward][0] and read[cell][1]
    monkeypatch.setattr(access_module, "KEYS_READ_UP_TO", 1)  # every subtree here has more: the subqueries
    for user in (ward, cell):
        user._dongha76_access = None
        assert not isinstance(access_for(user).subtree_keys((user_path(user),)), list)
        assert read[user] == (
            sorted(visible_referrals(user).values_list("pk", flat=True)),
            sorted(visible_members(user).values_list("pk", flat=True)),
            sorted(visible_comments(user).values_list("pk", flat=True)),
        )


def user_path(user) -> str:
    return access_for(user).organisations[0].path


def test_a_cell_created_after_the_keys_were_read_is_in_the_scope(tree):
    ward = make_officer(tree.ward1)
    before = set(visible_members(ward).values_list("pk", flat=True))
    agency_cell = make_organisation(kind=Kind.CELL, parent=tree.ward1)  # the ward's own agency's cell
    member = make_member(agency_cell)  # in the ward's workplace subtree, with no referral
    # The same user object, so the same Access: its keys were read before the cell existed.
    assert set(visible_members(ward).values_list("pk", flat=True)) == before | {member.pk}


def test_a_ward_merged_after_the_keys_were_read_brings_its_book(tree):
    ward = make_officer(tree.ward1)
    assert not referrals_receivable_by(ward).filter(receiving_ward=tree.ward2).exists()
    addressed_to_ward2 = make_referral(make_member(tree.cell), receiving_ward=tree.ward2)
    organisation_update(organisation=tree.ward2, successor=tree.ward1, valid_to=datetime.date(2025, 1, 1))
    assert addressed_to_ward2.pk in set(referrals_receivable_by(ward).values_list("pk", flat=True))


def test_an_organisation_deleted_by_a_queryset_is_no_longer_a_key(tree):
    ward = make_officer(tree.ward1)
    empty = make_organisation(kind=Kind.RESIDENTIAL_CELL, parent=tree.ward1)
    access = access_for(ward)
    assert empty.pk in access.subtree_keys((tree.ward1.path,))
    Organisation.objects.filter(pk=empty.pk).delete()  # as the admin's bulk delete: no Organisation.delete()
    assert empty.pk not in access.subtree_keys((tree.ward1.path,))


def test_a_committee_reads_its_keys_once_for_every_selector_it_is_handed_to(tree, django_assert_num_queries):
    committee = Committee(tree.ward1)  # as the reminders hand an organisation's committee to a rule's selectors
    with django_assert_num_queries(3):  # the subtree's keys, the wards merged into it, the count
        assert visible_referrals(committee).count() == 4
    with django_assert_num_queries(2):
        assert visible_referrals(committee).count() == 4
        assert referrals_receivable_by(committee).count() == 4
