"""The dated histories in the workbook (issue 11): the sheets "Quá trình sinh hoạt" (a member's home from a day on) and
"Chuyển chi bộ nơi cư trú" (a referral's re-placements), through the import service and through the web upload.

Every rule is a case: the same workbook is refused by ``import_workbook`` (nothing written) and by the web preview
(the record refused with the same problem, shown on its page). The histories written are read back from
``MemberHome`` and ``Placement``, the chains the figures of past days read.
"""

import dataclasses
import datetime
import html
import io
from collections.abc import Callable

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from openpyxl import load_workbook

from branches.access import access_for
from branches.models import Organisation
from dongha76.services import day_text
from members import places
from members.models import Member, MemberHome, Placement, Referral
from tests.factories import Kind, make_member, make_officer, make_organisation, make_referral, make_tree, move_home
from tests.workbooks.books import layout_workbook, snapshot
from workbooks.exporting import write_workbook
from workbooks.importing import homes, import_workbook, periods, placements
from workbooks.importing import referrals as referral_phase
from workbooks.importing.scope import (
    CELL_NOT_THE_WARDS,
    HISTORY_NOT_YOURS,
    HOME_NOT_YOURS,
    MEMBER_NOT_EDITABLE,
    RECEPTION_NOT_YOURS,
)
from workbooks.layout import HOMES, MEMBERS, ORGANISATIONS, PLACEMENTS, REFERRALS
from workbooks.models import WorkbookImport

pytestmark = pytest.mark.django_db

D = datetime.date
ADMITTED = D(2005, 5, 19)  # the factories' admission day
H, P, M, R, T = HOMES.title, PLACEMENTS.title, MEMBERS.title, REFERRALS.title, ORGANISATIONS.title
SUCCESSOR_NOT_ENDED = _("Only an organisation that has ended has a successor: give the day it ended first.")
NOT_EXISTING_CELL = _("This residential cell did not exist on %(date)s.")
DUPLICATE = _("The same value already appears on row %(row)s of this sheet.")


@dataclasses.dataclass
class World:
    tree: object
    moved: Member  # in the grassroots cell since admission, in the committee's cell from 01/01/2015
    placed: Referral  # of a member of the committee's cell: ward 1, cell 1 from 20/03/2018, cell 2 from 01/01/2020
    ended: Referral  # ward 1, cell 1 from 10/01/2015, ended 01/01/2019
    received: Referral  # ward 2, received, not placed
    late_cell: Organisation  # a residential cell of ward 1 founded on 01/01/2021


@pytest.fixture
def world() -> World:
    tree = make_tree()
    moved = move_home(make_member(tree.grassroots_cell, card_number="70000001"), tree.cell, D(2015, 1, 1))
    placed = make_referral(
        make_member(tree.cell, card_number="70000002"),
        receiving_ward=tree.ward1,
        introduced_on=D(2018, 3, 10),
        received_on=D(2018, 3, 20),
        residential_cell=tree.ward1_cell1,
        placed_on=D(2018, 3, 20),
    )
    places.move_placement(referral=placed, residential_cell=tree.ward1_cell2, on=D(2020, 1, 1), by=None)
    ended = make_referral(
        make_member(tree.cell, card_number="70000003"),
        receiving_ward=tree.ward1,
        introduced_on=D(2015, 1, 1),
        received_on=D(2015, 1, 10),
        residential_cell=tree.ward1_cell1,
        placed_on=D(2015, 1, 10),
        ended_on=D(2019, 1, 1),
        end_reason=Referral.EndReason.MOVED_RESIDENCE,
    )
    received = make_referral(
        make_member(tree.cell, card_number="70000004"),
        receiving_ward=tree.ward2,
        introduced_on=D(2019, 5, 1),
        received_on=D(2019, 5, 2),
    )
    late_cell = make_organisation(
        kind=Kind.RESIDENTIAL_CELL, parent=tree.ward1, code="P1-MOI", valid_from=D(2021, 1, 1)
    )
    return World(tree, moved, placed, ended, received, late_cell)


def chain_of(member: Member) -> list[tuple]:
    return list(
        MemberHome.objects.filter(member=member)
        .order_by("started_on")
        .values_list("organisation", "started_on", "ended_on")
    )


def placements_of(referral: Referral) -> list[tuple]:
    return list(
        Placement.objects.filter(referral=referral)
        .order_by("started_on")
        .values_list("residential_cell", "started_on", "ended_on")
    )


def home(card, code, day) -> dict:
    return {"card_number": card, "organisation": code, "started_on": day}


def replaced(card, introduced_on, code, day) -> dict:
    return {"card_number": card, "introduced_on": introduced_on, "residential_cell": code, "started_on": day}


def member_row(card, code, *, admitted=ADMITTED, working="x", retired=None, name=None) -> dict:
    return {
        "card_number": card,
        "full_name": name or f"Nguyễn Văn Thử {card}",
        "date_of_birth": D(1980, 1, 1),
        "gender": "male",
        "admitted_on": admitted,
        "home_organisation": code,
        "working": working,
        "retired_on": retired,
    }


