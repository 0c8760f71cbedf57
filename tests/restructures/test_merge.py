"""Mergers on an effective date: homes and open placements follow to the successor from that day, nothing before it
changes, the tree of the day before is the old one (issue 11, "Restructure")."""

import json

import pytest

from branches.models import Officer, Organisation, Restructure
from members.models import Member, MemberHome, Placement, Referral
from reports import figures
from restructures import services
from restructures.plans import Flow, NewOrganisation, plan_merge
from restructures.services import apply_plan, restructure
from tests.factories import make_member, make_user
from tests.restructures.helpers import BEFORE, DAY, build_world, cell_on, home_on, posts, snapshot

Kind = Organisation.Kind

# The figures of a whole tree that a merger does not change (the number of organisations does).
PEOPLE = (
    "members",
    "eligible",
    "introduced",
    "received",
    "received_from_outside",
    "awaiting_reception",
    "awaiting_placement",
)


def people(headline) -> dict:
    return {name: getattr(headline, name) for name in PEOPLE}


@pytest.fixture
def world(db):
    return build_world()


def test_two_residential_cells_merge_into_one_of_them(world):
    tree = world.tree
    kept, merged = tree.ward1_cell1, tree.ward1_cell2
    before = snapshot(tree.root, BEFORE)
    moved_member, moved_referral = world.retired[2], world.placed[2]  # both in ward1_cell2
    user = make_user()

    plan = plan_merge(codes=[kept.code, merged.code], effective_on=DAY, into=kept.code)

    assert plan.problems == []
    assert plan.ending == [merged]
    assert plan.starting == []
    assert plan.successor_of == {merged.code: kept.code}
    assert plan.homes == [Flow(merged.code, kept.code, 1)]
    assert plan.placements == [Flow(merged.code, kept.code, 1)]
    assert plan.unplaced == []
    assert json.loads(json.dumps(plan.params))["codes"] == [kept.code, merged.code]

    record = apply_plan(plan, by=user, note="Nghị quyết 01")

    merged.refresh_from_db()
    assert (merged.valid_to, merged.successor) == (DAY, kept)
    assert kept.valid_to is None
    assert (record.kind, record.effective_on, record.recorded_by, record.note) == ("merge", DAY, user, "Nghị quyết 01")
    assert set(record.predecessors.all()) == {kept, merged}
    assert list(record.successors.all()) == [kept]
    # The member and the placed referral are in the merged cell until the day before, in the kept one from the day.
    assert home_on(moved_member, BEFORE) == merged and home_on(moved_member, DAY) == kept
    assert Member.objects.get(pk=moved_member.pk).home_organisation == kept
    assert cell_on(moved_referral, BEFORE) == merged and cell_on(moved_referral, DAY) == kept
    moved_referral.refresh_from_db()
    assert moved_referral.residential_cell == kept and moved_referral.ended_on is None
    assert MemberHome.objects.get(member=moved_member, started_on=DAY).recorded_by == user
    assert moved_member.history.latest().history_user == user
    # Members of the kept cell did not move.
    assert MemberHome.objects.filter(member=world.retired[0]).count() == 1
    # The figures of the day before are those before the merger, and the city's people are the same on the day.
    assert snapshot(tree.root, BEFORE) == before
    assert people(figures.headline(tree.root, DAY)) == people(before[0])
    rows_before = {row.code: row for row in figures.by_ward_and_cell(tree.ward1, BEFORE)}
    rows_after = {row.code: row for row in figures.by_ward_and_cell(tree.ward1, DAY)}
    assert (rows_before[kept.code].placed, rows_before[merged.code].placed) == (2, 1)
    assert merged.code not in rows_after and rows_after[kept.code].placed == 3


def test_two_residential_cells_merge_into_a_new_one(world):
    tree = world.tree
    first, second = tree.ward1_cell1, tree.ward1_cell2
    before = snapshot(tree.root, BEFORE)

    plan = plan_merge(codes=[first.code, second.code], effective_on=DAY, new_code="P1-KP12", new_name="Khu phố 1-2")

    assert plan.problems == []
    assert plan.starting == [NewOrganisation("P1-KP12", "Khu phố 1-2", Kind.RESIDENTIAL_CELL, tree.ward1.code, "other")]
    assert set(plan.ending) == {first, second}
    assert sorted(plan.homes, key=lambda f: f.from_code) == sorted(
        [Flow(first.code, "P1-KP12", 2), Flow(second.code, "P1-KP12", 1)], key=lambda f: f.from_code
    )
    assert plan.officers == [(world.secretary.username, first.code, "P1-KP12")]

    apply_plan(plan, by=None)

    new = Organisation.objects.get(code="P1-KP12")
    assert (new.parent, new.valid_from, new.kind) == (tree.ward1, DAY, Kind.RESIDENTIAL_CELL)
    assert set(Organisation.objects.filter(successor=new)) == {first, second}
    for referral in world.placed[:3]:
        assert cell_on(referral, DAY) == new
    assert snapshot(tree.root, BEFORE) == before
    after = figures.headline(tree.root, DAY)
    assert people(after) == people(before[0])
    assert (before[0].residential_cells, after.residential_cells) == (4, 3)
    # The secretary's post followed to the new cell.
    assert posts(first) == [(world.secretary.username, "secretary", BEFORE.replace(year=2000, month=1, day=1), DAY)]
    assert posts(new) == [(world.secretary.username, "secretary", DAY, None)]


