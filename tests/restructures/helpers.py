"""Test data for the restructures: the small tree of ``tests.factories`` with members, referrals and posts."""

import dataclasses
import datetime

from branches.models import Officer, Organisation
from members.models import Member, MemberHome, Placement, Referral
from reports import figures
from tests.factories import Tree, make_member, make_officer, make_referral, make_tree

D = datetime.date
DAY = D(2025, 7, 1)  # the effective date of the restructures under test
BEFORE = DAY - datetime.timedelta(days=1)


@dataclasses.dataclass
class World:
    tree: Tree
    retired: list[Member]  # home in ward1_cell1 / ward1_cell2 (retired members of the residential cells)
    placed: list[Referral]  # working members of `cell`, placed in ward1_cell1 / ward1_cell2 / ward2_cell1
    unplaced: Referral  # received by ward1, not placed
    secretary: object  # a user with a post at ward1_cell1


def build_world() -> World:
    tree = make_tree()
    retired = [
        make_member(tree.ward1_cell1, retired_on=D(2015, 1, 1)),
        make_member(tree.ward1_cell1, retired_on=D(2016, 1, 1)),
        make_member(tree.ward1_cell2, retired_on=D(2017, 1, 1)),
    ]
    placed = []
    for cell in (tree.ward1_cell1, tree.ward1_cell1, tree.ward1_cell2, tree.ward2_cell1):
        member = make_member(tree.cell)
        placed.append(
            make_referral(
                member,
                receiving_ward=cell.parent,
                introduced_on=D(2024, 3, 1),
                received_on=D(2024, 3, 10),
                residential_cell=cell,
                placed_on=D(2024, 3, 20),
            )
        )
    unplaced = make_referral(
        make_member(tree.cell), receiving_ward=tree.ward1, introduced_on=D(2024, 5, 1), received_on=D(2024, 5, 5)
    )
    secretary = make_officer(tree.ward1_cell1)
    return World(tree=tree, retired=retired, placed=placed, unplaced=unplaced, secretary=secretary)


def home_on(member: Member, day: datetime.date) -> Organisation:
    return MemberHome.objects.in_force_on(day).get(member=member).organisation


def cell_on(referral: Referral, day: datetime.date) -> Organisation:
    return Placement.objects.in_force_on(day).get(referral=referral).residential_cell


def snapshot(organisation: Organisation, day: datetime.date):
    """What the reports say of ``organisation`` on ``day``: the headline and the rows per ward and cell."""
    return figures.headline(organisation, day), figures.by_ward_and_cell(organisation, day)


def posts(organisation: Organisation) -> list[tuple[str, str, datetime.date, datetime.date | None]]:
    return list(
        Officer.objects.filter(organisation=organisation)
        .order_by("started_on")
        .values_list("user__username", "role", "started_on", "ended_on")
    )