def stored_member_row(member: Member, *, home=None, admitted=None, working="x", retired=None) -> dict:
    """The member's row as the export writes it, with the changes given."""
    row = member_row(
        member.card_number,
        home or member.home_organisation.code,
        admitted=admitted or member.admitted_on,
        working=working,
        retired=retired,
    )
    row["full_name"] = member.full_name
    return row


def referral_row(referral: Referral, **changes) -> dict:
    row = {
        "card_number": referral.member.card_number,
        "letter_number": referral.letter_number,
        "introduced_on": referral.introduced_on,
        "issuing_organisation": referral.issuing_organisation.code,
        "receiving_ward": referral.receiving_ward.code,
        "received_on": referral.received_on,
        "residential_cell": referral.placements.order_by("started_on").first().residential_cell.code
        if referral.placed_on
        else None,
        "ended_on": referral.ended_on,
        "end_reason": referral.end_reason or None,
        "placed_on": referral.placed_on,
        "reported_on": referral.reported_on,
    }
    row.update(changes)
    return row


def text(message, **params) -> str:
    return str(message % params) if params else str(message)


# -- the cases: a workbook, who imports it, and the problems it gets --------------------------------------------------


@dataclasses.dataclass
class Case:
    rows: dict[str, list[dict]]
    problems: list[tuple]  # (sheet, row, column, message)
    user: object = None  # None: city staff


def by(world: World, who: str):
    return {
        "committee": lambda: make_officer(world.tree.committee),
        "ward1": lambda: make_officer(world.tree.ward1),
    }[who]()


CASES: dict[str, Callable[[World], Case]] = {}


def case(function):
    CASES[function.__name__] = function
    return function


@case
def home_before_the_admission(w):
    card = w.moved.card_number
    return Case(
        {
            "homes": [
                home(card, w.tree.grassroots_cell.code, D(2004, 1, 1)),
                home(card, w.tree.cell.code, D(2015, 1, 1)),
            ]
        },
        [(H, 2, "Từ ngày", text(homes.BEFORE_ADMISSION, date="19/05/2005"))],
    )


@case
def latest_home_not_the_members_cell(w):
    card = w.moved.card_number
    return Case(
        {
            "homes": [
                home(card, w.tree.grassroots_cell.code, ADMITTED),
                home(card, w.tree.ward1_cell1.code, D(2016, 1, 1)),
            ]
        },
        [(H, 3, "Mã chi bộ", text(homes.NOT_TODAYS_HOME, code=w.tree.cell.code))],
    )


@case
def latest_home_not_the_cell_of_the_member_sheet(w):
    """The sheet "Đảng viên" moves the member to ward 1's cell 1; the history ends in the committee's cell."""
    card = w.moved.card_number
    return Case(
        {
            "members": [stored_member_row(w.moved, home=w.tree.ward1_cell1.code)],
            "homes": [home(card, w.tree.grassroots_cell.code, ADMITTED), home(card, w.tree.cell.code, D(2015, 1, 1))],
        },
        [(H, 3, "Mã chi bộ", text(homes.NOT_TODAYS_HOME, code=w.tree.ward1_cell1.code))],
    )


@case
def two_homes_on_one_day(w):
    card = w.moved.card_number
    return Case(
        {
            "homes": [
                home(card, w.tree.grassroots_cell.code, ADMITTED),
                home(card, w.tree.ward1_cell1.code, D(2015, 1, 1)),
                home(card, w.tree.cell.code, D(2015, 1, 1)),
            ]
        },
        [(H, 4, "Từ ngày", text(DUPLICATE, row=3))],
    )


@case
def home_in_an_unknown_organisation(w):
    card = w.moved.card_number
    return Case(
        {"homes": [home(card, "NOPE", ADMITTED), home(card, w.tree.cell.code, D(2015, 1, 1))]},
        [(H, 2, "Mã chi bộ", text(periods.UNKNOWN_CODE, code="NOPE"))],
    )


@case
def home_of_an_unknown_member(w):
    return Case(
        {"homes": [home("99999999", w.tree.cell.code, ADMITTED)]},
        [(H, 2, "Số thẻ", text(homes.UNKNOWN_CARD, card="99999999"))],
    )


@case
def home_from_a_day_to_come(w):
    card, tomorrow = w.moved.card_number, timezone.localdate() + datetime.timedelta(days=1)
    return Case(
        {"homes": [home(card, w.tree.grassroots_cell.code, ADMITTED), home(card, w.tree.cell.code, tomorrow)]},
        [(H, 3, "Từ ngày", text(homes.FUTURE, today=day_text(timezone.localdate())))],
    )


@case
def home_in_a_committee(w):
    card = w.moved.card_number
    return Case(
        {
            "homes": [
                home(card, w.tree.grassroots_cell.code, ADMITTED),
                home(card, w.tree.committee.code, D(2010, 1, 1)),
                home(card, w.tree.cell.code, D(2015, 1, 1)),
            ]
        },
        [(H, 3, "Mã chi bộ", text(homes.NOT_A_HOME, kind=w.tree.committee.get_kind_display()))],
    )