def test_two_wards_merge_with_their_cells(world):
    tree = world.tree
    before = snapshot(tree.root, BEFORE)
    ward_before = [snapshot(tree.ward1, BEFORE), snapshot(tree.ward2, BEFORE)]
    # Khu phố 1 and 2 of ward 1 merge into one cell of the new ward; the others are copied with default codes.
    plan = plan_merge(
        codes=[tree.ward1.code, tree.ward2.code],
        effective_on=DAY,
        new_code="PDH",
        new_name="Đảng bộ phường Đông Hà",
        children={tree.ward1_cell1.code: "PDH-KP12", tree.ward1_cell2.code: "PDH-KP12"},
    )

    assert plan.problems == []
    assert [(new.code, new.kind, new.parent_code) for new in plan.starting] == [
        ("PDH", Kind.WARD, tree.root.code),
        ("PDH-KP12", Kind.RESIDENTIAL_CELL, "PDH"),
        (f"PDH-{tree.ward2_cell1.code}", Kind.RESIDENTIAL_CELL, "PDH"),
        (f"PDH-{tree.ward2_cell2.code}", Kind.RESIDENTIAL_CELL, "PDH"),
    ]
    assert plan.successor_of == {
        tree.ward1.code: "PDH",
        tree.ward2.code: "PDH",
        tree.ward1_cell1.code: "PDH-KP12",
        tree.ward1_cell2.code: "PDH-KP12",
        tree.ward2_cell1.code: f"PDH-{tree.ward2_cell1.code}",
        tree.ward2_cell2.code: f"PDH-{tree.ward2_cell2.code}",
    }
    assert plan.unplaced == [Flow(tree.ward1.code, "PDH", 1)]
    assert sum(flow.count for flow in plan.placements) == 4

    record = restructure("merge", by=None, note="", **plan.params)

    new_ward = Organisation.objects.get(code="PDH")
    merged_cell = Organisation.objects.get(code="PDH-KP12")
    assert list(record.successors.all()) == [new_ward]
    assert (merged_cell.parent, merged_cell.name) == (new_ward, tree.ward1_cell1.name)
    for organisation in (tree.ward1, tree.ward2, tree.ward1_cell1, tree.ward1_cell2, tree.ward2_cell1):
        organisation.refresh_from_db()
        assert organisation.valid_to == DAY
    # One record for the wards, one merger for the two khu phố, one move for each cell copied.
    kinds = sorted(
        (r.kind, sorted(o.code for o in r.predecessors.all()), [o.code for o in r.successors.all()])
        for r in Restructure.objects.all()
    )
    assert kinds == sorted(
        [
            ("merge", sorted([tree.ward1.code, tree.ward2.code]), ["PDH"]),
            ("merge", sorted([tree.ward1_cell1.code, tree.ward1_cell2.code]), ["PDH-KP12"]),
            ("move", [tree.ward2_cell1.code], [f"PDH-{tree.ward2_cell1.code}"]),
            ("move", [tree.ward2_cell2.code], [f"PDH-{tree.ward2_cell2.code}"]),
        ]
    )
    # The unplaced referral needs no write: its ward on the day is the successor.
    unplaced = Referral.objects.get(pk=world.unplaced.pk)
    assert unplaced.receiving_ward == tree.ward1 and unplaced.residential_cell is None
    # The day before: the old wards and cells with their figures; from the day: the new ward holds them all.
    assert snapshot(tree.root, BEFORE) == before
    assert [snapshot(tree.ward1, BEFORE), snapshot(tree.ward2, BEFORE)] == ward_before
    after = figures.headline(new_ward, DAY)
    assert after.received == ward_before[0][0].received + ward_before[1][0].received == 5
    assert after.awaiting_placement == 1  # the unplaced referral: its ward on the day is the successor
    assert people(figures.headline(tree.root, DAY)) == people(before[0])
    rows = {row.code: row.placed for row in figures.by_ward_and_cell(new_ward, DAY)}
    assert rows == {"PDH": 0, "PDH-KP12": 3, f"PDH-{tree.ward2_cell1.code}": 1, f"PDH-{tree.ward2_cell2.code}": 0}


def test_officers_end_when_asked(world):
    tree = world.tree
    plan = plan_merge(
        codes=[tree.ward1_cell1.code, tree.ward1_cell2.code], effective_on=DAY, into=tree.ward1_cell2.code
    )

    apply_plan(plan, by=None, officers="end")

    assert Officer.objects.get(user=world.secretary).ended_on == DAY
    assert not Officer.objects.filter(organisation=tree.ward1_cell2).exists()


