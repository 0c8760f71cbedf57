"""Every refusal of a restructure: a clear problem in the plan, and nothing written when it is applied anyway."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from branches.models import Officer, Organisation, Restructure
from branches.services import organisation_rename
from members import places
from members.models import Meeting, MemberHome, Placement, ResidenceComment
from restructures.plans import plan_for, plan_merge, plan_move, plan_split
from restructures.services import apply_plan, restructure
from tests.factories import make_member, make_organisation, make_user
from tests.restructures.helpers import DAY, build_world

Kind = Organisation.Kind
AFTER = DAY + datetime.timedelta(days=10)


@pytest.fixture
def world(db):
    return build_world()


def cells_merge(world, **overrides):
    tree = world.tree
    params = {
        "codes": [tree.ward1_cell1.code, tree.ward1_cell2.code],
        "effective_on": DAY,
        "into": tree.ward1_cell1.code,
    }
    params.update(overrides)
    return plan_merge(**params)


def assert_refused(plan, field: str, *words: str) -> None:
    """The plan names a problem on ``field`` holding ``words``, and applying it writes nothing."""
    assert plan.problems, "the plan should be refused"
    assert field in plan.errors, plan.errors
    text = " ".join(plan.errors[field])
    for word in words:
        assert word in text, (word, text)
    counts = (
        Organisation.objects.count(),
        MemberHome.objects.count(),
        Placement.objects.count(),
        Officer.objects.count(),
    )
    restructures = Restructure.objects.count()
    ended = Organisation.objects.filter(valid_to__isnull=False).count()
    with pytest.raises(ValidationError) as refused:
        apply_plan(plan, by=None)
    assert field in refused.value.message_dict
    assert (
        Organisation.objects.count(),
        MemberHome.objects.count(),
        Placement.objects.count(),
        Officer.objects.count(),
    ) == counts
    assert Restructure.objects.count() == restructures
    assert Organisation.objects.filter(valid_to__isnull=False).count() == ended


# -- the effective date and the last recorded event ---------------------------------------------------------------


def test_a_home_starting_after_the_day(world):
    places.move_home(member_id=world.retired[0].pk, organisation=world.tree.ward1_cell2, on=AFTER, by=None)
    assert_refused(cells_merge(world), "effective_on", world.tree.ward1_cell2.code, AFTER.strftime("%d/%m/%Y"))


def test_a_home_ending_after_the_day(world):
    places.move_home(member_id=world.retired[2].pk, organisation=world.tree.ward2_cell1, on=AFTER, by=None)
    assert_refused(cells_merge(world), "effective_on", world.tree.ward1_cell2.code, AFTER.strftime("%d/%m/%Y"))


def test_a_placement_after_the_day(world):
    referral = world.placed[2]
    places.move_placement(referral=referral, residential_cell=world.tree.ward1_cell1, on=AFTER, by=None)
    # The kept cell is not concerned (it does not end); the merged one is, its placement ends after the day.
    assert_refused(cells_merge(world), "effective_on", world.tree.ward1_cell2.code)


def test_a_referral_step_after_the_day(world):
    tree = world.tree
    referral = world.unplaced
    referral.residential_cell, referral.placed_on = tree.ward1_cell1, AFTER
    referral.save()
    plan = plan_merge(
        codes=[tree.ward1.code, tree.ward2.code], effective_on=DAY, new_code="PDH", new_name="Phường Đông Hà"
    )
    assert_refused(plan, "effective_on", tree.ward1.code, AFTER.strftime("%d/%m/%Y"))


def test_a_meeting_after_the_day(world):
    cell = world.tree.ward1_cell2
    Meeting.objects.create(residential_cell=cell, held_on=AFTER, year=AFTER.year, half=2)
    plan = cells_merge(world)
    assert plan.meetings_affected == 1
    assert_refused(plan, "effective_on", cell.code, AFTER.strftime("%d/%m/%Y"))


def test_a_comment_sent_after_the_day(world):
    tree = world.tree
    referral = world.placed[2]
    ResidenceComment.objects.create(
        member=referral.member,
        year=2024,
        residential_cell=tree.ward1_cell2,
        verdict="good",
        written_on=DAY - datetime.timedelta(days=200),
        sent_on=AFTER,
    )
    assert_refused(cells_merge(world), "effective_on", tree.ward1_cell2.code)


def test_an_officer_post_starting_after_the_day(world):
    cell = world.tree.ward1_cell2
    Officer.objects.create(user=make_user(), organisation=cell, role="staff", started_on=AFTER)
    assert_refused(cells_merge(world), "effective_on", cell.code)


def test_a_rename_after_the_day(world):
    cell = world.tree.ward1_cell2
    organisation_rename(organisation=cell, name="Khu phố Hai", effective_on=AFTER, by=None)
    assert_refused(cells_merge(world), "effective_on", cell.code)


def test_a_subordinate_organisation_starting_after_the_day(world):
    tree = world.tree
    make_organisation(kind=Kind.RESIDENTIAL_CELL, parent=tree.ward2, valid_from=AFTER)
    plan = plan_merge(
        codes=[tree.ward1.code, tree.ward2.code], effective_on=DAY, new_code="PDH", new_name="Phường Đông Hà"
    )
    assert_refused(plan, "children")


def test_comment_rounds_due_after_the_day_are_shown(world):
    tree = world.tree
    ResidenceComment.objects.create(
        member=world.placed[2].member,
        year=2025,
        residential_cell=tree.ward1_cell2,
        verdict="good",
        written_on=DAY - datetime.timedelta(days=20),
    )
    plan = cells_merge(world)
    assert plan.problems == []
    assert plan.comment_years_affected == [2025]


def test_a_date_in_the_future_or_out_of_bounds(world):
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    assert_refused(cells_merge(world, effective_on=tomorrow), "effective_on")
    assert_refused(cells_merge(world, effective_on="1800-01-01"), "effective_on")
    assert_refused(cells_merge(world, effective_on="01/07/2025"), "effective_on")
    assert_refused(cells_merge(world, effective_on=None), "effective_on")


def test_a_day_before_the_organisation_existed(world):
    tree = world.tree
    late = make_organisation(kind=Kind.RESIDENTIAL_CELL, parent=tree.ward1, valid_from=AFTER)
    assert_refused(cells_merge(world, codes=[tree.ward1_cell1.code, late.code]), "codes", late.code)


# -- the organisations --------------------------------------------------------------------------------------------


def test_unknown_codes(world):
    assert_refused(cells_merge(world, codes=[world.tree.ward1_cell1.code, "KHONGCO"]), "codes", "KHONGCO")
    assert_refused(cells_merge(world, into="KHONGCO"), "into", "KHONGCO")
    assert_refused(plan_move(code="KHONGCO", effective_on=DAY, parent=world.tree.ward1.code), "code", "KHONGCO")
    assert_refused(plan_split(code="", effective_on=DAY, parts=[], assignment={}), "code")


def test_a_successor_of_another_kind(world):
    tree = world.tree
    assert_refused(cells_merge(world, into=tree.ward2.code), "into", tree.ward2.code)
    # A subordinate organisation mapped to an organisation of another kind.
    plan = plan_merge(
        codes=[tree.ward1.code, tree.ward2.code],
        effective_on=DAY,
        into=tree.ward1.code,
        children={tree.ward2_cell1.code: tree.cell.code},
    )
    assert_refused(plan, "children", tree.cell.code)


def test_predecessors_of_different_kinds(world):
    tree = world.tree
    plan = plan_merge(codes=[tree.ward1_cell1.code, tree.cell.code], effective_on=DAY, into=tree.ward1_cell1.code)
    assert_refused(plan, "codes", tree.cell.code)


def test_a_merge_across_roots(world):
    tree = world.tree
    other_root = make_organisation(kind=Kind.ROOT, name="Đảng bộ tỉnh khác")
    other_ward = make_organisation(kind=Kind.WARD, parent=other_root)
    plan = plan_merge(codes=[tree.ward1.code, other_ward.code], effective_on=DAY, new_code="PX", new_name="Phường X")
    assert_refused(plan, "codes", other_ward.code)
    assert_refused(
        plan_move(
            code=tree.ward1_cell1.code,
            effective_on=DAY,
            parent=make_organisation(kind=Kind.WARD, parent=other_root).code,
        ),
        "parent",
    )


def test_a_code_already_used(world):
    tree = world.tree
    plan = cells_merge(world, into=None, new_code=tree.ward2_cell1.code, new_name="Khu phố mới")
    assert_refused(plan, "new_code", tree.ward2_cell1.code)
    split = plan_split(
        code=tree.ward1_cell1.code,
        effective_on=DAY,
        parts=[("KP1A", "A"), ("KP1A", "B")],
        assignment={},
    )
    assert_refused(split, "parts", "KP1A")
    # A subordinate organisation's default copy code is taken.
    make_organisation(kind=Kind.CELL, parent=tree.committee, code=f"PDH-{tree.ward1_cell1.code}")
    wards = plan_merge(codes=[tree.ward1.code, tree.ward2.code], effective_on=DAY, new_code="PDH", new_name="Phường ĐH")
    assert_refused(wards, "children", f"PDH-{tree.ward1_cell1.code}")


def test_a_bad_code_or_name(world):
    assert_refused(cells_merge(world, into=None, new_code="KP 1/2", new_name="Khu phố"), "new_code")
    assert_refused(cells_merge(world, into=None, new_code="KP12", new_name=""), "new_name")
    assert_refused(cells_merge(world, into=None, new_code="KP12", new_name="Khu\u202ephố"), "new_code")


def test_a_merger_of_one_organisation_or_an_ended_one(world):
    tree = world.tree
    assert_refused(cells_merge(world, codes=[tree.ward1_cell1.code]), "codes")
    ended = make_organisation(kind=Kind.RESIDENTIAL_CELL, parent=tree.ward1, valid_to=DAY - datetime.timedelta(days=5))
    assert_refused(cells_merge(world, codes=[tree.ward1_cell1.code, ended.code]), "codes", ended.code)


def test_a_new_organisation_under_a_parent_that_ends(world):
    tree = world.tree
    plan = plan_merge(
        codes=[tree.ward1.code, tree.ward2.code],
        effective_on=DAY,
        new_code="PDH",
        new_name="Phường ĐH",
        children={tree.ward1_cell1.code: tree.ward2_cell1.code},
    )
    assert_refused(plan, "children", tree.ward2_cell1.code)


def test_unknown_children_codes_and_bad_inputs(world):
    assert_refused(cells_merge(world, children={"NOPE": "X"}), "children", "NOPE")
    assert_refused(cells_merge(world, codes="not a list of codes"), "codes")
    with pytest.raises(ValidationError):
        plan_for("explode", code="X")
    with pytest.raises(ValidationError) as officers:
        apply_plan(cells_merge(world), by=None, officers="maybe")
    assert "officers" in officers.value.message_dict
    with pytest.raises(ValidationError) as note:
        restructure("merge", by=None, note="ghi chú\u202e", **cells_merge(world).params)
    assert "note" in note.value.message_dict


def test_a_plan_is_planned_again_when_applied(world):
    tree = world.tree
    plan = cells_merge(world)
    assert plan.problems == []
    # Something happened in the merged cell since the preview: the confirmation is refused, nothing written.
    make_member(tree.ward1_cell2, admitted_on=AFTER)
    with pytest.raises(ValidationError) as refused:
        apply_plan(plan, by=None)
    assert "effective_on" in refused.value.message_dict
    assert Organisation.objects.get(pk=tree.ward1_cell2.pk).valid_to is None
