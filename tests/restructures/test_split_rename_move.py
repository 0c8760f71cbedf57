"""Splits (with an assignment, typed or read from a file), renames and moves under another parent."""

import io

import pytest
from django.core.exceptions import ValidationError
from openpyxl import Workbook

from branches.models import Organisation, OrganisationName, Restructure
from branches.selectors import names_on
from members.models import Member, Referral
from reports import figures
from restructures.plans import Flow, assignment_from_file, plan_move, plan_rename, plan_split
from restructures.services import apply_plan, restructure
from tests.factories import make_member, make_organisation
from tests.restructures.helpers import BEFORE, DAY, build_world, cell_on, home_on, posts, snapshot

Kind = Organisation.Kind


@pytest.fixture
def world(db):
    return build_world()


# -- split ------------------------------------------------------------------------------------------------------------


def test_a_residential_cell_splits_with_an_assignment(world):
    tree = world.tree
    cell = tree.ward1_cell1
    first, second = world.retired[0], world.retired[1]
    placed_a, placed_b = world.placed[0], world.placed[1]
    before = snapshot(tree.ward1, BEFORE)
    assignment = {
        first.card_number: "KP1A",
        second.card_number: "KP1B",
        placed_a.member.card_number: "KP1A",
        placed_b.member.card_number: "KP1B",
    }

    plan = plan_split(
        code=cell.code, effective_on=DAY, parts=[("KP1A", "Khu phố 1A"), ("KP1B", "Khu phố 1B")], assignment=assignment
    )

    assert plan.problems == []
    assert plan.ending == [cell]
    assert [(new.code, new.parent_code, new.kind) for new in plan.starting] == [
        ("KP1A", tree.ward1.code, Kind.RESIDENTIAL_CELL),
        ("KP1B", tree.ward1.code, Kind.RESIDENTIAL_CELL),
    ]
    assert plan.successor_of == {}  # a divided organisation has no single successor
    assert plan.homes == [Flow(cell.code, "KP1A", 1), Flow(cell.code, "KP1B", 1)]
    assert plan.placements == [Flow(cell.code, "KP1A", 1), Flow(cell.code, "KP1B", 1)]
    assert plan.officers == [(world.secretary.username, cell.code, "")]

    record = apply_plan(plan, by=None)

    part_a, part_b = Organisation.objects.get(code="KP1A"), Organisation.objects.get(code="KP1B")
    assert record.kind == "split"
    assert list(record.predecessors.all()) == [cell]
    assert set(record.successors.all()) == {part_a, part_b}
    cell.refresh_from_db()
    assert (cell.valid_to, cell.successor) == (DAY, None)
    assert (home_on(first, DAY), home_on(second, DAY)) == (part_a, part_b)
    assert (home_on(first, BEFORE), home_on(second, BEFORE)) == (cell, cell)
    assert (cell_on(placed_a, DAY), cell_on(placed_b, DAY)) == (part_a, part_b)
    assert posts(part_a) == posts(part_b) == []  # a divided cell's posts end
    assert snapshot(tree.ward1, BEFORE) == before
    rows = {row.code: row.placed for row in figures.by_ward_and_cell(tree.ward1, DAY)}
    assert (rows["KP1A"], rows["KP1B"], cell.code in rows) == (1, 1, False)


def test_a_ward_splits_its_cells_among_the_parts(world):
    tree = world.tree
    ward = tree.ward2
    plan = plan_split(
        code=ward.code,
        effective_on=DAY,
        parts=[("P5A", "Phường 5A"), ("P5B", "Phường 5B")],
        assignment={tree.ward2_cell1.code: "P5A", tree.ward2_cell2.code: "P5B"},
        children={tree.ward2_cell2.code: "P5B-KP4"},
    )

    assert plan.problems == []
    assert plan.successor_of == {
        tree.ward2_cell1.code: f"P5A-{tree.ward2_cell1.code}",
        tree.ward2_cell2.code: "P5B-KP4",
    }
    apply_plan(plan, by=None)

    copy = Organisation.objects.get(code=f"P5A-{tree.ward2_cell1.code}")
    assert copy.parent == Organisation.objects.get(code="P5A")
    assert cell_on(world.placed[3], DAY) == copy
    assert Organisation.objects.get(code="P5B-KP4").parent.code == "P5B"
    assert Restructure.objects.filter(kind="move").count() == 2


