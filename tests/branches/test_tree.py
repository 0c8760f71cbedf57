"""The organisation tree: which kind stands under which, paths, moves, subtrees and validity dates."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from branches.models import Organisation
from branches.services import organisation_create, organisation_update
from tests.factories import make_organisation, make_tree, make_user, next_serial

Kind = Organisation.Kind


def create(kind: str, parent: Organisation | None = None, **fields) -> Organisation:
    n = next_serial()
    return organisation_create(code=f"T{n}", name=f"{kind} {n}", kind=kind, parent=parent, **fields)


def fresh(organisation: Organisation) -> Organisation:
    return Organisation.objects.get(pk=organisation.pk)


@pytest.fixture
def tree():
    return make_tree()


# --- which kind may stand under which ---------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "parent_attr"),
    [
        (Kind.COMMITTEE, "root"),
        (Kind.COMMITTEE, "committee"),
        (Kind.GRASSROOTS_CELL, "root"),
        (Kind.WARD, "root"),
        (Kind.CELL, "committee"),
        (Kind.CELL, "ward1"),
        (Kind.RESIDENTIAL_CELL, "ward1"),
    ],
)
def test_allowed_parents_are_accepted(tree, kind, parent_attr):
    organisation = create(kind, getattr(tree, parent_attr))
    assert fresh(organisation).parent == getattr(tree, parent_attr)


@pytest.mark.django_db
@pytest.mark.parametrize("parent_attr", ["root", "committee", "cell", "grassroots_cell", "ward1_cell1", "outside"])
def test_a_residential_cell_sits_only_under_a_ward(tree, parent_attr):
    with pytest.raises(ValidationError) as excinfo:
        create(Kind.RESIDENTIAL_CELL, getattr(tree, parent_attr))
    assert "parent" in excinfo.value.message_dict


@pytest.mark.django_db
@pytest.mark.parametrize("parent_attr", ["root", "cell", "grassroots_cell", "ward1_cell1", "outside"])
def test_a_subordinate_cell_sits_only_under_a_committee_or_a_ward(tree, parent_attr):
    with pytest.raises(ValidationError) as excinfo:
        create(Kind.CELL, getattr(tree, parent_attr))
    assert "parent" in excinfo.value.message_dict


@pytest.mark.django_db
@pytest.mark.parametrize("parent_attr", ["cell", "ward1_cell1", "grassroots_cell", "outside"])
@pytest.mark.parametrize("kind", [Kind.COMMITTEE, Kind.GRASSROOTS_CELL, Kind.WARD, Kind.CELL, Kind.RESIDENTIAL_CELL])
def test_nothing_stands_under_a_cell_or_an_outside_organisation(tree, parent_attr, kind):
    with pytest.raises(ValidationError) as excinfo:
        create(kind, getattr(tree, parent_attr))
    assert "parent" in excinfo.value.message_dict
    assert not Organisation.objects.filter(parent=getattr(tree, parent_attr)).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("kind", [Kind.ROOT, Kind.OUTSIDE])
def test_root_and_outside_have_no_parent(tree, kind):
    with pytest.raises(ValidationError) as excinfo:
        create(kind, tree.root)
    assert "parent" in excinfo.value.message_dict
    assert create(kind).parent is None


@pytest.mark.django_db
@pytest.mark.parametrize("kind", [Kind.COMMITTEE, Kind.GRASSROOTS_CELL, Kind.WARD, Kind.CELL, Kind.RESIDENTIAL_CELL])
def test_every_other_kind_needs_a_parent(kind):
    with pytest.raises(ValidationError) as excinfo:
        create(kind)
    assert "parent" in excinfo.value.message_dict


@pytest.mark.django_db
@pytest.mark.parametrize(("attr", "parent_attr"), [("root", "committee"), ("outside", "root")])
def test_the_database_refuses_a_parent_for_root_and_outside(tree, attr, parent_attr):
    with pytest.raises(IntegrityError), transaction.atomic():
        Organisation.objects.filter(pk=getattr(tree, attr).pk).update(parent=getattr(tree, parent_attr))


@pytest.mark.django_db
def test_the_database_refuses_a_committee_without_parent(tree):
    with pytest.raises(IntegrityError), transaction.atomic():
        Organisation.objects.filter(pk=tree.committee.pk).update(parent=None)


@pytest.mark.django_db
def test_the_database_refuses_validity_ending_before_it_starts(tree):
    with pytest.raises(IntegrityError), transaction.atomic():
        Organisation.objects.filter(pk=tree.ward1.pk).update(valid_to=tree.ward1.valid_from)


@pytest.mark.django_db
def test_the_service_refuses_validity_ending_before_it_starts(tree):
    with pytest.raises(ValidationError) as excinfo:
        organisation_update(organisation=tree.ward1, valid_to=tree.ward1.valid_from)
    assert "valid_to" in excinfo.value.message_dict


@pytest.mark.django_db
def test_codes_are_unique(tree):
    with pytest.raises(ValidationError) as excinfo:
        organisation_create(code=tree.ward1.code, name="Another", kind=Kind.WARD, parent=tree.root)
    assert "code" in excinfo.value.message_dict


@pytest.mark.django_db
def test_a_code_has_no_accents_or_spaces(tree):
    with pytest.raises(ValidationError) as excinfo:
        organisation_create(code="Phường 1", name="Phường 1", kind=Kind.WARD, parent=tree.root)
    assert "code" in excinfo.value.message_dict


@pytest.mark.django_db
def test_changing_the_kind_is_refused_when_the_children_could_not_stay(tree):
    with pytest.raises(ValidationError) as excinfo:
        organisation_update(organisation=tree.ward1, kind=Kind.COMMITTEE)  # residential cells need a ward
    assert "kind" in excinfo.value.message_dict
    assert fresh(tree.ward1).kind == Kind.WARD


# --- paths and moves ----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_paths_are_the_primary_keys_from_the_root(tree):
    assert tree.root.path == f"{tree.root.pk:08d}/"
    assert fresh(tree.cell).path == f"{tree.root.pk:08d}/{tree.committee.pk:08d}/{tree.cell.pk:08d}/"
    assert fresh(tree.outside).path == f"{tree.outside.pk:08d}/"


@pytest.mark.django_db
def test_saving_a_new_parent_re_roots_the_subtree(tree):
    """The model keeps paths true whatever writes it (the services move only organisations without history, but a
    repair or a migration may move a whole subtree)."""
    other = create(Kind.COMMITTEE, tree.root)
    sub = create(Kind.COMMITTEE, tree.committee)
    sub_cell = create(Kind.CELL, sub)

    tree.committee.parent = other
    tree.committee.save()

    prefix = f"{tree.root.pk:08d}/{other.pk:08d}/{tree.committee.pk:08d}/"
    assert fresh(tree.committee).path == prefix
    assert fresh(tree.cell).path == f"{prefix}{tree.cell.pk:08d}/"
    assert fresh(sub).path == f"{prefix}{sub.pk:08d}/"
    assert fresh(sub_cell).path == f"{prefix}{sub.pk:08d}/{sub_cell.pk:08d}/"
    assert set(Organisation.objects.subtree(other)) == {other, tree.committee, tree.cell, sub, sub_cell}
    # Nothing else moved.
    assert fresh(tree.ward1_cell1).path == f"{tree.root.pk:08d}/{tree.ward1.pk:08d}/{tree.ward1_cell1.pk:08d}/"


@pytest.mark.django_db
def test_a_change_with_a_stale_instance_keeps_the_path_from_the_database(tree):
    other = create(Kind.COMMITTEE, tree.root)
    stale_cell = fresh(tree.cell)
    committee = fresh(tree.committee)
    committee.parent = other
    committee.save()
    # stale_cell.path is out of date now; the service reads the row again.
    organisation_update(organisation=stale_cell, name="Chi bộ Phòng Kế hoạch")
    assert fresh(tree.cell).path == f"{tree.root.pk:08d}/{other.pk:08d}/{tree.committee.pk:08d}/{tree.cell.pk:08d}/"
    assert fresh(tree.cell).name == "Chi bộ Phòng Kế hoạch"


@pytest.mark.django_db
def test_moving_a_residential_cell_to_another_ward(tree):
    organisation_update(organisation=tree.ward1_cell1, parent=tree.ward2)
    assert fresh(tree.ward1_cell1).path == f"{tree.root.pk:08d}/{tree.ward2.pk:08d}/{tree.ward1_cell1.pk:08d}/"
    assert set(Organisation.objects.subtree(tree.ward2)) == {
        tree.ward2,
        tree.ward2_cell1,
        tree.ward2_cell2,
        tree.ward1_cell1,
    }


@pytest.mark.django_db
def test_a_move_that_breaks_the_kind_rules_is_refused(tree):
    with pytest.raises(ValidationError) as excinfo:
        organisation_update(organisation=tree.ward1_cell1, parent=tree.committee)
    assert "parent" in excinfo.value.message_dict
    assert fresh(tree.ward1_cell1).parent == tree.ward1


@pytest.mark.django_db
def test_a_cycle_is_refused(tree):
    sub = create(Kind.COMMITTEE, tree.committee)
    subsub = create(Kind.COMMITTEE, sub)
    for new_parent in (sub, subsub):
        with pytest.raises(ValidationError) as excinfo:
            organisation_update(organisation=tree.committee, parent=new_parent)
        assert "parent" in excinfo.value.message_dict
    with pytest.raises(ValidationError):
        organisation_update(organisation=tree.committee, parent=tree.committee)
    assert fresh(tree.committee).parent == tree.root
    assert fresh(subsub).path == f"{tree.root.pk:08d}/{tree.committee.pk:08d}/{sub.pk:08d}/{subsub.pk:08d}/"


@pytest.mark.django_db
def test_updating_with_an_unknown_field_is_a_programming_error(tree):
    with pytest.raises(TypeError):
        organisation_update(organisation=tree.ward1, path="1/")


@pytest.mark.django_db
def test_the_service_records_who_did_it(tree):
    user = make_user()
    ward = organisation_create(code="P9", name="Phường 9", kind=Kind.WARD, parent=tree.root, by=user)
    assert ward.history.get().history_user == user
    organisation_update(organisation=ward, name="Phường Đông Giang", by=user)
    assert [h.name for h in ward.history.all()] == ["Phường Đông Giang", "Phường 9"]


# --- subtree and validity -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_subtree_is_the_organisation_and_its_descendants_never_outside(tree):
    everything = set(Organisation.objects.subtree(tree.root))
    assert tree.outside not in everything
    assert everything == set(Organisation.objects.exclude(pk=tree.outside.pk))
    assert set(Organisation.objects.subtree(tree.ward1)) == {tree.ward1, tree.ward1_cell1, tree.ward1_cell2}
    assert set(Organisation.objects.subtree(tree.committee)) == {tree.committee, tree.cell}
    assert set(Organisation.objects.subtree(tree.ward1_cell1)) == {tree.ward1_cell1}
    assert set(Organisation.objects.subtree(tree.outside)) == {tree.outside}


@pytest.mark.django_db
def test_subtree_does_not_confuse_primary_keys_sharing_digits():
    # Paths "880001/" and "8800011/" share their first digits: the trailing slash keeps the subtrees apart.
    first = Organisation.objects.create(pk=880001, code="A880001", name="A", kind=Kind.ROOT)
    second = Organisation.objects.create(pk=8800011, code="B8800011", name="B", kind=Kind.ROOT)
    ward = Organisation.objects.create(code="W8800011", name="W", kind=Kind.WARD, parent=second)
    assert list(Organisation.objects.subtree(first)) == [first]
    assert set(Organisation.objects.subtree(second)) == {second, ward}


@pytest.mark.django_db
def test_is_within(tree):
    assert tree.cell.is_within(tree.root)
    assert tree.cell.is_within(tree.committee)
    assert tree.cell.is_within(tree.cell)
    assert not tree.cell.is_within(tree.ward1)
    assert not tree.outside.is_within(tree.root)


@pytest.mark.django_db
def test_valid_on_edges_valid_to_is_exclusive(tree):
    old_ward = make_organisation(
        kind=Kind.WARD,
        parent=tree.root,
        valid_from=datetime.date(2010, 1, 1),
        valid_to=datetime.date(2025, 7, 1),
    )
    wards = Organisation.objects.filter(pk=old_ward.pk)
    assert not wards.valid_on(datetime.date(2009, 12, 31)).exists()
    assert wards.valid_on(datetime.date(2010, 1, 1)).exists()  # first day
    assert wards.valid_on(datetime.date(2025, 6, 30)).exists()  # last day
    assert not wards.valid_on(datetime.date(2025, 7, 1)).exists()  # valid_to is the first day it no longer exists
    assert old_ward.is_valid_on(datetime.date(2010, 1, 1))
    assert old_ward.is_valid_on(datetime.date(2025, 6, 30))
    assert not old_ward.is_valid_on(datetime.date(2025, 7, 1))
    assert not old_ward.is_valid_on(datetime.date(2009, 12, 31))
    # Without valid_to an organisation stays valid.
    assert Organisation.objects.filter(pk=tree.ward1.pk).valid_on(datetime.date(2100, 1, 1)).exists()


@pytest.mark.django_db
def test_the_kind_of_an_organisation_with_members_cannot_change(tree):
    """Second audit: a residential cell turned into a workplace cell left its placed referrals in a cell that is not
    residential and made its retired members a workplace's (issue 10)."""
    from members.models import Member
    from tests.factories import make_member

    make_member(tree.ward1_cell1)
    with pytest.raises(ValidationError) as refusal:
        organisation_update(organisation=tree.ward1_cell1, kind=Kind.CELL)
    assert refusal.value.error_dict["kind"][0].code == "kind_with_dependents"
    tree.ward1_cell1.refresh_from_db()
    assert tree.ward1_cell1.kind == Kind.RESIDENTIAL_CELL
    assert Member.objects.get().home_organisation.kind == Kind.RESIDENTIAL_CELL
    # an organisation nothing depends on may still be corrected
    assert organisation_update(organisation=tree.ward1_cell2, kind=Kind.CELL).kind == Kind.CELL