@case
def home_in_a_cell_not_founded_yet(w):
    card = w.moved.card_number
    return Case(
        {
            "homes": [
                home(card, w.tree.grassroots_cell.code, ADMITTED),
                home(card, w.late_cell.code, D(2010, 1, 1)),
                home(card, w.tree.cell.code, D(2015, 1, 1)),
            ]
        },
        [(H, 3, "Mã chi bộ", text(homes.NOT_EXISTING, date="01/01/2010"))],
    )


@case
def retired_into_a_cell_before_the_current_home(w):
    """Retired (in the same row) into a residential cell on a day before the member came to the current cell."""
    row = stored_member_row(w.moved, home=w.tree.ward1_cell1.code, working=None, retired=D(2014, 6, 1))
    return Case(
        {"members": [row]},
        [(M, 2, "Mã chi bộ", text(homes.MOVED_BEFORE_CURRENT, home=str(w.tree.cell), date="01/01/2015"))],
    )


@case
def admission_after_the_first_move(w):
    return Case(
        {"members": [stored_member_row(w.moved, admitted=D(2016, 1, 1))]},
        [(M, 2, "Ngày vào Đảng", text(homes.MOVED_BEFORE_ADMISSION, date="01/01/2015"))],
    )


@case
def home_in_another_committees_cell(w):
    """The committee's own member, given a past in the grassroots cell, which is not the committee's."""
    member = make_member(w.tree.cell, card_number="70000009")
    card = member.card_number
    return Case(
        {"homes": [home(card, w.tree.grassroots_cell.code, ADMITTED), home(card, w.tree.cell.code, D(2015, 1, 1))]},
        [(H, 2, "Mã chi bộ", text(HOME_NOT_YOURS))],
        user="committee",
    )


@case
def history_removed_in_another_committees_cell(w):
    card = w.moved.card_number
    return Case(
        {"homes": [home(card, w.tree.cell.code, ADMITTED)]},
        [(H, 2, "Từ ngày", text(HISTORY_NOT_YOURS, organisation=str(w.tree.grassroots_cell), date="19/05/2005"))],
        user="committee",
    )


@case
def history_of_a_member_one_sees_but_may_not_edit(w):
    """The ward sees the members referred to it, but their record is their workplace's."""
    card = w.placed.member.card_number
    return Case(
        {"homes": [home(card, w.tree.ward1_cell1.code, ADMITTED), home(card, w.tree.cell.code, D(2015, 1, 1))]},
        [(H, 2, "Mã chi bộ", text(MEMBER_NOT_EDITABLE))],
        user="ward1",
    )


@case
def history_of_a_member_out_of_sight(w):
    card = w.moved.card_number
    return Case(
        {"homes": [home(card, w.tree.ward1_cell1.code, ADMITTED), home(card, w.tree.cell.code, D(2015, 1, 1))]},
        [(H, 2, "Số thẻ", text(homes.UNKNOWN_CARD, card=card)), (H, 3, "Số thẻ", text(homes.UNKNOWN_CARD, card=card))],
        user="ward1",
    )


@case
def re_placement_on_the_day_of_the_first_placement(w):
    member = w.placed.member.card_number
    return Case(
        {"placements": [replaced(member, D(2018, 3, 10), w.tree.ward1_cell2.code, D(2018, 3, 20))]},
        [(P, 2, "Từ ngày", text(placements.NOT_AFTER_PLACEMENT, cell=str(w.tree.ward1_cell1), date="20/03/2018"))],
    )


@case
def re_placement_after_the_end(w):
    member = w.ended.member.card_number
    return Case(
        {"placements": [replaced(member, D(2015, 1, 1), w.tree.ward1_cell2.code, D(2019, 1, 1))]},
        [(P, 2, "Từ ngày", text(placements.AFTER_END, date="01/01/2019"))],
    )


@case
def two_re_placements_on_one_day(w):
    member = w.placed.member.card_number
    return Case(
        {
            "placements": [
                replaced(member, D(2018, 3, 10), w.tree.ward1_cell2.code, D(2020, 1, 1)),
                replaced(member, D(2018, 3, 10), w.tree.ward1_cell1.code, D(2020, 1, 1)),
            ]
        },
        [(P, 3, "Từ ngày", text(DUPLICATE, row=2))],
    )


@case
def re_placement_in_a_workplace_cell(w):
    member = w.placed.member.card_number
    return Case(
        {"placements": [replaced(member, D(2018, 3, 10), w.tree.cell.code, D(2020, 1, 1))]},
        [(P, 2, "Mã chi bộ nơi cư trú", text(_("Choose a residential cell.")))],
    )


@case
def re_placement_in_a_cell_not_founded_yet(w):
    member = w.placed.member.card_number
    return Case(
        {"placements": [replaced(member, D(2018, 3, 10), w.late_cell.code, D(2020, 1, 1))]},
        [(P, 2, "Mã chi bộ nơi cư trú", text(NOT_EXISTING_CELL, date="01/01/2020"))],
    )