def test_a_split_leaving_a_member_or_a_cell_unassigned_is_refused(world):
    tree = world.tree
    cell = tree.ward1_cell1
    plan = plan_split(
        code=cell.code,
        effective_on=DAY,
        parts=[("KP1A", "Khu phố 1A"), ("KP1B", "Khu phố 1B")],
        assignment={world.retired[0].card_number: "KP1A"},
    )
    unassigned = [world.retired[1], world.placed[0].member, world.placed[1].member]
    assert len(plan.problems) == 3
    for member in unassigned:
        assert any(member.card_number in problem for problem in plan.errors["assignment"]), plan.problems
    with pytest.raises(ValidationError) as refused:
        apply_plan(plan, by=None)
    assert "assignment" in refused.value.message_dict
    assert not Organisation.objects.filter(code="KP1A").exists()
    assert Member.objects.get(pk=world.retired[0].pk).home_organisation == cell

    ward_plan = plan_split(
        code=tree.ward2.code,
        effective_on=DAY,
        parts=[("P5A", "Phường 5A"), ("P5B", "Phường 5B")],
        assignment={tree.ward2_cell1.code: "P5A"},
    )
    assert ward_plan.errors["assignment"] and tree.ward2_cell2.code in ward_plan.errors["assignment"][0]


def test_a_split_refuses_unknown_keys_parts_and_an_unplaced_referral_of_a_divided_ward(world):
    tree = world.tree
    plan = plan_split(
        code=tree.ward1.code,
        effective_on=DAY,
        parts=[("P1A", "Phường 1A"), ("P1B", "Phường 1B")],
        assignment={tree.ward1_cell1.code: "P1A", tree.ward1_cell2.code: "P1C", "NOBODY": "P1A"},
    )
    text = " ".join(plan.problems)
    assert "P1C" in text and "NOBODY" in text
    assert any(tree.ward1.code in problem and "1" in problem for problem in plan.errors["assignment"])
    assert len(plan.errors["assignment"]) == 3


