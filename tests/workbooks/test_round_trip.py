"""The acceptance round trip of issues 6 and 11: the demo data exported in the workbook format, imported into an
empty database, gives the same figures as before, as of 30/09/2018 and 31/12/2019, and the same headline and
per-ward table of every root on several past days, across a transfer, a retirement into a residential cell and a
re-placement; importing it again changes nothing.

The workbook carries the organisations (with their successors), members (with their working status, exemption and
the history of their homes) and referrals (with their re-placements), so every figure made of them must come back;
meetings, attendance and comments are not in it, so the figures made of those (and the two columns of the
grassroots table that count them) are left out of the comparison.
"""

import datetime
import io
import json

import pytest
from django.core.management import call_command
from django.db import connection

from branches.models import Organisation
from branches.selectors import grassroots_of
from members import places
from members.demo.builder import clear_domain_data
from members.models import Exemption, Member, MemberHome, Placement, Referral
from members.models.member import eligible_q
from members.services import member_retire
from reports import figures
from tests.factories import make_member, make_referral, move_home

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

D = datetime.date
Kind = Organisation.Kind
DAYS = ("2018-09-30", "2019-12-31")
# Before, on and after the moves added to the demo (a transfer, a retirement into a residential cell, a
# re-placement), and around the demo's own events (the 2025 reform).
ADMITTED, MOVED_ON, INTRODUCED_ON, RETIRED_ON = D(2005, 5, 19), D(2016, 3, 1), D(2017, 1, 10), D(2021, 7, 1)
REPLACED_ON = D(2026, 3, 2)
PAST_DAYS = (
    D(2015, 6, 30),
    D(2016, 2, 29),
    MOVED_ON,
    D(2018, 9, 30),
    D(2021, 6, 30),
    RETIRED_ON,
    D(2024, 12, 31),
    D(2025, 6, 30),
    D(2025, 7, 1),
    D(2026, 3, 1),
    REPLACED_ON,
    D(2026, 11, 1),
)
NOT_IN_THE_WORKBOOK = ("irregular_attendees", "meetings", "comments")
GRASSROOTS_COLUMNS_NOT_IN_THE_WORKBOOK = ("missed_half_years", "late_comments")


def figures_of_the_workbook(day: str) -> dict:
    out = io.StringIO()
    call_command("figures", org="DH", as_of=day, json=True, stdout=out)
    data = json.loads(out.getvalue())
    for key in NOT_IN_THE_WORKBOOK:
        data.pop(key)
    # Comments are not in the workbook: of their figures, only the comments due (made of members and referrals).
    for side in data.get("comments_by_side", {}).values():
        for key in [key for key in side if key != "due"]:
            side.pop(key)
    for row in data["by_grassroots_organisation"]:
        for key in GRASSROOTS_COLUMNS_NOT_IN_THE_WORKBOOK:
            row.pop(key)
    return data


def figures_of_every_root(day: datetime.date) -> dict:
    """The headline and the per-ward table of every root (by code: the rows are new after the import)."""
    return {
        root.code: (figures.headline(root, day), figures.by_ward_and_cell(root, day))
        for root in Organisation.objects.filter(kind=Kind.ROOT).order_by("code")
    }


def histories() -> tuple[set, set]:
    """Every period of every home and placement, by codes, card numbers and days."""
    homes = set(MemberHome.objects.values_list("member__card_number", "organisation__code", "started_on", "ended_on"))
    placements = set(
        Placement.objects.values_list(
            "referral__member__card_number",
            "referral__introduced_on",
            "residential_cell__code",
            "started_on",
            "ended_on",
        )
    )
    return homes, placements