@case
def re_placement_of_an_unknown_referral(w):
    member = w.placed.member.card_number
    return Case(
        {"placements": [replaced(member, D(2018, 3, 11), w.tree.ward1_cell2.code, D(2020, 1, 1))]},
        [(P, 2, "Ngày giới thiệu", text(placements.NO_REFERRAL, date="11/03/2018"))],
    )


@case
def re_placement_of_a_referral_not_placed(w):
    member = w.received.member.card_number
    return Case(
        {"placements": [replaced(member, D(2019, 5, 1), w.tree.ward2_cell1.code, D(2020, 1, 1))]},
        [(P, 2, "Ngày giới thiệu", text(placements.NOT_PLACED))],
    )


@case
def re_placement_in_an_unknown_cell(w):
    member = w.placed.member.card_number
    return Case(
        {"placements": [replaced(member, D(2018, 3, 10), "NOPE", D(2020, 1, 1))]},
        [(P, 2, "Mã chi bộ nơi cư trú", text(periods.UNKNOWN_CODE, code="NOPE"))],
    )


@case
def re_placement_from_a_day_to_come(w):
    member, tomorrow = w.placed.member.card_number, timezone.localdate() + datetime.timedelta(days=1)
    return Case(
        {"placements": [replaced(member, D(2018, 3, 10), w.tree.ward1_cell2.code, tomorrow)]},
        [(P, 2, "Từ ngày", text(placements.FUTURE, today=day_text(timezone.localdate())))],
    )


@case
def first_placement_moved_after_a_re_placement(w):
    return Case(
        {"referrals": [referral_row(w.placed, placed_on=D(2020, 2, 1))]},
        [
            (
                R,
                2,
                "Ngày phân công",
                text(placements.REPLACED_BEFORE_PLACEMENT, cell=str(w.tree.ward1_cell2), date="01/01/2020"),
            )
        ],
    )


@case
def referral_ended_before_a_re_placement(w):
    return Case(
        {"referrals": [referral_row(w.placed, ended_on=D(2019, 6, 1), end_reason="moved_residence")]},
        [
            (
                R,
                2,
                "Ngày kết thúc",
                text(placements.ENDS_BEFORE_REPLACEMENT, cell=str(w.tree.ward1_cell2), date="01/01/2020"),
            )
        ],
    )


@case
def first_placement_removed_under_a_re_placement(w):
    return Case(
        {"referrals": [referral_row(w.placed, residential_cell=None, placed_on=None)]},
        [
            (
                R,
                2,
                "Mã chi bộ nơi cư trú",
                text(placements.REPLACED_BUT_NOT_PLACED, cell=str(w.tree.ward1_cell2), date="01/01/2020"),
            )
        ],
    )


@case
def re_placement_by_the_workplace(w):
    member = w.placed.member.card_number
    return Case(
        {"placements": [replaced(member, D(2018, 3, 10), w.tree.ward1_cell2.code, D(2021, 1, 1))]},
        [(P, 2, "Mã chi bộ nơi cư trú", text(RECEPTION_NOT_YOURS))],
        user="committee",
    )


@case
def re_placement_in_another_wards_cell(w):
    member = w.placed.member.card_number
    return Case(
        {"placements": [replaced(member, D(2018, 3, 10), w.tree.ward2_cell1.code, D(2021, 1, 1))]},
        [(P, 2, "Mã chi bộ nơi cư trú", text(CELL_NOT_THE_WARDS))],
        user="ward1",
    )


@case
def re_placement_of_an_ended_referral(w):
    member = w.ended.member.card_number
    return Case(
        {"placements": [replaced(member, D(2015, 1, 1), w.tree.ward1_cell2.code, D(2016, 1, 1))]},
        [(P, 2, "Từ ngày", text(referral_phase.ENDED, date="01/01/2019"))],
        user="ward1",
    )


def org_row(organisation: Organisation, **changes) -> dict:
    row = {
        "code": organisation.code,
        "name": organisation.name,
        "kind": organisation.kind,
        "parent": organisation.parent.code if organisation.parent_id else None,
    }
    row.update(changes)
    return row


@case
def successor_of_an_organisation_not_dissolved(w):
    return Case(
        {"organisations": [org_row(w.tree.ward1_cell2, successor=w.tree.ward1_cell1.code)]},
        [(T, 2, "Mã kế tục", text(SUCCESSOR_NOT_ENDED))],
    )


@case
def successor_unknown(w):
    return Case(
        {"organisations": [org_row(w.tree.ward1_cell2, valid_to=D(2024, 1, 1), successor="NOPE")]},
        [(T, 2, "Mã kế tục", text(periods.UNKNOWN_CODE, code="NOPE"))],
    )


def prepared(name: str, world: World) -> tuple[Case, object]:
    built = CASES[name](world)
    user = by(world, built.user) if built.user else make_officer(world.tree.root, role="staff")
    return built, user


@pytest.mark.parametrize("name", CASES)
def test_refused_through_the_import_service(world, name):
    built, user = prepared(name, world)
    before = snapshot()

    # The cases mean to change what is recorded: the tick is given, as the web upload below gives it.
    result = import_workbook(layout_workbook(built.rows), by=user, access=access_for(user), update_existing=True)

    assert [(p.sheet, p.row, p.column, str(p.message)) for p in result.problems] == built.problems
    assert not result.applied
    assert snapshot() == before