def test_an_assignment_is_read_from_a_workbook_or_a_csv_file(world, tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Danh sách phân chia"])
    sheet.append(["Mã", "Số thẻ", "Họ và tên", "Mã kế tục"])
    sheet.append(["KP7", None, None, "KP1A"])
    sheet.append([None, 12345678, "Nguyễn Văn A", "KP1B"])
    sheet.append([None, None, None, None])
    path = tmp_path / "phan-chia.xlsx"
    workbook.save(path)

    assert assignment_from_file(path) == {"KP7": "KP1A", "12345678": "KP1B"}
    csv_file = io.BytesIO("Số thẻ;Mã kế tục\n00000012;KP1A\n00000013;KP1B\n".encode("utf-8-sig"))
    assert assignment_from_file(csv_file) == {"00000012": "KP1A", "00000013": "KP1B"}

    with pytest.raises(ValidationError) as no_column:
        assignment_from_file(io.BytesIO(b"Ma;Part\nA;B\n"))
    assert "assignment" in no_column.value.message_dict
    with pytest.raises(ValidationError) as twice:
        assignment_from_file(io.BytesIO("Mã,Mã kế tục\nA,P1\nA,P2\n".encode()))
    assert "assignment" in twice.value.message_dict
    with pytest.raises(ValidationError):
        assignment_from_file(io.BytesIO(b"PK\x03\x04 not really a workbook"))
    with pytest.raises(ValidationError):
        assignment_from_file(io.BytesIO(b"\xff\xfe\x00garbage"))


# -- rename -----------------------------------------------------------------------------------------------------------


def test_a_rename_keeps_the_row_and_the_code_and_the_name_of_each_day(world):
    tree = world.tree
    ward = tree.ward1
    old_name = ward.name

    plan = plan_rename(code=ward.code, effective_on=DAY, name="Đảng bộ phường Đông Hà")

    assert plan.problems == []
    assert plan.renamed == [(ward, "Đảng bộ phường Đông Hà")]
    assert plan.ending == [] and plan.starting == []
    record = restructure(
        "rename", by=None, note="đổi tên", code=ward.code, effective_on=DAY, name="Đảng bộ phường Đông Hà"
    )

    ward.refresh_from_db()
    assert (ward.name, ward.code, ward.valid_to) == ("Đảng bộ phường Đông Hà", plan.params["code"], None)
    assert (record.kind, record.note, list(record.predecessors.all())) == ("rename", "đổi tên", [ward])
    assert names_on([ward], BEFORE) == {ward.pk: old_name}
    assert names_on([ward], DAY) == {ward.pk: "Đảng bộ phường Đông Hà"}
    assert OrganisationName.objects.get(organisation=ward).valid_to == DAY


def test_a_rename_is_refused_to_the_same_name_or_before_the_last_one(world):
    ward = world.tree.ward1
    assert plan_rename(code=ward.code, effective_on=DAY, name=ward.name).errors.keys() == {"name"}
    restructure("rename", by=None, code=ward.code, effective_on=DAY, name="Tên mới")
    assert plan_rename(code=ward.code, effective_on=BEFORE, name="Tên khác").errors.keys() == {"effective_on"}
    later = DAY.replace(month=9)
    assert plan_rename(code=ward.code, effective_on=later, name="Tên\u200bkhác").errors.keys() == {"name"}
    assert plan_rename(code=ward.code, effective_on=later, name="Tên khác").problems == []


# -- move -------------------------------------------------------------------------------------------------------------


def test_a_committee_moves_under_an_upper_committee_with_its_subtree(world):
    tree = world.tree
    upper = make_organisation(kind=Kind.UPPER_COMMITTEE, parent=tree.root, code="KHOI", name="Đảng ủy Khối")
    second_cell = make_organisation(kind=Kind.CELL, parent=tree.committee, code="CBKT", name="Chi bộ Kế toán")
    worker = make_member(second_cell)
    working_members = list(Member.objects.filter(home_organisation=tree.cell))
    before = snapshot(tree.root, BEFORE)

    plan = plan_move(code=tree.committee.code, effective_on=DAY, parent="KHOI", children={"CBKT": "KHOI-KT"})

    assert plan.problems == []
    successor = f"{tree.committee.code}-2025"
    assert [(new.code, new.parent_code) for new in plan.starting] == [
        (successor, "KHOI"),
        (f"{successor}-{tree.cell.code}", successor),
        ("KHOI-KT", successor),
    ]
    assert plan.homes == [
        Flow("CBKT", "KHOI-KT", 1),
        Flow(tree.cell.code, f"{successor}-{tree.cell.code}", len(working_members)),
    ]
    record = apply_plan(plan, by=None)

    moved = Organisation.objects.get(code=successor)
    assert (record.kind, list(record.successors.all()), moved.parent) == ("move", [moved], upper)
    assert moved.name == tree.committee.name and moved.is_within(upper)
    tree.committee.refresh_from_db()
    assert (tree.committee.valid_to, tree.committee.successor, tree.committee.parent) == (DAY, moved, tree.root)
    new_cell = Organisation.objects.get(code=f"{successor}-{tree.cell.code}")
    assert all(home_on(member, DAY) == new_cell for member in working_members)
    assert home_on(worker, DAY).code == "KHOI-KT"
    assert Restructure.objects.filter(kind="move").count() == 3
    # The referrals issued by the old committee stay its own; the day before is unchanged.
    assert Referral.objects.filter(issuing_organisation=tree.committee).count() == 5
    assert snapshot(tree.root, BEFORE) == before
    on_day = figures.headline(upper, DAY)
    assert (on_day.members, on_day.eligible) == (len(working_members) + 1, len(working_members) + 1)
    assert figures.headline(upper, BEFORE).members == 0


def test_a_move_needs_another_parent_of_an_allowed_kind(world):
    tree = world.tree
    same = plan_move(code=tree.ward1_cell1.code, effective_on=DAY, parent=tree.ward1.code)
    assert same.errors.keys() == {"parent"}
    wrong_kind = plan_move(code=tree.ward1_cell1.code, effective_on=DAY, parent=tree.committee.code)
    assert wrong_kind.errors.keys() == {"new_code"}
    into_itself = plan_move(code=tree.ward1.code, effective_on=DAY, parent=tree.ward1_cell1.code)
    assert into_itself.errors.keys() == {"parent"}
    cell_moves = plan_move(code=tree.ward1_cell1.code, effective_on=DAY, parent=tree.ward2.code, new_code="P5-KP1")
    assert cell_moves.problems == []
    assert cell_moves.placements == [Flow(tree.ward1_cell1.code, "P5-KP1", 2)]
