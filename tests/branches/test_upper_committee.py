"""The upper-level committee (cấp ủy cấp trên trực tiếp của cơ sở): a district, town or city committee under a
province, or a bloc committee. It stands under the root or another one, holds grassroots organisations, and is never
itself a grassroots organisation nor a subordinate cell."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from branches.access import access_for
from branches.models import Organisation
from branches.selectors import grassroots_of
from branches.services import organisation_create, organisation_update
from tests.factories import make_member, make_officer, make_organisation, make_referral, make_tree, next_serial

Kind = Organisation.Kind


def create(kind: str, parent: Organisation | None = None, **fields) -> Organisation:
    n = next_serial()
    return organisation_create(code=f"U{n}", name=f"{kind} {n}", kind=kind, parent=parent, **fields)


@pytest.fixture
def tree():
    return make_tree()


@pytest.fixture
def upper(tree):
    """A district committee under the province, holding a committee with a cell, a ward with a residential cell."""
    district = create(Kind.UPPER_COMMITTEE, tree.root)
    committee = create(Kind.COMMITTEE, district)
    return {
        "district": district,
        "committee": committee,
        "cell": create(Kind.CELL, committee),
        "grassroots_cell": create(Kind.GRASSROOTS_CELL, district),
        "ward": (ward := create(Kind.WARD, district)),
        "residential_cell": create(Kind.RESIDENTIAL_CELL, ward),
    }


@pytest.mark.django_db
def test_an_upper_committee_stands_under_the_root_or_another_upper_committee(tree):
    province_bloc = create(Kind.UPPER_COMMITTEE, tree.root)
    district = create(Kind.UPPER_COMMITTEE, province_bloc)

    assert Organisation.objects.get(pk=district.pk).parent == province_bloc
    assert district.path == f"{tree.root.pk:08d}/{province_bloc.pk:08d}/{district.pk:08d}/"


@pytest.mark.django_db
@pytest.mark.parametrize("parent_attr", ["committee", "cell", "grassroots_cell", "ward1", "ward1_cell1", "outside"])
def test_an_upper_committee_stands_nowhere_else(tree, parent_attr):
    with pytest.raises(ValidationError) as refusal:
        create(Kind.UPPER_COMMITTEE, getattr(tree, parent_attr))

    assert "parent" in refusal.value.message_dict
    assert not Organisation.objects.filter(kind=Kind.UPPER_COMMITTEE).exists()


@pytest.mark.django_db
def test_an_upper_committee_needs_a_parent_in_the_service_and_the_database(tree):
    with pytest.raises(ValidationError) as refusal:
        create(Kind.UPPER_COMMITTEE)
    assert "parent" in refusal.value.message_dict

    with pytest.raises(IntegrityError), transaction.atomic():
        Organisation.objects.create(code="DH", name="Thành ủy Đông Hà", kind=Kind.UPPER_COMMITTEE)


@pytest.mark.django_db
@pytest.mark.parametrize("kind", [Kind.COMMITTEE, Kind.GRASSROOTS_CELL, Kind.WARD])
def test_an_upper_committee_holds_grassroots_organisations(upper, kind):
    organisation = create(kind, upper["district"])

    assert organisation.parent == upper["district"]
    assert organisation.is_within(upper["district"])


@pytest.mark.django_db
@pytest.mark.parametrize("kind", [Kind.CELL, Kind.RESIDENTIAL_CELL, Kind.ROOT, Kind.OUTSIDE])
def test_no_cell_stands_directly_under_an_upper_committee(upper, kind):
    with pytest.raises(ValidationError) as refusal:
        create(kind, upper["district"])

    assert "parent" in refusal.value.message_dict


@pytest.mark.django_db
def test_an_upper_committee_is_neither_a_grassroots_organisation_nor_a_subordinate_cell(upper):
    assert Kind.UPPER_COMMITTEE not in Organisation.GRASSROOTS_KINDS
    assert Kind.UPPER_COMMITTEE not in Organisation.SUBORDINATE_CELL_KINDS
    # The organisation that signs an introduction is the nearest grassroots organisation, never the district above.
    assert grassroots_of(upper["cell"]) == upper["committee"]
    assert grassroots_of(upper["grassroots_cell"]) == upper["grassroots_cell"]
    assert grassroots_of(upper["district"]) is None
    grassroots = Organisation.objects.subtree(upper["district"]).filter(kind__in=Organisation.GRASSROOTS_KINDS)
    assert set(grassroots) == {upper["committee"], upper["grassroots_cell"], upper["ward"]}


@pytest.mark.django_db
def test_an_upper_committee_holding_a_ward_cannot_become_a_ward(upper):
    with pytest.raises(ValidationError) as refusal:
        organisation_update(organisation=upper["district"], kind=Kind.WARD)

    assert "kind" in refusal.value.message_dict


@pytest.mark.django_db
def test_an_empty_committee_may_be_corrected_into_an_upper_committee(tree):
    mistaken = make_organisation(kind=Kind.COMMITTEE, parent=tree.root)

    corrected = organisation_update(organisation=mistaken, kind=Kind.UPPER_COMMITTEE)

    assert Organisation.objects.get(pk=corrected.pk).kind == Kind.UPPER_COMMITTEE


# -- the posts of an upper committee: both sides of its subtree ----------------------------------------------------


@pytest.mark.django_db
def test_a_post_at_an_upper_committee_reaches_both_sides_of_its_subtree_and_nothing_else(tree, upper):
    from members.selectors import scope

    officer = make_officer(upper["district"])
    worker = make_member(upper["cell"])
    referral_in = make_referral(worker, receiving_ward=upper["ward"], issuing_organisation=upper["committee"])
    retired = make_member(upper["residential_cell"])
    elsewhere = make_member(tree.cell)
    referral_out = make_referral(elsewhere, receiving_ward=tree.ward1, issuing_organisation=tree.committee)

    access = access_for(officer)

    assert not access.is_city()
    assert access.workplace_paths() == (upper["district"].path,)
    assert access.ward_paths() == (upper["district"].path,)
    assert set(scope.visible_members(officer)) == {worker, retired}
    assert set(scope.visible_referrals(officer)) == {referral_in}
    assert referral_out not in scope.referrals_receivable_by(officer)
    assert set(scope.visible_residential_cells(officer)) == {upper["residential_cell"]}
    assert set(scope.members_editable_by(officer)) == {worker, retired}


@pytest.mark.django_db
def test_a_viewer_at_an_upper_committee_writes_nothing(upper):
    viewer = make_officer(upper["district"], role="viewer")

    access = access_for(viewer)

    assert access.workplace_paths() == (upper["district"].path,)
    assert access.workplace_paths(write=True) == ()
    assert access.ward_paths(write=True) == ()
