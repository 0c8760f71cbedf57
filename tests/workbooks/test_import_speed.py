"""The import's queries do not grow with its rows (issue 15: 100,000 rows in under 60 s): each phase looks its rows
up a batch at a time and writes them in bulk, with their history. The time itself is measured by
bench/import_workbook.py, never asserted here."""

import re
from collections import Counter

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from members.models import Member, Referral
from tests.workbooks.books import (
    MEMBERS,
    ORGS,
    REFERRALS,
    member_row,
    member_sheet,
    org_row,
    org_sheet,
    referral_row,
    referral_sheet,
    workbook,
)
from workbooks.importing import import_workbook

CELLS = ["SYT-VP", "SYT-KH"]  # workplace cells: their members are referred to the wards where they live
WARDS = {"P1": ["P1-KP1", "P1-KP2"], "P5": ["P5-KP1"]}


ORGANISATIONS = org_sheet(
    org_row("DH", "Đảng bộ thành phố Đông Hà", "root"),
    org_row("P1", "Đảng bộ Phường 1", "ward", "DH"),
    org_row("P5", "Đảng bộ Phường 5", "ward", "DH"),
    org_row("SYT", "Đảng bộ Sở Y tế", "Đảng bộ cơ sở", "DH"),
    org_row("P1-KP1", "Chi bộ Khu phố 1", "residential_cell", "P1"),
    org_row("P1-KP2", "Chi bộ Khu phố 2", "residential_cell", "P1"),
    org_row("P5-KP1", "Chi bộ Khu phố 7", "residential_cell", "P5"),
    org_row("SYT-VP", "Chi bộ Văn phòng", "cell", "SYT"),
    org_row("SYT-KH", "Chi bộ Kế hoạch", "cell", "SYT"),
)


def sheets(members: int) -> dict[str, list[list]]:
    """``members`` members spread over the workplace cells, and a referral to a ward for every other one."""
    cards = [f"4600{n:04d}" for n in range(members)]
    referrals = []
    for n, card in enumerate(cards[::2]):
        ward = "P1" if n % 2 else "P5"
        cell = WARDS[ward][n % len(WARDS[ward])]
        referrals.append(referral_row(card, ward, letter=f"{n}-GT", received="20/03/2018", cell=cell))
    return {
        MEMBERS: member_sheet(*(member_row(card, CELLS[n % len(CELLS)]) for n, card in enumerate(cards))),
        REFERRALS: referral_sheet(*referrals),
    }


def queries_of(members: int, **options) -> tuple[Counter, int, object]:
    """The queries of importing ``members`` members (and half as many referrals) by kind, bar the bulk INSERTs (and
    the savepoints around their batches), whose number depends on the backend's limit of parameters a statement (999
    on SQLite: about 40 rows an INSERT), and the COPY statements that replace them on PostgreSQL (one a table); and
    the number of those INSERTs and COPYs."""
    with CaptureQueriesContext(connection) as captured:
        result = import_workbook(workbook(sheets(members)), by=None, **options)
    assert result.ok, result.problems[:3]
    kinds, inserts = Counter(), 0
    for query in captured.captured_queries:
        sql = query["sql"].lstrip()
        if sql.startswith(("INSERT", "COPY")):  # COPY: a table's new rows on PostgreSQL (``importing.copying``)
            inserts += 1
        elif not sql.startswith(("SAVEPOINT", "RELEASE SAVEPOINT")):
            # A query's shape: its savepoint's name and its numbers (the rows' keys it names) left out.
            shape = re.sub(r"\d+", "0", re.sub(r'"s\d+_x\d+"', "savepoint", " ".join(sql.split())))
            kinds[re.sub(r"(0,)+0", "0", shape)[:80]] += 1
    return kinds, inserts, result


@pytest.mark.django_db
@pytest.mark.parametrize("dry_run", [False, True], ids=["import", "preview"])
def test_the_queries_of_an_import_do_not_grow_with_its_rows(dry_run):
    assert import_workbook(workbook({ORGS: ORGANISATIONS}), by=None).applied  # the tree, imported once
    few, _, result = queries_of(10, dry_run=dry_run)
    assert result.counts["members"].create == 10
    assert result.counts["referrals"].create == 5
    # Removed between the two imports, so that the second one creates rows too (a preview wrote nothing anyway).
    Referral.objects.all().delete()
    Member.objects.all().delete()
    many, inserts, result = queries_of(300, dry_run=dry_run)
    assert result.counts["members"].create == 300
    assert result.counts["referrals"].create == 150
    assert many == few
    # 300 members, their homes, 150 referrals, their placements and, for an import, the history of the members and
    # referrals: written in batches of at least 30 rows, whatever the backend.
    written = 300 + 300 + 150 + 150 + (0 if dry_run else 450)
    assert inserts <= written // 30
