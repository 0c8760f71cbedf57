"""The ancestor relation (``OrganisationAncestor``) holds exactly what the paths say, whatever wrote the tree."""

import pytest
from django.db import connection

from branches.ancestors import expected_pairs, rebuild_all, stored_pairs
from branches.models import Organisation, OrganisationAncestor
from restructures.plans import plan_move
from restructures.services import apply_plan, restructure
from tests.factories import make_organisation
from tests.restructures.helpers import DAY, build_world

Kind = Organisation.Kind


def assert_exact() -> None:
    expected = expected_pairs()
    assert expected  # a tree was built
    assert stored_pairs() == expected


@pytest.fixture
def world(db):
    return build_world()


def test_a_new_organisation_stands_under_each_of_its_ancestors_and_itself(world):
    tree = world.tree
    cell = tree.ward1_cell1
    pairs = set(OrganisationAncestor.objects.filter(descendant=cell).values_list("ancestor", "depth"))
    assert pairs == {(cell.pk, 0), (tree.ward1.pk, 1), (tree.root.pk, 2)}
    assert set(OrganisationAncestor.objects.filter(descendant=tree.outside).values_list("ancestor", "depth")) == {
        (tree.outside.pk, 0)
    }
    assert_exact()


def test_a_move_re_roots_the_whole_subtree(world):
    tree = world.tree
    upper = make_organisation(kind=Kind.UPPER_COMMITTEE, parent=tree.root)
    deeper = make_organisation(kind=Kind.CELL, parent=tree.committee)
    committee = Organisation.objects.get(pk=tree.committee.pk)
    committee.parent = upper
    committee.save()

    assert set(OrganisationAncestor.objects.filter(descendant=deeper).values_list("ancestor", "depth")) == {
        (deeper.pk, 0),
        (tree.committee.pk, 1),
        (upper.pk, 2),
        (tree.root.pk, 3),
    }
    assert_exact()
    # And back: the rows follow again.
    committee.parent = tree.root
    committee.save()
    assert_exact()


def test_restructures_keep_it_exact(world):
    tree = world.tree
    make_organisation(kind=Kind.UPPER_COMMITTEE, parent=tree.root, code="KHOI")
    apply_plan(plan_move(code=tree.committee.code, effective_on=DAY, parent="KHOI", children={}), by=None)
    restructure("rename", by=None, code=tree.ward2.code, effective_on=DAY, name="Phường mới")
    assert_exact()


def test_deleting_organisations_removes_their_rows_even_without_the_orm(world):
    tree = world.tree
    first = make_organisation(kind=Kind.RESIDENTIAL_CELL, parent=tree.ward2)
    second = make_organisation(kind=Kind.RESIDENTIAL_CELL, parent=tree.ward2)
    first.delete()
    Organisation.objects.filter(pk=second.pk)._raw_delete(connection.alias)  # as an import's undo deletes
    assert not OrganisationAncestor.objects.filter(descendant__in=[first.pk, second.pk]).exists()
    assert_exact()


def test_a_rebuild_writes_the_same_rows(world):
    before = stored_pairs()
    OrganisationAncestor.objects.all().delete()
    assert rebuild_all() == len(before)
    assert stored_pairs() == before == expected_pairs()
