"""An import writes its new rows in one statement a table (``workbooks.importing.copying``, issue 15): a COPY on
PostgreSQL, an ``executemany`` of one INSERT on SQLite; the same rows, history and undo journal as ``bulk_create``
and ``bulk_create_with_history`` write, bar the moments of writing."""

import datetime

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from members import places
from members.models import Exemption, Member, MemberHome, Placement, Referral
from tests.factories import make_member, make_officer, make_referral, make_tree, member_fields
from tests.workbooks.books import (
    MEMBERS,
    REFERRALS,
    layout_workbook,
    member_row,
    member_sheet,
    referral_row,
    referral_sheet,
    workbook,
)
from workbooks.importing import copying, import_workbook
from workbooks.importing.context import update_rows

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db]

MOMENTS = {"id", "created_at", "updated_at", "history_id", "history_date"}


def book(tree):
    cells = [tree.ward1_cell1.code, tree.ward1_cell2.code]
    members = [member_row(f"4700{n:04d}", tree.cell.code, exempt_activities="x" if n == 3 else None) for n in range(8)]
    referrals = [
        referral_row(f"4700{n:04d}", tree.ward1.code, letter=f"{n}-GT\\ĐU", received="20/03/2018", cell=cells[n % 2])
        for n in range(0, 8, 2)
    ]
    return workbook({MEMBERS: member_sheet(*members), REFERRALS: referral_sheet(*referrals)})


def written(result) -> dict:
    """Every row the import wrote, its history and its journal, with natural keys in place of primary keys."""
    cards = dict(Member.objects.values_list("pk", "card_number"))
    referrals = {
        pk: (cards[member], day) for pk, member, day in Referral.objects.values_list("pk", "member", "introduced_on")
    }

    def rows(queryset):
        found = []
        for values in queryset.values():
            for key in ("member_id", "referral_id"):
                if key in values:
                    values[key] = (cards if key == "member_id" else referrals).get(values[key], values[key])
            if "card_number" in values or "introduced_on" in values:
                values["key"] = values.get("card_number") or referrals.get(values["id"])
            found.append({key: value for key, value in values.items() if key not in MOMENTS})
        return sorted(found, key=repr)

    models = [Member, Member.history.model, Referral, Referral.history.model, Exemption, Exemption.history.model]
    snapshot = {model.__name__: rows(model.objects.all()) for model in models}
    snapshot["MemberHome"] = rows(MemberHome.objects.all())
    snapshot["Placement"] = rows(Placement.objects.all())
    snapshot["journal"] = sorted((entry.model.__name__, entry.action) for entry in result.journal.entries)
    return snapshot


def imported(tree, user) -> tuple[dict, list]:
    with transaction.atomic():
        result = import_workbook(book(tree), by=user, file_name="lists.xlsx")
        assert result.applied, result.problems
        snapshot = written(result)
        transaction.set_rollback(True)
    return snapshot, result.problems


def test_copy_writes_what_bulk_create_writes(monkeypatch):
    tree = make_tree()
    user = make_officer(tree.root, role="staff")
    assert copying.usable(Member) and copying.usable(Referral) and copying.usable(MemberHome)

    copied, _ = imported(tree, user)
    monkeypatch.setattr(copying, "usable", lambda model: False)
    bulk, _ = imported(tree, user)

    assert copied == bulk
    assert len(copied["Member"]) == 8 and len(copied["HistoricalMember"]) == 8
    assert len(copied["Placement"]) == 4 and len(copied["Exemption"]) == 1
    assert {row["history_user_id"] for row in copied["HistoricalReferral"]} == {user.pk}
    assert {row["letter_number"] for row in copied["Referral"]} >= {"0-GT\\ĐU"}  # a backslash, escaped for COPY


def test_copy_statements_are_counted_as_queries():
    tree = make_tree()
    with CaptureQueriesContext(connection) as captured:
        assert import_workbook(book(tree), by=None).applied
    # The debug cursor logs an executemany as "<rows> times: <its SQL>".
    statement = "COPY" if connection.vendor == "postgresql" else "8 times: INSERT INTO"
    copies = [query["sql"] for query in captured.captured_queries if query["sql"].startswith(statement)]
    assert any('"members_member"' in sql for sql in copies)
    assert any('"members_historicalmember"' in sql for sql in copies)


def test_copy_escapes_what_its_text_format_reads_specially():
    assert copying._text("a\tb\\c\nd\re") == "a\\tb\\\\c\\nd\\re"
    assert copying._text(None) == "\\N"
    assert copying._text("\\N") == "\\\\N"  # the text "\N" is not a null


def test_copy_reads_back_the_columns_the_database_computes(django_assert_num_queries):
    """``working`` is computed by the database: read back once, as bulk_create's RETURNING does, not once a row."""
    tree = make_tree()
    members = [
        Member(**member_fields(tree.cell)),
        Member(**member_fields(tree.cell, retired_on=datetime.date(2020, 1, 1))),
    ]

    copying.copy_create(members, Member, history=False)

    with django_assert_num_queries(0):
        assert [member.working for member in members] == [True, False]
        assert all(member.pk and member.created_at and not member._state.adding for member in members)
    assert sorted(Member.objects.values_list("working", flat=True)) == [False, True]


