"""Successors: every restructure is one record (kind, effective date, predecessors, successors, who, when, note), and
an organisation that ended names the one that took over on its last day (the workbook's "Mã kế tục")."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils import timezone

from branches.models import Organisation, Restructure
from branches.selectors import successor_on
from branches.services import organisation_create, organisation_update, restructure_record
from tests.factories import make_organisation, make_tree, make_user

Kind = Organisation.Kind
D = datetime.date
REFORM = D(2025, 7, 1)


@pytest.fixture
def tree():
    return make_tree()


def ward(tree, name: str, **fields) -> Organisation:
    fields.setdefault("valid_from", D(2000, 1, 1))
    return make_organisation(kind=Kind.WARD, parent=tree.root, name=name, **fields)


@pytest.fixture
def merger(tree):
    """Two wards ending on the reform day and the new ward that takes over from it."""
    return {
        "p1": ward(tree, "Đảng bộ Phường 1", valid_to=REFORM),
        "p2": ward(tree, "Đảng bộ Phường 2", valid_to=REFORM),
        "new": ward(tree, "Đảng bộ Phường Đông Hà", valid_from=REFORM),
    }


# -- the record --------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_merger_is_one_record_readable_from_each_organisation(merger):
    user = make_user()

    record = restructure_record(
        kind=Restructure.Kind.MERGE,
        effective_on=REFORM,
        predecessors=[merger["p1"], merger["p2"], merger["p1"]],
        successors=[merger["new"]],
        by=user,
        note="Nghị quyết 1656/NQ-UBTVQH15",
    )

    stored = Restructure.objects.get()
    assert stored == record
    assert (stored.kind, stored.effective_on, stored.recorded_by, stored.note) == (
        "merge",
        REFORM,
        user,
        "Nghị quyết 1656/NQ-UBTVQH15",
    )
    assert stored.recorded_at is not None
    assert set(stored.predecessors.all()) == {merger["p1"], merger["p2"]}
    assert list(stored.successors.all()) == [merger["new"]]
    assert list(merger["p1"].restructures_ended.all()) == [stored]
    assert list(merger["new"].restructures_started.all()) == [stored]
    assert not merger["new"].restructures_ended.exists()
    assert stored.history.get().history_user == user


@pytest.mark.django_db
def test_a_merger_into_one_of_the_merged_organisations(tree):
    p1 = ward(tree, "Đảng bộ Phường 1")  # continues
    p2 = ward(tree, "Đảng bộ Phường 2", valid_to=REFORM)

    record = restructure_record(
        kind=Restructure.Kind.MERGE, effective_on=REFORM, predecessors=[p1, p2], successors=[p1], by=None
    )

    assert set(record.predecessors.all()) == {p1, p2}
    assert list(record.successors.all()) == [p1]


@pytest.mark.django_db
def test_a_split_and_a_move(tree):
    old = make_organisation(kind=Kind.RESIDENTIAL_CELL, parent=tree.ward1, valid_to=REFORM)
    halves = [
        make_organisation(kind=Kind.RESIDENTIAL_CELL, parent=tree.ward1, valid_from=REFORM),
        make_organisation(kind=Kind.RESIDENTIAL_CELL, parent=tree.ward1, valid_from=REFORM),
    ]
    moved = make_organisation(kind=Kind.RESIDENTIAL_CELL, parent=tree.ward2, valid_from=REFORM)

    split = restructure_record(
        kind=Restructure.Kind.SPLIT, effective_on=REFORM, predecessors=[old], successors=halves, by=None
    )
    move = restructure_record(
        kind=Restructure.Kind.MOVE, effective_on=REFORM, predecessors=[tree.ward1_cell1], successors=[moved], by=None
    )

    assert set(split.successors.all()) == set(halves)
    assert list(move.successors.all()) == [moved]


@pytest.mark.django_db
def test_outside_organisations_merge_too(tree):
    first = make_organisation(kind=Kind.OUTSIDE, valid_to=REFORM)
    second = make_organisation(kind=Kind.OUTSIDE, valid_to=REFORM)
    merged = make_organisation(kind=Kind.OUTSIDE, valid_from=REFORM)

    record = restructure_record(
        kind=Restructure.Kind.MERGE, effective_on=REFORM, predecessors=[first, second], successors=[merged], by=None
    )

    assert record.pk


def refused(**arguments) -> dict[str, list[str]]:
    arguments.setdefault("by", None)
    with pytest.raises(ValidationError) as refusal:
        restructure_record(**arguments)
    assert not Restructure.objects.exists()
    return {field: [error.code for error in errors] for field, errors in refusal.value.error_dict.items()}


@pytest.mark.django_db
def test_a_restructure_has_a_shape(tree, merger):
    p1, p2, new = merger["p1"], merger["p2"], merger["new"]
    other_new = ward(tree, "Đảng bộ Phường Nam Đông Hà", valid_from=REFORM)
    merge, split, move, rename = (Restructure.Kind.MERGE, Restructure.Kind.SPLIT, Restructure.Kind.MOVE, "rename")

    assert refused(kind=merge, effective_on=REFORM, predecessors=[p1], successors=[new]) == {
        "predecessors": ["merge_shape"]
    }
    assert refused(kind=merge, effective_on=REFORM, predecessors=[p1, p2], successors=[new, other_new]) == {
        "predecessors": ["merge_shape"]
    }
    assert refused(kind=split, effective_on=REFORM, predecessors=[p1], successors=[new]) == {
        "successors": ["split_shape"]
    }
    assert refused(kind=move, effective_on=REFORM, predecessors=[p1, p2], successors=[new]) == {
        "successors": ["move_shape"]
    }
    # a ward "moved" under the same root is no move
    assert refused(kind=move, effective_on=REFORM, predecessors=[p1], successors=[new]) == {
        "successors": ["move_same_parent"]
    }
    assert refused(kind=rename, effective_on=REFORM, predecessors=[p1], successors=[new]) == {
        "successors": ["rename_shape"]
    }
    assert refused(kind=merge, effective_on=REFORM, predecessors=[], successors=[]) == {
        "predecessors": ["required"],
        "successors": ["required"],
    }
    assert "kind" in refused(kind="annex", effective_on=REFORM, predecessors=[p1], successors=[new])


@pytest.mark.django_db
def test_a_restructure_keeps_one_kind_and_one_tree(tree, merger):
    other_root = make_organisation(kind=Kind.ROOT)
    far_ward = make_organisation(kind=Kind.WARD, parent=other_root, valid_to=REFORM)
    committee = make_organisation(kind=Kind.COMMITTEE, parent=tree.root, valid_to=REFORM)

    assert refused(
        kind=Restructure.Kind.MERGE,
        effective_on=REFORM,
        predecessors=[merger["p1"], committee],
        successors=[merger["new"]],
    ) == {"successors": ["other_kind"]}
    assert refused(
        kind=Restructure.Kind.MERGE,
        effective_on=REFORM,
        predecessors=[merger["p1"], far_ward],
        successors=[merger["new"]],
    ) == {"successors": ["across_roots"]}


@pytest.mark.django_db
def test_predecessors_existed_the_day_before_and_successors_exist_on_the_day(tree, merger):
    started_that_day = ward(tree, "Đảng bộ Phường 9", valid_from=REFORM)
    ended_before = ward(tree, "Đảng bộ Phường 8", valid_to=D(2025, 6, 30))
    starts_later = ward(tree, "Đảng bộ Phường 7", valid_from=D(2025, 7, 2))
    merge = Restructure.Kind.MERGE

    for predecessor in (started_that_day, ended_before):
        assert refused(
            kind=merge, effective_on=REFORM, predecessors=[merger["p1"], predecessor], successors=[merger["new"]]
        ) == {"predecessors": ["predecessor_not_in_force"]}
    for successor in (starts_later, merger["p2"]):  # p2 no longer exists on the reform day
        assert refused(
            kind=merge, effective_on=REFORM, predecessors=[merger["p1"], ended_before], successors=[successor]
        )["successors"] == ["successor_not_in_force"]


@pytest.mark.django_db
def test_the_record_reads_the_organisations_as_stored(tree):
    """The restructure operations may end a predecessor after reading it: the record checks the stored row."""
    p1 = ward(tree, "Đảng bộ Phường 1")
    p2 = ward(tree, "Đảng bộ Phường 2")
    new = ward(tree, "Đảng bộ Phường Đông Hà", valid_from=REFORM)
    Organisation.objects.filter(pk=p2.pk).update(valid_from=REFORM)  # p2 in memory still says 2000

    assert refused(kind=Restructure.Kind.MERGE, effective_on=REFORM, predecessors=[p1, p2], successors=[new]) == {
        "predecessors": ["predecessor_not_in_force"]
    }


@pytest.mark.django_db
def test_a_restructure_is_recorded_for_a_day_that_has_come(merger):
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)

    codes = refused(
        kind=Restructure.Kind.MERGE,
        effective_on=tomorrow,
        predecessors=[merger["p1"], merger["p2"]],
        successors=[merger["new"]],
    )

    assert codes["effective_on"] == ["future"]


@pytest.mark.django_db
def test_a_note_with_hidden_characters_is_refused(merger):
    assert "note" in refused(
        kind=Restructure.Kind.MERGE,
        effective_on=REFORM,
        predecessors=[merger["p1"], merger["p2"]],
        successors=[merger["new"]],
        note="\u202eabc",
    )


# -- the successor of an organisation that ended -------------------------------------------------------------------


@pytest.mark.django_db
def test_an_ended_organisation_names_its_successor(merger):
    updated = organisation_update(organisation=merger["p1"], successor=merger["new"])

    assert Organisation.objects.get(pk=updated.pk).successor == merger["new"]
    assert list(merger["new"].predecessors.all()) == [merger["p1"]]


@pytest.mark.django_db
def test_ending_and_naming_the_successor_in_one_change(tree):
    p5 = ward(tree, "Đảng bộ Phường 5")
    new = organisation_create(
        code="NDH", name="Đảng bộ Phường Nam Đông Hà", kind=Kind.WARD, parent=tree.root, valid_from=REFORM
    )

    organisation_update(organisation=p5, valid_to=REFORM, successor=new)

    assert Organisation.objects.get(pk=p5.pk).successor == new


@pytest.mark.django_db
def test_an_organisation_created_ended_with_its_successor(tree, merger):
    old = organisation_create(
        code="P4",
        name="Đảng bộ Phường 4",
        kind=Kind.WARD,
        parent=tree.root,
        valid_from=D(2000, 1, 1),
        valid_to=REFORM,
        successor=merger["new"],
    )

    assert Organisation.objects.get(pk=old.pk).successor == merger["new"]


@pytest.mark.django_db
def test_only_an_organisation_that_ended_has_a_successor(tree, merger):
    with pytest.raises(ValidationError) as refusal:
        organisation_update(organisation=tree.ward1, successor=merger["new"])
    assert "successor" in refusal.value.message_dict

    with pytest.raises(ValidationError) as cleared:
        organisation_update(organisation=merger["p1"], successor=merger["new"], valid_to=None)
    assert "successor" in cleared.value.message_dict
    assert Organisation.objects.get(pk=merger["p1"].pk).successor is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("valid_from", "valid_to"),
    [
        (D(2025, 7, 2), None),  # starts after the handover
        (D(2020, 1, 1), REFORM),  # ends on the handover day: not there to take over
        (D(2020, 1, 1), D(2024, 1, 1)),
    ],
)
def test_the_successor_exists_on_the_day_it_takes_over(tree, merger, valid_from, valid_to):
    successor = ward(tree, "Đảng bộ Phường X", valid_from=valid_from, valid_to=valid_to)

    with pytest.raises(ValidationError) as refusal:
        organisation_update(organisation=merger["p1"], successor=successor)

    assert "01/07/2025" in refusal.value.message_dict["successor"][0]
    assert Organisation.objects.get(pk=merger["p1"].pk).successor is None


@pytest.mark.django_db
def test_an_organisation_is_not_its_own_successor(merger):
    with pytest.raises(ValidationError) as refusal:
        organisation_update(organisation=merger["p1"], successor=merger["p1"])

    assert "successor" in refusal.value.message_dict


@pytest.mark.django_db
def test_the_database_holds_the_successor_rules(tree, merger):
    with pytest.raises(IntegrityError), transaction.atomic():
        Organisation.objects.filter(pk=tree.ward1.pk).update(successor=merger["new"])
    with pytest.raises(IntegrityError), transaction.atomic():
        Organisation.objects.filter(pk=merger["p1"].pk).update(successor=merger["p1"])
    Organisation.objects.filter(pk=merger["p1"].pk).update(successor=merger["new"])
    with pytest.raises(ProtectedError):
        Organisation.objects.get(pk=merger["new"].pk).delete()


@pytest.mark.django_db
def test_a_successor_keeps_existing_on_the_day_it_took_over(tree, merger):
    taker = ward(tree, "Đảng bộ Phường Đông Lương", valid_from=D(2024, 1, 1))
    organisation_update(organisation=merger["p1"], successor=taker)

    with pytest.raises(ValidationError) as later_start:
        organisation_update(organisation=taker, valid_from=D(2025, 8, 1))
    with pytest.raises(ValidationError) as early_end:
        organisation_update(organisation=taker, valid_to=REFORM)

    assert later_start.value.error_dict["valid_from"][0].code == "successor_not_in_force"
    assert early_end.value.error_dict["valid_to"][0].code == "successor_not_in_force"
    assert organisation_update(organisation=taker, valid_to=D(2025, 7, 2)).valid_to == D(2025, 7, 2)


# -- the successor in force on a day -----------------------------------------------------------------------------------


@pytest.fixture
def chain(tree):
    """Khu phố 1 merged into Khu phố A on 01/01/2020, itself merged into Khu phố Đông Hà on 01/07/2025."""
    kp1 = make_organisation(kind=Kind.RESIDENTIAL_CELL, parent=tree.ward1, valid_to=D(2020, 1, 1))
    kpa = make_organisation(kind=Kind.RESIDENTIAL_CELL, parent=tree.ward1, valid_from=D(2020, 1, 1), valid_to=REFORM)
    kpdh = make_organisation(kind=Kind.RESIDENTIAL_CELL, parent=tree.ward1, valid_from=REFORM)
    organisation_update(organisation=kp1, successor=kpa)
    organisation_update(organisation=kpa, successor=kpdh)
    return Organisation.objects.get(pk=kp1.pk), Organisation.objects.get(pk=kpa.pk), kpdh


@pytest.mark.django_db
def test_the_successor_in_force_on_a_day(chain, django_assert_max_num_queries):
    kp1, kpa, kpdh = chain

    assert successor_on(kp1, D(2019, 12, 31)) == kp1
    assert successor_on(kp1, D(2020, 1, 1)) == kpa
    assert successor_on(kp1, D(2025, 6, 30)) == kpa
    with django_assert_max_num_queries(2):
        assert successor_on(kp1, REFORM) == kpdh
    assert successor_on(kpa, D(2026, 1, 1)) == kpdh
    assert successor_on(kpdh, D(2026, 1, 1)) == kpdh


@pytest.mark.django_db
def test_no_successor_in_force(tree, chain):
    kp1, _kpa, kpdh = chain
    dissolved = make_organisation(kind=Kind.RESIDENTIAL_CELL, parent=tree.ward1, valid_to=D(2020, 1, 1))

    assert successor_on(dissolved, D(2021, 1, 1)) is None  # ended without a successor
    assert successor_on(kpdh, D(2025, 6, 30)) is None  # not yet started
    assert successor_on(kp1, D(1999, 1, 1)) is None


@pytest.mark.django_db
def test_a_cycle_written_by_hand_stops(tree):
    first = make_organisation(kind=Kind.RESIDENTIAL_CELL, parent=tree.ward1, valid_to=D(2020, 1, 1))
    second = make_organisation(
        kind=Kind.RESIDENTIAL_CELL, parent=tree.ward1, valid_from=D(2019, 1, 1), valid_to=D(2021, 1, 1)
    )
    Organisation.objects.filter(pk=first.pk).update(successor=second)
    Organisation.objects.filter(pk=second.pk).update(successor=first)

    assert successor_on(Organisation.objects.get(pk=first.pk), D(2022, 1, 1)) is None
