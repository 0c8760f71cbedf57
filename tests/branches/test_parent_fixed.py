"""The tree of a day: an organisation's parent does not change once something has happened in it (members now or in
the past, referrals, placements, meetings, subordinate organisations), so that the tree and every figure of a past
day stay as they were. A change of place is then a restructure; a plain parent edit stays a correction for an
organisation with no history."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from branches.models import Officer, Organisation
from branches.services import organisation_update
from tests.factories import (
    make_member,
    make_officer,
    make_organisation,
    make_referral,
    make_tree,
    move_home,
)

Kind = Organisation.Kind
D = datetime.date


@pytest.fixture
def tree():
    return make_tree()


def fresh(organisation: Organisation) -> Organisation:
    return Organisation.objects.get(pk=organisation.pk)


def assert_move_refused(organisation: Organisation, new_parent: Organisation) -> None:
    before = fresh(organisation)

    with pytest.raises(ValidationError) as refusal:
        organisation_update(organisation=organisation, parent=new_parent)

    assert [error.code for error in refusal.value.error_dict["parent"]] == ["parent_with_history"]
    assert "tái cơ cấu" in str(refusal.value.error_dict["parent"][0].message)  # points to the restructure
    after = fresh(organisation)
    assert (after.parent_id, after.path) == (before.parent_id, before.path)


@pytest.mark.django_db
def test_an_organisation_without_history_may_be_moved_as_a_correction(tree):
    cell = make_organisation(kind=Kind.RESIDENTIAL_CELL, parent=tree.ward1)
    make_officer(cell)  # a post is not history: it follows the organisation

    moved = organisation_update(organisation=cell, parent=tree.ward2)

    assert fresh(moved).parent == tree.ward2
    assert fresh(moved).path == f"{tree.ward2.path}{cell.pk:08d}/"
    assert Officer.objects.get(organisation=cell)


@pytest.mark.django_db
def test_a_cell_with_a_member_keeps_its_parent(tree):
    other_committee = make_organisation(kind=Kind.COMMITTEE, parent=tree.root)
    make_member(tree.cell)

    assert_move_refused(tree.cell, other_committee)


@pytest.mark.django_db
def test_a_cell_a_member_has_left_keeps_its_parent(tree):
    """No member belongs to the cell today, but figures of the days they did read it under its parent of then."""
    other_committee = make_organisation(kind=Kind.COMMITTEE, parent=tree.root)
    new_cell = make_organisation(kind=Kind.CELL, parent=other_committee)
    member = make_member(tree.cell, admitted_on=D(2005, 5, 19))
    move_home(member, new_cell, D(2020, 1, 1))
    assert not tree.cell.home_members.exists()  # only a past home row refers to it

    assert_move_refused(tree.cell, other_committee)


@pytest.mark.django_db
def test_a_ward_a_referral_was_addressed_to_keeps_its_parent(tree):
    ward = make_organisation(kind=Kind.WARD, parent=tree.root)
    district = make_organisation(kind=Kind.UPPER_COMMITTEE, parent=tree.root)
    make_referral(make_member(tree.cell), receiving_ward=ward, issuing_organisation=tree.committee)

    assert_move_refused(ward, district)


@pytest.mark.django_db
def test_a_residential_cell_with_a_placed_referral_keeps_its_parent(tree):
    member = make_member(tree.cell)
    make_referral(
        member,
        receiving_ward=tree.ward1,
        issuing_organisation=tree.committee,
        introduced_on=D(2024, 3, 1),
        received_on=D(2024, 3, 5),
        placed_on=D(2024, 3, 6),
        residential_cell=tree.ward1_cell2,
    )

    assert_move_refused(tree.ward1_cell2, tree.ward2)


@pytest.mark.django_db
def test_a_residential_cell_that_held_a_meeting_keeps_its_parent(tree):
    from members.models import Meeting

    Meeting.objects.create(residential_cell=tree.ward2_cell1, held_on=D(2024, 3, 1), year=2024, half=1)

    assert_move_refused(tree.ward2_cell1, tree.ward1)


@pytest.mark.django_db
def test_an_organisation_with_subordinate_organisations_keeps_its_parent(tree):
    district = make_organisation(kind=Kind.UPPER_COMMITTEE, parent=tree.root)

    assert_move_refused(tree.ward2, district)  # its residential cells, empty as they are


@pytest.mark.django_db
def test_an_ended_subordinate_organisation_is_history_too(tree):
    ward = make_organisation(kind=Kind.WARD, parent=tree.root)
    make_organisation(kind=Kind.RESIDENTIAL_CELL, parent=ward, valid_from=D(2010, 1, 1), valid_to=D(2015, 1, 1))
    district = make_organisation(kind=Kind.UPPER_COMMITTEE, parent=tree.root)

    assert_move_refused(ward, district)


@pytest.mark.django_db
def test_an_organisation_with_history_may_still_be_corrected_in_place(tree):
    make_member(tree.cell)

    renamed = organisation_update(
        organisation=tree.cell, parent=tree.committee, name="Chi bộ Văn phòng Sở", address="Số 1 Hùng Vương"
    )

    assert (renamed.parent, renamed.name, renamed.address) == (tree.committee, "Chi bộ Văn phòng Sở", "Số 1 Hùng Vương")