@pytest.mark.parametrize("name", CASES)
def test_refused_through_the_web_upload(world, name):
    built, user = prepared(name, world)
    client = Client()
    client.force_login(user)
    before = snapshot()

    response = client.post(
        reverse("workbooks:import"),
        {"file": SimpleUploadedFile("qua-trinh.xlsx", layout_workbook(built.rows).getvalue()), "update_existing": "on"},
        follow=True,
    )

    assert response.status_code == 200
    record = WorkbookImport.objects.get()
    assert record.status == WorkbookImport.Status.REFUSED
    assert [(p["sheet"], p["row"], p["column"], p["message"]) for p in record.problems] == built.problems
    page = html.unescape(response.content.decode())
    for _sheet, _row, _column, message in built.problems:
        assert message in page
    assert snapshot() == before


# -- what the sheets write ----------------------------------------------------------------------------------------


def run(rows, user=None):
    access = access_for(user) if user is not None else None
    result = import_workbook(layout_workbook(rows), by=user, access=access, update_existing=True)
    assert result.ok, [(p.sheet, p.row, p.column, str(p.message)) for p in result.problems]
    return result


def test_a_new_member_with_rows_gets_that_history_the_first_from_the_admission(world):
    tree = world.tree
    run(
        {
            "members": [member_row("71000001", tree.ward1_cell1.code, working=None, retired=D(2020, 7, 1))],
            "homes": [
                home("71000001", tree.grassroots_cell.code, D(2006, 1, 1)),  # stored from the admission
                home("71000001", tree.cell.code, D(2012, 3, 1)),
                home("71000001", tree.ward1_cell1.code, D(2020, 7, 1)),
            ],
        }
    )
    member = Member.objects.get(card_number="71000001")
    assert member.home_organisation == tree.ward1_cell1
    assert chain_of(member) == [
        (tree.grassroots_cell.pk, ADMITTED, D(2012, 3, 1)),
        (tree.cell.pk, D(2012, 3, 1), D(2020, 7, 1)),
        (tree.ward1_cell1.pk, D(2020, 7, 1), None),
    ]


def test_a_stored_member_with_rows_gets_exactly_that_history(world):
    tree, card = world.tree, world.moved.card_number
    result = run(
        {
            "homes": [
                home(card, tree.grassroots_cell.code, ADMITTED),  # unchanged
                home(card, tree.outside.code, D(2010, 1, 1)),
                home(card, tree.cell.code, D(2016, 1, 1)),  # the transfer of 2015 was a year later
            ]
        }
    )
    assert chain_of(world.moved) == [
        (tree.grassroots_cell.pk, ADMITTED, D(2010, 1, 1)),
        (tree.outside.pk, D(2010, 1, 1), D(2016, 1, 1)),
        (tree.cell.pk, D(2016, 1, 1), None),
    ]
    counts = result.counts["homes"]
    assert (counts.rows, counts.create, counts.update, counts.unchanged) == (3, 2, 0, 1)

    # The same rows again: unchanged, nothing written.
    before = snapshot()
    result = run(
        {
            "homes": [
                home(card, tree.grassroots_cell.code, D(2007, 1, 1)),  # the first: from the admission whatever its day
                home(card, tree.outside.code, D(2010, 1, 1)),
                home(card, tree.cell.code, D(2016, 1, 1)),
            ]
        }
    )
    counts = result.counts["homes"]
    assert (counts.create, counts.update, counts.unchanged) == (0, 0, 3)
    assert snapshot() == before


def test_a_new_member_without_rows_has_one_home_since_admission(world):
    run({"members": [member_row("71000002", world.tree.cell.code)]})
    member = Member.objects.get(card_number="71000002")
    assert chain_of(member) == [(world.tree.cell.pk, ADMITTED, None)]


def test_a_stored_member_whose_cell_changes_without_rows_is_transferred_today(world):
    tree, today = world.tree, timezone.localdate()
    run({"members": [stored_member_row(world.moved, home=tree.grassroots_cell.code)]})
    world.moved.refresh_from_db()
    assert world.moved.home_organisation == tree.grassroots_cell
    assert chain_of(world.moved) == [
        (tree.grassroots_cell.pk, ADMITTED, D(2015, 1, 1)),
        (tree.cell.pk, D(2015, 1, 1), today),
        (tree.grassroots_cell.pk, today, None),
    ]


def test_a_member_retired_into_a_residential_cell_in_the_same_row_moves_on_the_day_of_retirement(world):
    tree = world.tree
    row = stored_member_row(world.moved, home=tree.ward1_cell2.code, working=None, retired=D(2021, 7, 1))
    run({"members": [row]})
    assert chain_of(world.moved) == [
        (tree.grassroots_cell.pk, ADMITTED, D(2015, 1, 1)),
        (tree.cell.pk, D(2015, 1, 1), D(2021, 7, 1)),
        (tree.ward1_cell2.pk, D(2021, 7, 1), None),
    ]


