"""``manage.py import_workbook``: all or nothing from the command line, every problem on stderr."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.utils.translation import gettext

from branches.models import Organisation
from members.models import Member
from tests.factories import make_tree
from tests.workbooks.books import (
    MEMBERS,
    NOT_XLSX,
    ORGS,
    REFERRALS,
    member_row,
    member_sheet,
    org_row,
    org_sheet,
    referral_row,
    referral_sheet,
    snapshot,
    workbook,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def tree():
    return make_tree()


def save(tmp_path, book: io.BytesIO, name: str = "so-lieu.xlsx") -> str:
    path = tmp_path / name
    path.write_bytes(book.getvalue())
    return str(path)


def good_book(tree) -> io.BytesIO:
    return workbook(
        {
            ORGS: org_sheet(org_row("KP9", "Chi bộ Khu phố 9", "residential_cell", tree.ward1.code)),
            MEMBERS: member_sheet(member_row("45012345", tree.cell.code), member_row("45012346", "KP9", working=None)),
            REFERRALS: referral_sheet(
                referral_row("45012345", tree.ward1.code, introduced="01/03/2018", received="05/03/2018", cell="KP9")
            ),
        }
    )


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_workbook", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_a_dry_run_prints_the_counts_and_writes_nothing(tree, tmp_path):
    path = save(tmp_path, good_book(tree))
    before = snapshot()

    out, err = run(path, "--dry-run")

    assert snapshot() == before
    assert err == ""
    assert "Tổ chức: 1 rows — 1 to create, 0 to update, 0 unchanged" in out
    assert "Đảng viên: 2 rows — 2 to create, 0 to update, 0 unchanged" in out
    assert "Giới thiệu: 1 rows — 1 to create, 0 to update, 0 unchanged" in out
    assert "so-lieu.xlsx: checked, nothing written (dry run)" in out


def test_without_dry_run_it_imports(tree, tmp_path):
    path = save(tmp_path, good_book(tree))

    out, err = run(path)

    assert err == ""
    assert "so-lieu.xlsx: imported" in out
    assert Organisation.objects.get(code="KP9").parent == tree.ward1
    assert set(Member.objects.values_list("card_number", flat=True)) == {"45012345", "45012346"}
    history = Member.history.get(card_number="45012345")
    assert history.history_user is None
    assert history.history_change_reason == gettext("Imported from the workbook %(name)s") % {"name": "so-lieu.xlsx"}

    again, _ = run(path)
    assert "Đảng viên: 2 rows — 0 to create, 0 to update, 2 unchanged" in again


def test_a_workbook_with_problems_prints_each_and_fails(tree, tmp_path):
    book = workbook(
        {
            ORGS: org_sheet(org_row("KP9", kind="tổ dân phố", parent=tree.ward1.code)),
            MEMBERS: member_sheet(
                member_row("45012345", tree.cell.code, born="31/02/1980"),
                member_row("45012346", "KHONG-CO"),
            ),
        }
    )
    path = save(tmp_path, book)
    before = snapshot()
    out, err = io.StringIO(), io.StringIO()

    with pytest.raises(CommandError) as failed:
        call_command("import_workbook", path, stdout=out, stderr=err)

    assert failed.value.returncode == 1
    assert "3 problem(s); nothing was written" in str(failed.value)
    lines = err.getvalue().splitlines()
    assert len(lines) == 3, lines
    assert lines[0].startswith("Tổ chức row 2 Loại: ") and "“tổ dân phố”" in lines[0]
    assert lines[1].startswith("Đảng viên row 2 Ngày sinh: ") and "“31/02/1980”" in lines[1]
    assert lines[2].startswith("Đảng viên row 3 Mã chi bộ: ") and "“KHONG-CO”" in lines[2]
    assert snapshot() == before


def test_a_missing_column_is_printed_without_a_row(tree, tmp_path):
    path = save(tmp_path, workbook({MEMBERS: [["Số thẻ", "Họ và tên"], ["45012345", "An"]]}))
    err = io.StringIO()

    with pytest.raises(CommandError):
        call_command("import_workbook", path, stdout=io.StringIO(), stderr=err)

    assert f"Đảng viên Ngày sinh: {gettext('This required column is missing.')}" in err.getvalue().splitlines()


def test_a_dry_run_with_problems_also_fails(tree, tmp_path):
    path = save(tmp_path, workbook({MEMBERS: member_sheet(member_row("45012345", "KHONG-CO"))}))

    with pytest.raises(CommandError):
        run(path, "--dry-run")


def test_a_missing_file(tmp_path):
    with pytest.raises(CommandError) as failed:
        run(str(tmp_path / "khong-co.xlsx"))

    assert "khong-co.xlsx" in str(failed.value)


def test_a_file_that_is_not_a_workbook(tmp_path):
    path = tmp_path / "danh-sach.xlsx"
    path.write_text("Số thẻ;Họ và tên\n45012345;An\n", encoding="utf-8")
    before = snapshot()

    with pytest.raises(CommandError) as failed:
        run(str(path))

    assert str(failed.value) == gettext(NOT_XLSX)
    assert snapshot() == before


def test_a_directory_is_not_a_file(tmp_path):
    with pytest.raises(CommandError):
        run(str(tmp_path))