def test_a_post_does_not_double_when_the_user_holds_one_at_the_successor(world):
    tree = world.tree
    Officer.objects.create(
        user=world.secretary, organisation=tree.ward1_cell2, role="viewer", started_on=DAY.replace(year=2010)
    )
    plan = plan_merge(
        codes=[tree.ward1_cell1.code, tree.ward1_cell2.code], effective_on=DAY, into=tree.ward1_cell2.code
    )

    apply_plan(plan, by=None)

    assert posts(tree.ward1_cell2) == [(world.secretary.username, "viewer", DAY.replace(year=2010), None)]


def test_members_who_left_keep_their_last_home(world):
    tree = world.tree
    gone = make_member(
        tree.ward1_cell2, retired_on=DAY.replace(year=2010), left_on=DAY.replace(year=2020), left_reason="died"
    )
    plan = plan_merge(
        codes=[tree.ward1_cell1.code, tree.ward1_cell2.code], effective_on=DAY, into=tree.ward1_cell1.code
    )

    apply_plan(plan, by=None)

    assert Member.objects.get(pk=gone.pk).home_organisation == tree.ward1_cell2
    assert MemberHome.objects.filter(member=gone).count() == 1


def test_ended_referrals_stay_in_their_cell(world):
    tree = world.tree
    ended = world.placed[2]
    Referral.objects.filter(pk=ended.pk).update(ended_on=DAY.replace(year=2025, month=1), end_reason="moved_residence")
    plan = plan_merge(
        codes=[tree.ward1_cell1.code, tree.ward1_cell2.code], effective_on=DAY, into=tree.ward1_cell1.code
    )

    assert plan.placements == []
    apply_plan(plan, by=None)

    assert Placement.objects.get(referral=ended).residential_cell == tree.ward1_cell2


def test_a_ward_merges_into_another_and_its_cells_into_the_others_cells(world):
    tree = world.tree
    plan = plan_merge(
        codes=[tree.ward1.code, tree.ward2.code],
        effective_on=DAY,
        into=tree.ward1.code,
        children={tree.ward2_cell1.code: tree.ward1_cell2.code},
    )

    assert plan.problems == []
    assert plan.ending == [tree.ward2, tree.ward2_cell1, tree.ward2_cell2]
    assert plan.successor_of == {
        tree.ward2.code: tree.ward1.code,
        tree.ward2_cell1.code: tree.ward1_cell2.code,
        tree.ward2_cell2.code: f"{tree.ward1.code}-{tree.ward2_cell2.code}",
    }
    apply_plan(plan, by=None)

    assert cell_on(world.placed[3], BEFORE) == tree.ward2_cell1
    assert cell_on(world.placed[3], DAY) == tree.ward1_cell2
    cells = Restructure.objects.get(successors=tree.ward1_cell2)
    assert (cells.kind, set(cells.predecessors.all())) == ("merge", {tree.ward2_cell1, tree.ward1_cell2})
    tree.ward1.refresh_from_db()
    assert tree.ward1.valid_to is None
    assert figures.headline(tree.ward1, DAY).received == 5
    assert figures.headline(tree.ward1, BEFORE).received == 4


@pytest.mark.parametrize("copied", [True, False], ids=["copied-by-the-database", "through-simple-history"])
def test_each_moved_member_and_referral_has_one_history_record_of_its_row_as_stored(world, monkeypatch, copied):
    """The restructure writes one "changed" record per moved member and referral, by the user, for the reason
    "restructure", dated with the change, holding the row as stored after the move (every tracked field); the rows
    that stay get none. Both ways of writing them (copied by the database, or through simple-history for a history
    with fields of its own) write the same."""
    if not copied:
        monkeypatch.setattr(services, "_copyable", lambda history: False)
    tree = world.tree
    kept, merged = tree.ward1_cell1, tree.ward1_cell2
    moved_member, moved_referral = world.retired[2], world.placed[2]  # both in ward1_cell2
    stayed_member, stayed_referral = world.retired[0], world.placed[0]
    user = make_user()

    apply_plan(plan_merge(codes=[kept.code, merged.code], effective_on=DAY, into=kept.code), by=user)

    for model, moved, stayed in ((Member, moved_member, stayed_member), (Referral, moved_referral, stayed_referral)):
        records = model.history.filter(history_change_reason="restructure")
        assert list(records.values_list("id", flat=True)) == [moved.pk], model
        record = records.get()
        row = model.objects.get(pk=moved.pk)
        tracked = [field.attname for field in model.history.model.tracked_fields]
        assert {name: getattr(record, name) for name in tracked} == {name: getattr(row, name) for name in tracked}
        assert (record.history_type, record.history_user, record.history_date) == ("~", user, row.updated_at)
        assert record.prev_record is not None and record.prev_record.history_type == "+"
        assert not model.history.filter(id=stayed.pk, history_type="~").exists()
    assert Member.objects.get(pk=moved_member.pk).home_organisation == kept
    assert Referral.objects.get(pk=moved_referral.pk).residential_cell == kept