def test_the_first_home_follows_a_corrected_admission(world):
    run({"members": [stored_member_row(world.moved, admitted=D(2006, 2, 1))]})
    assert chain_of(world.moved)[0] == (world.tree.grassroots_cell.pk, D(2006, 2, 1), D(2015, 1, 1))


def test_a_committee_writes_the_history_of_its_member_within_its_cells(world):
    tree = world.tree
    second = make_organisation(kind=Kind.CELL, parent=tree.committee, code="SYT-2")
    member = make_member(tree.cell, card_number="71000003")
    officer = make_officer(tree.committee)
    run(
        {
            "homes": [
                home(member.card_number, second.code, ADMITTED),
                home(member.card_number, tree.cell.code, D(2019, 1, 1)),
            ]
        },
        officer,
    )
    assert chain_of(member) == [(second.pk, ADMITTED, D(2019, 1, 1)), (tree.cell.pk, D(2019, 1, 1), None)]


def test_unchanged_rows_of_a_history_need_no_right(world):
    """The committee's export holds the past of its member in another committee's cell: imported back, unchanged."""
    card = world.moved.card_number
    officer = make_officer(world.tree.committee)
    before = snapshot()
    result = run(
        {
            "homes": [
                home(card, world.tree.grassroots_cell.code, ADMITTED),
                home(card, world.tree.cell.code, D(2015, 1, 1)),
            ]
        },
        officer,
    )
    assert result.counts["homes"].unchanged == 2
    assert snapshot() == before


def test_re_placements_of_a_referral_of_the_sheet_follow_its_first_placement(world):
    """A new referral: its first placement is its row's cell from the reception (Ngày phân công blank); the sheet's
    rows re-place it, and its cell of today is the latest."""
    tree = world.tree
    member = make_member(tree.cell, card_number="71000004")
    run(
        {
            "referrals": [
                {
                    "card_number": member.card_number,
                    "introduced_on": D(2019, 2, 1),
                    "receiving_ward": tree.ward1.code,
                    "received_on": D(2019, 2, 10),
                    "residential_cell": tree.ward1_cell1.code,
                }
            ],
            "placements": [
                replaced(member.card_number, D(2019, 2, 1), tree.ward1_cell2.code, D(2021, 5, 1)),
                replaced(member.card_number, D(2019, 2, 1), tree.ward1_cell1.code, D(2023, 5, 1)),
            ],
        }
    )
    referral = Referral.objects.get(member=member)
    assert (referral.residential_cell, referral.placed_on) == (tree.ward1_cell1, D(2019, 2, 10))
    assert placements_of(referral) == [
        (tree.ward1_cell1.pk, D(2019, 2, 10), D(2021, 5, 1)),
        (tree.ward1_cell2.pk, D(2021, 5, 1), D(2023, 5, 1)),
        (tree.ward1_cell1.pk, D(2023, 5, 1), None),
    ]


def test_a_stored_referral_given_rows_gets_exactly_those_and_its_ward_may_write_them(world):
    tree, card = world.tree, world.placed.member.card_number
    officer = make_officer(tree.ward1)
    result = run({"placements": [replaced(card, D(2018, 3, 10), tree.ward1_cell2.code, D(2019, 6, 1))]}, officer)
    world.placed.refresh_from_db()
    assert world.placed.residential_cell == tree.ward1_cell2
    assert placements_of(world.placed) == [
        (tree.ward1_cell1.pk, D(2018, 3, 20), D(2019, 6, 1)),
        (tree.ward1_cell2.pk, D(2019, 6, 1), None),
    ]
    counts = result.counts["placements"]
    assert (counts.create, counts.update, counts.unchanged) == (1, 0, 0)
    assert world.placed.history.first().residential_cell == tree.ward1_cell2


def re_place_many(tree, count: int, prefix: str) -> tuple[int, list[Referral]]:
    """``count`` referrals placed in ward 1's cell 1, re-placed by the workbook in its cell 2 on 01/06/2019: the
    UPDATE statements of the referrals the import ran, and the referrals."""
    placed = [
        make_referral(
            make_member(tree.cell, card_number=f"{prefix}{n:04d}"),
            receiving_ward=tree.ward1,
            introduced_on=D(2018, 3, 10),
            received_on=D(2018, 3, 20),
            residential_cell=tree.ward1_cell1,
            placed_on=D(2018, 3, 20),
        )
        for n in range(count)
    ]
    rows = {
        "placements": [
            replaced(referral.member.card_number, D(2018, 3, 10), tree.ward1_cell2.code, D(2019, 6, 1))
            for referral in placed
        ]
    }
    with CaptureQueriesContext(connection) as captured:
        run(rows)
    updates = [query for query in captured.captured_queries if query["sql"].startswith('UPDATE "members_referral"')]
    return len(updates), placed


