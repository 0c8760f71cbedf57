"""``manage.py restructure``: a dry run prints the plan, --yes applies it, a refusal exits non-zero."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from branches.models import Organisation, Restructure
from members.models import Member
from tests.factories import make_user
from tests.restructures.helpers import DAY, build_world, cell_on, home_on

DATE = DAY.isoformat()


@pytest.fixture
def world(db):
    return build_world()


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("restructure", *args, stdout=out)
    return out.getvalue()


def test_a_dry_run_prints_the_plan_and_writes_nothing(world):
    tree = world.tree
    codes = [tree.ward1.code, tree.ward2.code]

    out = run(
        "merge", "--codes", *codes, "--new-code", "PDH", "--new-name", "Phường Đông Hà", "--date", DATE, "--dry-run"
    )

    assert "PDH Phường Đông Hà" in out
    assert f"{tree.ward1_cell1.code} → PDH-{tree.ward1_cell1.code}: 2" in out  # the placements of khu phố 1
    assert f"{tree.ward1.code} → PDH: 1" in out  # the unplaced referral
    assert f"{world.secretary.username}: {tree.ward1_cell1.code} → PDH-{tree.ward1_cell1.code}" in out
    assert not Organisation.objects.filter(code="PDH").exists()
    assert not Restructure.objects.exists()


def test_yes_applies(world):
    tree = world.tree
    user = make_user("thanhuy_test")

    out = run(
        "merge",
        "--codes",
        tree.ward1_cell1.code,
        tree.ward1_cell2.code,
        "--into",
        tree.ward1_cell1.code,
        "--date",
        DATE,
        "--yes",
        "--note",
        "Quyết định 12",
        "--by",
        "thanhuy_test",
        "--officers",
        "end",
    )

    record = Restructure.objects.get()
    assert str(record.pk) in out
    assert (record.kind, record.recorded_by, record.note) == ("merge", user, "Quyết định 12")
    assert home_on(world.retired[2], DAY) == tree.ward1_cell1
    assert cell_on(world.placed[2], DAY) == tree.ward1_cell1


def test_split_rename_and_move_from_the_command_line(world, tmp_path):
    tree = world.tree
    cell = tree.ward1_cell2
    assignment = tmp_path / "phan-chia.csv"
    assignment.write_text(
        f"Số thẻ,Mã kế tục\n{world.retired[2].card_number},KP2A\n{world.placed[2].member.card_number},KP2B\n",
        encoding="utf-8",
    )
    run(
        "split",
        "--code",
        cell.code,
        "--part",
        "KP2A=Khu phố 2A",
        "--part",
        "KP2B=Khu phố 2B",
        "--assign",
        str(assignment),
        "--date",
        DATE,
        "--yes",
    )
    assert home_on(world.retired[2], DAY).code == "KP2A"
    assert cell_on(world.placed[2], DAY).code == "KP2B"

    run("rename", "--code", tree.ward2.code, "--name", "Đảng bộ phường Nam Đông Hà", "--date", DATE, "--yes")
    assert Organisation.objects.get(pk=tree.ward2.pk).name == "Đảng bộ phường Nam Đông Hà"

    run(
        "move",
        "--code",
        tree.grassroots_cell.code,
        "--parent",
        tree.committee.code,
        "--new-code",
        "TRUONG",
        "--date",
        DATE,
        "--yes",
    )
    assert Organisation.objects.get(code="TRUONG").parent == tree.committee


def test_a_refusal_exits_non_zero_and_writes_nothing(world):
    tree = world.tree
    with pytest.raises(CommandError) as refused:
        run(
            "split",
            "--code",
            tree.ward1_cell1.code,
            "--part",
            "KP1A=A",
            "--part",
            "KP1B=B",
            "--assign-item",
            f"{world.retired[0].card_number}=KP1A",
            "--date",
            DATE,
            "--yes",
        )
    assert world.retired[1].card_number in str(refused.value)
    assert not Organisation.objects.filter(code="KP1A").exists()
    assert Member.objects.get(pk=world.retired[1].pk).home_organisation == tree.ward1_cell1

    for args in (
        ("rename", "--code", "KHONGCO", "--name", "X", "--date", DATE, "--yes"),
        ("move", "--code", tree.ward1.code, "--parent", tree.root.code, "--date", "2999-01-01", "--yes"),
        ("merge", "--codes", tree.ward1.code, "--into", tree.ward1.code, "--date", DATE, "--yes", "--by", "nobody"),
        (
            "merge",
            "--codes",
            tree.ward1.code,
            tree.ward2.code,
            "--into",
            tree.ward1.code,
            "--date",
            DATE,
            "--child",
            "bad",
        ),
    ):
        with pytest.raises(CommandError):
            run(*args)
    assert not Restructure.objects.exists()


def test_without_yes_and_without_a_terminal_nothing_is_applied(world, monkeypatch):
    tree = world.tree
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    with pytest.raises(CommandError, match="--yes"):
        run("rename", "--code", tree.ward2.code, "--name", "Tên mới", "--date", DATE)
    assert Organisation.objects.get(pk=tree.ward2.pk).name == tree.ward2.name


def test_on_a_terminal_it_asks(world, monkeypatch):
    tree = world.tree

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr("sys.stdin", Terminal("n\n"))
    run("rename", "--code", tree.ward2.code, "--name", "Tên mới", "--date", DATE)
    assert Organisation.objects.get(pk=tree.ward2.pk).name == tree.ward2.name
    monkeypatch.setattr("sys.stdin", Terminal("y\n"))
    run("rename", "--code", tree.ward2.code, "--name", "Tên mới", "--date", DATE)
    assert Organisation.objects.get(pk=tree.ward2.pk).name == "Tên mới"