def test_the_keys_are_the_ones_bulk_create_gives():
    """SQLite's keys are chosen by the import (``copying._new_keys``): the ones ``bulk_create`` would get, past a key
    deleted (AUTOINCREMENT never gives one again)."""
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL's keys are drawn from the table's sequence")
    tree = make_tree()

    def new_members(count: int) -> list[Member]:
        return [Member(**member_fields(tree.cell)) for _ in range(count)]

    with transaction.atomic():
        created = Member.objects.bulk_create(new_members(3))
        Member.objects.filter(pk=created[-1].pk).delete()
        with transaction.atomic():
            expected = [member.pk for member in Member.objects.bulk_create(new_members(2))]
            transaction.set_rollback(True)
        copied = new_members(2)
        copying.copy_create(copied, Member, history=False)

    assert [member.pk for member in copied] == expected
    assert expected[0] > created[-1].pk


def test_the_history_of_updated_rows_is_what_bulk_history_create_writes(monkeypatch):
    """Rows the import changes get their "~" history records by the same statement as new rows
    (``copying.copy_history``): members whose names change, referrals re-placed by the sheet "Chuyển chi bộ"."""
    tree = make_tree()
    user = make_officer(tree.root, role="staff")
    stored = [make_member(tree.cell, card_number=f"4800{n:04d}") for n in range(4)]
    referrals = [
        make_referral(
            member,
            receiving_ward=tree.ward1,
            introduced_on=datetime.date(2018, 3, 10),
            received_on=datetime.date(2018, 3, 20),
            residential_cell=tree.ward1_cell1,
            placed_on=datetime.date(2018, 3, 20),
        )
        for member in stored[:3]
    ]
    places.move_placement(
        referral=referrals[2], residential_cell=tree.ward1_cell2, on=datetime.date(2019, 1, 1), by=None
    )
    rows = {
        "members": [
            {
                "card_number": member.card_number,
                "full_name": f"Trần Thị {n}",
                "date_of_birth": member.date_of_birth,
                "gender": member.gender,
                "admitted_on": member.admitted_on,
                "home_organisation": tree.cell.code,
                "working": "x",
            }
            for n, member in enumerate(stored)
        ],
        "placements": [
            {
                "card_number": referral.member.card_number,
                "introduced_on": referral.introduced_on,
                "residential_cell": tree.ward1_cell2.code,
                "started_on": datetime.date(2019, 6, 1),
            }
            for referral in referrals[:2]
        ],
    }

    def updated() -> dict:
        with transaction.atomic():
            result = import_workbook(layout_workbook(rows), by=user, update_existing=True, file_name="lists.xlsx")
            assert result.applied, result.problems
            snapshot = written(result)
            transaction.set_rollback(True)
        return snapshot

    copied = updated()
    monkeypatch.setattr(copying, "usable", lambda model: False)
    bulk = updated()

    assert copied == bulk
    changed = [row for row in copied["HistoricalMember"] if row["history_type"] == "~"]
    assert sorted(row["full_name"] for row in changed) == [f"Trần Thị {n}" for n in range(4)]
    # (The re-placement made before the import is a "~" record too, by nobody.)
    moved = [row for row in copied["HistoricalReferral"] if row["history_type"] == "~" and row["history_user_id"]]
    assert len(moved) == 2 and {row["residential_cell_id"] for row in moved} == {tree.ward1_cell2.pk}
    assert {row["history_user_id"] for row in changed} == {user.pk}
    assert {row["history_change_reason"] for row in changed + moved} == {"Nhập từ tệp Excel lists.xlsx"}


def test_rows_are_updated_by_shared_values_or_one_by_one(django_assert_num_queries):
    """``update_rows``: rows sharing their values in one UPDATE each set of values; rows whose values all differ,
    and values that cannot be compared as keys, as ``bulk_update`` writes them."""
    tree = make_tree()
    members = [Member.objects.create(**member_fields(tree.cell)) for _ in range(6)]
    for n, member in enumerate(members):
        member.phone = "0900" if n % 2 else "0911"
    with django_assert_num_queries(2):
        update_rows(members, Member, ["phone"])
    assert sorted(Member.objects.values_list("phone", flat=True)) == ["0900"] * 3 + ["0911"] * 3

    for n, member in enumerate(members):
        member.phone = f"09{n:02d}"
    update_rows(members, Member, ["phone"])
    assert sorted(Member.objects.values_list("phone", flat=True)) == [f"09{n:02d}" for n in range(6)]

    class Unhashable(str):
        __hash__ = None

    for member in members:
        member.phone = Unhashable("0922")
    update_rows(members, Member, ["phone"])
    assert set(Member.objects.values_list("phone", flat=True)) == {"0922"}