def test_the_cells_of_many_re_placed_referrals_are_written_in_a_few_statements(world):
    """The referrals whose cell of today the sheet changes are updated by the cell they move to, not one CASE a
    referral (Django's ``bulk_update``: 249 referrals a statement on SQLite, and the building of each CASE was a
    fifth of the demo's import into an empty database)."""
    tree = world.tree
    few, _ = re_place_many(tree, 2, "7300")
    many, placed = re_place_many(tree, 300, "7301")
    assert many == few
    for referral in placed:
        referral.refresh_from_db()
        assert referral.residential_cell == tree.ward1_cell2
        assert placements_of(referral) == [
            (tree.ward1_cell1.pk, D(2018, 3, 20), D(2019, 6, 1)),
            (tree.ward1_cell2.pk, D(2019, 6, 1), None),
        ]
        assert referral.history.first().residential_cell == tree.ward1_cell2


def test_a_referral_without_rows_keeps_its_re_placements(world):
    """The row of "Giới thiệu" as the export writes it (its first placement) changes nothing; a later report
    updates the referral and leaves its placements."""
    tree = world.tree
    before = placements_of(world.placed)
    result = run({"referrals": [referral_row(world.placed)], "placements": []})
    assert result.counts["referrals"].unchanged == 1
    run({"referrals": [referral_row(world.placed, reported_on=D(2020, 2, 1))]})
    world.placed.refresh_from_db()
    assert (world.placed.reported_on, world.placed.residential_cell) == (D(2020, 2, 1), tree.ward1_cell2)
    assert placements_of(world.placed) == before


def test_city_staff_re_place_a_member_in_another_wards_cell(world):
    """Any residential cell for the city: the referral's cell leaves its receiving ward only once a period is
    closed, as the database wants."""
    tree, card = world.tree, world.placed.member.card_number
    run(
        {
            "placements": [
                replaced(card, D(2018, 3, 10), tree.ward1_cell2.code, D(2020, 1, 1)),
                replaced(card, D(2018, 3, 10), tree.ward2_cell1.code, D(2022, 1, 1)),
            ]
        },
        make_officer(tree.root, role="staff"),
    )
    world.placed.refresh_from_db()
    assert world.placed.residential_cell == tree.ward2_cell1
    assert placements_of(world.placed)[-1] == (tree.ward2_cell1.pk, D(2022, 1, 1), None)


def test_a_new_referral_placed_at_once_in_another_wards_cell(world):
    tree = world.tree
    member = make_member(tree.cell, card_number="71000005")
    run(
        {
            "referrals": [
                {
                    "card_number": member.card_number,
                    "introduced_on": D(2019, 2, 1),
                    "receiving_ward": tree.ward1.code,
                    "received_on": D(2019, 2, 10),
                    "residential_cell": tree.ward1_cell1.code,
                    "placed_on": D(2019, 2, 11),
                }
            ],
            "placements": [replaced(member.card_number, D(2019, 2, 1), tree.ward2_cell2.code, D(2022, 1, 1))],
        }
    )
    referral = Referral.objects.get(member=member)
    assert referral.residential_cell == tree.ward2_cell2
    assert placements_of(referral) == [
        (tree.ward1_cell1.pk, D(2019, 2, 11), D(2022, 1, 1)),
        (tree.ward2_cell2.pk, D(2022, 1, 1), None),
    ]


def test_a_preview_writes_no_history(world):
    tree, card = world.tree, world.placed.member.card_number
    before = snapshot()
    result = import_workbook(
        layout_workbook(
            {
                "members": [stored_member_row(world.moved, home=tree.grassroots_cell.code)],
                "placements": [replaced(card, D(2018, 3, 10), tree.ward1_cell2.code, D(2019, 6, 1))],
            }
        ),
        by=None,
        dry_run=True,
        update_existing=True,
    )
    assert result.ok and not result.applied
    assert (result.counts["members"].update, result.counts["placements"].create) == (1, 1)
    assert snapshot() == before


def test_the_web_upload_writes_the_histories_on_confirmation(world):
    tree = world.tree
    officer = make_officer(tree.ward1)
    client = Client()
    client.force_login(officer)
    card = world.placed.member.card_number
    content = layout_workbook({"placements": [replaced(card, D(2018, 3, 10), tree.ward1_cell2.code, D(2019, 6, 1))]})
    client.post(reverse("workbooks:import"), {"file": SimpleUploadedFile("a.xlsx", content.getvalue())})
    record = WorkbookImport.objects.get()
    assert record.status == WorkbookImport.Status.CHECKED, record.problems
    assert record.counts["placements"]["create"] == 1
    response = client.get(reverse("workbooks:import-detail", args=[record.pk]))
    assert PLACEMENTS.title in response.content.decode()
    assert placements_of(world.placed)[-1] == (tree.ward1_cell2.pk, D(2020, 1, 1), None)

    client.post(reverse("workbooks:import-confirm", args=[record.pk]))
    record.refresh_from_db()
    assert record.status == WorkbookImport.Status.IMPORTED
    assert placements_of(world.placed)[-1] == (tree.ward1_cell2.pk, D(2019, 6, 1), None)


