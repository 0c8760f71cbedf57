"""Small helpers that build test data: plain functions, no factory library.

``make_tree()`` builds the smallest tree that exercises every rule::

    root (city)
    ├── committee (a grassroots committee at a workplace)
    │   └── cell (a subordinate cell: the home of working members)
    ├── grassroots_cell (a small agency)
    ├── ward1
    │   ├── ward1_cell1 (residential)
    │   └── ward1_cell2 (residential)
    └── ward2
        ├── ward2_cell1 (residential)
        └── ward2_cell2 (residential)
    outside (a workplace outside the tree)
"""

import dataclasses
import datetime
import itertools
from typing import Any

from django.contrib.auth import get_user_model

from branches.models import Officer, Organisation
from members.models import Member, Referral

_serial = itertools.count(1)

Kind = Organisation.Kind


def next_serial() -> int:
    """A number no other call in this test run returns: for unique codes, card numbers and user names."""
    return next(_serial)


@dataclasses.dataclass
class Tree:
    root: Organisation
    committee: Organisation
    cell: Organisation
    grassroots_cell: Organisation
    ward1: Organisation
    ward1_cell1: Organisation
    ward1_cell2: Organisation
    ward2: Organisation
    ward2_cell1: Organisation
    ward2_cell2: Organisation
    outside: Organisation


def make_organisation(*, kind: str, parent: Organisation | None = None, **fields: Any) -> Organisation:
    n = next_serial()
    fields.setdefault("code", f"{kind[:3].upper()}{n}")
    fields.setdefault("name", f"{kind} {n}")
    return Organisation.objects.create(kind=kind, parent=parent, **fields)


def make_tree() -> Tree:
    root = make_organisation(kind=Kind.ROOT, name="Đảng bộ thành phố Đông Hà", sector=Organisation.Sector.PARTY_STATE)
    committee = make_organisation(kind=Kind.COMMITTEE, parent=root, name="Đảng bộ Sở Y tế")
    cell = make_organisation(kind=Kind.CELL, parent=committee, name="Chi bộ Văn phòng")
    grassroots_cell = make_organisation(kind=Kind.GRASSROOTS_CELL, parent=root, name="Chi bộ Trường THPT")
    ward1 = make_organisation(kind=Kind.WARD, parent=root, name="Đảng bộ Phường 1", sector=Organisation.Sector.WARD)
    ward2 = make_organisation(kind=Kind.WARD, parent=root, name="Đảng bộ Phường 5", sector=Organisation.Sector.WARD)
    return Tree(
        root=root,
        committee=committee,
        cell=cell,
        grassroots_cell=grassroots_cell,
        ward1=ward1,
        ward1_cell1=make_organisation(kind=Kind.RESIDENTIAL_CELL, parent=ward1, name="Chi bộ Khu phố 1"),
        ward1_cell2=make_organisation(kind=Kind.RESIDENTIAL_CELL, parent=ward1, name="Chi bộ Khu phố 2"),
        ward2=ward2,
        ward2_cell1=make_organisation(kind=Kind.RESIDENTIAL_CELL, parent=ward2, name="Chi bộ Khu phố 3"),
        ward2_cell2=make_organisation(kind=Kind.RESIDENTIAL_CELL, parent=ward2, name="Chi bộ Khu phố 4"),
        outside=make_organisation(kind=Kind.OUTSIDE, name="Sở Tài chính tỉnh"),
    )


def member_fields(home: Organisation, **fields: Any) -> dict[str, Any]:
    """Valid keyword arguments for a member (for ``Member(...)`` or ``member_create``), unique card number."""
    n = next_serial()
    values: dict[str, Any] = {
        "card_number": f"{n:08d}",
        "full_name": f"Nguyễn Văn Thử {n}",
        "date_of_birth": datetime.date(1980, 1, 1),
        "gender": Member.Gender.MALE,
        "admitted_on": datetime.date(2005, 5, 19),
        "home_organisation": home,
    }
    values.update(fields)
    return values


def make_member(home: Organisation, **fields: Any) -> Member:
    return Member.objects.create(**member_fields(home, **fields))


def move_home(member: Member, organisation: Organisation, on: datetime.date) -> Member:
    """The member belongs to ``organisation`` from ``on`` (a transfer written as the services write it)."""
    from members import places

    places.move_home(member_id=member.pk, organisation=organisation, on=on, by=None)
    member.refresh_from_db()
    return member


def make_user(username: str | None = None, *, password: str | None = None, **fields: Any):
    """A user; without ``password`` the password is unusable (and no slow hashing is done)."""
    username = username or f"user{next_serial()}"
    return get_user_model().objects.create_user(username=username, password=password, **fields)


def make_referral(member: Member, *, receiving_ward: Organisation, **fields: Any) -> Referral:
    """A referral written straight to the database (no service): for tests of constraints and queries."""
    fields.setdefault("issuing_organisation", member.home_organisation.parent or member.home_organisation)
    fields.setdefault("introduced_on", datetime.date(2024, 3, 1))
    fields.setdefault("letter_number", f"{next_serial()}-GT/ĐU")
    return Referral.objects.create(member=member, receiving_ward=receiving_ward, **fields)


def make_officer(organisation: Organisation, *, role: str = "secretary", username: str | None = None, **user_fields):
    """A user holding a post at ``organisation`` since 2000 (so the post is held on every test date)."""
    user = make_user(username, **user_fields)
    Officer.objects.create(user=user, organisation=organisation, role=role, started_on=datetime.date(2000, 1, 1))
    return user