def planner_statistics() -> None:
    """The statistics autovacuum gathers once an import of this size commits, which inside the test's transaction it
    never sees: without them PostgreSQL takes the new root's path for a rare one and reads every organisation under
    it once per referral (2 s a query, 70 s of the test, instead of tens of milliseconds)."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE" if connection.vendor == "postgresql" else "ANALYZE main")


def moves_added_to_the_demo() -> tuple[Member, Referral]:
    """A member transferred between two workplace cells on 01/03/2016, referred to a ward in 2017 and placed, then
    retired into that residential cell on 01/07/2021 (working as of 2018: eligible and introduced then); and an open
    referral of the demo re-placed in another cell of its ward on 02/03/2026. The organisations are those existing
    on the days they are used (the demo's 2025 reform ended some)."""
    first, second = (
        Organisation.objects.filter(kind=Kind.CELL).valid_on(ADMITTED).valid_on(RETIRED_ON).order_by("code")[:2]
    )
    cell = (
        Organisation.objects.filter(kind=Kind.RESIDENTIAL_CELL)
        .valid_on(INTRODUCED_ON)
        .valid_on(RETIRED_ON)
        .order_by("code")
        .first()
    )
    member = move_home(make_member(first, card_number="99000001", admitted_on=ADMITTED), second, MOVED_ON)
    make_referral(
        member,
        receiving_ward=cell.parent,
        issuing_organisation=grassroots_of(second),
        introduced_on=INTRODUCED_ON,
        received_on=D(2017, 2, 1),
        residential_cell=cell,
        placed_on=D(2017, 2, 1),
    )
    member = member_retire(member=member, retired_on=RETIRED_ON, transfer_to=cell, by=None)
    open_placed = (
        Referral.objects.filter(ended_on=None, placements__ended_on=None, placements__started_on__lt=REPLACED_ON)
        .select_related("residential_cell")
        .order_by("member__card_number")
    )
    for replaced in open_placed[:100]:
        other_cell = (
            Organisation.objects.filter(kind=Kind.RESIDENTIAL_CELL, parent=replaced.residential_cell.parent_id)
            .valid_on(REPLACED_ON)
            .exclude(pk=replaced.residential_cell_id)
            .order_by("code")
            .first()
        )
        if other_cell is not None:
            places.move_placement(referral=replaced, residential_cell=other_cell, on=REPLACED_ON, by=None)
            return member, replaced
    raise AssertionError("no open referral of the demo to re-place")


def test_export_then_import_into_an_empty_database_gives_the_same_figures(demo, tmp_path):
    member, replaced = moves_added_to_the_demo()
    assert [home.organisation.kind for home in member.homes.order_by("started_on")] == [
        Kind.CELL,
        Kind.CELL,
        Kind.RESIDENTIAL_CELL,
    ]
    assert replaced.placements.order_by("started_on").last().started_on == REPLACED_ON
    before = {day: figures_of_the_workbook(day) for day in DAYS}
    before_on = {day: figures_of_every_root(day) for day in PAST_DAYS}
    histories_before = histories()
    rows_before = (Organisation.objects.count(), Member.objects.count(), Referral.objects.count())
    exemptions_before = Exemption.objects.count()
    workbook = tmp_path / "dong-ha.xlsx"
    call_command("export_workbook", output=str(workbook), stdout=io.StringIO())

    clear_domain_data()
    assert Member.objects.count() == 0
    out = io.StringIO()
    call_command("import_workbook", str(workbook), stdout=out, stderr=io.StringIO())
    planner_statistics()

    assert (Organisation.objects.count(), Member.objects.count(), Referral.objects.count()) == rows_before
    assert Exemption.objects.count() == exemptions_before
    for day in DAYS:
        after = figures_of_the_workbook(day)
        assert after == before[day], day
    assert histories() == histories_before
    for day in PAST_DAYS:
        assert figures_of_every_root(day) == before_on[day], day
    # The member added is eligible and introduced in 2018 (working at a workplace cell), no longer once retired.
    added = Member.objects.filter(card_number="99000001")
    assert added.filter(eligible_q(D(2018, 9, 30))).exists()
    assert not added.filter(eligible_q(RETIRED_ON)).exists()
    assert added.get().home_organisation.kind == Kind.RESIDENTIAL_CELL

    # The same workbook again: every row unchanged, nothing written.
    history = Member.history.count() + Referral.history.count() + Organisation.history.count()
    out = io.StringIO()
    call_command("import_workbook", str(workbook), stdout=out, stderr=io.StringIO())
    for line in out.getvalue().splitlines()[:5]:
        assert "0 to create, 0 to update" in line, line
    assert histories() == histories_before
    assert Member.history.count() + Referral.history.count() + Organisation.history.count() == history