def test_a_ward_re_places_a_member_in_a_cell_of_the_ward_that_took_it_over(world):
    """Ward 1 merged into a new ward on 01/07/2025: its officers re-place its referred members in the new ward's
    cells from that day (the referral's cell leaves its receiving ward once a period is closed)."""
    tree, card = world.tree, world.placed.member.card_number
    merged = make_organisation(kind=Kind.WARD, parent=tree.root, code="PDH", valid_from=D(2025, 7, 1))
    merged_cell = make_organisation(kind=Kind.RESIDENTIAL_CELL, parent=merged, code="PDH-1", valid_from=D(2025, 7, 1))
    Organisation.objects.filter(pk=tree.ward1.pk).update(valid_to=D(2025, 7, 1), successor=merged)
    officer = make_officer(tree.ward1)
    rows = {
        "placements": [
            replaced(card, D(2018, 3, 10), tree.ward1_cell2.code, D(2020, 1, 1)),
            replaced(card, D(2018, 3, 10), merged_cell.code, D(2025, 7, 1)),
        ]
    }
    run(rows, officer)
    world.placed.refresh_from_db()
    assert world.placed.residential_cell == merged_cell
    assert placements_of(world.placed) == [
        (tree.ward1_cell1.pk, D(2018, 3, 20), D(2020, 1, 1)),
        (tree.ward1_cell2.pk, D(2020, 1, 1), D(2025, 7, 1)),
        (merged_cell.pk, D(2025, 7, 1), None),
    ]
    # Imported again: unchanged.
    before = snapshot()
    result = run(rows, officer)
    assert (result.counts["placements"].unchanged, result.counts["placements"].create) == (2, 0)
    assert snapshot() == before


def test_the_successor_column_sets_the_organisation_that_took_over(world):
    """On a stored organisation (with its day of dissolution), and on a new one whose successor the same sheet
    creates after it; the export writes the column back."""
    tree = world.tree
    run(
        {
            "organisations": [
                org_row(tree.ward2_cell2, valid_to=D(2025, 7, 1), successor=tree.ward2_cell1.code),
                {
                    "code": "KP-CU",
                    "name": "Khu phố cũ",
                    "kind": "residential_cell",
                    "parent": tree.ward2.code,
                    "valid_to": D(2025, 7, 1),
                    "successor": "KP-MOI",
                },
                {
                    "code": "KP-MOI",
                    "name": "Khu phố mới",
                    "kind": "residential_cell",
                    "parent": tree.ward2.code,
                    "valid_from": D(2025, 7, 1),
                },
            ]
        }
    )
    tree.ward2_cell2.refresh_from_db()
    assert (tree.ward2_cell2.valid_to, tree.ward2_cell2.successor) == (D(2025, 7, 1), tree.ward2_cell1)
    assert Organisation.objects.get(code="KP-CU").successor == Organisation.objects.get(code="KP-MOI")

    book = io.BytesIO()
    write_workbook(book)
    book.seek(0)
    exported = {row[0]: row for row in load_workbook(book)[ORGANISATIONS.title].iter_rows(min_row=4, values_only=True)}
    column = [c.key for c in ORGANISATIONS.columns].index("successor")
    assert exported["KP-CU"][column] == "KP-MOI"
    assert exported[tree.ward2_cell2.code][column] == tree.ward2_cell1.code
    assert exported[tree.ward1_cell1.code][column] is None


def test_an_open_referral_is_issued_by_the_members_organisation_of_the_day_of_the_letter(world):
    """A member introduced by the committee in 2019, then moved to the grassroots cell (a restructure moves members
    and keeps their open referrals): the letter is the committee's, as of its day, and imports back unchanged."""
    tree = world.tree
    member = make_member(tree.cell, card_number="71000006")
    referral = make_referral(
        member, receiving_ward=tree.ward2, issuing_organisation=tree.committee, introduced_on=D(2019, 4, 1)
    )
    move_home(member, tree.grassroots_cell, D(2022, 1, 1))
    before = snapshot()
    result = run({"referrals": [referral_row(referral)]})
    assert result.counts["referrals"].unchanged == 1
    assert snapshot() == before

    # Issued by the organisation the member belongs to today, on a day the member was elsewhere: refused.
    problems = import_workbook(
        layout_workbook({"referrals": [referral_row(referral, issuing_organisation=tree.grassroots_cell.code)]}),
        by=None,
    ).problems
    assert [(p.sheet, p.row, p.column, str(p.message)) for p in problems] == [
        (
            R,
            2,
            "Mã nơi giới thiệu",
            text(_("This member does not belong to %(organisation)s."), organisation=str(tree.grassroots_cell)),
        )
    ]


def test_a_letter_without_its_issuer_is_the_grassroots_organisation_of_the_members_home_of_its_day(world):
    tree = world.tree
    run(
        {
            "members": [member_row("71000007", tree.grassroots_cell.code)],
            "homes": [
                home("71000007", tree.cell.code, ADMITTED),
                home("71000007", tree.grassroots_cell.code, D(2022, 1, 1)),
            ],
            "referrals": [
                {
                    "card_number": "71000007",
                    "introduced_on": D(2020, 1, 1),
                    "receiving_ward": tree.ward1.code,
                    "ended_on": D(2022, 1, 1),
                    "end_reason": "changed_workplace",
                }
            ],
        }
    )
    assert Referral.objects.get(member__card_number="71000007").issuing_organisation == tree.committee
